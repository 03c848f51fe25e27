"""checks/dnsrecords.py against a real DNS server on loopback UDP and TCP ports.

Every scenario runs twice: with dnspython, and with it hidden so that the script's built-in
client asks (its `import dns` fails: in the tests' process for a second copy of the module, in
the script's own process through a `dns` package on PYTHONPATH that raises ImportError).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from checks.dnsrecords import Result
from tests.servers import DnsServer

SCRIPT = Path(__file__).resolve().parents[1] / "checks" / "dnsrecords.py"
DOMAIN = "northwind.test"
AUTODISCOVER = f"autodiscover.{DOMAIN}"
O365_MX = "northwind-test.mail.protection.outlook.com"
O365_SPF = '"v=spf1 include:spf.protection.outlook.com -all"'

# The domain's own name server: the loopback server, asked without recursion.
NS = "ns1.northwind.test"
NAME_SERVER = {(DOMAIN, "NS"): (86400, [f"{NS}."]), (NS, "A"): (86400, ["127.0.0.1"])}
# Today: on-premises mail, a long MX TTL, an SPF record, autodiscover as an A record.
BEFORE = {
    (DOMAIN, "MX"): (86400, ["10 mail.northwind.test.", "20 backup.isp.test."]),
    (DOMAIN, "TXT"): (3600, ['"v=spf1 mx a:mail.northwind.test -all"', '"verification=abc"']),
    (AUTODISCOVER, "A"): (3600, ["203.0.113.10"]),
    **NAME_SERVER,
}
# After the switch, as the runbook asks (DOMAIN §8).
AFTER = {
    (DOMAIN, "MX"): (3600, [f"0 {O365_MX}.", "20 backup.isp.test."]),
    (DOMAIN, "TXT"): (3600, [O365_SPF, '"verification=abc"']),
    (AUTODISCOVER, "CNAME"): (3600, ["autodiscover.outlook.com."]),
}


Records = dict[tuple[str, str], tuple[int, list[str]]]
_BUILTIN: list[ModuleType] = []


def builtin_module() -> ModuleType:
    """Return a copy of checks/dnsrecords.py imported while `import dns` fails."""
    if not _BUILTIN:
        spec = importlib.util.spec_from_file_location("dnsrecords_builtin", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        saved = sys.modules.get("dns")
        sys.modules["dns"] = None  # type: ignore[assignment]  # import dns raises ImportError
        sys.modules[spec.name] = module  # dataclasses look their module up
        try:
            spec.loader.exec_module(module)
        finally:
            if saved is None:
                del sys.modules["dns"]
            else:
                sys.modules["dns"] = saved
        _BUILTIN.append(module)
    return _BUILTIN[0]


class Script:
    """checks/dnsrecords.py with dnspython (builtin False) or its built-in client (True)."""

    def __init__(self, builtin: bool, hider: Path) -> None:
        self.builtin = builtin
        self.module = builtin_module() if builtin else sys.modules[Result.__module__]
        self.env = dict(os.environ)
        if builtin:
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(hider)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ else [])
            )

    def check_domain(self, *args: Any, **kwargs: Any) -> list[Result]:
        """check_domain of this copy; its results as checks.dnsrecords.Result."""
        return [Result(**r.to_dict()) for r in self.module.check_domain(*args, **kwargs)]

    def check(
        self,
        records: Records,
        mode: str,
        mode_of_server: str = "answer",
        timeout: float = 2.0,
        **server: Any,
    ) -> list[Result]:
        """Run check_domain for DOMAIN against a loopback server holding records."""
        with DnsServer(records, mode_of_server, **server) as dns_server:
            return self.check_domain(DOMAIN, O365_MX, mode, "127.0.0.1", dns_server.port, timeout)

    def run(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        """Run the script in its own process."""
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )


@pytest.fixture(scope="session")
def hider(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `dns` package raises ImportError: on PYTHONPATH, it hides dnspython."""
    folder = tmp_path_factory.mktemp("no-dnspython")
    (folder / "dns").mkdir()
    (folder / "dns" / "__init__.py").write_text(
        'raise ImportError("dnspython is hidden for this test")\n'
    )
    return folder


@pytest.fixture(params=["dnspython", "builtin"])
def script(request: pytest.FixtureRequest, hider: Path) -> Script:
    return Script(request.param == "builtin", hider)


def test_the_builtin_client_runs_without_dnspython(script: Script) -> None:
    # the parametrization is real: the hidden copy and process cannot import dnspython
    assert script.module.HAVE_DNSPYTHON is not script.builtin
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dnsrecords; "
        "print(dnsrecords.HAVE_DNSPYTHON, 'dns' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(SCRIPT.parent)],
        capture_output=True,
        text=True,
        timeout=20,
        env=script.env,
    )
    assert proc.stdout.split() == (["False", "False"] if script.builtin else ["True", "True"])


def test_before_reports_todays_records_and_warns_about_a_long_ttl(script: Script) -> None:
    assert script.check(BEFORE, "before") == [
        Result(
            "mx",
            DOMAIN,
            "warn",
            "MX today: 10 mail.northwind.test, 20 backup.isp.test (TTL 86400 s at "
            f"{NS}); planned: 0 {O365_MX}; lower the TTL to 3600 s or less before the "
            "migration starts",
        ),
        Result(
            "spf",
            DOMAIN,
            "pass",
            "SPF today: v=spf1 mx a:mail.northwind.test -all; "
            "add include:spf.protection.outlook.com at the switch",
        ),
        Result(
            "autodiscover",
            AUTODISCOVER,
            "pass",
            "a record that is not a CNAME today; at the switch: CNAME autodiscover.outlook.com",
        ),
    ]


