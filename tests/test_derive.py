"""Exact values for every rule and topology (DOMAIN.md sections 3-8)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from generator.derive import Values, derive
from generator.model import Client
from tests.conftest import client_dict


def values(**changes: Any) -> Values:
    """Derived values of the base client with changes."""
    return derive(Client.model_validate(client_dict(**changes)), "test-client")


TARGET = "testclient-com.mail.protection.outlook.com"


def codes(v: Values) -> list[str]:
    """The warning codes raised."""
    return [w.code for w in v.warnings]


def test_single_server_valid_ports_lists_netbios_fqdn_then_public_name() -> None:
    v = values()
    assert v.valid_ports == (
        "EXCH01:6001-6002;EXCH01:6004;exch01.corp.local:6001-6002;exch01.corp.local:6004;"
        "mail.testclient.com:6001-6002;mail.testclient.com:6004"
    )


def test_registry_lines_are_exact() -> None:
    v = values()
    assert v.registry.query == r'reg query "HKLM\SOFTWARE\Microsoft\Rpc\RpcProxy" /v ValidPorts'
    assert v.registry.set == (
        r'reg add "HKLM\SOFTWARE\Microsoft\Rpc\RpcProxy" /v ValidPorts /t REG_SZ /d "'
        + v.valid_ports
        + '" /f'
    )
    assert v.registry.backup == (
        r'reg export "HKLM\SOFTWARE\Microsoft\Rpc\RpcProxy" C:\rpcproxy-backup-before-cutover.reg'
    )
    assert v.registry.nspi is None
    assert v.registry.value_type == "REG_SZ"


def test_backup_file_is_dated_by_the_schedule_when_there_is_a_window() -> None:
    v = values(window=dt.date(2026, 12, 5))
    assert v.schedule is not None
    # the preparation day: ValidPorts set, the gate run again; the first date of the plan
    first = v.schedule.steps[0]
    assert [(s.step, s.date) for s in v.schedule.steps[:2]] == [
        ("set-validports", first.date),
        ("prepare", first.date),
    ]
    assert v.registry.backup_file == f"C:\\rpcproxy-backup-{first.date:%Y%m%d}.reg"


def test_reg_file_has_header_crlf_and_exact_value() -> None:
    v = values()
    assert v.registry.reg_file == (
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy]\r\n"
        f'"ValidPorts"="{v.valid_ports}"\r\n'
    )
    assert "\n" not in v.registry.reg_file.replace("\r\n", "")


def test_global_catalog_server_gets_the_nspi_line() -> None:
    v = values(
        **{
            "exchange.servers": [
                {"name": "SBS01", "fqdn": "sbs01.corp.local", "global_catalog": True}
            ]
        }
    )
    assert v.registry.nspi == (
        r'reg add "HKLM\SYSTEM\CurrentControlSet\Services\NTDS\Parameters" '
        r'/v "NSPI interface protocol sequences" /t REG_MULTI_SZ /d "ncacn_http:6004" /f'
    )
    assert v.registry.nspi_hosts == ["SBS01"]
    assert v.topology.proxy_is_global_catalog


@pytest.mark.parametrize(
    ("service_pack", "server_is_gc", "expected"),
    [
        (0, True, ["EXCH01", "DC01"]),  # RTM, GC on the server: the server and every GC
        (0, False, ["DC01"]),  # RTM, separate GC: every listed GC
        (2, True, ["EXCH01"]),  # SP2, single server or SBS: the server itself
        (2, False, []),  # SP2, separate GC: nothing (DSProxy answers)
        (1, False, []),
    ],
)
def test_nspi_hosts_follow_the_global_catalog_table(
    service_pack: int, server_is_gc: bool, expected: list[str]
) -> None:
    v = values(
        **{
            "exchange.service_pack": service_pack,
            "exchange.servers": [
                {"name": "EXCH01", "fqdn": "exch01.corp.local", "global_catalog": server_is_gc}
            ],
            "exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}],
        }
    )
    assert v.registry.nspi_hosts == expected
    assert (v.registry.nspi is None) == (not expected)


def test_enabled_value_lines() -> None:
    r = values().registry
    assert r.enabled_query == 'reg query "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v Enabled'
    assert r.enabled_set == (
        'reg add "HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy" /v Enabled /t REG_DWORD /d 1 /f'
    )


def test_a_managed_front_end_writes_validports_unless_pre_sp1() -> None:
    front = {"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}}
    assert values(**front).registry.managed_by_esm
    assert not values(**front, **{"exchange.service_pack": 0}).registry.managed_by_esm
    assert not values().registry.managed_by_esm


def test_front_end_with_two_back_ends_leaves_out_the_public_name() -> None:
    v = values(
        **{
            "exchange.servers": [
                {"name": "EXCH01", "fqdn": "exch01.corp.local"},
                {"name": "EXCH02", "fqdn": "exch02.corp.local"},
            ],
            "rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"},
        }
    )
    assert v.valid_ports == (
        "EXCH01:6001-6002;EXCH01:6004;exch01.corp.local:6001-6002;exch01.corp.local:6004;"
        "EXCH02:6001-6002;EXCH02:6004;exch02.corp.local:6001-6002;exch02.corp.local:6004"
    )
    assert v.topology.proxy_runs_on == "front-end"
    assert v.topology.proxy_host.name == "FE01"
    assert v.exchange_server == "exch01.corp.local"
    assert "front-end-rewrites-validports" in codes(v)
    assert v.telnet.inside[:3] == ["telnet EXCH01 6001", "telnet EXCH01 6002", "telnet EXCH01 6004"]
    assert v.telnet.inside[-1] == "telnet exch02.corp.local 6004"
    assert len(v.telnet.inside) == 12


def test_pre_sp1_uses_single_ports_and_lists_global_catalogs() -> None:
    v = values(
        **{
            "exchange.service_pack": 0,
            "exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}],
        }
    )
    assert v.valid_ports == (
        "EXCH01:6001;EXCH01:6004;exch01.corp.local:6001;exch01.corp.local:6004;"
        "DC01:6004;dc01.corp.local:6004;mail.testclient.com:6001;mail.testclient.com:6004"
    )
    assert v.rpc_proxy_urls == [
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6001",
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6004",
    ]
    assert v.telnet.inside == [
        "telnet EXCH01 6001",
        "telnet EXCH01 6004",
        "telnet exch01.corp.local 6001",
        "telnet exch01.corp.local 6004",
        "telnet DC01 6004",
        "telnet dc01.corp.local 6004",
        "telnet mail.testclient.com 6001",
        "telnet mail.testclient.com 6004",
    ]
    assert codes(v) == ["pre-sp1"]
    assert v.registry.nspi_hosts == ["DC01"]


def test_global_catalogs_after_sp1_are_not_listed_and_warned_about() -> None:
    v = values(**{"exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}]})
    assert "DC01" not in v.valid_ports
    assert codes(v) == ["global-catalogs-ignored"]


def test_host_names_are_written_exactly_as_in_the_client_file() -> None:
    v = values(**{"exchange.servers": [{"name": "Exch01", "fqdn": "Exch01.Corp.Local"}]})
    assert v.valid_ports.startswith("Exch01:6001-6002;Exch01:6004;Exch01.Corp.Local:6001-6002;")


def test_rpc_proxy_urls_name_the_first_server_fqdn() -> None:
    assert values().rpc_proxy_urls == [
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6001",
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6002",
        "https://mail.testclient.com/rpc/rpcproxy.dll?exch01.corp.local:6004",
    ]


def test_telnet_outside_is_443_only_by_default() -> None:
    v = values()
    assert v.telnet.outside == ["telnet mail.testclient.com 443"]
    assert "rpc-ports-exposed" not in codes(v)


def test_exposed_rpc_ports_are_tested_from_outside_and_warned_about() -> None:
    v = values(**{"rpc_proxy.expose_rpc_ports": True})
    assert v.telnet.outside == [
        "telnet mail.testclient.com 443",
        "telnet mail.testclient.com 6001",
        "telnet mail.testclient.com 6002",
        "telnet mail.testclient.com 6004",
    ]
    assert v.topology.exposed_ports == [6001, 6002, 6004]
    assert codes(v) == ["rpc-ports-exposed"]


def test_telnet_inside_follows_valid_ports_order() -> None:
    assert values().telnet.inside == [
        "telnet EXCH01 6001",
        "telnet EXCH01 6002",
        "telnet EXCH01 6004",
        "telnet exch01.corp.local 6001",
        "telnet exch01.corp.local 6002",
        "telnet exch01.corp.local 6004",
        "telnet mail.testclient.com 6001",
        "telnet mail.testclient.com 6002",
        "telnet mail.testclient.com 6004",
    ]


def test_connectivity_analyzer_fields() -> None:
    v = values(**{"rpc_proxy.certificate_name": "*.testclient.com"})
    ca = v.connectivity_analyzer
    assert ca.exchange_server == "exch01.corp.local"
    assert ca.rpc_proxy_server == "mail.testclient.com"
    assert ca.authentication == "Basic"
    assert ca.mutual_auth_principal == "msstd:*.testclient.com"
    assert values().connectivity_analyzer.mutual_auth_principal == "msstd:mail.testclient.com"


def test_ntlm_is_written_as_the_wizard_shows_it() -> None:
    v = values(**{"rpc_proxy.authentication": "ntlm"})
    assert v.connectivity_analyzer.authentication == "NTLM"
    assert v.migration_endpoint.authentication == "NTLM"
    assert "-Authentication NTLM" in v.powershell.endpoint


def test_migration_endpoint_fields() -> None:
    ep = values().migration_endpoint
    assert ep.email_address == "jane@testclient.com"
    assert ep.account == "CORP\\migadmin"
    assert ep.exchange_server == "exch01.corp.local"
    assert ep.rpc_proxy_server == "mail.testclient.com"
    assert ep.mailbox_permission == "FullAccess"
    assert (
        values(**{"office365.mailbox_permission": "admin"}).migration_endpoint.mailbox_permission
        == "Admin"
    )


@pytest.mark.parametrize(
    ("network", "given", "expected"),
    [
        (None, None, 3),
        ({"upstream_mbps": 2}, None, 1),
        ({"upstream_mbps": 9.9}, None, 1),
        ({"upstream_mbps": 10}, None, 2),
        ({"upstream_mbps": 14.9}, None, 2),
        ({"upstream_mbps": 20}, None, 4),
        ({"upstream_mbps": 99}, None, 19),
        ({"upstream_mbps": 100}, None, 20),
        ({"upstream_mbps": 1000}, None, 20),
        ({"upstream_mbps": 1000}, 50, 50),
        ({"upstream_mbps": 2}, 5, 5),
    ],
)
def test_concurrency_rule(network: Any, given: Any, expected: int) -> None:
    v = values(network=network, **{"office365.concurrent_mailboxes": given})
    assert v.migration_endpoint.max_concurrent_migrations == expected
    assert f"-MaxConcurrentMigrations {expected}" in v.powershell.endpoint


def test_batch_defaults_to_slug_and_admin() -> None:
    v = values()
    assert v.batch.name == "test-client-cutover"
    assert v.batch.notification_emails == ["admin@testclient.onmicrosoft.com"]
    v = values(
        **{
            "office365.batch_name": "wave_1",
            "office365.notification_emails": ["a@b.com", "c@d.com"],
        }
    )
    assert v.batch.name == "wave_1"
    assert v.powershell.batch == (
        "New-MigrationBatch -Name wave_1 -SourceEndpoint test-client-endpoint "
        "-NotificationEmails a@b.com,c@d.com"
    )
    assert v.powershell.start == "Start-MigrationBatch -Identity wave_1"


def test_powershell_lines_carry_the_client_values() -> None:
    ps = values().powershell
    assert ps.credential == (
        "$cred = Get-Credential -UserName 'CORP\\migadmin' "
        "-Message 'Password of the migration account'"
    )
    assert ps.test == (
        "Test-MigrationServerAvailability -ExchangeOutlookAnywhere -ExchangeServer "
        "exch01.corp.local -RPCProxyServer mail.testclient.com -Credentials $cred "
        "-Authentication Basic -MailboxPermission FullAccess -EmailAddress jane@testclient.com"
    )
    ntlm = values(**{"rpc_proxy.authentication": "ntlm", "office365.test_mailbox": None})
    assert ntlm.powershell.test.endswith(
        "-Credentials $cred -Authentication NTLM -MailboxPermission FullAccess"
    )


def test_dns_records_for_several_domains() -> None:
    v = values(
        domains=[
            {"name": "testclient.com", "mx_target": "testclient-com.mail.protection.outlook.com"},
            {"name": "test-client.co.uk", "mx_ttl": 86400},
        ]
    )
    first, second = v.dns
    assert first.mx == "testclient.com. 3600 IN MX 0 testclient-com.mail.protection.outlook.com."
    assert first.mx_ttl is None and first.ttl == 3600
    assert (
        first.spf == 'testclient.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"'
    )
    assert (
        first.autodiscover == "autodiscover.testclient.com. 3600 IN CNAME autodiscover.outlook.com."
    )
    # never derived: no target recorded means no MX line (DOMAIN.md section 11)
    assert second.mx_target is None and second.mx is None
    assert second.mx_ttl == 86400
    assert codes(v) == ["mx-ttl-high", "mx-ttl-unknown", "mx-target-unconfirmed"]
    assert all("mail.protection" not in line for line in v.checks.dns_before[1:])
    # every domain is checked; without a target the script is given none
    assert v.checks.dns_before[1] == "python3 dnsrecords.py --mode before test-client.co.uk"
    assert len(v.checks.dns_before) == len(v.checks.dns_after) == 2


def test_a_new_style_mx_target_is_used_as_recorded() -> None:
    v = values(domains=[{"name": "contoso.com", "mx_target": "contoso-com.e-v1.mx.microsoft"}])
    assert v.dns[0].mx == "contoso.com. 3600 IN MX 0 contoso-com.e-v1.mx.microsoft."


def test_mx_ttl_below_an_hour_is_kept() -> None:
    v = values(
        domains=[
            {
                "name": "testclient.com",
                "mx_ttl": 300,
                "mx_target": "testclient-com.mail.protection.outlook.com",
            }
        ]
    )
    assert v.dns[0].mx == "testclient.com. 300 IN MX 0 testclient-com.mail.protection.outlook.com."
    assert codes(v) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"rpc_proxy.expose_rpc_ports": True}, "rpc-ports-exposed"),
        (
            {"rpc_proxy.front_end": {"name": "FE01", "fqdn": "fe01.corp.local"}},
            "front-end-rewrites-validports",
        ),
        ({"exchange.service_pack": 0}, "pre-sp1"),
        ({"mailboxes": {"count": 151}}, "over-150-mailboxes"),
        ({"outlook_versions": [2003, 2007]}, "outlook-too-old"),
        ({"outlook_versions": [2010]}, "outlook-too-old"),
        ({"outlook_versions": [2013]}, "outlook-out-of-support"),
        ({"outlook_versions": [2024]}, "outlook-newer-than-exchange"),
        ({"outlook_versions": [365]}, "outlook-newer-than-exchange"),
        ({"domains": [{"name": "testclient.com", "mx_ttl": 3601, "mx_target": TARGET}]},
         "mx-ttl-high"),
        ({"domains": [{"name": "testclient.com", "mx_target": TARGET}]}, "mx-ttl-unknown"),
        ({"domains": [{"name": "testclient.com", "mx_ttl": 300}]}, "mx-target-unconfirmed"),
        ({"office365.notification_emails": ["it@TestClient.com"]}, "report-recipient-migrated"),
        ({"rpc_proxy.tls_front": None}, "iis6-tls-1.0"),
        ({"network": {"upstream_mbps": 9.99}}, "slow-link-concurrency"),
        ({"office365.test_mailbox": None}, "no-test-mailbox"),
        ({"exchange.global_catalogs": [{"name": "DC01", "fqdn": "dc01.corp.local"}]},
         "global-catalogs-ignored"),
    ],
)  # fmt: skip
def test_each_warning_is_raised_exactly_when_its_condition_holds(
    changes: dict[str, Any], code: str
) -> None:
    assert codes(values(**changes)) == [code]


@pytest.mark.parametrize(
    "changes",
    [
        {"mailboxes": {"count": 150}},
        {"network": {"upstream_mbps": 10}},
        {"exchange.service_pack": 1},
        {"office365.notification_emails": ["it@other-company.com", "ops@sub.testclient.com"]},
        {"domains": [{"name": "testclient.com", "mx_ttl": 3600, "mx_target": TARGET}]},
    ],
)
def test_no_warning_at_the_boundary(changes: dict[str, Any]) -> None:
    assert codes(values(**changes)) == []


def test_the_base_client_raises_no_warning() -> None:
    assert codes(values()) == []


def test_schedule_from_size_and_bandwidth() -> None:
    v = values(
        window=dt.date(2026, 12, 5),
        network={"upstream_mbps": 10},
        mailboxes={"count": 20, "total_gb": 90},
    )
    s = v.schedule
    assert s is not None
    # 90 GB = 720,000 Mbit at 5 Mbit/s = 40 hours: two days of initial sync
    assert s.initial_sync_hours == 40.0
    assert "50% of 10 Mbit/s" in s.assumption
    dates = {step.step: step.date for step in s.steps}
    assert dates == {
        "set-validports": dt.date(2026, 11, 29),
        "prepare": dt.date(2026, 11, 29),
        "lower-mx-ttl": dt.date(2026, 11, 29),
        "start-batch": dt.date(2026, 12, 1),
        "initial-sync-done": dt.date(2026, 12, 3),
        "switch-mx": dt.date(2026, 12, 5),
        "delete-batch": dt.date(2026, 12, 8),
        "licences": dt.date(2026, 12, 5),
    }
    assert [step.date for step in s.steps] == sorted(step.date for step in s.steps)
    # licences before the switch (DOMAIN.md 11), listed before it on the same day
    order = [step.step for step in s.steps]
    assert order.index("licences") == order.index("switch-mx") - 1


def test_licences_are_due_by_the_switch_or_the_grace_end_if_earlier() -> None:
    # 500 GB at 0.5 Mbit/s: about 93 days of initial sync, so the 30 days of grace after the
    # batch starts end before the switch
    v = values(
        window=dt.date(2027, 6, 1),
        network={"upstream_mbps": 1},
        mailboxes={"count": 20, "total_gb": 500},
    )
    assert v.schedule is not None
    dates = {step.step: step.date for step in v.schedule.steps}
    assert dates["licences"] == dates["start-batch"] + dt.timedelta(days=30)
    assert dates["licences"] < dates["switch-mx"]


def test_schedule_with_unknown_size_assumes_a_week() -> None:
    s = values(window=dt.date(2027, 3, 10)).schedule
    assert s is not None and s.initial_sync_hours is None
    dates = {step.step: step.date for step in s.steps}
    assert dates["start-batch"] == dt.date(2027, 3, 3)
    assert "7 days" in s.assumption


def test_a_long_mx_ttl_is_lowered_early_enough_to_expire() -> None:
    s = values(
        window=dt.date(2027, 3, 10),
        domains=[{"name": "testclient.com", "mx_ttl": 14 * 86400}],
    ).schedule
    assert s is not None
    dates = {step.step: step.date for step in s.steps}
    # one old TTL (14 days) before the switch, earlier than the usual preparation day
    assert dates["lower-mx-ttl"] == dt.date(2027, 2, 24)
    assert dates["prepare"] == dt.date(2027, 3, 1)


def test_an_unknown_ttl_is_planned_as_two_days() -> None:
    s = values(
        window=dt.date(2027, 3, 10),
        mailboxes={"count": 5, "total_gb": 1},
        network={"upstream_mbps": 100},
        domains=[{"name": "testclient.com", "mx_target": TARGET}],
    ).schedule
    assert s is not None
    dates = {step.step: step.date for step in s.steps}
    assert dates["start-batch"] == dt.date(2027, 3, 7)
    assert dates["lower-mx-ttl"] == dt.date(2027, 3, 5)  # the preparation day: earlier still
    assert dates["lower-mx-ttl"] <= dt.date(2027, 3, 8)  # at least two days before the switch


def test_no_schedule_without_a_window() -> None:
    assert values().schedule is None


def test_outlook_versions_by_what_they_can_do() -> None:
    o = values(outlook_versions=[365, 2016, 2003, 2010, 2013]).outlook
    assert o.versions == [2003, 2010, 2013, 2016, 365]
    assert o.to_upgrade == [2003, 2010]
    assert o.out_of_support == [2013, 2016]
    assert o.modern_auth_2013 == [
        'reg add "HKCU\\Software\\Microsoft\\Exchange" /v AlwaysUseMSOAuthForAutoDiscover '
        "/t REG_DWORD /d 1 /f",
        'reg add "HKCU\\Software\\Microsoft\\Office\\15.0\\Common\\Identity" /v EnableADAL '
        "/t REG_DWORD /d 1 /f",
        'reg add "HKCU\\Software\\Microsoft\\Office\\15.0\\Common\\Identity" /v Version '
        "/t REG_DWORD /d 1 /f",
    ]
    assert values(outlook_versions=[2016]).outlook.modern_auth_2013 == []


def test_outlook_that_cannot_open_a_2003_mailbox_is_questioned() -> None:
    # DOMAIN.md 12: Outlook 2016 and later cannot open a mailbox on Exchange 2003, so an
    # inventory listing one in use today is wrong or those computers use something else
    v = values(outlook_versions=[2010, 2016, 2021, 365])
    assert codes(v) == ["outlook-too-old", "outlook-out-of-support", "outlook-newer-than-exchange"]
    [message] = [w.message for w in v.warnings if w.code == "outlook-newer-than-exchange"]
    assert message == (
        "Outlook 2016, Outlook 2021 and Microsoft 365 Apps cannot open a mailbox on Exchange "
        "2003: find out how the computers with them reach mail today (Outlook Web Access, POP "
        "or IMAP), or correct outlook_versions in the client file."
    )
    assert "computers with it reach" in values(outlook_versions=[2019]).warnings[-1].message


def test_outlook_versions_are_listed_as_a_sentence_reads_them() -> None:
    v = values(outlook_versions=[2003, 2007, 2010, 2013, 2016])
    messages = {w.code: w.message for w in v.warnings}
    assert messages["outlook-too-old"].startswith(
        "Outlook 2003, Outlook 2007 and Outlook 2010 cannot connect to Exchange Online:"
    )
    assert messages["outlook-out-of-support"].startswith(
        "Outlook 2013 and Outlook 2016 are past the end of Microsoft's support for connecting "
        "to Microsoft 365: they may work,"
    )
    one = {w.code: w.message for w in values(outlook_versions=[2010, 2019]).warnings}
    assert one["outlook-too-old"].startswith("Outlook 2010 cannot connect")
    assert one["outlook-out-of-support"].startswith("Outlook 2019 is past the end")


def test_the_certificate_must_last_past_the_plan() -> None:
    assert values().certificate_valid_until is None
    v = values(window=dt.date(2027, 3, 10))
    assert v.certificate_valid_until == dt.date(2027, 3, 20)  # + 72 hours + a week


@pytest.mark.parametrize(
    ("admin", "listed", "used"),
    [
        # none listed: the tenant administrator
        ("admin@testclient.onmicrosoft.com", None, ["admin@testclient.onmicrosoft.com"]),
        # a migrated domain's address is left out when another remains
        (
            "admin@testclient.onmicrosoft.com",
            ["it@testclient.com", "ops@outside.net"],
            ["ops@outside.net"],
        ),
        # ...and replaced by the administrator when none remains
        (
            "admin@testclient.onmicrosoft.com",
            ["IT@TestClient.com"],
            ["admin@testclient.onmicrosoft.com"],
        ),
        # an administrator in a migrated domain replaces nothing: the warning asks for another
        ("admin@testclient.com", ["it@testclient.com"], ["it@testclient.com"]),
        # addresses outside the migrated domains are kept as listed, in order
        (
            "admin@testclient.onmicrosoft.com",
            ["b@outside.net", "a@outside.net"],
            ["b@outside.net", "a@outside.net"],
        ),
    ],
)  # fmt: skip
def test_reports_never_go_to_a_migrated_mailbox_when_another_can_read_them(
    admin: str, listed: list[str] | None, used: list[str]
) -> None:
    # DOMAIN.md 9: a migrated domain's address receives in an unwatched cloud mailbox, and the
    # reports may carry first passwords: few recipients, all of them read
    v = values(**{"office365.admin": admin, "office365.notification_emails": listed})
    assert v.batch.notification_emails == used
