"""`runbook check` as a whole run: TLS versions, the certificate's calendar, one deadline against
hostile loopback servers, results printed as they come, and the evidence it saves."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import select
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from generator.check import CheckResult, checked_targets, parse_nameserver
from generator.clients import load_values
from generator.errors import UserError
from generator.evidence import CUT_MARK, Evidence, evidence_path, load, record, save, staleness
from tests.conftest import EXAMPLES, ROOT, Run, run_cli, runbook_args
from tests.servers import DnsServer, HttpsProxy, Pki, banner_server

PUBLIC = "mail.northwind.com"
SLUG = "northwind-traders"
TLS10 = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)
REGQUERY = Path(__file__).resolve().parent / "fixtures" / "regquery"


def command(
    runbooks: Path, port: int, *args: str, timeout: str = "3", save: bool = False
) -> list[str]:
    """The `runbook check northwind-traders` command line pointed at a loopback port; with
    `save`, `--save` and the public name looked up as that port (--save refuses --connect-to)."""
    route = f"{PUBLIC}:443:127.0.0.1:{port}"
    common = ["check", SLUG, "--runbooks", str(runbooks), "--timeout", timeout]
    if save:
        return runbook_args(*common, "--save", *args, resolve=[route])
    return runbook_args(*common, "--connect-to", route, *args)


def check(runbooks: Path, port: int, *args: str, guard: float = 60, save: bool = False) -> Run:
    """Run the check; `guard` is a hang guard (the test fails if the run outlasts it)."""
    proc = subprocess.run(
        command(runbooks, port, *args, save=save),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=guard,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def results_of(run: Run) -> dict[str, dict[str, str]]:
    """The --json results by check name (the first of each)."""
    found: dict[str, dict[str, str]] = {}
    for result in json.loads(run.out)["results"]:
        found.setdefault(result["check"], result)
    return found


# --- TLS versions and the certificate's calendar (issue 12) ---


def test_a_tls_1_0_only_server_fails_naming_tls_1_2(runbooks: Path, pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC), "basic", versions=TLS10) as server:
        result = check(runbooks, server.port, "--cafile", cafile, "--json")
    assert result.code == 1, result.err
    found = results_of(result)
    assert found["tls-versions"]["status"] == "fail"
    assert found["tls-versions"]["detail"].startswith(
        "TLS 1.2 not offered (accepts TLS 1.0; refuses TLS 1.1, TLS 1.2, TLS 1.3)"
    )
    # The certificate and the proxy are still judged, over the old protocol.
    assert found["tls"]["status"] == "pass"
    assert found["rpcproxy"]["status"] == "pass"


def test_a_certificate_ending_within_30_days_warns(runbooks: Path, pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=10.5), "basic") as server:
        result = check(runbooks, server.port, "--cafile", cafile)
    assert result.code == 0, result.out + result.err
    [tls] = [line for line in result.out.splitlines() if line.startswith("WARN  tls ")]
    assert "(10 days)" in tls
    assert "renew it before the migration (under 30 days left)" in tls


def test_a_certificate_ending_before_the_day_the_steps_name_warns(
    runbooks: Path, pki: Pki, cafile: str
) -> None:
    """The steps ask the certificate to last through the switch, the 72 hours before the
    batch is deleted and a week in hand: ten days after the window. One ending eight and a
    half days after it outlasts a week, yet warns."""
    window = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=35)
    client = runbooks / f"{SLUG}.yml"
    text = client.read_text(encoding="utf-8")
    assert "window: 2026-12-05\n" in text
    client.write_text(text.replace("window: 2026-12-05\n", f"window: {window}\n"), "utf-8")
    with HttpsProxy(pki.leaf(PUBLIC, days_left=43.5), "basic") as server:
        result = check(runbooks, server.port, "--cafile", cafile, "--json")
    assert result.code == 0, result.out + result.err
    tls = results_of(result)["tls"]
    assert tls["status"] == "warn"
    assert f"it must last until {window + dt.timedelta(days=10)}" in tls["detail"]


def test_an_expired_certificate_fails_with_its_date(runbooks: Path, pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=-2.5, days_old=90), "basic") as server:
        result = check(runbooks, server.port, "--cafile", cafile, "--json")
    assert result.code == 1
    tls = results_of(result)["tls"]
    assert tls["status"] == "fail" and "(2 days ago)" in tls["detail"]
    assert tls["detail"].startswith("expired on ")


def test_a_cafile_result_says_it_is_not_the_system_store(
    runbooks: Path, proxy: HttpsProxy, cafile: str
) -> None:
    result = check(runbooks, proxy.port, "--cafile", cafile, "--json")
    assert results_of(result)["tls"]["detail"].startswith(
        "trusted by the given CA file, not the system store; name matches, expires "
    )


# --- one deadline against hostile servers (issue 17) ---
# Each run uses --timeout 3 and a hang guard of twice that: a run that outlasts it fails.


def test_a_mute_server_is_a_stalled_handshake_within_the_guard(runbooks: Path) -> None:
    with banner_server(None) as server:
        result = check(runbooks, server.port, "--json", guard=6)
    assert result.code == 1
    found = results_of(result)
    assert found["port"]["status"] == "pass"
    assert found["tls"]["detail"] == (
        "TLS handshake stalled: the connection opened, but the server did not complete a TLS "
        "handshake within 3 s"
    )
    assert "filtered" not in result.out
    assert found["rpcproxy"]["status"] == "skip"


@pytest.mark.parametrize(
    ("behaviour", "detail"),
    [
        ("drip", "no complete response head within 3 s (stalled server)"),
        ("flood", "response headers exceed 64 KiB"),
    ],
)
def test_a_slow_or_flooding_proxy_ends_within_the_guard(
    runbooks: Path, pki: Pki, cafile: str, behaviour: str, detail: str
) -> None:
    with HttpsProxy(pki.leaf(PUBLIC), behaviour, drip_interval=0.5) as server:
        result = check(runbooks, server.port, "--cafile", cafile, "--json", guard=6)
    assert result.code == 1
    proxies = [r for r in json.loads(result.out)["results"] if r["check"] == "rpcproxy"]
    assert [r["detail"] for r in proxies] == [detail] * 3


def test_garbage_dns_ends_within_the_guard(runbooks: Path, proxy: HttpsProxy, cafile: str) -> None:
    with DnsServer({}, "garbage") as dns:
        result = check(
            runbooks, proxy.port, "--cafile", cafile, "--json", "--dns", "before",
            "--nameserver", f"127.0.0.1:{dns.port}", guard=6,
        )  # fmt: skip
    assert result.code == 1
    lookups = [r for r in json.loads(result.out)["results"] if r["check"] in ("mx", "spf")]
    assert lookups and all(r["detail"].startswith("no answer from DNS within") for r in lookups)


def test_the_deadline_ends_a_run_whose_steps_may_take_longer(runbooks: Path) -> None:
    with banner_server(None) as server:
        result = check(
            runbooks, server.port, "--json", "--timeout", "30", "--deadline", "2", guard=10
        )
    assert result.code == 1
    # the step gets what is left of the run's 2 s (the run's own start-up counts too)
    detail = results_of(result)["tls"]["detail"]
    waited = re.fullmatch(r".*handshake within (\d+(?:\.\d+)?) s", detail)
    assert waited is not None, detail
    assert 0 < float(waited.group(1)) <= 2  # never the step's own 30 s


# --- results as they come (issue 16) ---


def test_results_are_printed_as_they_come(runbooks: Path) -> None:
    # The port result is known at once; the TLS handshake then stalls for up to 20 s. The port
    # line must arrive while the run still waits, not when it ends.
    with banner_server(None) as server:
        proc = subprocess.Popen(
            command(runbooks, server.port, timeout="20"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 15)
            assert ready, "nothing printed while the run was still going"
            assert proc.stdout.readline().startswith(f"PASS  port         {PUBLIC}:443: open")
            assert proc.poll() is None
        finally:
            proc.kill()
            proc.wait()


def test_json_stays_one_document(runbooks: Path, proxy: HttpsProxy, cafile: str) -> None:
    result = check(runbooks, proxy.port, "--cafile", cafile, "--json")
    assert len(json.loads(result.out)["results"]) == 6


# --- bad options (issue 17) ---


@pytest.mark.parametrize(
    "args",
    [
        ["--nameserver", "notanip", "--dns", "before"],
        ["--nameserver", "10.0.0.1:0", "--dns", "before"],
        ["--nameserver", "[::1]:99999", "--dns", "before"],
        ["--timeout", "nan"],
        ["--timeout", "inf"],
        ["--deadline", "nan"],
        ["--deadline", "0"],
    ],
)
def test_bad_options_are_usage_errors(runbooks: Path, args: list[str]) -> None:
    result = run_cli("check", SLUG, "--runbooks", str(runbooks), *args)
    assert result.code == 2
    assert result.out == "" and "Traceback" not in result.err
    if args[0] == "--nameserver":
        assert (
            result.err.count("\n") == 1
            and "not an IP address" in result.err
            or ("the port must be a number from 1 to 65535" in result.err)
        )


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("192.0.2.53", ("192.0.2.53", 53)),
        ("192.0.2.53:5353", ("192.0.2.53", 5353)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
        ("[::1]", ("::1", 53)),
    ],
)
def test_nameserver_forms(spec: str, parsed: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == parsed


@pytest.mark.parametrize("spec", ["notanip", "dns.example.com", "1.2.3.4:x", "[nope]:53", ""])
def test_nameserver_must_be_an_address(spec: str) -> None:
    with pytest.raises(UserError):
        parse_nameserver(spec)


@pytest.mark.parametrize(
    ("fixture", "code"),
    [("query-notfound.txt", 1), ("query-2003.txt", 0), ("query-dword.txt", 1)],
)
def test_both_validports_verifiers_agree(runbooks: Path, fixture: str, code: int) -> None:
    expected = load_values(runbooks, SLUG).valid_ports
    script = subprocess.run(
        [sys.executable, str(ROOT / "checks" / "validports.py"), "-e", expected,
         str(REGQUERY / fixture)],
        capture_output=True,
        timeout=20,
    )  # fmt: skip
    cli = run_cli("verify-validports", SLUG, str(REGQUERY / fixture), "--runbooks", str(runbooks))
    assert script.returncode == cli.code == code


def test_both_validports_verifiers_call_unreadable_input_bad_input(
    runbooks: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes\n")
    script = subprocess.run(
        [sys.executable, str(ROOT / "checks" / "validports.py"), "-e", "A:1", str(junk)],
        capture_output=True,
        timeout=20,
    )
    cli = run_cli("verify-validports", SLUG, str(junk), "--runbooks", str(runbooks))
    assert script.returncode == cli.code == 2


# --- evidence (issue 17) ---


def test_save_keeps_a_long_detail_cut_and_marked(
    runbooks: Path, proxy: HttpsProxy, cafile: str
) -> None:
    spf = [f'"v=spf1 include:spf{i}.example.net {"a" * 150} -all"' for i in range(20)]
    with DnsServer({("northwind.com", "TXT"): (3600, spf)}) as dns:
        result = check(
            runbooks, proxy.port, "--cafile", cafile, "--dns", "before",
            "--nameserver", f"127.0.0.1:{dns.port}", save=True,
        )  # fmt: skip
    assert "Traceback" not in result.err
    assert "saved " in result.err or "saved " in result.out
    saved = load(evidence_path(runbooks, SLUG))
    assert saved is not None
    [spf_result] = [r for r in saved.results if r.check == "spf"]
    assert spf_result.detail.startswith("20 SPF records, only one is allowed")
    assert spf_result.detail.endswith(CUT_MARK) and len(spf_result.detail) == 2000
    assert saved.checked_against is not None and saved.checked_against.dns == "before"
    assert "northwind.com" in saved.checked_against.targets


def test_save_to_an_unusable_folder_is_one_line_and_exit_2(
    runbooks: Path, proxy: HttpsProxy, cafile: str
) -> None:
    # a place that cannot be written is bad input (2); a disk that fills up would be 1
    (runbooks / "evidence").write_text("a file where the folder should be")
    result = check(runbooks, proxy.port, "--cafile", cafile, save=True)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and "cannot save the check results" in result.err


def test_saved_text_is_one_clean_line() -> None:
    values = load_values(EXAMPLES, SLUG)
    hostile = CheckResult(
        "tls", "a\nb", "fail", "line one\n# heading\r\n| a | b |\u202eevil\x1b[2J"
    )
    saved = record([hostile], dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc), "0", values)
    [result] = saved.results
    assert result.target == "a b"
    assert result.detail == "line one # heading  | a | b |evil [2J"


def test_hand_edited_evidence_is_read_as_one_line(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    path.write_text(
        '{"checked_at": "2026-11-20T09:30:00Z", "checked_from": "laptop\\n# Mine",'
        ' "tool_version": "0.1.0", "results": [{"check": "tls", "target":'
        ' "mail.northwind.com:443", "status": "fail", "detail": "a\\n\\n# Owned\\u202e"}]}'
    )
    saved = load(path)
    assert saved is not None and saved.results[0].detail == "a  # Owned"
    assert saved.checked_from == "laptop # Mine"


def _evidence_for(values_slug: str, *, private_ca: bool = False) -> Evidence:
    values = load_values(EXAMPLES, values_slug)
    results = [CheckResult("tls", f"{values.public_fqdn}:443", "pass", "trusted")]
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    return record(results, now, "0", values, private_ca=private_ca)


def test_fresh_evidence_is_not_stale(tmp_path: Path) -> None:
    values = load_values(EXAMPLES, SLUG)
    evidence = _evidence_for(SLUG, private_ca=True)
    path = save(evidence, tmp_path / "evidence" / f"{SLUG}.json")
    reloaded = load(path)
    assert reloaded is not None and reloaded.checked_against is not None
    assert reloaded.checked_against.private_ca is True
    assert reloaded.checked_against.targets == checked_targets(values)
    assert staleness(reloaded, values) is None


def test_evidence_is_stale_after_the_public_name_changes() -> None:
    values = load_values(EXAMPLES, SLUG)
    moved = values.model_copy(update={"public_fqdn": "remote.northwind.com"})
    reason = staleness(_evidence_for(SLUG), moved)
    assert reason == (
        "saved for the public name mail.northwind.com, which is now remote.northwind.com; "
        "run the checks again"
    )


def test_evidence_is_stale_when_the_targets_change() -> None:
    values = load_values(EXAMPLES, SLUG)
    server = values.model_copy(update={"exchange_server": "exch02.northwind.local"})
    reason = staleness(_evidence_for(SLUG), server)
    assert reason is not None and reason.startswith("the client's targets changed (not checked: ")
    assert "exch02.northwind.local:6001" in reason


def test_evidence_of_a_reused_slug_is_stale() -> None:
    other = load_values(EXAMPLES, "harbor-dental")
    reason = staleness(_evidence_for(SLUG), other)
    assert reason is not None and reason.startswith("saved for the client 'Northwind Traders'")


def test_evidence_without_a_record_of_its_targets_is_stale() -> None:
    values = load_values(EXAMPLES, SLUG)
    old = Evidence.model_validate(
        {
            "checked_at": "2026-11-20T09:30:00Z",
            "checked_from": "laptop",
            "tool_version": "0.1.0",
            "results": [],
        }
    )
    assert staleness(old, values) == (
        "saved without a record of what was checked; run the checks again"
    )


@pytest.mark.parametrize("module", ["ports", "rpcping", "rpcproxy"])
def test_a_host_name_with_a_line_break_after_it_is_no_host_name(module: str) -> None:
    # Python's $ matches before a final line break: "mail.example.com\n" passed the check
    script = importlib.import_module(f"checks.{module}")
    assert script.valid_host("mail.example.com")
    assert not script.valid_host("mail.example.com\n")


def test_a_domain_with_a_line_break_after_it_is_no_domain() -> None:
    from checks import dnsrecords

    assert dnsrecords._domain("example.com") == "example.com"
    with pytest.raises(ValueError, match="not a valid domain name"):
        dnsrecords._domain("example.com\n")