def test_before_with_a_short_ttl_passes_and_two_spf_records_warn(script: Script) -> None:
    records = {
        (DOMAIN, "MX"): (3600, ["10 mail.northwind.test."]),
        (DOMAIN, "TXT"): (300, ['"v=spf1 mx -all"', '"v=spf1 include:other.test ~all"']),
        **NAME_SERVER,
    }
    mx, spf, autodiscover = script.check(records, "before")
    assert mx.status == "pass"
    assert mx.detail == (
        f"MX today: 10 mail.northwind.test (TTL 3600 s at {NS}); planned: 0 {O365_MX}"
    )
    assert spf == Result(
        "spf",
        DOMAIN,
        "warn",
        "2 SPF records, only one is allowed: merge them "
        "(v=spf1 include:other.test ~all | v=spf1 mx -all)",
    )
    assert autodiscover.detail == ("no record today; at the switch: CNAME autodiscover.outlook.com")


def test_before_the_ttl_is_read_at_the_name_server_not_in_a_resolvers_cache(
    script: Script,
) -> None:
    # a resolver that cached the MX an hour ago gives 82800 s, or 300 s near the end: the
    # TTL the DNS host set (86400 s) is what senders keep, so it is read at the name server
    for cached in (82800, 300):
        mx = script.check(BEFORE, "before", cached_ttl=cached)[0]
        assert mx.status == "warn", cached
        assert f"(TTL 86400 s at {NS})" in mx.detail
        assert mx.detail.endswith("lower the TTL to 3600 s or less before the migration starts")


def test_before_a_ttl_no_name_server_confirms_is_a_warning_never_a_pass(script: Script) -> None:
    unsaid = {k: v for k, v in BEFORE.items() if k[1] != "NS"}
    unsaid[(DOMAIN, "MX")] = (3600, ["10 mail.northwind.test."])
    # no NS record; a name server without an address; one whose answers lack AA
    no_address = {**unsaid, (DOMAIN, "NS"): (86400, ["ns9.elsewhere.test."])}
    cases: list[tuple[Records, dict[str, Any], str]] = [
        (unsaid, {}, f"no NS record for {DOMAIN}"),
        (no_address, {}, "ns9.elsewhere.test: no such name"),
        ({**unsaid, **NAME_SERVER}, {"authoritative": False}, "no authoritative MX answer"),
    ]
    for records, server, why in cases:
        mx = script.check(records, "before", cached_ttl=300, **server)[0]
        assert mx.status == "warn", why
        assert mx.detail.startswith(
            "MX today: 10 mail.northwind.test (TTL 300 s as the resolver gives it, which a "
            "cache counts down; not read at the domain's name servers: "
        ), mx.detail
        assert why in mx.detail
        assert mx.detail.endswith("; read the TTL beside the MX record at the DNS host")


def test_before_a_name_server_that_cannot_be_reached_costs_no_more_than_the_timeout(
    script: Script,
) -> None:
    # the name server's address has nothing listening (127.0.0.2: refused, or silent): the
    # MX check still ends within its timeout, and says why the TTL is the resolver's
    records = {**BEFORE, (NS, "A"): (86400, ["127.0.0.2"])}
    started = time.monotonic()
    mx = script.check(records, "before", timeout=1.0)[0]
    assert time.monotonic() - started < 1.0 + 1.5
    assert mx.status == "warn"
    assert f"not read at the domain's name servers: {NS} (127.0.0.2): " in mx.detail


def test_before_the_name_servers_share_the_time_and_a_silent_one_leaves_some_for_the_next(
    script: Script,
) -> None:
    # ns0 (first in order) is silent: bound on 127.0.0.2 at the same port, never answering.
    # It gets its share of the 3 s, and ns1 is still asked in what is left.
    ns0 = "ns0.northwind.test"
    records = {
        **BEFORE,
        (DOMAIN, "NS"): (86400, [f"{ns0}.", f"{NS}."]),
        (ns0, "A"): (86400, ["127.0.0.2"]),
    }
    with DnsServer(records) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.2", server.port))
        started = time.monotonic()
        mx = script.check_domain(DOMAIN, O365_MX, "before", "127.0.0.1", server.port, 3.0)[0]
        elapsed = time.monotonic() - started
    assert f"(TTL 86400 s at {NS})" in mx.detail, mx.detail
    assert 1.0 <= elapsed < 3.0 + 0.5


def test_before_the_time_left_after_a_slow_resolver_bounds_the_name_servers(
    script: Script,
) -> None:
    # the resolver takes 0.6 s of the 1 s for the MX; the name server never answers a query
    # without recursion: it is given what is left, not a whole timeout of its own
    def slow_resolver_mute_server(query: bytes, answer: bytes) -> list[bytes]:
        if not query[2] & 0x01:
            return []
        if query[-4:-2] == struct.pack("!H", MX):
            time.sleep(0.6)
        return [answer]

    started = time.monotonic()
    mx = script.check(BEFORE, "before", timeout=1.0, udp_reply=slow_resolver_mute_server)[0]
    assert time.monotonic() - started < 1.0 + 0.4
    assert mx.status == "warn"
    assert "not read at the domain's name servers" in mx.detail


