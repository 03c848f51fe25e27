"""The runbook Markdown: every step's exact values per topology, and nothing left over."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from generator.derive import derive
from generator.errors import RenderError
from generator.model import Client
from generator.render import check_rendered, code, markdown, render_runbook, render_template, text
from tests.conftest import client_dict


def page(**changes: Any) -> str:
    """The runbook of the base client with changes."""
    return render_runbook(derive(Client.model_validate(client_dict(**changes)), "test-client"))


SECTIONS = [
    "## At a glance",
    "## Requirements",
    "## Step 1: reachability",
    "## Step 2: ValidPorts",
    "## Step 3: Remote Connectivity Analyzer",
    "## Step 4: sign in to Microsoft 365",
    "## Step 5: the migration endpoint",
    "## Step 6: the batch and its reports",
    "## Step 7: start the batch",
    "## Step 8: watch the initial sync",
    "## Step 9: the same steps in PowerShell",
    "## Step 10: the 24-hour incremental sync",
    "## Step 11: DNS cutover",
    "## After the cutover",
    "## Troubleshooting",
]


def test_every_section_in_order() -> None:
    md = page()
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions)


def test_single_server_values_in_each_step() -> None:
    md = page()
    valid_ports = (
        "EXCH01:6001-6002;EXCH01:6004;exch01.corp.local:6001-6002;exch01.corp.local:6004;"
        "mail.testclient.com:6001-6002;mail.testclient.com:6004"
    )
    assert f"| ValidPorts (`REG_SZ`) | registry of `EXCH01` (step 2) | `{valid_ports}` |" in md
    assert "    telnet mail.testclient.com 443\n" in md
    assert "    telnet EXCH01 6001\n" in md
    assert "    telnet mail.testclient.com 6004\n" in md
    assert "    Test-NetConnection -ComputerName mail.testclient.com -Port 443\n" in md
    assert "    nc -vz mail.testclient.com 443\n" in md
    assert "`ncacn_http/1.0`" in md
    assert 'reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts\n' in md
    assert (
        'reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v ValidPorts /t REG_SZ /d "'
        + valid_ports
        + '" /f\n'
    ) in md
    assert 'reg export "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" C:\\rpcproxy-backup-' in md
    assert f'"ValidPorts"="{valid_ports}"\n' in md
    assert "nslookup mail.testclient.com\n" in md
    assert "```bat\nnet stop MSExchangeSA /y\n```" in md
    assert "```bat\nnet start MSExchangeIS\n```" in md
    assert "| Exchange server | `exch01.corp.local` (the internal name" in md
    assert "| RPC proxy server | `mail.testclient.com` |" in md
    assert "| Mutual authentication principal | `msstd:mail.testclient.com` |" in md
    assert "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6002\n" in md
    assert "| Account with privileges | `CORP\\migadmin` |" in md
    assert "| Maximum concurrent migrations | `3` |" in md
    assert "| Batch name | `test-client-cutover` |" in md
    assert "Please provide the list of notification mails" in md
    assert "Migration to Exchange\nOnline**, then **Cutover migration**" in md
    assert "E-mail Migration" in md
    assert "Start-MigrationBatch -Identity test-client-cutover\n" in md
    assert "Test-MigrationServerAvailability -ExchangeOutlookAnywhere" in md
    assert (
        "testclient.com. 3600 IN MX 0 testclient-com.mail.protection.outlook.com.\n"
        'testclient.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"\n'
        "autodiscover.testclient.com. 3600 IN CNAME autodiscover.outlook.com.\n"
    ) in md
    assert "Remove-MigrationBatch -Identity test-client-cutover\n" in md
    assert "72 hours" in md and "24 hours" in md and "30 days" in md


def test_steps_that_do_not_apply_are_absent() -> None:
    md = page()
    assert "NSPI" not in md
    assert "ncacn_http:6004" not in md
    assert "RPC ports published on the firewall" not in md
    assert "15 minutes" not in md
    assert "!!! warning" not in md
    assert "## Schedule" not in md
    assert "## Notes" not in md


def test_global_catalog_server_gets_the_nspi_step() -> None:
    md = page(
        **{
            "exchange.servers": [
                {"name": "SBS01", "fqdn": "sbs01.corp.local", "global_catalog": True}
            ]
        }
    )
    assert (
        'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters" '
        '/v "NSPI interface protocol sequences" /t REG_MULTI_SZ /d "ncacn_http:6004" /f\n'
    ) in md
    assert "**restart the server**" in md
    assert "- [ ] The NSPI value is set and the server has restarted." in md


def test_front_end_topology() -> None:
    md = page(
        **{
            "exchange.servers": [
                {"name": "EXCH01", "fqdn": "exch01.corp.local"},
                {"name": "EXCH02", "fqdn": "exch02.corp.local"},
            ],
            "rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"},
            "rpc_proxy.authentication": "ntlm",
        }
    )
    assert "**Where:** the console of `FE01`\n(`fe01.corp.local`), the front-end" in md
    assert "- [ ] 15 minutes after the change, `reg query` still shows the value." in md
    assert '!!! warning "Warning: front-end-rewrites-validports"' in md
    assert "    telnet exch02.corp.local 6004\n" in md
    assert "nslookup" not in md  # the public name is not in ValidPorts
    assert "| Authentication | `NTLM` |" in md


def test_exposed_ports_variant() -> None:
    md = page(**{"rpc_proxy.expose_rpc_ports": True})
    assert '!!! danger "RPC ports published on the firewall"' in md
    assert "    telnet mail.testclient.com 6002\n" in md.split("### 1b.")[0]
    assert "- [ ] **Firewall.** Remove the rule that publishes ports" in md
    assert '!!! warning "Warning: rpc-ports-exposed"' in md


def test_pre_sp1_lists_no_6002() -> None:
    md = page(**{"exchange.service_pack": 0})
    assert ":6002" not in md and "-Port 6002" not in md and " 6002\n" not in md
    assert "EXCH01:6001;EXCH01:6004;" in md
    assert '!!! warning "Warning: pre-sp1"' in md


def test_several_domains_and_unconfirmed_mx() -> None:
    md = page(
        domains=[
            {"name": "testclient.com", "mx_target": "testclient-com.mail.protection.outlook.com"},
            {"name": "other-client.org", "mx_ttl": 86400},
        ]
    )
    assert "#### testclient.com" in md and "#### other-client.org" in md
    assert "other-client.org. 3600 IN MX 0 other-client-org.mail.protection.outlook.com.\n" in md
    assert '!!! note "Confirm the MX target"' in md
    assert "- `other-client.org`: today 86400 s, lower it to 3600 s." in md
    assert "`other-client-org.mail.protection.outlook.com` (confirm in the admin center)" in md


def test_slow_link_states_the_concurrency_and_why() -> None:
    md = page(network={"upstream_mbps": 4})
    assert "| Maximum concurrent migrations | `1` |" in md
    assert "because 4 Mbit/s upstream is a slow link" in md
    assert '!!! warning "Warning: slow-link-concurrency"' in md


def test_schedule_dates_appear_in_their_steps() -> None:
    md = page(
        window=dt.date(2026, 12, 5),
        network={"upstream_mbps": 10},
        mailboxes={"count": 20, "total_gb": 90},
    )
    assert "| 2026-12-01 | Start the migration batch |" in md
    assert "Planned start: **2026-12-01**." in md
    assert "not before\n  **2026-12-08**" in md
    assert "by **2026-12-31**" in md


def test_old_outlook_gets_the_upgrade_step() -> None:
    md = page(outlook_versions=[2003, 2010])
    assert "- [ ] **Outlook upgrades.** Replace Outlook 2003:" in md


def test_free_text_cannot_inject_markup() -> None:
    md = page(
        client="<script>alert(1)</script> *Acme*",
        consultant="[x](javascript:alert(1))",
        notes="<img src=x onerror=alert(1)>\n[click](javascript:alert(2))\n# Heading\n- a *b*",
    )
    assert "<script>" not in md and "<img" not in md
    assert "# &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\*Acme\\*" in md
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in md
    assert "\\[click\\](javascript:alert(2))" in md
    assert "  \n\\# Heading  \n- a *b*" in md


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "rpc_proxy.expose_rpc_ports": True,
            "exchange.servers": [
                {"name": "SBS01", "fqdn": "sbs01.corp.local", "global_catalog": True}
            ],
        },
        {"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}},
    ],
)
def test_every_command_block_holds_one_line(changes: dict[str, Any]) -> None:
    """A copied command must not run on paste: one command per block, nothing after it."""
    md = page(**changes)
    blocks = re.findall(r"^( *)```(bat|powershell|sh)\n(.*?)\n\1```", md, re.M | re.S)
    assert len(blocks) > 20
    for _indent, _lang, body in blocks:
        assert "\n" not in body, body
        assert not body.startswith(("> ", "$ ", "C:\\>", "PS ")), body


def test_two_renders_are_byte_identical() -> None:
    assert page() == page()


def test_leftover_template_syntax_is_refused() -> None:
    with pytest.raises(RenderError, match="still holds '\\{\\{'"):
        check_rendered("# Runbook\n{{ x }}\n", "acme")
    with pytest.raises(RenderError, match=r"acme:3: rendered page still holds 'TODO'"):
        check_rendered("# Runbook\n\nTODO: the value\n", "acme")
    with pytest.raises(RenderError, match="<server>"):
        check_rendered("telnet <server> 6001", "acme")
    with pytest.raises(RenderError, match="example.com"):
        check_rendered("telnet mail.example.com 443", "acme")
    assert check_rendered("telnet mail.testclient.com 443", "acme")


def test_a_template_that_leaves_a_placeholder_is_an_error(tmp_path: Any) -> None:
    from generator import render

    env = render.environment()
    env.loader = __import__("jinja2").DictLoader({"bad.md.j2": "{{ '{{' }} x }}\n"})
    try:
        with pytest.raises(RenderError):
            render_template("bad.md.j2", "acme")
    finally:
        render.environment.cache_clear()


def test_undefined_names_are_errors_not_blanks() -> None:
    from generator import render

    env = render.environment()
    env.loader = __import__("jinja2").DictLoader({"bad.md.j2": "{{ v.no_such_value }}\n"})
    try:
        with pytest.raises(RenderError, match="no_such_value"):
            render_template("bad.md.j2", "acme", v={})
    finally:
        render.environment.cache_clear()


def test_filters() -> None:
    assert text("a_b <c>") == "a\\_b &lt;c&gt;"
    assert code("x`y") == "``x`y``"
    assert markdown("<b>") == "&lt;b&gt;"


def test_the_exposed_ports_warning_stays_one_box() -> None:
    md = page(**{"rpc_proxy.expose_rpc_ports": True})
    box = md.split('!!! danger "RPC ports published on the firewall"\n')[1].split("\n\n")[0]
    lines = box.splitlines()
    assert lines and all(line.startswith("    ") for line in lines), box
    assert "6001, 6002, 6004 on" in box and "Remove the rule" in box


def test_the_ttl_is_checked_before_the_batch_starts() -> None:
    md = page(domains=[{"name": "testclient.com", "mx_ttl": 86400}])
    step7 = md.split("## Step 7: start the batch")[1].split("## Step 8")[0]
    assert step7.index("- [ ] `testclient.com`: today 86400 s; lower it to 3600 s") < step7.index(
        "Then select `test-client-cutover` and start it."
    )
    assert '!!! warning "Warning: mx-ttl-high"' in step7


@pytest.mark.parametrize(
    ("changes", "how"),
    [
        ({}, "restart"),
        ({"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}}, "wait"),
        (
            {
                "exchange.servers": [
                    {"name": "SBS01", "fqdn": "sbs01.corp.local", "global_catalog": True}
                ]
            },
            "reboot",
        ),
    ],
)
def test_how_validports_is_applied(changes: dict[str, Any], how: str) -> None:
    md = page(**changes)
    assert ("```bat\nnet stop MSExchangeSA /y\n```" in md) == (how == "restart")
    assert ("rather than restarting its\nSystem Attendant" in md) == (how == "wait")
    assert ("the restart applies\nValidPorts too" in md) == (how == "reboot")


def test_lists_are_joined_with_spaces() -> None:
    md = page(**{"rpc_proxy.expose_rpc_ports": True}, outlook_versions=[2003, 2007])
    assert "pings ports 6001, 6002, 6004\nthrough" in md
    assert "Replace Outlook 2003, Outlook 2007:" in md
    assert not re.search(r"`[A-Za-z0-9.-]+`[a-z]", md)


def test_powershell_connects_first() -> None:
    md = page()
    assert md.index(
        "Connect-ExchangeOnline -UserPrincipalName admin@testclient.onmicrosoft.com"
    ) < (md.index("$cred = Get-Credential"))
