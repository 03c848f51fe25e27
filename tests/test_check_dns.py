"""checks/dnsrecords.py against a real DNS server on a loopback UDP port."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.dnsrecords import Result, check_domain
from tests.servers import DnsServer

SCRIPT = Path(__file__).resolve().parents[1] / "checks" / "dnsrecords.py"
DOMAIN = "northwind.test"
AUTODISCOVER = f"autodiscover.{DOMAIN}"
O365_MX = "northwind-test.mail.protection.outlook.com"
O365_SPF = '"v=spf1 include:spf.protection.outlook.com -all"'

# Today: on-premises mail, a long MX TTL, an SPF record, autodiscover as an A record.
BEFORE = {
    (DOMAIN, "MX"): (86400, ["10 mail.northwind.test.", "20 backup.isp.test."]),
    (DOMAIN, "TXT"): (3600, ['"v=spf1 mx a:mail.northwind.test -all"', '"verification=abc"']),
    (AUTODISCOVER, "A"): (3600, ["203.0.113.10"]),
}
# After the switch, as the runbook asks (DOMAIN §8).
AFTER = {
    (DOMAIN, "MX"): (3600, [f"0 {O365_MX}.", "20 backup.isp.test."]),
    (DOMAIN, "TXT"): (3600, [O365_SPF, '"verification=abc"']),
    (AUTODISCOVER, "CNAME"): (3600, ["autodiscover.outlook.com."]),
}


Records = dict[tuple[str, str], tuple[int, list[str]]]


def check(
    records: Records, mode: str, mode_of_server: str = "answer", timeout: float = 2.0
) -> list[Result]:
    """Run check_domain for DOMAIN against a loopback server holding records."""
    with DnsServer(records, mode_of_server) as server:
        return check_domain(DOMAIN, O365_MX, mode, "127.0.0.1", server.port, timeout)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=20
    )


def test_before_reports_todays_records_and_warns_about_a_long_ttl() -> None:
    assert check(BEFORE, "before") == [
        Result(
            "mx",
            DOMAIN,
            "warn",
            "MX today: 10 mail.northwind.test, 20 backup.isp.test (TTL 86400 s); planned: "
            f"0 {O365_MX}; lower the TTL to 3600 s or less before the migration starts",
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


def test_before_with_a_short_ttl_passes_and_two_spf_records_warn() -> None:
    records = {
        (DOMAIN, "MX"): (3600, ["10 mail.northwind.test."]),
        (DOMAIN, "TXT"): (300, ['"v=spf1 mx -all"', '"v=spf1 include:other.test ~all"']),
    }
    mx, spf, autodiscover = check(records, "before")
    assert mx.status == "pass"
    assert mx.detail == f"MX today: 10 mail.northwind.test (TTL 3600 s); planned: 0 {O365_MX}"
    assert spf == Result(
        "spf",
        DOMAIN,
        "warn",
        "2 SPF records, only one is allowed: merge them "
        "(v=spf1 include:other.test ~all | v=spf1 mx -all)",
    )
    assert autodiscover.detail == ("no record today; at the switch: CNAME autodiscover.outlook.com")


def test_before_without_mx_or_spf() -> None:
    mx, spf, _ = check({(DOMAIN, "SOA"): (3600, ["ns. host. 1 2 3 4 5"])}, "before")
    assert mx == Result("mx", DOMAIN, "warn", f"no MX record; planned: 0 {O365_MX}")
    assert spf.status == "pass"
    assert spf.detail == (
        "no SPF record today; at the switch publish v=spf1 include:spf.protection.outlook.com -all"
    )


def test_without_an_mx_target_the_ttl_spf_and_autodiscover_are_still_checked() -> None:
    # the target is never derived (DOMAIN §11): a domain whose target is not copied yet is
    # checked all the same, its MX shown to compare with the admin center
    with DnsServer(BEFORE) as server:
        mx, spf, auto = check_domain(DOMAIN, None, "before", "127.0.0.1", server.port, 2.0)
    assert mx == Result(
        "mx",
        DOMAIN,
        "warn",
        "MX today: 10 mail.northwind.test, 20 backup.isp.test (TTL 86400 s); planned: the MX "
        "value in the admin center's DNS records (no --mx-target given); lower the TTL to "
        "3600 s or less before the migration starts",
    )
    assert spf.status == "pass" and spf.detail.startswith("SPF today: v=spf1 mx")
    assert auto.status == "pass"
    with DnsServer(AFTER) as server:
        proc = run_script(
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


def test_after_passes_when_everything_points_to_office_365() -> None:
    assert check(AFTER, "after") == [
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


def test_after_fails_while_records_still_point_on_premises() -> None:
    assert check(BEFORE, "after") == [
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


def test_after_fails_when_the_lowest_preference_is_shared_with_the_old_server() -> None:
    records = dict(AFTER)
    records[(DOMAIN, "MX")] = (3600, [f"0 {O365_MX}.", "0 mail.northwind.test."])
    records[(AUTODISCOVER, "CNAME")] = (3600, ["mail.northwind.test."])
    mx, _, autodiscover = check(records, "after")
    assert mx.status == "fail"
    assert autodiscover == Result(
        "autodiscover",
        AUTODISCOVER,
        "fail",
        "CNAME mail.northwind.test, not autodiscover.outlook.com",
    )


def test_spf_split_over_several_strings_is_read_whole() -> None:
    records = dict(AFTER)
    records[(DOMAIN, "TXT")] = (3600, ['"v=spf1 include:spf.protection." "outlook.com -all"'])
    assert check(records, "after")[1].status == "pass"


def test_after_with_two_spf_records_fails() -> None:
    records = dict(AFTER)
    records[(DOMAIN, "TXT")] = (3600, [O365_SPF, '"v=spf1 mx -all"'])
    assert check(records, "after")[1].status == "fail"


def test_nxdomain_fails_mx_and_spf() -> None:
    mx, spf, autodiscover = check({("other.test", "MX"): (60, ["0 x.test."])}, "after")
    assert mx == Result("mx", DOMAIN, "fail", "the domain does not exist (NXDOMAIN)")
    assert spf == Result("spf", DOMAIN, "fail", "the domain does not exist (NXDOMAIN)")
    assert autodiscover == Result(
        "autodiscover", AUTODISCOVER, "fail", "no record; expected CNAME autodiscover.outlook.com"
    )


def test_a_silent_server_gives_timeouts_not_tracebacks() -> None:
    results = check(AFTER, "before", mode_of_server="silent", timeout=0.5)
    assert [r.status for r in results] == ["fail", "fail", "fail"]
    assert results[0].detail == f"no answer from DNS within 0.5 s (MX {DOMAIN})"
    assert results[2].detail == f"no answer from DNS within 0.5 s (CNAME {AUTODISCOVER})"


def test_servfail_fails() -> None:
    results = check(AFTER, "after", mode_of_server="servfail")
    assert results[1] == Result(
        "spf", DOMAIN, "fail", f"no DNS server answered TXT {DOMAIN} (SERVFAIL or refused)"
    )


LOOP = {
    (DOMAIN, "CNAME"): (3600, ["mail-alias.northwind.test."]),
    ("mail-alias.northwind.test", "CNAME"): (3600, ["northwind.test."]),
}


def test_a_cname_loop_is_named_not_blamed_on_the_server() -> None:
    # dnspython gives up on the loop as on a server that does not answer (NoNameservers)
    mx, spf, _ = check(LOOP, "before")
    loop = "northwind.test -> mail-alias.northwind.test -> northwind.test"
    assert mx == Result(
        "mx", DOMAIN, "fail", f"CNAME loop: {loop}; correct these CNAME records (MX {DOMAIN})"
    )
    assert spf == Result(
        "spf", DOMAIN, "fail", f"CNAME loop: {loop}; correct these CNAME records (TXT {DOMAIN})"
    )
    with DnsServer(LOOP) as server:
        proc = run_script(
            "--mode", "after", "--nameserver", "127.0.0.1", "--port", str(server.port), DOMAIN
        )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        f"FAIL  mx  {DOMAIN}  CNAME loop: {loop}; correct these CNAME records (MX {DOMAIN})"
    )


def test_a_cname_chain_too_long_is_named() -> None:
    records: Records = {(DOMAIN, "CNAME"): (3600, ["hop1.northwind.test."])}
    for hop in range(1, 20):
        records[(f"hop{hop}.northwind.test", "CNAME")] = (3600, [f"hop{hop + 1}.northwind.test."])
    records[("hop20.northwind.test", "MX")] = (3600, [f"0 {O365_MX}."])
    mx = check(records, "after")[0]
    assert mx == Result(
        "mx",
        DOMAIN,
        "fail",
        "CNAME chain too long: 20 CNAMEs from northwind.test to hop20.northwind.test, more than "
        f"a resolver follows; shorten it (MX {DOMAIN})",
    )


def test_a_short_cname_chain_is_followed() -> None:
    records: Records = {
        (DOMAIN, "CNAME"): (3600, ["hop1.northwind.test."]),
        ("hop1.northwind.test", "CNAME"): (3600, ["hop2.northwind.test."]),
        ("hop2.northwind.test", "MX"): (3600, [f"0 {O365_MX}."]),
    }
    assert check(records, "after")[0] == Result(
        "mx", DOMAIN, "pass", f"MX 0 {O365_MX}: mail goes to Office 365"
    )


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        check_domain(DOMAIN, O365_MX, "during")
    with pytest.raises(ValueError):
        check_domain("northwind", O365_MX, "after")
    with pytest.raises(ValueError):
        check_domain(DOMAIN, O365_MX, "after", nameserver="ns1.northwind.test")


def test_cli_json_and_exit_status() -> None:
    with DnsServer(AFTER) as server:
        ok = run_script(
            "--json", "--mode", "after", "--mx-target", O365_MX,
            "--nameserver", "127.0.0.1", "--port", str(server.port), DOMAIN,
        )  # fmt: skip
        failing = run_script(
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
def test_cli_bad_usage_exits_two(args: list[str]) -> None:
    proc = run_script(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr


def test_garbage_answers_fail_each_lookup_within_one_timeout() -> None:
    results = check(AFTER, "after", mode_of_server="garbage", timeout=1.0)
    assert [(r.check, r.status) for r in results] == [
        ("mx", "fail"),
        ("spf", "fail"),
        ("autodiscover", "fail"),
    ]
    assert results[0].detail == f"no answer from DNS within 1 s (MX {DOMAIN})"


def test_cli_garbage_dns_costs_one_timeout_not_three() -> None:
    # A hang guard: one lookup after another took three timeouts (6 s) here.
    with DnsServer(AFTER, "garbage") as server:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--mode", "after", "--mx-target", O365_MX,
             "--nameserver", "127.0.0.1", "--port", str(server.port), "--timeout", "2", DOMAIN],
            capture_output=True,
            text=True,
            timeout=5,
        )  # fmt: skip
    assert proc.returncode == 1
    assert len(proc.stdout.splitlines()) == 3


def test_a_passed_deadline_skips_the_lookups() -> None:
    with DnsServer(AFTER) as server:
        results = check_domain(
            DOMAIN, O365_MX, "after", "127.0.0.1", server.port, 2, deadline=time.monotonic()
        )
        assert server.queries == []
    assert {r.status for r in results} == {"skip"}


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_cli_refuses_a_timeout_that_is_not_a_finite_positive_number(value: str) -> None:
    proc = run_script("--mode", "after", "--mx-target", O365_MX, "--timeout", value, DOMAIN)
    assert proc.returncode == 2 and "error:" in proc.stderr