def test_before_a_resolvers_authoritative_answer_is_not_taken_for_the_hosts(
    script: Script,
) -> None:
    # inside the client's network the resolver may hold its own copy of the zone and answer
    # with AA (an SBS's internal zone): the TTL is still read at the zone's name servers
    def aa_everywhere(query: bytes, answer: bytes) -> list[bytes]:
        flags = struct.unpack("!H", answer[2:4])[0] | 0x0400
        return [answer[:2] + struct.pack("!H", flags) + answer[4:]]

    no_ns = {k: v for k, v in BEFORE.items() if k[1] != "NS"}
    no_ns[(DOMAIN, "MX")] = (600, ["10 mail.northwind.test."])
    mx = script.check(no_ns, "before", udp_reply=aa_everywhere)[0]
    assert mx.status == "warn", mx.detail
    assert "(TTL 600 s as the resolver gives it" in mx.detail


def test_before_a_name_server_inside_a_private_network_is_no_proof(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an NS answered from inside the client's network (a private address: an SBS's own
    # zone) says what that copy holds, not what the internet sees: a warning, never a pass
    module = script.module
    assert module._HostTtl(600, "dc01.northwind.local", "10.0.0.5").internal
    assert module._HostTtl(600, "dc01", "fd00::5").internal
    assert not module._HostTtl(600, NS, "127.0.0.1").internal
    assert not module._HostTtl(600, "ns1.host.example", "9.9.9.9").internal
    inside = module._HostTtl(600, "dc01.northwind.local", "10.0.0.5")
    monkeypatch.setattr(module, "_ttl_at_name_servers", lambda *_: inside)
    mx = script.check(BEFORE, "before")[0]
    assert mx.status == "warn"
    assert "(TTL 600 s at dc01.northwind.local, 10.0.0.5: a server inside a private" in mx.detail
    assert mx.detail.endswith(
        "run this check from outside the client's network, or with --nameserver and a public "
        "resolver"
    )


def test_before_a_lowered_ttl_still_cached_long_says_to_wait(script: Script) -> None:
    # the host has 3600 s now, but the resolver asked holds the record from before for
    # 80000 s more: caches keep the old TTL until then (DOMAIN §11)
    lowered = {**BEFORE, (DOMAIN, "MX"): (3600, ["10 mail.northwind.test."])}
    mx = script.check(lowered, "before", cached_ttl=80000)[0]
    assert mx.status == "warn"
    assert f"(TTL 3600 s at {NS})" in mx.detail
    assert mx.detail.endswith(
        "lowered, but the resolver asked still holds the record for 80000 s: caches keep the "
        "old TTL until it runs out, so switch no earlier"
    )
    assert script.check(lowered, "before", cached_ttl=1200)[0].status == "pass"


def test_before_a_domain_below_its_zone_apex_is_read_at_the_zones_name_servers(
    script: Script,
) -> None:
    sub = f"uk.{DOMAIN}"
    records = {
        (sub, "MX"): (86400, ["10 mail.northwind.test."]),
        (DOMAIN, "SOA"): (3600, ["ns1.northwind.test. host. 1 2 3 4 5"]),
        **NAME_SERVER,
    }
    with DnsServer(records) as server:
        mx = script.check_domain(sub, None, "before", "127.0.0.1", server.port, 2.0)[0]
    assert f"(TTL 86400 s at {NS})" in mx.detail, mx.detail


def test_before_the_name_server_is_asked_without_recursion(script: Script) -> None:
    with DnsServer(BEFORE) as server:
        script.check_domain(DOMAIN, O365_MX, "before", "127.0.0.1", server.port, 2.0)
    assert (DOMAIN, "NS") in server.queries and (NS, "A") in server.queries
    assert server.norecurse_queries == [(DOMAIN, "MX")]


def test_before_without_mx_or_spf(script: Script) -> None:
    mx, spf, _ = script.check({(DOMAIN, "SOA"): (3600, ["ns. host. 1 2 3 4 5"])}, "before")
    assert mx == Result("mx", DOMAIN, "warn", f"no MX record; planned: 0 {O365_MX}")
    assert spf.status == "pass"
    assert spf.detail == (
        "no SPF record today; at the switch publish v=spf1 include:spf.protection.outlook.com -all"
    )


def test_without_an_mx_target_the_ttl_spf_and_autodiscover_are_still_checked(
    script: Script,
) -> None:
    # the target is never derived (DOMAIN §11): a domain whose target is not copied yet is
    # checked all the same, its MX shown to compare with the admin center
    with DnsServer(BEFORE) as server:
        mx, spf, auto = script.check_domain(DOMAIN, None, "before", "127.0.0.1", server.port, 2.0)
    assert mx == Result(
        "mx",
        DOMAIN,
        "warn",
        f"MX today: 10 mail.northwind.test, 20 backup.isp.test (TTL 86400 s at {NS}); "
        "planned: the MX value in the admin center's DNS records (no --mx-target given); "
        "lower the TTL to 3600 s or less before the migration starts",
    )
    assert spf.status == "pass" and spf.detail.startswith("SPF today: v=spf1 mx")
    assert auto.status == "pass"
    with DnsServer(AFTER) as server:
        proc = script.run(
            "--mode", "after", "--nameserver", "127.0.0.1", "--port", str(server.port), DOMAIN
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"WARN  mx  {DOMAIN}  MX 0 {O365_MX}, 20 backup.isp.test: compare the lowest preference "
        "with the MX value in the admin center's DNS records (no --mx-target given)",
        f"PASS  spf  {DOMAIN}  SPF includes Office 365: v=spf1 include:spf.protection.outlook.com"
        " -all",
        f"PASS  autodiscover  {AUTODISCOVER}  CNAME autodiscover.outlook.com",
    ]


def test_after_passes_when_everything_points_to_office_365(script: Script) -> None:
    assert script.check(AFTER, "after") == [
        Result(
            "mx",
            DOMAIN,
            "pass",
            f"MX 0 {O365_MX}, 20 backup.isp.test: mail goes to Office 365",
        ),
        Result(
            "spf",
            DOMAIN,
            "pass",
            "SPF includes Office 365: v=spf1 include:spf.protection.outlook.com -all",
        ),
        Result("autodiscover", AUTODISCOVER, "pass", "CNAME autodiscover.outlook.com"),
    ]


def test_after_fails_while_records_still_point_on_premises(script: Script) -> None:
    assert script.check(BEFORE, "after") == [
        Result(
            "mx",
            DOMAIN,
            "fail",
            "MX 10 mail.northwind.test, 20 backup.isp.test: "
            f"the lowest preference is not {O365_MX}",
        ),
        Result(
            "spf",
            DOMAIN,
            "fail",
            "SPF lacks include:spf.protection.outlook.com: v=spf1 mx a:mail.northwind.test -all",
        ),
        Result(
            "autodiscover",
            AUTODISCOVER,
            "fail",
            "a record that is not a CNAME; expected CNAME autodiscover.outlook.com",
        ),
    ]


def test_after_fails_when_the_lowest_preference_is_shared_with_the_old_server(
    script: Script,
) -> None:
    records = dict(AFTER)
    records[(DOMAIN, "MX")] = (3600, [f"0 {O365_MX}.", "0 mail.northwind.test."])
    records[(AUTODISCOVER, "CNAME")] = (3600, ["mail.northwind.test."])
    mx, _, autodiscover = script.check(records, "after")
    assert mx.status == "fail"
    assert autodiscover == Result(
        "autodiscover",
        AUTODISCOVER,
        "fail",
        "CNAME mail.northwind.test, not autodiscover.outlook.com",
    )


def test_spf_split_over_several_strings_is_read_whole(script: Script) -> None:
    records = dict(AFTER)
    records[(DOMAIN, "TXT")] = (3600, ['"v=spf1 include:spf.protection." "outlook.com -all"'])
    assert script.check(records, "after")[1].status == "pass"


def test_after_with_two_spf_records_fails(script: Script) -> None:
    records = dict(AFTER)
    records[(DOMAIN, "TXT")] = (3600, [O365_SPF, '"v=spf1 mx -all"'])
    assert script.check(records, "after")[1].status == "fail"


def test_nxdomain_fails_mx_and_spf(script: Script) -> None:
    mx, spf, autodiscover = script.check({("other.test", "MX"): (60, ["0 x.test."])}, "after")
    assert mx == Result("mx", DOMAIN, "fail", "the domain does not exist (NXDOMAIN)")
    assert spf == Result("spf", DOMAIN, "fail", "the domain does not exist (NXDOMAIN)")
    assert autodiscover == Result(
        "autodiscover", AUTODISCOVER, "fail", "no record; expected CNAME autodiscover.outlook.com"
    )


def test_a_silent_server_gives_timeouts_not_tracebacks(script: Script) -> None:
    results = script.check(AFTER, "before", mode_of_server="silent", timeout=0.5)
    assert [r.status for r in results] == ["fail", "fail", "fail"]
    assert results[0].detail == f"no answer from DNS within 0.5 s (MX {DOMAIN})"
    assert results[2].detail == f"no answer from DNS within 0.5 s (CNAME {AUTODISCOVER})"


def test_servfail_fails(script: Script) -> None:
    results = script.check(AFTER, "after", mode_of_server="servfail")
    assert results[1] == Result(
        "spf", DOMAIN, "fail", f"no DNS server answered TXT {DOMAIN} (SERVFAIL or refused)"
    )


LOOP = {
    (DOMAIN, "CNAME"): (3600, ["mail-alias.northwind.test."]),
    ("mail-alias.northwind.test", "CNAME"): (3600, ["northwind.test."]),
}


def test_a_cname_loop_is_named_not_blamed_on_the_server(script: Script) -> None:
    # dnspython gives up on the loop as on a server that does not answer (NoNameservers)
    mx, spf, _ = script.check(LOOP, "before")
    loop = "northwind.test -> mail-alias.northwind.test -> northwind.test"
    assert mx == Result(
        "mx", DOMAIN, "fail", f"CNAME loop: {loop}; correct these CNAME records (MX {DOMAIN})"
    )
    assert spf == Result(
        "spf", DOMAIN, "fail", f"CNAME loop: {loop}; correct these CNAME records (TXT {DOMAIN})"
    )
    with DnsServer(LOOP) as server:
        proc = script.run(
            "--mode", "after", "--nameserver", "127.0.0.1", "--port", str(server.port), DOMAIN
        )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        f"FAIL  mx  {DOMAIN}  CNAME loop: {loop}; correct these CNAME records (MX {DOMAIN})"
    )


