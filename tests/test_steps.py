"""The procedure: which steps apply per topology, their exact commands, warnings and order."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.clients import load_values
from generator.derive import derive
from generator.model import Client
from generator.procedure import (
    Checklist,
    Choice,
    Code,
    Command,
    Commands,
    Form,
    Heading,
    Note,
    Para,
    Procedure,
    Ref,
    Step,
    Table,
    numbered,
    plain,
)
from generator.steps import WARNING_STEPS, WARNING_TITLES, build_procedure
from tests.conftest import EXAMPLE_SLUGS, ROOT, client_dict


def proc(**changes: Any) -> Procedure:
    """The procedure of the base client with changes."""
    values = derive(Client.model_validate(client_dict(**changes)), "test-client")
    return build_procedure(values, "rev0000001")


def step(p: Procedure, name: str) -> Step:
    """The step called `name`."""
    return next(s for s in p.steps() if s.id == name)


def words(p: Procedure, s: Step) -> str:
    """Everything a reader sees of a step, as plain text."""
    n = p.numbers
    out = [s.title, plain(s.where, n), plain(s.why, n)]
    for b in s.body:
        if isinstance(b, Para):
            out.append(plain(b.text, n))
        elif isinstance(b, Commands):
            out += [plain(b.intro, n), *(c.text for c in b.lines)]
        elif isinstance(b, Choice):
            for o in b.options:
                out += [o.label, plain(o.intro, n), *(c.text for c in o.lines)]
        elif isinstance(b, Form):
            out += [f"{f.name}: {plain(f.value, n)}" for f in b.fields]
        elif isinstance(b, Table):
            out += [" | ".join(plain(c, n) for c in row) for row in b.rows]
        elif isinstance(b, Note):
            out += [b.title, plain(b.text, n)]
        elif isinstance(b, Checklist):
            out += [plain(i, n) for i in b.items]
        elif isinstance(b, Heading):
            out.append(b.text)
    out += [plain(s.expected, n), *(plain(i, n) for i in s.verify), plain(s.if_fails, n)]
    out += [f"{w.title}: {w.message}" for w in s.warnings]
    return "\n".join(out)


def ids(p: Procedure) -> list[str]:
    return [s.id for s in p.steps()]


GC_SERVER = {"exchange.servers": [{"name": "SBS01", "fqdn": "sbs01.corp.local",
                                   "global_catalog": True}]}  # fmt: skip
FRONT_END = {
    "exchange.servers": [
        {"name": "EXCH01", "fqdn": "exch01.corp.local"},
        {"name": "EXCH02", "fqdn": "exch02.corp.local"},
    ],
    "rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"},
    "rpc_proxy.authentication": "ntlm",
}

# single server, a global catalog, a managed front-end, a front-end before SP1
EVERY_TOPOLOGY = pytest.mark.parametrize(
    "changes",
    [{}, GC_SERVER, FRONT_END, {**FRONT_END, "exchange.service_pack": 0}],
    ids=["single", "gc", "front-end", "front-end-pre-sp1"],
)


def test_single_server_steps_in_order_numbered_from_one() -> None:
    p = proc()
    assert ids(p) == [
        "requirements", "gate-outside", "gate-microsoft", "gate-decision",
        "certificate", "rpc-component", "rpc-directory", "connection-timeout", "enabled-value",
        "resolve-public-name", "inside-ports", "read-validports", "backup-validports",
        "esm-topology", "set-validports", "apply-validports", "verify-validports", "gate-again",
        "lower-ttl", "not-moved", "sign-in", "endpoint", "batch", "start-batch", "initial-sync",
        "licences", "go-no-go", "switch-mx", "autodiscover", "outlook-profiles", "wait-72h",
        "delete-batch", "relaying-devices", "old-server",
    ]  # fmt: skip
    assert [s.number for s in p.steps()] == list(range(1, 35))
    assert [o["id"] for o in p.outline()] == [f"step-{n}" for n in range(1, 35)]


def test_the_gate_comes_before_any_change_and_again_before_the_batch() -> None:
    p = proc()
    order = ids(p)
    assert order[:4] == ["requirements", "gate-outside", "gate-microsoft", "gate-decision"]
    assert step(p, "gate-decision").signoff == "go-no-go"
    # the steps nothing undoes are signed by the client too
    assert [s.id for s in p.steps() if s.signoff == "client"] == ["delete-batch", "old-server"]
    assert order.index("gate-again") > order.index("verify-validports")
    assert order.index("gate-again") < order.index("start-batch")
    test_line = (
        "Test-MigrationServerAvailability -ExchangeOutlookAnywhere -ExchangeServer "
        "exch01.corp.local -RPCProxyServer mail.testclient.com -Credentials $cred "
        "-Authentication Basic -MailboxPermission FullAccess -EmailAddress jane@testclient.com"
    )
    assert test_line in [c.text for c in step(p, "gate-microsoft").commands()]
    assert test_line in [c.text for c in step(p, "gate-again").commands()]
    outside = [c.text for c in step(p, "gate-outside").commands()]
    assert "runbook check test-client" in outside
    assert "openssl s_client -connect mail.testclient.com:443 -tls1_2" in outside


def test_the_certificate_check_warns_by_the_day_the_steps_name() -> None:
    # the switch, the 72 hours before the batch is deleted, and the week's margin
    p = proc(window=dt.date(2026, 12, 5))
    gate = step(p, "gate-outside")
    [script] = [c.text for c in gate.commands() if c.text.startswith("python3 rpcproxy.py")]
    assert " --valid-until 2026-12-15 " in script and "--window" not in script
    for name in ("gate-outside", "certificate"):
        assert (
            "at least until 2026-12-15 (the switch on 2026-12-05, plus the 72 hours before the "
            "batch may be deleted, plus 7 days in hand)"
        ) in words(p, step(p, name))


def test_with_a_tls_front_the_certificate_step_names_the_devices_certificate() -> None:
    # the device terminates TLS on the public name: its certificate is the one Office 365
    # sees, and the one the outside check reads (DOMAIN.md 13)
    p = proc()
    cert = step(p, "certificate")
    said = words(p, cert)
    assert "This client records Edge firewall TLS 1.2 in front of IIS 6" in said
    assert "the certificate it presents on mail.testclient.com is the one the migration" in said
    assert f"the gate from outside (step {p.numbers['gate-outside']}) reads it" in said
    assert "and the settings of Edge firewall TLS 1.2" in plain(cert.where, p.numbers)
    bare = proc(**{"rpc_proxy.tls_front": None})
    assert "in front of IIS 6" not in words(bare, step(bare, "certificate"))
    assert "settings of" not in plain(step(bare, "certificate").where, bare.numbers)


def test_the_support_statement_and_plan_b_are_tailored() -> None:
    p = proc(mailboxes={"count": 20, "total_gb": 50}, **{"rpc_proxy.tls_front": None})
    statement = " ".join(plain(b.text, p.numbers) for b in p.summary if isinstance(b, Note))
    assert "KB 2389390" in statement and "not supported" in statement
    assert "TLS 1.0 at most" in statement and "not documented" in statement
    assert f"step {p.numbers['gate-outside']}" in statement
    [plan_b] = p.appendices
    text = " ".join(plain(b.text, p.numbers) for b in plan_b.blocks if isinstance(b, Para))
    assert "20 mailboxes and 50 GB, about 2.5 GB a mailbox" in text
    # above ExMerge's 2 GB a file on average, the PST option says what that means
    assert "At that size many mailboxes need more than one ExMerge file, or Outlook." in text
    small = proc(mailboxes={"count": 20, "total_gb": 30})
    [small_b] = small.appendices
    said = " ".join(plain(b.text, small.numbers) for b in small_b.blocks if isinstance(b, Para))
    assert "about 1.5 GB a mailbox" in said and "more than one ExMerge file" not in said
    assert "24 GB a day per mailbox" in text
    # one wording for Microsoft's recommendation, here as in step 1 (DOMAIN.md 9)
    assert "(Microsoft recommends a cutover for 150 mailboxes or fewer)." in text
    assert "Microsoft recommends 150 or fewer" in words(p, step(p, "requirements"))
    assert "fewer than 150" not in text
    assert "mail.testclient.com" in text
    headings = [b.text for b in plan_b.blocks if isinstance(b, Heading)]
    assert headings[0].startswith("Option 1: TLS 1.2") and "IMAP" in headings[-1]
    assert [w.code for w in step(p, "gate-outside").warnings] == ["iis6-tls-1.0"]


def test_single_server_commands_carry_the_clients_values() -> None:
    p = proc()
    valid_ports = (
        "EXCH01:6001-6002;EXCH01:6004;exch01.corp.local:6001-6002;exch01.corp.local:6004;"
        "mail.testclient.com:6001-6002;mail.testclient.com:6004"
    )
    commands = {o["name"]: o["commands"] for o in p.outline()}
    assert "telnet mail.testclient.com 443" in commands["gate-outside"]
    assert (
        "Test-NetConnection -ComputerName mail.testclient.com -Port 443" in commands["gate-outside"]
    )
    assert "nc -vz mail.testclient.com 443" in commands["gate-outside"]
    assert commands["inside-ports"][:2] == ["telnet EXCH01 6001", "telnet EXCH01 6002"]
    assert "telnet mail.testclient.com 6004" in commands["inside-ports"]
    assert commands["read-validports"] == [
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts'
    ]
    assert commands["set-validports"][0] == (
        'reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /t REG_SZ /d "'
        + valid_ports
        + '" /f'
    )
    assert valid_ports in commands["set-validports"]
    assert commands["resolve-public-name"] == ["ping -n 1 mail.testclient.com"]
    assert commands["apply-validports"] == ["iisreset", commands["read-validports"][0]]
    assert (
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6002"
        in commands["gate-again"]
    )
    assert commands["switch-mx"] == [
        "testclient.com. 3600 IN MX 0 testclient-com.mail.protection.outlook.com.",
        'testclient.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"',
    ]
    assert commands["autodiscover"] == [
        "autodiscover.testclient.com. 3600 IN CNAME autodiscover.outlook.com."
    ]
    assert commands["enabled-value"] == [
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v Enabled',
        'reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v Enabled /t REG_DWORD /d 1 /f',
        "iisreset",
    ]
    assert commands["delete-batch"] == ["Remove-MigrationBatch -Identity test-client-cutover"]
    endpoint = words(p, step(p, "endpoint"))
    assert "Exchange server: exch01.corp.local" in endpoint
    assert "RPC proxy server: mail.testclient.com" in endpoint
    assert "Maximum concurrent migrations: 3" in endpoint
    assert "Account with privileges: CORP\\migadmin" in endpoint


def test_no_step_restarts_the_system_attendant_to_apply_validports() -> None:
    for changes in ({}, FRONT_END, GC_SERVER):
        p = proc(**changes)
        for s in p.steps():
            assert not any("MSExchangeSA" in c.text for c in s.commands()), s.id


def test_a_managed_front_end_is_marked_in_esm_and_never_typed() -> None:
    p = proc(**FRONT_END)
    assert "resolve-public-name" not in ids(p) and "set-validports" not in ids(p)
    esm = words(p, step(p, "esm-topology"))
    assert "EXCH01 and EXCH02: RPC-HTTP back-end server." in esm
    assert "FE01: RPC-HTTP front-end server." in esm
    assert [w.code for w in step(p, "esm-topology").warnings] == ["front-end-rewrites-validports"]
    apply = step(p, "apply-validports")
    assert [c.text for c in apply.commands()] == [
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts'
    ]
    # the System Attendant writes at once (DOMAIN.md 3): nothing to wait for before reading
    assert "wrote ValidPorts at once" in words(p, apply)
    assert "Wait 15 minutes" not in words(p, apply)
    assert "Authentication: NTLM" in words(p, step(p, "endpoint"))
    assert "Integrated Windows authentication" in words(p, step(p, "rpc-directory"))
    inside = [c.text for c in step(p, "inside-ports").commands()]
    assert "telnet exch02.corp.local 6004" in inside


def test_a_pre_sp1_front_end_keeps_validports_by_hand() -> None:
    p = proc(**FRONT_END, **{"exchange.service_pack": 0})
    assert "set-validports" in ids(p)
    assert "FE01: Not part of an Exchange managed RPC-HTTP topology" in words(
        p, step(p, "esm-topology")
    )


def test_a_pre_sp1_front_ends_mark_is_written_down_and_set_back_in_the_rollback() -> None:
    p = proc(**FRONT_END, **{"exchange.service_pack": 0})
    esm = step(p, "esm-topology")
    assert esm.blanks == ("Mark of FE01 before the change",)
    assert "Write down the front-end's mark before changing it" in words(p, esm)
    [row] = [r for r in p.rollback if r.step == Ref("esm-topology")]
    assert row.what == "RPC-HTTP mark of FE01"
    assert plain(row.how, p.numbers).startswith(
        f"Set FE01 back to the mark written down in step {esm.number}. If it was RPC-HTTP "
        "front-end server, its System Attendant then writes ValidPorts"
    )
    # undone after the hand-kept value is restored: the rows run in reverse step order
    whats = [r.what for r in p.rollback]
    assert whats.index("ValidPorts") < whats.index("RPC-HTTP mark of FE01")


def test_a_single_server_is_never_front_end_in_esm() -> None:
    p = proc()
    esm = words(p, step(p, "esm-topology"))
    assert "EXCH01: Not part of an Exchange managed RPC-HTTP topology" in esm
    assert "never front-end" in esm


def test_the_public_name_is_checked_as_the_proxy_resolves_it_hosts_file_included() -> None:
    # a hosts-file line is one of the fixes offered (DOMAIN.md 4): nslookup never reads it
    p = proc()
    resolve = step(p, "resolve-public-name")
    assert [c.text for c in resolve.commands()] == ["ping -n 1 mail.testclient.com"]
    text = words(p, resolve)
    assert "the hosts file included" in text
    assert "Pinging mail.testclient.com and an address in brackets" in text
    # an internal zone that lacks the name (usual on SBS) finds no host: a record in it
    assert "If it shows the public address or finds no host, add a host record" in text
    assert "(in the zone that holds it, or a zone of its own), or a line in" in text


def test_the_ports_box_leaves_a_global_catalogs_6004_for_after_its_restart() -> None:
    # the Expected says a silent 6004 there is expected until the restart: no box asks more
    p = proc(**GC_SERVER)
    nspi = step(p, "nspi-sbs01")
    [box] = [plain(i, p.numbers) for i in step(p, "inside-ports").verify]
    assert box == (
        "Every line shows ncacn_http/1.0, except port 6004 on SBS01 (by any name that leads "
        f"to it), which answers only after its restart and is ticked in step {nspi.number}."
    )
    [after] = [plain(i, p.numbers) for i in nspi.verify]
    assert after == (
        "From the proxy, 6004 on SBS01 now shows ncacn_http/1.0 (its lines in "
        f"step {p.numbers['inside-ports']})."
    )
    [plain_box] = [plain(i, p.numbers) for i in step(proc(), "inside-ports").verify]
    assert plain_box == "Every line shows ncacn_http/1.0."


def test_global_catalog_server_gets_the_nspi_step_with_its_restart() -> None:
    p = proc(**GC_SERVER)
    nspi = step(p, "nspi-sbs01")
    assert [c.text for c in nspi.commands()][1:] == [
        'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters" '
        '/v "NSPI interface protocol sequences" /t REG_MULTI_SZ /d "ncacn_http:6004" /f'
    ]
    assert "outage of everything this server runs" in words(p, nspi)
    assert ids(p).index("nspi-sbs01") < ids(p).index("apply-validports")
    inside = words(p, step(p, "inside-ports"))
    assert "On SBS01, a global catalog, 6004 answers only once the NSPI value is set" in inside


def test_pre_sp1_with_a_separate_gc_configures_nspi_on_the_gc() -> None:
    p = proc(
        **{
            "exchange.service_pack": 0,
            "exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}],
        }
    )
    nspi = step(p, "nspi-dc01")
    assert "the console of DC01" in words(p, nspi)
    assert "what this domain controller serves" in words(p, nspi)
    inside = words(p, step(p, "inside-ports"))
    assert "answered by Active Directory" in inside and "no Exchange service runs there" in inside


def test_sp2_with_a_separate_gc_has_no_nspi_step() -> None:
    p = proc(**{"exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}]})
    assert not [i for i in ids(p) if i.startswith("nspi")]


def test_steps_that_do_not_apply_are_absent() -> None:
    p = proc()
    assert not [i for i in ids(p) if i.startswith("nspi")]
    assert not any(s.warnings for s in p.steps())
    assert p.schedule == ()
    assert all(s.when is None for s in p.steps())


def test_pre_sp1_lists_no_6002_and_warns_at_the_requirements() -> None:
    p = proc(**{"exchange.service_pack": 0})
    everything = "\n".join(words(p, s) for s in p.steps())
    assert ":6002" not in everything and " 6002\n" not in everything
    assert "EXCH01:6001;EXCH01:6004;" in everything
    assert [w.code for w in step(p, "requirements").warnings] == ["pre-sp1"]


def test_exposed_ports_are_tested_from_outside_with_a_warning() -> None:
    p = proc(**{"rpc_proxy.expose_rpc_ports": True})
    outside = step(p, "gate-outside")
    assert "telnet mail.testclient.com 6002" in [c.text for c in outside.commands()]
    assert [w.code for w in outside.warnings] == ["rpc-ports-exposed"]
    assert "rule publishing ports 6001, 6002, 6004" in words(p, step(p, "old-server"))


def test_several_domains_an_unknown_ttl_and_no_mx_target() -> None:
    p = proc(
        domains=[
            {"name": "testclient.com", "mx_target": "testclient-com.mail.protection.outlook.com"},
            {"name": "other-client.org", "mx_ttl": 86400},
        ]
    )
    switch = words(p, step(p, "switch-mx"))
    assert "testclient.com" in switch and "other-client.org" in switch
    assert "copy from the Microsoft 365 admin center, Settings, Domains, other-client.org" in switch
    assert "other-client-org" not in switch  # never derived
    assert step(p, "switch-mx").blanks[0] == "MX target of other-client.org"
    # the recorded value is checked against the admin center; the missing one is copied
    assert "The MX value shown is the one the client file records" in switch
    assert "Copy the MX value of other-client.org from the admin center's" in switch
    only_recorded = proc()
    recorded = words(only_recorded, step(only_recorded, "switch-mx"))
    assert "check it there before publishing it" in recorded
    assert "Copy the MX value" not in recorded
    ttl = words(p, step(p, "lower-ttl"))
    assert "other-client.org: today 86400 s; set it to 3600 s." in ttl
    assert "testclient.com: TTL not recorded" in ttl
    # asked at the domain's own name server, never at a resolver whose cache counts it down
    assert "nslookup" not in ttl
    assert (
        "dig +noall +answer mx testclient.com @$(dig +short ns testclient.com | head -n 1)" in ttl
    )
    assert "dig +noall +answer mx other-client.org" not in ttl  # its TTL is recorded
    assert step(p, "lower-ttl").blanks == (
        "Old MX of testclient.com",
        "Old MX of other-client.org",
        "Old TTL of testclient.com",
    )
    assert step(p, "lower-ttl").long_blanks == (
        "Old SPF of testclient.com (or none)",
        "Old SPF of other-client.org (or none)",
    )
    assert [w.code for w in step(p, "lower-ttl").warnings] == ["mx-ttl-high", "mx-ttl-unknown"]
    assert [w.code for w in step(p, "switch-mx").warnings] == ["mx-target-unconfirmed"]
    # the zone-file lines of a domain without a recorded MX hold its SPF only, and say so; the
    # check after the switch cannot judge that MX, so the consultant compares it by hand
    intros = [
        (plain(b.intro, p.numbers), [c.text for c in b.lines])
        for b in step(p, "switch-mx").body
        if isinstance(b, Commands)
    ]
    assert intros[0][0] == "As zone-file lines:" and len(intros[0][1]) == 2
    assert intros[1][0].startswith("As a zone-file line, the SPF only")
    assert [line.split()[3] for line in intros[1][1]] == ["TXT"]
    [after] = [b for b in step(p, "wait-72h").body if isinstance(b, Commands)][:1]
    assert plain(after.intro, p.numbers) == (
        "Confirm that mail now goes to Office 365; for other-client.org, compare the MX it "
        f"prints with the one written down in step {p.numbers['switch-mx']}:"
    )
    [after] = [b for b in step(only_recorded, "wait-72h").body if isinstance(b, Commands)][:1]
    assert plain(after.intro, only_recorded.numbers) == "Confirm that mail now goes to Office 365:"


def test_every_domain_has_its_dns_check_before_and_after() -> None:
    p = proc(
        domains=[
            {"name": "testclient.com", "mx_target": "testclient-com.mail.protection.outlook.com"},
            {"name": "other-client.org", "mx_ttl": 86400},
        ]
    )
    for name, mode in (("lower-ttl", "before"), ("wait-72h", "after")):
        lines = [c.text for c in step(p, name).commands() if "dnsrecords.py" in c.text]
        assert lines == [
            f"python3 dnsrecords.py --mode {mode} --mx-target "
            "testclient-com.mail.protection.outlook.com testclient.com",
            # no MX target recorded: the script checks TTL, SPF and Autodiscover all the same
            f"python3 dnsrecords.py --mode {mode} other-client.org",
        ], name


def test_the_old_spf_record_is_written_down_and_the_rollback_puts_it_back() -> None:
    p = proc()
    assert "Old SPF of testclient.com (or none)" in step(p, "lower-ttl").long_blanks
    assert "each domain's MX record and SPF record as they are today" in words(
        p, step(p, "lower-ttl")
    )
    assert f"The old MX and SPF records are written down (step {p.numbers['lower-ttl']})." in (
        words(p, step(p, "go-no-go"))
    )
    row = next(r for r in p.rollback if r.what == "MX and SPF records")
    assert plain(row.how, p.numbers).startswith(
        f"Put back the old MX and SPF records written down in step {p.numbers['lower-ttl']}; "
        "where a domain had no SPF record, remove the one the switch added."
    )


def test_letting_the_proxy_read_validports_reads_it_back_as_its_expected_says() -> None:
    p = proc()
    apply = step(p, "apply-validports")
    assert [c.text for c in apply.commands()] == [
        "iisreset",
        r'reg query "HKLM\SOFTWARE\Microsoft\Rpc\RpcProxy" /v ValidPorts',
    ]
    assert plain(apply.expected, p.numbers).startswith("reg query shows ValidPorts")


def test_the_validports_found_gets_a_blank_for_a_long_value() -> None:
    read = step(proc(), "read-validports")
    assert read.long_blanks == ("Value found (or none)",) and read.blanks == ()


def test_the_registry_editor_value_is_typed_or_pasted_from_paper_or_page() -> None:
    p = proc()
    text = words(p, step(p, "set-validports"))
    assert "The value data for Registry Editor, typed or pasted as one line:" in text
    assert "to paste into" not in text


def test_the_validports_phase_names_the_address_book_only_when_it_holds_a_step_for_it() -> None:
    for changes, title in (({}, "ValidPorts"), (GC_SERVER, "ValidPorts and the address book")):
        p = proc(**changes)
        phase = next(ph for ph in p.phases if any(s.id == "read-validports" for s in ph.steps))
        assert phase.title == title
        assert any(s.id.startswith("nspi-") for s in phase.steps) == ("address" in title)


def test_the_wizard_is_opened_with_the_batch_name() -> None:
    p = proc(**{"office365.batch_name": "acme-2027"})
    assert (
        "Migration, Add migration batch, the batch name acme-2027, Migration to Exchange "
        "Online, migration type Cutover migration."
    ) in words(p, step(p, "sign-in"))


@pytest.mark.parametrize(
    ("changes", "number", "reason"),
    [
        (
            {"network": {"upstream_mbps": 20}},
            4,
            "Counting one mailbox per 5 Mbit/s (this runbook's rule of thumb, never more than "
            "20), the link's 20 Mbit/s upstream allows 4 at once.",
        ),
        ({}, 3, "The upstream bandwidth is unknown, so 3 is a cautious choice."),
        ({"office365.concurrent_mailboxes": 7}, 7, "The number is set in the client file."),
    ],
)
def test_the_concurrency_is_stated_in_short_sentences(
    changes: Any, number: int, reason: str
) -> None:
    p = proc(**changes)
    para = next(
        b
        for b in step(p, "endpoint").body
        if isinstance(b, Para) and plain(b.text).startswith("Type ")
    )
    assert plain(para.text) == (
        f"Type {number}, even if the form shows another number. Microsoft's pages give "
        f"different defaults for it. The form takes 100 at most. {reason}"
    )
    # no sentence ends in a number: on paper "100." at the start of a line reads as a step
    assert ": " not in plain(para.text) and not any(
        word[:-1].isdigit() for word in plain(para.text).split() if word.endswith(".")
    )


def test_the_ttl_is_lowered_before_the_batch_starts() -> None:
    p = proc()
    assert ids(p).index("lower-ttl") < ids(p).index("start-batch")
    assert f"step {p.numbers['lower-ttl']}" in words(p, step(p, "start-batch"))


def test_slow_link_states_the_concurrency_and_why() -> None:
    p = proc(network={"upstream_mbps": 4})
    endpoint = step(p, "endpoint")
    assert "Maximum concurrent migrations: 1" in words(p, endpoint)
    assert "The link's 4 Mbit/s upstream is slow, so one mailbox at a time." in words(p, endpoint)
    assert "slow-link-concurrency" in [w.code for w in endpoint.warnings]


def test_schedule_dates_are_on_their_steps() -> None:
    p = proc(
        window=dt.date(2026, 12, 5),
        network={"upstream_mbps": 10},
        mailboxes={"count": 20, "total_gb": 90},
    )
    assert str(step(p, "start-batch").when and step(p, "start-batch").when.words()) == (
        "On 2026-12-01"
    )
    wait = step(p, "wait-72h").when
    assert wait is not None and wait.words() == "Not before 2026-12-08"
    licences = step(p, "licences").when
    # every licence by the switch day: the go/no-go on that day needs them (DOMAIN.md 11)
    assert licences is not None and licences.words() == "By 2026-12-05"
    go = step(p, "go-no-go")
    assert go.when is not None and go.when.date >= licences.date
    assert f"go/no-go (step {go.number})" in words(p, step(p, "licences"))
    what = [r.what for r in p.schedule]
    assert what.index("Every migrated user licensed, before the go/no-go") < what.index(
        "Switch MX to Exchange Online"
    )
    rows = {r.what: r for r in p.schedule}
    assert rows["Start the migration batch"].step == Ref("start-batch")


def test_old_outlook_is_replaced_at_the_switch() -> None:
    p = proc(outlook_versions=[2003, 2010, 2013])
    assert (
        "Microsoft 365 Apps or Office LTSC 2024 is ready for every computer running Outlook "
        "2003 and Outlook 2010." in (words(p, step(p, "go-no-go")))
    )
    profiles = step(p, "outlook-profiles")
    assert (
        "Replace Outlook 2003 and Outlook 2010 with Microsoft 365 Apps or Office LTSC 2024 now, "
        "at the switch" in words(p, profiles)
    )
    assert [c.text for c in profiles.commands()] == [
        'reg add "HKCU\\Software\\Microsoft\\Exchange" /v AlwaysUseMSOAuthForAutoDiscover '
        "/t REG_DWORD /d 1 /f",
        'reg add "HKCU\\Software\\Microsoft\\Office\\15.0\\Common\\Identity" /v EnableADAL '
        "/t REG_DWORD /d 1 /f",
        'reg add "HKCU\\Software\\Microsoft\\Office\\15.0\\Common\\Identity" /v Version '
        "/t REG_DWORD /d 1 /f",
    ]
    assert step(p, "go-no-go").signoff == "go-no-go"


def test_the_order_after_the_initial_sync_follows_the_domain_rule() -> None:
    order = ids(proc())
    after = order[order.index("initial-sync") + 1 :]
    assert after == [
        "licences", "go-no-go", "switch-mx", "autodiscover", "outlook-profiles", "wait-72h",
        "delete-batch", "relaying-devices", "old-server",
    ]  # fmt: skip


def test_the_not_moved_checklist_comes_before_the_batch() -> None:
    p = proc()
    assert ids(p).index("not-moved") < ids(p).index("start-batch")
    text = words(p, step(p, "not-moved"))
    for item in [
        "Public folders",
        "Mail-enabled security groups",
        "Hidden mailboxes",
        "Managers and delegates",
        "Scanners and applications",
        "inbox rules",
    ]:
        assert item in text, item  # fmt: skip
    assert "Get-MailboxPlan | Set-MailboxPlan -MaxSendSize 150MB -MaxReceiveSize 150MB" in text


def test_the_size_limit_lines_change_no_mailbox_the_consultant_did_not_name() -> None:
    p = proc()
    lines = [c.text for c in step(p, "not-moved").commands()]
    assert lines == [
        "Get-MailboxPlan | Set-MailboxPlan -MaxSendSize 150MB -MaxReceiveSize 150MB",
        "$mailbox = Read-Host 'Address of a mailbox the batch has created'",
        "Set-Mailbox -Identity $mailbox -MaxSendSize 150MB -MaxReceiveSize 150MB",
    ]
    # no address of the client file in a line typed as printed: the tenant administrator's
    # mailbox (or any other) would be changed instead of the one meant
    values = derive(Client.model_validate(client_dict()), "test-client")
    for line in lines:
        assert values.admin not in line and "@" not in line


@EVERY_TOPOLOGY
def test_the_values_sheet_points_only_at_steps_that_use_the_value(
    changes: dict[str, Any],
) -> None:
    p = proc(**changes)
    steps = {s.id: s for s in p.steps()}
    for row in p.sheet:
        assert row.steps, row.what
        for ref in row.steps:
            text = words(p, steps[ref.step_id])
            for part in row.value:
                if isinstance(part, Code):
                    assert part.value in text, (row.what, ref.step_id)


def test_a_validports_written_by_the_system_attendant_is_only_compared() -> None:
    p = proc(**FRONT_END)
    [row] = [r for r in p.sheet if r.what.startswith("ValidPorts (")]
    assert [r.step_id for r in row.steps] == ["verify-validports"]
    assert row.what == "ValidPorts (REG_SZ; compared, never typed)"
    by_hand = next(r for r in proc().sheet if r.what.startswith("ValidPorts ("))
    assert [r.step_id for r in by_hand.steps] == ["set-validports", "verify-validports"]
    assert by_hand.what == "ValidPorts (REG_SZ)"


@EVERY_TOPOLOGY
def test_the_backup_the_steps_promise_is_what_the_rollback_restores(
    changes: dict[str, Any],
) -> None:
    p = proc(**changes)
    values = derive(Client.model_validate(client_dict(**changes)), "test-client")
    assert "the rollback restores" in words(p, step(p, "backup-validports"))
    assert "what a rollback puts back" in words(p, step(p, "read-validports"))
    restoring = [r for r in p.rollback if values.registry.restore in [c.text for c in r.lines]]
    assert len(restoring) == 1
    [row] = restoring
    assert values.registry.delete in [c.text for c in row.lines]
    assert f"step {p.numbers['backup-validports']}" in plain(row.how, p.numbers)
    # the commands are named as the commands below the row, not as lines of a step
    assert row.lines[:2] == (
        Command(values.registry.restore, "cmd"),
        Command(values.registry.delete, "cmd"),
    )
    how = plain(row.how, p.numbers)
    assert (
        f"the backup of step {p.numbers['backup-validports']} with the first command below "
        "(or the earlier file that step kept) or, where the backup holds no ValidPorts, delete "
        "the value with the second command below;"
    ) in how
    assert "line" not in how


@EVERY_TOPOLOGY
def test_validports_is_read_and_backed_up_before_anything_changes_it(
    changes: dict[str, Any],
) -> None:
    # marking a front-end in ESM makes its System Attendant write ValidPorts at once
    order = ids(proc(**changes))
    changing = [order.index(i) for i in ("esm-topology", "set-validports") if i in order]
    assert changing
    assert order.index("read-validports") < order.index("backup-validports") < min(changing)


def test_the_marks_a_managed_rollback_sets_back_are_written_down() -> None:
    p = proc(**FRONT_END)
    esm = step(p, "esm-topology")
    assert esm.blanks == ("Marks before the change, each server",)
    [row] = [r for r in p.rollback if r.step == Ref("esm-topology")]
    assert f"written down in step {esm.number}" in plain(row.how, p.numbers)
    assert step(proc(), "esm-topology").blanks == ()


@pytest.mark.parametrize(
    ("changes", "wait"),
    [({}, "five minutes"), (FRONT_END, "15 minutes")],
    ids=["by-hand", "front-end"],
)
def test_troubleshooting_waits_as_long_as_the_steps_say(changes: dict[str, Any], wait: str) -> None:
    p = proc(**changes)
    [answer] = [plain(r.answer, p.numbers) for r in p.troubleshooting if "1722" in r.symptom]
    assert f"wait {wait}" in answer
    steps = words(p, step(p, "apply-validports")) + words(p, step(p, "esm-topology"))
    assert wait in steps.lower().replace("about five", "five")
    other = "15 minutes" if wait == "five minutes" else "five minutes"
    assert other not in answer


def test_the_schedule_sets_validports_only_where_it_is_kept_by_hand() -> None:
    window = {"window": dt.date(2026, 12, 5)}
    managed = proc(**FRONT_END, **window)
    assert "set-validports" not in ids(managed)
    day = managed.schedule[0].date
    assert [(r.what, r.step) for r in managed.schedule if r.date == day][:2] == [
        ("Compare ValidPorts by script", Ref("verify-validports")),
        ("Run the gate again", Ref("gate-again")),
    ]
    by_hand = proc(**window)
    assert [(r.what, r.step) for r in by_hand.schedule if r.date == day][:2] == [
        ("Set ValidPorts", Ref("set-validports")),
        ("Run the gate again", Ref("gate-again")),
    ]


@EVERY_TOPOLOGY
def test_a_schedule_row_about_validports_or_the_gate_is_titled_as_its_step(
    changes: dict[str, Any],
) -> None:
    p = proc(**changes, window=dt.date(2026, 12, 5))
    named = {"set-validports", "verify-validports", "gate-again"}
    rows = [r for r in p.schedule if r.step is not None and r.step.step_id in named]
    assert len(rows) == 2
    for row in rows:
        assert row.step is not None
        assert row.what == step(p, row.step.step_id).title


@pytest.mark.parametrize(
    "changes",
    [
        {},
        GC_SERVER,
        FRONT_END,
        {
            **FRONT_END,
            "exchange.service_pack": 0,
            "exchange.global_catalogs": [
                {"name": "DC01", "fqdn": "dc01.corp.local"},
                {"name": "DC02", "fqdn": "dc02.corp.local"},
            ],
        },
    ],
    ids=["single", "gc", "front-end", "front-end-pre-sp1-gcs"],
)
def test_the_rollback_lists_its_rows_in_the_reverse_order_of_the_steps(
    changes: dict[str, Any],
) -> None:
    p = proc(**changes)
    assert "can be undone, in the reverse order of the steps" in plain(p.rollback_intro, p.numbers)
    numbers = [r.step.number(p.numbers) for r in p.rollback]
    assert len(numbers) >= 4
    assert numbers == sorted(numbers, reverse=True)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(
    ("permission", "shown"),
    [("full_access", "Full access (FullAccess)"), ("admin", "Admin")],
)
def test_the_mailbox_permission_is_named_once_per_word(permission: str, shown: str) -> None:
    p = proc(**{"office365.mailbox_permission": permission})
    [row] = [r for r in p.sheet if r.what == "Mailbox permission"]
    assert plain(row.value) == shown


def test_the_synced_count_is_written_in_after_its_total() -> None:
    p = proc(mailboxes={"count": 42, "total_gb": 96.5})
    assert step(p, "initial-sync").blanks == ("Mailboxes synced (out of 42)",)
    assert step(proc(), "initial-sync").blanks == ("Mailboxes synced",)


def test_the_old_server_is_retired_in_the_singular_when_there_is_one() -> None:
    one = proc()
    text = words(one, step(one, "old-server"))
    assert "keep the server as it is, not uninstalled" in text
    assert "Take the server offline" in text and "servers" not in text
    several = proc(**FRONT_END)
    text = words(several, step(several, "old-server"))
    assert "keep the servers as they are, not uninstalled" in text
    assert "Take the servers offline" in text


def test_reports_to_a_migrated_domain_are_warned_about_at_the_batch() -> None:
    p = proc(**{"office365.notification_emails": ["it@testclient.com"]})
    assert [w.code for w in step(p, "batch").warnings] == ["report-recipient-migrated"]
    assert "may carry the new accounts' first passwords" in words(p, step(p, "batch"))
    # with no address outside the migrated domains, the tenant administrator takes their
    # place, so that the reports (first passwords among them) reach a mailbox someone reads
    # and no other; the warning says so
    [warning] = step(p, "batch").warnings
    assert (
        "This runbook leaves it out of the batch's report recipients and sends the reports to "
        "admin@testclient.onmicrosoft.com instead"
    ) in warning.message
    assert [c.text for c in step(p, "batch").commands()][-1].endswith(
        "-NotificationEmails admin@testclient.onmicrosoft.com"
    )
    # with one outside address the reports go to it alone
    mixed = proc(**{"office365.notification_emails": ["it@testclient.com", "ops@outside.net"]})
    [warning] = step(mixed, "batch").warnings
    assert "This runbook leaves it out of the batch's report recipients;" in warning.message
    assert [c.text for c in step(mixed, "batch").commands()][-1].endswith(
        "-NotificationEmails ops@outside.net"
    )
    assert not any("it@testclient.com" in c.text for c in step(mixed, "batch").commands())
    # an administrator in a migrated domain is never proposed, nor added
    inside = proc(
        **{
            "office365.admin": "admin@testclient.com",
            "office365.notification_emails": ["it@testclient.com"],
        }
    )
    [warning] = step(inside, "batch").warnings
    assert "List an outside address or the tenant's onmicrosoft.com administrator" in (
        warning.message
    )
    assert "admin@testclient.com" not in warning.message
    assert [c.text for c in step(inside, "batch").commands()][-1].endswith(
        "-NotificationEmails it@testclient.com"
    )


def test_the_gate_from_microsofts_side_expects_no_rpc_before_validports() -> None:
    for p, set_step in ((proc(), "set-validports"), (proc(**FRONT_END), "esm-topology")):
        fails = plain(step(p, "gate-microsoft").if_fails, p.numbers)
        assert (
            f"The RPC server unavailable: expected until ValidPorts is set (step "
            f"{p.numbers[set_step]}); after that, usually ValidPorts does not list what was asked "
            "for "
            f"(step {p.numbers['verify-validports']})."
        ) in fails


def test_raising_a_created_mailboxs_limits_is_for_an_earlier_batch() -> None:
    # the plan is raised before the batch: only a mailbox made before that needs Set-Mailbox
    said = words(proc(), step(proc(), "not-moved"))
    assert "A mailbox a batch created before the plan was raised, such as on an earlier" in said
    assert "with none, leave them out" in said


def test_no_derived_mx_target_anywhere() -> None:
    p = proc(domains=[{"name": "brand-new.org", "mx_ttl": 600}])
    everything = "\n".join(words(p, s) for s in p.steps())
    assert "brand-new-org" not in everything and "mail.protection" not in everything


def test_every_warning_code_has_one_step_and_a_title_in_words() -> None:
    assert set(WARNING_STEPS) == set(WARNING_TITLES)
    step_ids = set(ids(proc(**GC_SERVER))) | set(ids(proc(**FRONT_END)))
    assert set(WARNING_STEPS.values()) <= step_ids
    for title in WARNING_TITLES.values():
        assert "-" not in title.split()[0]


def test_each_warning_is_shown_at_exactly_one_step() -> None:
    p = proc(
        **FRONT_END,
        outlook_versions=[2003],
        network={"upstream_mbps": 4},
        domains=[{"name": "testclient.com", "mx_ttl": 86400}],
    )
    shown = [w.code for s in p.steps() for w in s.warnings]
    assert sorted(shown) == sorted(w.code for w in p.warnings)
    assert len(shown) == len(set(shown))


def test_a_reference_to_a_missing_step_fails_the_build() -> None:
    from dataclasses import replace

    from generator.page import render_page

    broken = numbered(replace(proc(), rollback_intro=(Ref("no-such-step"),)))
    with pytest.raises(ValueError, match="'no-such-step', which does not exist"):
        render_page(broken, "")  # the layouts resolve every reference


def test_two_steps_with_one_name_fail_the_build() -> None:
    from dataclasses import replace

    p = proc()
    first = p.phases[0]
    doubled = replace(first, steps=first.steps + first.steps[:1])
    with pytest.raises(ValueError, match="two steps"):
        numbered(replace(p, phases=(doubled, *p.phases[1:])))


def test_numbering_copies_each_step_as_replace_would() -> None:
    from dataclasses import fields, replace

    from generator.procedure import _with_number

    # what the fast copy relies on: nothing runs after __init__, every field is in __dict__
    assert not hasattr(Step, "__post_init__") and not hasattr(Step, "__slots__")
    assert all(f.init for f in fields(Step))
    for s in proc().steps():
        copy = _with_number(s, s.number + 100)
        assert type(copy) is Step and copy == replace(s, number=s.number + 100)
        assert copy.number == s.number + 100 and s.number < 100  # the original is untouched


def test_the_outline_is_the_steps_json_contract() -> None:
    p = proc(window=dt.date(2026, 12, 5))
    for entry in p.outline():
        assert {"number", "id", "title", "where", "commands"} <= set(entry)
        assert entry["id"] == f"step-{entry['number']}"
        assert entry["title"] and not str(entry["title"])[0].isdigit()


def test_no_password_is_asked_for_in_a_command() -> None:
    p = proc()
    for s in p.steps():
        for c in s.commands():
            assert "-Password" not in c.text and "password=" not in c.text.lower()


def test_the_gate_offers_rpc_through_the_proxy_first_then_microsofts_test() -> None:
    p = proc()
    commands = [c.text for c in step(p, "gate-microsoft").commands()]
    assert commands[0] == "runbook check test-client --rpc"
    assert commands[1] == (
        'python3 rpcping.py --user "CORP\\migadmin" --auth basic '
        '"https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6001" '
        '"https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6002" '
        '"https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6004"'
    )
    assert commands[-1].startswith("Test-MigrationServerAvailability")
    assert "runbook check test-client --rpc" in [c.text for c in step(p, "gate-again").commands()]


def test_saved_checks_are_shown_at_the_gate_and_marked_when_stale() -> None:
    import datetime as dt

    from generator.check import CheckResult
    from generator.evidence import record

    values = derive(Client.model_validate(client_dict()), "test-client")
    results = [
        CheckResult("tls", "mail.testclient.com:443", "pass", "trusted"),
        CheckResult("rpcping", "exch01.corp.local:6002", "fail", "ValidPorts refused it"),
    ]
    saved = record(results, dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc), "0", values)
    p = build_procedure(values, "rev", saved)
    for name in ("gate-outside", "gate-again"):
        notes = [b for b in step(p, name).body if isinstance(b, Note)]
        text = plain(notes[-1].text)
        assert notes[-1].title == "Saved checks", name
        assert "1 passed, 0 warned, 1 failed" in text and "exch01.corp.local:6002" in text
    moved = values.model_copy(update={"public_fqdn": "remote.testclient.com"})
    stale = build_procedure(moved, "rev", saved)
    note = [b for b in step(stale, "gate-outside").body if isinstance(b, Note)][-1]
    assert note.title == "Saved checks out of date" and "mail.testclient.com" in plain(note.text)


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_every_laptop_command_reaches_its_script_as_written(slug: str, tmp_path: Path) -> None:
    """A shell command is typed into bash or zsh on a laptop. A real shell, failing on a
    pattern that matches no file as zsh does, must hand the script the words the runbook
    means: `DOMAIN\\user` with its backslash, an address with its `?`."""
    values = load_values(ROOT / "runbooks", slug)
    procedure = build_procedure(values, "0123456789")
    lines = [c.text for s in procedure.steps() for c in s.commands() if c.kind == "shell"]
    assert values.checks.rpcping in lines
    for line in lines:
        shell = subprocess.run(
            ["bash", "-O", "failglob", "-c", "printf '%s\\0' " + line],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert shell.returncode == 0, (line, shell.stderr)
        words = shell.stdout.split("\0")[:-1]
        assert words == shlex.split(line), line
    words = shlex.split(values.checks.rpcping)
    assert words[words.index("--user") + 1] == values.migration_endpoint.account
    assert all("rpcproxy.dll?" in w for w in words if w.startswith("https://"))


def test_a_tls_front_is_told_how_it_must_forward() -> None:
    # /Rpc takes only SSL requests, and the stream must not be buffered (DOMAIN.md 0, 1)
    p = proc()
    outside = words(p, step(p, "gate-outside"))
    assert "the device must encrypt again towards IIS" in outside
    assert "through unbuffered, as a TCP-mode proxy re-encrypting with TLS 1.0 does" in outside
    statement = " ".join(plain(b.text, p.numbers) for b in p.summary if isinstance(b, Note))
    assert (
        "it must encrypt again towards IIS and not buffer the stream "
        f"(step {p.numbers['gate-outside']})"
    ) in statement
    bare = proc(**{"rpc_proxy.tls_front": None})
    assert "encrypt again" not in words(bare, step(bare, "gate-outside"))


def test_whether_tls_1_0_is_accepted_is_never_stated_as_fact() -> None:
    # DOMAIN.md 0: [OPEN], expect it to fail; a TLS error may also be the certificate
    p = proc()
    why = plain(step(p, "gate-outside").why, p.numbers)
    assert "whether it accepts a server without TLS 1.2 is not documented" in why
    [tls] = [x for x in p.troubleshooting if "TLS or SSL" in x.symptom]
    said = plain(tls.answer, p.numbers)
    assert said.startswith("Check that TLS 1.2 is offered on mail.testclient.com")
    assert f"the certificate (step {p.numbers['certificate']})" in said


def test_the_test_mailbox_must_not_be_hidden() -> None:
    # DOMAIN.md 9: the endpoint's address is an on-premises mailbox not hidden from lists
    p = proc()
    rule = "jane@testclient.com must be a mailbox on the old server that is not hidden"
    for name in ("gate-microsoft", "endpoint"):
        assert rule in words(p, step(p, name))
    blank = proc(**{"office365.test_mailbox": None})
    assert "must be a mailbox" not in words(blank, step(blank, "endpoint"))
    assert "an on-premises mailbox that is not hidden" in words(blank, step(blank, "endpoint"))


def test_the_requirements_name_the_global_catalog_rules() -> None:
    # DOMAIN.md 5: every GC on Windows Server 2003; a DC that is not a GC: make it one
    p = proc()
    said = words(p, step(p, "requirements"))
    assert "Every global catalog that Outlook uses runs Windows Server 2003." in said
    assert "EXCH01 is not recorded as a global catalog" in said
    # a server made a global catalog then needs the NSPI value and its restart, which only a
    # runbook printed again from the corrected file holds
    assert (
        "then mark it global_catalog: true in the client file and print this runbook again, "
        "which adds the address-book value and restart it then needs."
    ) in said
    assert "nspi-" not in " ".join(ids(p))
    assert any(i.startswith("nspi-") for i in ids(proc(**GC_SERVER)))
    gc = proc(**GC_SERVER)
    said = words(gc, step(gc, "requirements"))
    assert "Windows Server 2003" in said and "not recorded as a global catalog" not in said
    # every recipient-policy domain verified, not only the file's (DOMAIN.md 9: [OPEN])
    assert (
        "testclient.com added and verified in the Microsoft 365 tenant, and so is any other "
        "internet domain of the recipient policies (not a .local one)."
    ) in words(p, step(p, "requirements"))


def test_a_global_catalog_is_not_taken_offline_when_exchange_is_retired() -> None:
    # the old server goes once nothing depends on it: a global catalog (an SBS) still serves
    # the domain, so only its Exchange services stop (DOMAIN.md 11: stopped, not uninstalled)
    sbs = proc(**GC_SERVER)
    said = words(sbs, step(sbs, "old-server"))
    assert (
        "SBS01 is also a global catalog: leave it running for the domain and what else it "
        "serves; only Exchange is retired, its services stopped."
    ) in said
    assert "offline" not in said
    plain_server = words(proc(), step(proc(), "old-server"))
    assert "Take the server offline with the client's agreement." in plain_server
    mixed = proc(
        **{
            **FRONT_END,
            "exchange.servers": [
                {"name": "EXCH01", "fqdn": "exch01.corp.local", "global_catalog": True},
                {"name": "EXCH02", "fqdn": "exch02.corp.local"},
            ],
        }
    )
    said = words(mixed, step(mixed, "old-server"))
    assert "EXCH01 is also a global catalog: leave it running" in said
    assert "Take EXCH02 and FE01 offline with the client's agreement." in said


def test_a_restart_for_the_nspi_value_is_in_the_schedule_before_the_gate_again() -> None:
    # DOMAIN.md 5: the restart is an outage, "schedule it"; the gate again needs 6004
    p = proc(window="2027-03-01", **GC_SERVER)
    rows = [(r.what, r.step.step_id if r.step else None) for r in p.schedule]
    titles = [title for title, _ in rows]
    restart = titles.index("Restart SBS01 for the NSPI value: an outage, at an agreed time")
    assert rows[restart][1] == "nspi-sbs01"
    assert titles.index("Set ValidPorts") < restart < titles.index("Run the gate again")
    assert not any("NSPI" in r.what for r in proc(window="2027-03-01").schedule)


def test_report_recipients_in_a_migrated_domain_are_never_proposed() -> None:
    # DOMAIN.md 9: reports to a migrated domain land in an unwatched cloud mailbox
    def remedy(**changes: Any) -> str:
        p = proc(**changes)
        [x] = [x for x in p.troubleshooting if x.symptom == "No migration report arrives"]
        return plain(x.answer, p.numbers)

    mixed = remedy(**{"office365.notification_emails": ["it@testclient.com", "ops@outside.net"]})
    assert "add ops@outside.net (step" in mixed and "it@testclient.com" not in mixed
    inside = remedy(**{"office365.notification_emails": ["it@testclient.com"]})
    assert inside.startswith(
        "The batch has no report recipients, or only addresses in a domain being migrated, "
        "whose reports land in the new cloud mailbox: add admin@testclient.onmicrosoft.com (step"
    )
    assert "it@testclient.com" not in inside


def test_step_3_says_where_each_part_runs() -> None:
    # its first commands run on the laptop (runbook check --rpc, rpcping.py), then PowerShell
    p = proc()
    where = plain(step(p, "gate-microsoft").where, p.numbers)
    assert where.startswith(
        "the consultant's laptop outside the client's network for the RPC check, as in step 2, "
        "then Exchange Online"
    )


def test_the_tls_warning_names_the_key_that_records_a_front_device() -> None:
    p = proc(**{"rpc_proxy.tls_front": None})
    [warning] = [w for s in p.steps() for w in s.warnings if w.code == "iis6-tls-1.0"]
    assert warning.message.endswith("name it under rpc_proxy.tls_front in the client file.")


def test_the_telnet_client_is_turned_on_from_a_prompt_run_as_administrator() -> None:
    # DISM changes the running Windows only from a command prompt with administrator
    # privileges ("Enable or Disable Windows Features Using DISM"): in a plain prompt the
    # printed line fails, so the option says where to type it
    p = proc()
    [telnet] = [
        o
        for b in step(p, "gate-outside").body
        if isinstance(b, Choice)
        for o in b.options
        if o.label == "telnet"
    ]
    assert telnet.lines[0].text == "dism /online /Enable-Feature /FeatureName:TelnetClient"
    assert plain(telnet.intro) == (
        "Windows: port 443 opens (turn the telnet client on with the first line, in a "
        "command prompt run as administrator)."
    )


def test_an_ntlm_rpc_check_names_the_package_it_needs() -> None:
    # checks/rpcping.py reports every port "not checked" for NTLM without pyspnego: a
    # dependency of the runbook tool, not necessarily on a laptop running the bare script
    ntlm = proc(**{"rpc_proxy.authentication": "ntlm"})
    said = words(ntlm, step(ntlm, "gate-microsoft"))
    assert (
        "For NTLM, rpcping.py needs the pyspnego package in the Python that runs it (python3 "
        "-m pip install pyspnego); without it each port is reported as not checked. The "
        "runbook tool installs it."
    ) in said
    basic = proc()
    assert "pyspnego" not in words(basic, step(basic, "gate-microsoft"))


def test_the_runbook_tool_installs_what_its_ntlm_check_needs() -> None:
    # `runbook check --rpc` runs rpcping.py in the tool's own Python: NTLM must work there
    # without the test extras
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    runtime = text.split("\ndependencies = [\n", 1)[1].split("\n]\n", 1)[0]
    assert '"pyspnego>=' in runtime


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_microsofts_test_signs_in_as_the_endpoint_will(slug: str) -> None:
    # the same account, method and mailbox permission as the endpoint (TEST-MSA: the
    # permission the account holds), the account named so only its password is asked for
    v = load_values(ROOT / "runbooks", slug, "test")
    p = build_procedure(v, "0" * 10)
    permission = f"-MailboxPermission {v.migration_endpoint.mailbox_permission}"
    assert permission in v.powershell.test and permission in v.powershell.endpoint
    assert "-Credentials $cred " in v.powershell.test
    assert v.powershell.credential.startswith("$cred = Get-Credential -UserName ")
    for step_id in ("gate-microsoft", "gate-again"):
        lines = [c.text for c in step(p, step_id).commands() if c.kind == "powershell"]
        at = lines.index(v.powershell.test)
        assert lines[at - 1] == v.powershell.credential, step_id


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_reg_output_is_described_by_its_parts_not_its_spacing(slug: str) -> None:
    # Server 2003's reg.exe separates name, type and data with tabs, later versions with
    # spaces (DOMAIN.md 4): a line of spaces printed as "what it shows" is what 2003 never does
    p = build_procedure(load_values(ROOT / "runbooks", slug, "test"), "0" * 10)
    for s in p.steps():
        said = words(p, s)
        assert not re.search(r"\S {2,}REG_|REG_\w+ {2,}", said), s.id
    assert "the type REG_DWORD with the data 0x1" in words(p, step(p, "enabled-value"))


def test_the_laptop_checks_run_from_outside_the_clients_network() -> None:
    # from inside, split DNS would send them past the firewall and any TLS front device that
    # the migration service meets
    p = proc()
    for step_id in ("gate-outside", "gate-microsoft", "gate-again"):
        where = plain(step(p, step_id).where, p.numbers)
        assert "laptop" in where and "outside the client's" in where, step_id


def test_the_nspi_value_is_read_before_it_is_set_and_a_rollback_keeps_one_found() -> None:
    # a value already there (by hand, or a wizard) is the server's own: the rollback that
    # deleted it unread would take the address book over HTTP away from whoever used it
    v = load_values(ROOT / "runbooks", "harbor-dental", "test")
    p = build_procedure(v, "0" * 10)
    [host] = v.registry.nspi_hosts
    nspi = step(p, f"nspi-{host.lower()}")
    lines = [c.text for c in nspi.commands()]
    assert lines == [v.registry.nspi_query, v.registry.nspi]
    assert v.registry.nspi_query == (
        'reg query "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters" '
        '/v "NSPI interface protocol sequences"'
    )
    assert "Value found before (or none)" in nspi.long_blanks
    # already set: no outage of the whole server for nothing
    assert "If it shows ncacn_http:6004 already, it is set: skip the rest of this step" in (
        words(p, nspi)
    )
    [row] = [r for r in p.rollback if r.lines == (Command(v.registry.nspi_delete or "", "cmd"),)]
    assert plain(row.how, p.numbers) == (
        f"If step {p.numbers[nspi.id]} found ncacn_http:6004 already, nothing was changed. If "
        "it found another value, put that back in Registry Editor (the same key and value name) "
        "and restart the server; if it found none, delete the value and restart:"
    )


def test_the_scripts_note_says_how_to_run_them_on_windows_and_what_ntlm_needs() -> None:
    # every script line starts with python3, which a Windows computer may not have; py is the
    # launcher Python installs there
    p = proc()
    note = plain(p.scripts_note, p.numbers)
    assert note == (
        "The check scripts are single files for Python 3.8 or newer (an NTLM check also needs "
        "pyspnego); on Windows, type py where python3 is not a command. They are on the site's "
        "check scripts page and in check-scripts.pdf."
    )


def windows_argv(line: str) -> list[str]:
    """A command line split as a Windows program's C runtime splits it (cmd.exe passes the
    line on as typed): white space outside double quotes separates words, a double quote
    opens or closes a quoted part, single quotes and backslashes (before a letter) are
    characters like any other."""
    words: list[str] = []
    word, quoted, started = "", False, False
    for char in line:
        if char == '"':
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if started:
                words.append(word)
            word, started = "", False
        else:
            word, started = word + char, True
    if started:
        words.append(word)
    return words


@pytest.mark.parametrize("slug", EXAMPLE_SLUGS)
def test_script_lines_read_the_same_in_every_laptop_shell(slug: str) -> None:
    # a laptop may run Windows: the lines read the same in cmd.exe and PowerShell as in a
    # POSIX shell; a list with a comma or semicolon is quoted (PowerShell splits a bare one)
    p = build_procedure(load_values(ROOT / "runbooks", slug, "test"), "0" * 10)
    lines = [c.text for s in p.steps() for c in s.commands() if c.text.startswith("python3 ")]
    assert any("rpcping.py" in line for line in lines)
    for line in lines:
        assert "'" not in line, line
        assert windows_argv(line) == shlex.split(line), line
        for word in line.split():
            if ("," in word or ";" in word) and not word.startswith('"'):
                raise AssertionError(f"a bare list in {line}")


def test_every_1722_advice_names_the_nspi_restart_where_one_is_due() -> None:
    # port 6004 of a global catalog answers only once its NSPI value is set and the server
    # restarted (DOMAIN.md 5): otherwise the advice sends the consultant to ValidPorts alone
    v = load_values(ROOT / "runbooks", "harbor-dental", "test")
    p = build_procedure(v, "0" * 10)
    pending = "On port 6004 of SBS01, also until the NSPI value is set and the server restarted"
    nspi = f"(step {p.numbers['nspi-sbs01']})"
    for step_id in ("gate-microsoft", "gate-again"):
        said = plain(step(p, step_id).if_fails, p.numbers)
        assert f"{pending} {nspi}" in said, step_id
    [trouble] = [x for x in p.troubleshooting if "1722" in x.symptom]
    assert f"{pending} {nspi}" in plain(trouble.answer, p.numbers)
    other = build_procedure(load_values(ROOT / "runbooks", "northwind-traders", "test"), "0" * 9)
    assert "NSPI" not in plain(step(other, "gate-microsoft").if_fails, other.numbers)


def test_the_go_no_go_accepts_what_a_later_step_puts_right() -> None:
    # step 3 sends a refused sign-in to the /Rpc settings (a later step): the decision's box
    # must be tickable then, or the consultant can neither go nor turn to Plan B
    p = proc()
    [boxes] = [b for b in step(p, "gate-decision").body if isinstance(b, Checklist)]
    said = plain(boxes.items[-1], p.numbers)
    assert said == (
        "Microsoft's test passes, or fails only on what a later step puts right: the proxy's "
        f"setup (step {p.numbers['rpc-component']} to step {p.numbers['enabled-value']}) or the "
        "RPC connection that ValidPorts will open."
    )
    # the /Rpc settings are among them (DOMAIN.md 3: component, /Rpc, time-out, Enabled)
    setup = [p.numbers[k] for k in ("rpc-component", "rpc-directory", "connection-timeout")]
    assert setup + [p.numbers["enabled-value"]] == sorted(setup + [p.numbers["enabled-value"]])
    rpc_directory = f"step {p.numbers['rpc-directory']}"
    assert rpc_directory in plain(step(p, "gate-microsoft").if_fails, p.numbers)
    # no 401 from outside: the proxy is missing, off or not asking, all put right later
    outside = plain(step(p, "gate-outside").if_fails, p.numbers)
    assert (
        f"No 401: the proxy is missing, off or not asking for a sign-in (step "
        f"{p.numbers['rpc-component']} to step {p.numbers['enabled-value']})"
    ) in outside


def test_tls_1_2_not_offered_points_at_the_recorded_front_device_first() -> None:
    # where a device in front of IIS 6 is recorded to offer TLS 1.2, a failure is first its
    # settings (its operator), and only then Plan B; without one, IIS 6 cannot offer it
    front = proc(**{"rpc_proxy.tls_front": "Acme TLS proxy"})
    said = plain(step(front, "gate-outside").if_fails, front.numbers)
    assert said.startswith(
        "TLS 1.2 not offered: Acme TLS proxy does not offer it as it is set up; ask whoever "
        "runs it, and if it cannot, see Plan B's first option"
    )
    bare = proc(**{"rpc_proxy.tls_front": None})
    said = plain(step(bare, "gate-outside").if_fails, bare.numbers)
    assert said.startswith("TLS 1.2 not offered: IIS 6 cannot offer it; see Plan B's first option")


def test_the_gate_again_says_where_the_script_lines_are_without_the_tool() -> None:
    p = proc()
    said = words(p, step(p, "gate-again"))
    outside, microsoft = p.numbers["gate-outside"], p.numbers["gate-microsoft"]
    assert (
        f"without the runbook tool, the check script lines of step {outside} and step {microsoft}"
    ) in said


def test_the_gate_again_tries_every_server_through_the_proxy_where_there_are_several() -> None:
    # the migration reaches each server's mailboxes through the proxy: with two servers,
    # the first one's ports alone would leave the second untried until the batch
    v = load_values(ROOT / "runbooks", "alpine-logistics", "test")
    assert len(v.topology.servers) > 1
    p = build_procedure(v, "0" * 10)
    lines = [c.text for c in step(p, "gate-again").commands()]
    assert "runbook check alpine-logistics --rpc --all-targets" in lines
    assert "each port of every server ValidPorts lists" in words(p, step(p, "gate-again"))
    # the check script lines of the gate try one server: the step says which, lest the
    # consultant without the runbook tool take the others for tested
    assert "step 3, which try exch01.alpine.local only):" in words(p, step(p, "gate-again"))
    single = proc()
    lines = [c.text for c in step(single, "gate-again").commands()]
    assert "runbook check test-client --rpc" in lines and not any("--all" in x for x in lines)
    assert " only):" not in words(single, step(single, "gate-again"))


def test_the_rollback_promises_only_what_its_rows_undo() -> None:
    # the IIS settings, the Enabled value, the internal name and the lowered TTL have no row:
    # "every change can be undone" promised more than the section gives
    p = proc()
    assert plain(p.rollback_intro, p.numbers) == (
        f"Until the batch is deleted (step {p.numbers['delete-batch']}), the changes below can "
        "be undone, in the reverse order of the steps."
    )


def test_the_service_pack_is_confirmed_on_every_server() -> None:
    # the ValidPorts a front-end writes depends on every back-end's service pack (DOMAIN.md
    # 3, 4): with several servers, each one's is read, not only the first
    single, several = proc(), proc(**FRONT_END)
    [box] = [b for b in step(single, "requirements").body if isinstance(b, Checklist)][:1]
    assert plain(box.items[0], single.numbers) == (
        "Exchange System Manager shows Exchange 2003 SP2, as the client file says (the server's "
        "properties, General tab)."
    )
    [box] = [b for b in step(several, "requirements").body if isinstance(b, Checklist)][:1]
    assert plain(box.items[0], several.numbers) == (
        "Exchange System Manager shows Exchange 2003 SP2 on every Exchange server, as the client "
        "file says (each server's properties, General tab)."
    )


def test_the_backup_looks_for_an_earlier_one_before_writing_its_own() -> None:
    # the file's date comes from the plan: a print made after the window moved names another
    # file, and a backup written after the change would hold the new value for the rollback
    p = proc()
    backup = step(p, "backup-validports")
    lines = [c.text for c in backup.commands()]
    assert lines[0] == "dir C:\\rpcproxy-backup-*.reg"
    assert lines[1].startswith('reg export "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" C:\\')
    [commands] = [b for b in backup.body if isinstance(b, Commands)]
    assert plain(commands.intro, p.numbers) == (
        "If dir lists a backup from an earlier run, keep it and skip the second line (if reg "
        "asks to overwrite, answer No): the rollback restores the earliest, taken before "
        "ValidPorts changed."
    )


def test_the_go_no_go_accepts_the_address_book_a_later_step_opens() -> None:
    # step 3 says 6004 of a global catalog answers only once the NSPI value is set: the
    # decision must not send such a server to Plan B for it (DOMAIN.md 5)
    p = proc(**GC_SERVER)
    assert p.numbers.get("nspi-sbs01"), p.numbers
    [boxes] = [b for b in step(p, "gate-decision").body if isinstance(b, Checklist)]
    assert plain(boxes.items[-1], p.numbers).endswith(
        "the proxy's setup (step 6 to step 9), the RPC connection that ValidPorts will open or "
        f"the address book on 6004 that the NSPI value opens (step {p.numbers['nspi-sbs01']})."
    )
    # step 3's expected result allows the same
    assert (
        "or the address book on 6004 that the NSPI value opens "
        f"(step {p.numbers['nspi-sbs01']}); the certificate and TLS must already pass."
    ) in plain(step(p, "gate-microsoft").expected, p.numbers)
    plain_proc = proc()
    [boxes] = [b for b in step(plain_proc, "gate-decision").body if isinstance(b, Checklist)]
    assert "NSPI" not in plain(boxes.items[-1], plain_proc.numbers)


def test_dns_checks_run_from_outside_and_autodiscover_is_read_as_a_cname() -> None:
    # a laptop on the LAN asks the client's DNS, which may answer from an internal zone
    p = proc()
    assert "from outside the client's network" in words(p, step(p, "lower-ttl"))
    assert "outside the client's network" in plain(step(p, "wait-72h").where, p.numbers)
    assert plain(step(p, "autodiscover").expected, p.numbers) == (
        "Looked up outside, and on the internal DNS server where it has the zone, each name is "
        "a CNAME to autodiscover.outlook.com."
    )
    # the mailbox plan's lines are Exchange Online PowerShell: connected as in step 3
    assert f"connected as in step {p.numbers['gate-microsoft']}:" in words(p, step(p, "not-moved"))


def test_a_global_catalog_listed_again_in_another_case_gets_one_nspi_step() -> None:
    # NetBIOS names know no case: before SP1, SBS01 listed as sbs01 under global_catalogs
    # is the same server, set once (two steps of one id stopped the build)
    p = proc(
        **{
            **GC_SERVER,
            "exchange.service_pack": 0,
            "exchange.global_catalogs": [{"name": "sbs01", "fqdn": "sbs01.corp.local"}],
        }
    )
    assert [s.id for s in p.steps() if s.id.startswith("nspi-")] == ["nspi-sbs01"]


def test_the_report_warning_says_what_happens_when_the_file_lists_no_one() -> None:
    # the administrator is in a migrated domain and no list is given: the reports go to it
    p = proc(**{"office365.admin": "admin@testclient.com", "office365.notification_emails": None})
    [warning] = step(p, "batch").warnings
    assert warning.message.endswith(
        "List an outside address or the tenant's onmicrosoft.com administrator under "
        "office365.notification_emails in the client file: without that list, this runbook's "
        "commands send the reports to admin@testclient.com."
    )


def test_a_managed_front_end_waits_for_the_proxy_before_the_gate() -> None:
    p = proc(**FRONT_END)
    said = words(p, step(p, "apply-validports"))
    assert (
        "the proxy takes it up within about five minutes: read it, and wait that long before "
        f"the gate (step {p.numbers['gate-again']}):"
    ) in said