def test_a_cname_chain_too_long_is_named(script: Script) -> None:
    records: Records = {(DOMAIN, "CNAME"): (3600, ["hop1.northwind.test."])}
    for hop in range(1, 20):
        records[(f"hop{hop}.northwind.test", "CNAME")] = (3600, [f"hop{hop + 1}.northwind.test."])
    records[("hop20.northwind.test", "MX")] = (3600, [f"0 {O365_MX}."])
    mx = script.check(records, "after")[0]
    assert mx == Result(
        "mx",
        DOMAIN,
        "fail",
        "CNAME chain too long: 20 CNAMEs from northwind.test to hop20.northwind.test, more than "
        f"a resolver follows; shorten it (MX {DOMAIN})",
    )


def test_a_short_cname_chain_is_followed(script: Script) -> None:
    records: Records = {
        (DOMAIN, "CNAME"): (3600, ["hop1.northwind.test."]),
        ("hop1.northwind.test", "CNAME"): (3600, ["hop2.northwind.test."]),
        ("hop2.northwind.test", "MX"): (3600, [f"0 {O365_MX}."]),
    }
    assert script.check(records, "after")[0] == Result(
        "mx", DOMAIN, "pass", f"MX 0 {O365_MX}: mail goes to Office 365"
    )


def test_bad_arguments_raise_value_error(script: Script) -> None:
    with pytest.raises(ValueError):
        script.check_domain(DOMAIN, O365_MX, "during")
    with pytest.raises(ValueError):
        script.check_domain("northwind", O365_MX, "after")
    with pytest.raises(ValueError):
        script.check_domain(DOMAIN, O365_MX, "after", nameserver="ns1.northwind.test")


def test_cli_json_and_exit_status(script: Script) -> None:
    with DnsServer(AFTER) as server:
        ok = script.run(
            "--json", "--mode", "after", "--mx-target", O365_MX,
            "--nameserver", "127.0.0.1", "--port", str(server.port), DOMAIN,
        )  # fmt: skip
        failing = script.run(
            "--mode", "before", "--mx-target", "other.mail.protection.outlook.com",
            "--nameserver", "127.0.0.1", "--port", str(server.port), "--timeout", "2",
            "nowhere.test",
        )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert [(r["check"], r["target"], r["status"]) for r in json.loads(ok.stdout)["results"]] == [
        ("mx", DOMAIN, "pass"),
        ("spf", DOMAIN, "pass"),
        ("autodiscover", AUTODISCOVER, "pass"),
    ]
    assert failing.returncode == 1
    assert failing.stdout.splitlines()[0] == (
        "FAIL  mx  nowhere.test  the domain does not exist (NXDOMAIN)"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--mode", "during", "--mx-target", O365_MX, DOMAIN],
        ["--mode", "after", "--mx-target", O365_MX, "northwind"],
        ["--mode", "after", "--mx-target", O365_MX, "--nameserver", "dns.test", DOMAIN],
        ["--mode", "after", "--mx-target", O365_MX, "--port", "0", DOMAIN],
        ["--mode", "after", "--mx-target", "bad target", DOMAIN],
        ["--mode", "after"],
    ],
)
def test_cli_bad_usage_exits_two(script: Script, args: list[str]) -> None:
    proc = script.run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr


def test_garbage_answers_fail_each_lookup_within_one_timeout(script: Script) -> None:
    results = script.check(AFTER, "after", mode_of_server="garbage", timeout=1.0)
    assert [(r.check, r.status) for r in results] == [
        ("mx", "fail"),
        ("spf", "fail"),
        ("autodiscover", "fail"),
    ]
    assert results[0].detail == f"no answer from DNS within 1 s (MX {DOMAIN})"


def test_cli_garbage_dns_costs_one_timeout_not_three(script: Script) -> None:
    # A hang guard: one lookup after another took three timeouts (6 s) here.
    with DnsServer(AFTER, "garbage") as server:
        proc = script.run(
            "--mode", "after", "--mx-target", O365_MX,
            "--nameserver", "127.0.0.1", "--port", str(server.port), "--timeout", "2", DOMAIN,
            timeout=5,
        )  # fmt: skip
    assert proc.returncode == 1
    assert len(proc.stdout.splitlines()) == 3


def test_a_passed_deadline_skips_the_lookups(script: Script) -> None:
    with DnsServer(AFTER) as server:
        results = script.check_domain(
            DOMAIN, O365_MX, "after", "127.0.0.1", server.port, 2, deadline=time.monotonic()
        )
        assert server.queries == []
    assert {r.status for r in results} == {"skip"}


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_cli_refuses_a_timeout_that_is_not_a_finite_positive_number(
    script: Script, value: str
) -> None:
    proc = script.run("--mode", "after", "--mx-target", O365_MX, "--timeout", value, DOMAIN)
    assert proc.returncode == 2 and "error:" in proc.stderr


# --- what the built-in client must do as dnspython does, with made-up answers ---

MX, TXT, CNAME = 15, 16, 5
NO_SERVER = "no DNS server answered {} (SERVFAIL or refused)"


def name_wire(name: str) -> bytes:
    """Return name in wire form, uncompressed."""
    return b"".join(bytes([len(x)]) + x.encode() for x in name.rstrip(".").split(".")) + b"\0"


def question_of(query: bytes) -> bytes:
    """Return the question section of a query (one question and nothing else, from both)."""
    assert struct.unpack("!6H", query[:12])[2:] == (1, 0, 0, 0)
    return query[12:]


def made_reply(
    query: bytes,
    answers: list[bytes] | tuple[bytes, ...] = (),
    *,
    qid: int | None = None,
    flags: int = 0x8180,
    question: bytes | None = None,
) -> bytes:
    """Return a DNS message answering query (or as given) with the answer records given."""
    qid = struct.unpack("!H", query[:2])[0] if qid is None else qid
    question = question_of(query) if question is None else question
    header = struct.pack("!6H", qid, flags, 1 if question else 0, len(answers), 0, 0)
    return header + question + b"".join(answers)


def rr(name: bytes, rdtype: int, ttl: int, rdata: bytes, rdclass: int = 1) -> bytes:
    """Return one resource record in wire form."""
    return name + struct.pack("!HHIH", rdtype, rdclass, ttl, len(rdata)) + rdata


def mx_rdata(preference: int, host: str) -> bytes:
    return struct.pack("!H", preference) + name_wire(host)


def late(timeout: float) -> list[str]:
    """The three details of lookups that got no answer within timeout."""
    return [
        f"no answer from DNS within {timeout:g} s (MX {DOMAIN})",
        f"no answer from DNS within {timeout:g} s (TXT {DOMAIN})",
        f"no answer from DNS within {timeout:g} s (CNAME {AUTODISCOVER})",
    ]


def test_a_truncated_answer_is_asked_again_over_tcp(script: Script) -> None:
    with DnsServer(AFTER, "truncate") as server:
        results = script.check_domain(DOMAIN, O365_MX, "after", "127.0.0.1", server.port, 2.0)
        assert sorted(server.tcp_queries) == [
            (AUTODISCOVER, "CNAME"),
            (DOMAIN, "MX"),
            (DOMAIN, "TXT"),
        ]
    assert [r.detail for r in results] == [
        f"MX 0 {O365_MX}, 20 backup.isp.test: mail goes to Office 365",
        "SPF includes Office 365: v=spf1 include:spf.protection.outlook.com -all",
        "CNAME autodiscover.outlook.com",
    ]


def test_a_tcp_answer_is_read_to_its_length_and_no_further(script: Script) -> None:
    # bytes after the length-prefixed answer are never read as part of it
    def padded(query: bytes, answer: bytes) -> bytes:
        return len(answer).to_bytes(2, "big") + answer + b"\xff" * 4000

    results = script.check(AFTER, "after", "truncate", tcp_reply=padded)
    assert [r.status for r in results] == ["pass", "pass", "pass"]


def test_a_tcp_answer_shorter_than_its_length_waits_for_the_deadline(script: Script) -> None:
    def short(query: bytes, answer: bytes) -> bytes:
        return (65535).to_bytes(2, "big") + answer

    start = time.monotonic()
    results = script.check(AFTER, "after", "truncate", timeout=1.0, tcp_reply=short)
    assert time.monotonic() - start < 2.5
    assert [r.detail for r in results] == late(1)


def test_a_malformed_tcp_answer_is_the_servers_failure(script: Script) -> None:
    def looping(query: bytes, answer: bytes) -> bytes:
        at = 12 + len(question_of(query))  # the record's name points at itself
        wire = made_reply(
            query, [rr(struct.pack("!H", 0xC000 | at), MX, 60, mx_rdata(0, "x.test"))]
        )
        return len(wire).to_bytes(2, "big") + wire

    mx, spf, auto = script.check(AFTER, "after", "truncate", tcp_reply=looping)
    assert mx.detail == NO_SERVER.format(f"MX {DOMAIN}")
    assert auto.detail == NO_SERVER.format(f"CNAME {AUTODISCOVER}")


def test_truncated_without_a_tcp_server(script: Script) -> None:
    mx = script.check(AFTER, "after", "truncate", tcp=False)[0]
    # dnspython drops a server it cannot reach and says so of them all; the built-in client
    # knows why
    if script.builtin:
        assert mx.detail == "cannot reach the DNS server: Connection refused"
    else:
        assert mx.detail == NO_SERVER.format(f"MX {DOMAIN}")


def malformed(kind: str, query: bytes) -> bytes:
    """Return an answer to query whose one record breaks the message format as kind says."""
    at = 12 + len(question_of(query))  # where the record starts
    rdata = mx_rdata(0, DOMAIN if kind == "pointer forward" else O365_MX)
    names = {
        "pointer to itself": struct.pack("!H", 0xC000 | at),
        # to the exchange, a copy of the name asked: only its direction is wrong
        "pointer forward": struct.pack("!H", 0xC000 | (at + 2 + 10 + 2)),
        "pointer back into its own name": b"\x01a" + struct.pack("!H", 0xC000 | at),
        "label type 0x40": b"\x40" + b"a" * 64 + b"\0",
        "name over 255 bytes": b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\0",
        "label beyond the message": b"\x3fabc",
    }
    if kind in names:
        return made_reply(query, [rr(names[kind], MX, 60, rdata)])
    if kind == "record data beyond the message":
        return made_reply(query, [rr(b"\xc0\x0c", MX, 60, rdata)])[:-3]
    if kind == "exchange beyond its record":
        record = b"\xc0\x0c" + struct.pack("!HHIH", MX, 1, 60, 4) + rdata
        return made_reply(query, [record])
    if kind == "bytes after the last record":
        return made_reply(query, [rr(b"\xc0\x0c", MX, 60, rdata)]) + b"\0"
    assert kind == "empty TXT record"
    return made_reply(query, [rr(b"\xc0\x0c", TXT, 60, b"")])


MALFORMED = [
    "pointer to itself",
    "pointer forward",
    "pointer back into its own name",
    "label type 0x40",
    "name over 255 bytes",
    "label beyond the message",
    "record data beyond the message",
    "exchange beyond its record",
    "bytes after the last record",
    "empty TXT record",
]


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_udp_answers_are_ignored_until_the_deadline(script: Script, kind: str) -> None:
    # as dnspython: a broken datagram may be forged, so it is dropped and the lookup waits on
    results = script.check(
        AFTER, "after", timeout=0.5, udp_reply=lambda query, answer: [malformed(kind, query)]
    )
    assert [r.detail for r in results] == late(0.5)


STRAYS = ["another ID", "another question", "not a response", "another opcode"]


def stray(kind: str, query: bytes) -> bytes:
    """Return a message that looks like an answer to query but is not, sending mail away."""
    records = [rr(b"\xc0\x0c", MX, 60, mx_rdata(0, "evil.test"))]
    if kind == "another ID":
        return made_reply(query, records, qid=(struct.unpack("!H", query[:2])[0] + 1) % 65536)
    if kind == "another question":
        return made_reply(query, records, question=name_wire("evil.test") + query[-4:])
    if kind == "not a response":
        return made_reply(query, records, flags=0x0180)
    assert kind == "another opcode"
    return made_reply(query, records, flags=0x8180 | 2 << 11)


@pytest.mark.parametrize("kind", STRAYS)
def test_answers_to_something_else_are_ignored_until_the_deadline(
    script: Script, kind: str
) -> None:
    start = time.monotonic()
    results = script.check(
        AFTER, "after", timeout=0.5, udp_reply=lambda query, answer: [stray(kind, query)] * 3
    )
    assert 0.5 <= time.monotonic() - start < 2.0
    assert [r.detail for r in results] == late(0.5)


def test_an_answer_from_another_port_is_ignored(script: Script) -> None:
    assert [r.detail for r in script.check(AFTER, "after", "othersource", 0.5)] == late(0.5)


def test_the_answer_after_strays_and_broken_datagrams_is_read(script: Script) -> None:
    def noisy(query: bytes, answer: bytes) -> list[bytes]:
        return [stray(kind, query) for kind in STRAYS] + [
            malformed("pointer to itself", query),
            answer,
        ]

    results = script.check(AFTER, "after", udp_reply=noisy)
    assert results[0].detail == f"MX 0 {O365_MX}, 20 backup.isp.test: mail goes to Office 365"
    assert [r.status for r in results] == ["pass", "pass", "pass"]


@pytest.mark.parametrize(
    ("rcode", "question", "detail"),
    [
        (5, True, NO_SERVER.format(f"MX {DOMAIN}")),  # REFUSED
        (1, True, NO_SERVER.format(f"MX {DOMAIN}")),  # FORMERR
        (4, True, NO_SERVER.format(f"MX {DOMAIN}")),  # NOTIMP
        (9, True, NO_SERVER.format(f"MX {DOMAIN}")),  # NOTAUTH
        (2, False, NO_SERVER.format(f"MX {DOMAIN}")),  # SERVFAIL without the question
        (
            6,  # YXDOMAIN
            True,
            f"DNS error for MX {DOMAIN}: The DNS query name is too long after DNAME substitution.",
        ),
        (3, False, f"no answer from DNS within 0.5 s (MX {DOMAIN})"),  # NXDOMAIN needs it
    ],
)
def test_rcodes(script: Script, rcode: int, question: bool, detail: str) -> None:
    def answer_with(query: bytes, answer: bytes) -> list[bytes]:
        return [made_reply(query, flags=0x8180 | rcode, question=None if question else b"")]

    assert script.check(AFTER, "after", timeout=0.5, udp_reply=answer_with)[0].detail == detail


def test_records_repeated_in_other_case_count_once_with_the_lowest_ttl(script: Script) -> None:
    # the question comes back in other case (as from a server using 0x20 encoding)
    def repeated(query: bytes, answer: bytes) -> list[bytes]:
        if query[-4:-2] != struct.pack("!H", MX):
            return [answer]
        records = [
            rr(b"\xc0\x0c", MX, 300, mx_rdata(10, "mail.northwind.test")),
            rr(b"\xc0\x0c", MX, 7200, mx_rdata(10, "MAIL.Northwind.test")),
            rr(b"\xc0\x0c", MX, 60, mx_rdata(20, "mail.northwind.test"), rdclass=3),  # CHAOS
        ]
        # asked without recursion (RD clear), it answers as the zone's name server (AA)
        flags = 0x8180 if query[2] & 0x01 else 0x8580
        return [made_reply(query, records, flags=flags, question=question_of(query).upper())]

    mx = script.check(BEFORE, "before", udp_reply=repeated)[0]
    assert mx == Result(
        "mx",
        DOMAIN,
        "pass",
        f"MX today: 10 mail.northwind.test (TTL 300 s at {NS}); planned: 0 {O365_MX}",
    )


def chain(length: int) -> Records:
    """Records where DOMAIN's MX is reached through length CNAMEs."""
    records: Records = {(DOMAIN, "CNAME"): (3600, ["hop1.northwind.test."])}
    for hop in range(1, length):
        records[(f"hop{hop}.northwind.test", "CNAME")] = (3600, [f"hop{hop + 1}.northwind.test."])
    records[(f"hop{length}.northwind.test", "MX")] = (3600, [f"0 {O365_MX}."])
    return records


def test_fifteen_cnames_are_followed_sixteen_are_too_many(script: Script) -> None:
    assert script.check(chain(15), "after")[0].status == "pass"
    assert script.check(chain(16), "after")[0].detail == (
        "CNAME chain too long: 16 CNAMEs from northwind.test to hop16.northwind.test, more than "
        f"a resolver follows; shorten it (MX {DOMAIN})"
    )


def test_odd_bytes_in_a_name_are_escaped_as_dnspython_writes_them(script: Script) -> None:
    records = dict(AFTER)
    records[(AUTODISCOVER, "CNAME")] = (3600, ["we\\@ird\\007.test."])
    assert script.check(records, "after")[2].detail == (
        "CNAME we\\@ird\\007.test, not autodiscover.outlook.com"
    )


# --- only the built-in client ---


def test_the_builtin_client_asks_again_when_a_datagram_is_lost(hider: Path) -> None:
    asked: set[bytes] = set()

    def drop_first(query: bytes, answer: bytes) -> list[bytes]:
        if question_of(query) in asked:
            return [answer]
        asked.add(question_of(query))
        return []

    results = Script(True, hider).check(AFTER, "after", timeout=3.0, udp_reply=drop_first)
    assert [r.status for r in results] == ["pass", "pass", "pass"]


RESOLV_CONF = """\
# nameserver 192.0.2.1
; nameserver 192.0.2.2
search corp.local
nameserver dns.corp.local
nameserver 127.0.0.1
nameserver 192.0.2.3
"""


def test_without_nameserver_the_first_usable_of_resolv_conf_is_asked(
    hider: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(True, hider)
    (tmp_path / "resolv.conf").write_text(RESOLV_CONF)
    monkeypatch.setattr(script.module, "RESOLV_CONF", str(tmp_path / "resolv.conf"))
    with DnsServer(AFTER) as server:
        results = script.check_domain(DOMAIN, O365_MX, "after", None, server.port, 2.0)
    assert [r.status for r in results] == ["pass", "pass", "pass"]


@pytest.mark.parametrize("content", ["# nameserver 192.0.2.1\nnameserver dns.corp.local\n", None])
def test_without_any_nameserver_the_lookups_fail_and_the_script_asks_for_one(
    hider: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    script = Script(True, hider)
    path = tmp_path / "resolv.conf"
    if content is not None:
        path.write_text(content)
    monkeypatch.setattr(script.module, "RESOLV_CONF", str(path))
    results = script.check_domain(DOMAIN, O365_MX, "after")
    assert {(r.status, r.detail) for r in results} == {
        ("fail", f"no DNS resolver (no nameserver in {path}): give --nameserver")
    }
    main = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dnsrecords; "
        "dnsrecords.RESOLV_CONF = sys.argv[2]; sys.exit(dnsrecords.main(sys.argv[3:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", main, str(SCRIPT.parent), str(path), "--mode", "after", DOMAIN],
        capture_output=True,
        text=True,
        timeout=20,
        env=script.env,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines()[-1].endswith(
        f"error: no DNS server found in {path}: give --nameserver with its IP address"
    )


class FakeKey:
    """A registry key for FakeWinreg: values, and subkeys by name, in order."""

    def __init__(self, values: dict[str, Any], subkeys: dict[str, FakeKey] | None = None) -> None:
        self.values = values
        self.subkeys = subkeys or {}

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class FakeWinreg:
    """The part of Windows' winreg module the script reads, over FakeKeys (no registry here)."""

    def __init__(self, root: FakeKey) -> None:
        self.HKEY_LOCAL_MACHINE = root

    def OpenKey(self, key: FakeKey, path: str) -> FakeKey:  # winreg's names
        for part in path.split("\\"):
            if part not in key.subkeys:
                raise FileNotFoundError(2, "The system cannot find the file specified")
            key = key.subkeys[part]
        return key

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[Any, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name], 1

    def QueryInfoKey(self, key: FakeKey) -> tuple[int, int, int]:
        return len(key.subkeys), len(key.values), 0

    def EnumKey(self, key: FakeKey, index: int) -> str:
        return list(key.subkeys)[index]


def registry(parameters: dict[str, Any], interfaces: list[dict[str, Any]]) -> FakeKey:
    """A registry holding Tcpip's Parameters values and its interfaces' values."""
    nics = {f"{{nic-{i}}}": FakeKey(values) for i, values in enumerate(interfaces)}
    tcpip = FakeKey(parameters, {"Interfaces": FakeKey({}, nics)})
    path = ["SYSTEM", "CurrentControlSet", "Services", "Tcpip"]
    key = FakeKey({}, {"Parameters": tcpip})
    for part in reversed(path):
        key = FakeKey({}, {part: key})
    return key


@pytest.mark.parametrize(
    ("parameters", "interfaces", "found"),
    [
        ({"NameServer": "10.0.0.53 10.0.0.54"}, [{"NameServer": "10.1.1.1"}], "10.0.0.53"),
        ({"NameServer": "", "DhcpNameServer": "10.0.0.9"}, [], "10.0.0.9"),
        (
            {"NameServer": ""},
            [{"NameServer": ""}, {"DhcpNameServer": "bogus,10.2.2.2"}],
            "10.2.2.2",
        ),
        ({}, [{"NameServer": ["fd00::53"]}], "fd00::53"),  # a REG_MULTI_SZ
        ({"NameServer": ""}, [{"DhcpNameServer": ""}], None),
    ],
)
def test_on_windows_the_registry_names_the_nameserver(
    monkeypatch: pytest.MonkeyPatch,
    parameters: dict[str, Any],
    interfaces: list[dict[str, Any]],
    found: str | None,
) -> None:
    # the registry is faked: these tests run on Linux; the lookups themselves are not
    module = builtin_module()
    monkeypatch.setitem(sys.modules, "winreg", FakeWinreg(registry(parameters, interfaces)))
    monkeypatch.setattr(sys, "platform", "win32")
    assert module._system_nameserver() == (found, "the registry (Tcpip Parameters)")
