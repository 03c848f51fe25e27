"""`runbook check` and `runbook verify-validports` against real loopback servers and files."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.errors import UserError
from generator.page import free
from tests.conftest import FIXTURE_CLIENTS, ROOT, Run, mkdocs_build, run_cli
from tests.htmltext import visible_text
from tests.servers import LEAKED, DnsServer, HttpsProxy, Pki, TcpServer, self_signed

PUBLIC = "mail.northwind.com"
RPC = (6001, 6002, 6004)
REGQUERY = Path(__file__).resolve().parent / "fixtures" / "regquery"


def check(runbooks: Path, port: int, *args: str, save: bool = False) -> Run:
    """`runbook check northwind-traders` pointed at a loopback port; with `save`, `--save` and
    the public name looked up as that port instead (--save refuses --connect-to)."""
    route = f"{PUBLIC}:443:127.0.0.1:{port}"
    command = ["check", "northwind-traders", "--runbooks", str(runbooks), "--timeout", "3"]
    if save:
        return run_cli(*command, "--save", *args, resolve=[route])
    return run_cli(*command, "--connect-to", route, *args)


def test_a_healthy_proxy_passes_every_outside_check(
    runbooks: Path, proxy: HttpsProxy, cafile: str
) -> None:
    result = check(runbooks, proxy.port, "--cafile", cafile, "--json")
    assert result.code == 0, result.out + result.err
    results = json.loads(result.out)["results"]
    assert [(r["check"], r["target"], r["status"]) for r in results] == [
        ("port", f"{PUBLIC}:443", "pass"),
        ("tls", f"{PUBLIC}:443", "pass"),
        ("tls-versions", f"{PUBLIC}:443", "pass"),
        ("rpcproxy", f"https://{PUBLIC}/rpc/rpcproxy.dll?exch01.northwind.local:6001", "pass"),
        ("rpcproxy", f"https://{PUBLIC}/rpc/rpcproxy.dll?exch01.northwind.local:6002", "pass"),
        ("rpcproxy", f"https://{PUBLIC}/rpc/rpcproxy.dll?exch01.northwind.local:6004", "pass"),
    ]
    assert set(results[0]) == {"check", "target", "status", "detail"}
    heads = b"".join(proxy.requests)
    assert b"RPC_IN_DATA /rpc/rpcproxy.dll?exch01.northwind.local:6001 HTTP/1.1" in heads
    assert f"Host: {PUBLIC}".encode() in heads


NOT_A_BUNDLE = "not a CA bundle: no PEM certificate could be read from it"


@pytest.mark.parametrize("rpc", [[], ["--rpc"]], ids=["outside", "rpc"])
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "passwd",
            "root:x:0:0:root:/root:/bin/bash\n",
            f"{NOT_A_BUNDLE} (NO_CERTIFICATE_OR_CRL_FOUND)",
        ),
        ("empty.pem", "", f"{NOT_A_BUNDLE} (NO_CERTIFICATE_OR_CRL_FOUND)"),
        (
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            f"{NOT_A_BUNDLE} ([X509] PEM lib)",
        ),
        ("missing.pem", None, "cannot read it: No such file or directory"),
        ("folder", "/", "cannot read it: Is a directory"),
    ],
    ids=["passwd", "empty", "broken", "missing", "folder"],
)
def test_a_cafile_that_is_no_ca_bundle_is_a_usage_error_before_any_connection(
    runbooks: Path, tmp_path: Path, rpc: list[str], name: str, content: str | None, reason: str
) -> None:
    # it was a "FAIL tls: TLS handshake failed" against the server, exit 1
    path = tmp_path / name
    if content == "/":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    connections: list[socket.socket] = []
    with TcpServer(connections.append) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "generator", "check", "northwind-traders", *rpc]
            + ["--runbooks", str(runbooks), "--timeout", "3", "--cafile", str(path)]
            + ["--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}"],
            cwd=ROOT,
            env={**os.environ, "RUNBOOK_PASSWORD": "not-used"},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"--cafile {path}: {reason}\n"
    assert connections == []
    assert not (runbooks / "evidence").exists()


def test_an_open_proxy_fails_with_exit_1(runbooks: Path, pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC), "open") as server:
        result = check(runbooks, server.port, "--cafile", cafile)
    assert result.code == 1
    assert "FAIL  rpcproxy" in result.out
    assert "Traceback" not in result.err


def test_an_untrusted_certificate_fails(runbooks: Path) -> None:
    with HttpsProxy(self_signed(PUBLIC), "basic") as server:
        result = check(runbooks, server.port, "--json")
    assert result.code == 1
    tls = [r for r in json.loads(result.out)["results"] if r["check"] == "tls"]
    assert tls[0]["status"] == "fail"


def test_the_certificate_must_last_as_long_as_the_runbook_says(
    runbooks: Path, pki: Pki, cafile: str
) -> None:
    # past a week after the switch, short of switch + 72 hours + 7 days (the steps' date)
    switch = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=60)
    client = runbooks / "northwind-traders.yml"
    text = client.read_text(encoding="utf-8")
    assert "window: 2026-12-05\n" in text
    client.write_text(text.replace("window: 2026-12-05\n", f"window: {switch}\n"), "utf-8")
    with HttpsProxy(pki.leaf(PUBLIC, days_left=68.5), "basic") as server:
        result = check(runbooks, server.port, "--cafile", cafile, "--json")
    [tls] = [r for r in json.loads(result.out)["results"] if r["check"] == "tls"]
    assert tls["status"] == "warn"
    until = (switch + dt.timedelta(days=10)).isoformat()
    assert f"(it must last until {until})" in tls["detail"]


def test_ntlm_client_needs_ntlm_offered(runbooks: Path, pki: Pki, cafile: str) -> None:
    public = "owa.alpinelogistics.com"
    with HttpsProxy(pki.leaf(public), "basic") as server:
        result = run_cli(
            "check",
            "alpine-logistics",
            "--runbooks",
            str(runbooks),
            "--timeout",
            "3",
            "--connect-to",
            f"{public}:443:127.0.0.1:{server.port}",
            "--cafile",
            cafile,
            "--json",
        )
    assert result.code == 1
    proxy_results = [r for r in json.loads(result.out)["results"] if r["check"] == "rpcproxy"]
    assert proxy_results and all(r["status"] == "fail" for r in proxy_results)
    assert "NTLM" in proxy_results[0]["detail"]


def test_dns_after_the_switch(runbooks: Path, proxy: HttpsProxy, cafile: str) -> None:
    target = "northwind-com.mail.protection.outlook.com"
    records = {
        ("northwind.com", "MX"): (3600, [f"0 {target}."]),
        ("northwind.com", "TXT"): (3600, ['"v=spf1 include:spf.protection.outlook.com -all"']),
        ("autodiscover.northwind.com", "CNAME"): (3600, ["autodiscover.outlook.com."]),
    }
    with DnsServer(records) as dns:
        result = check(
            runbooks,
            proxy.port,
            "--cafile",
            cafile,
            "--json",
            "--dns",
            "after",
            "--nameserver",
            f"127.0.0.1:{dns.port}",
        )
    assert result.code == 0, result.out
    checks = [(r["check"], r["status"]) for r in json.loads(result.out)["results"]][-3:]
    assert checks == [("mx", "pass"), ("spf", "pass"), ("autodiscover", "pass")]


def test_dns_still_on_premises_fails_after(runbooks: Path, proxy: HttpsProxy, cafile: str) -> None:
    records = {("northwind.com", "MX"): (86400, ["10 mail.northwind.com."])}
    with DnsServer(records) as dns:
        result = check(
            runbooks,
            proxy.port,
            "--cafile",
            cafile,
            "--dns",
            "after",
            "--nameserver",
            f"127.0.0.1:{dns.port}",
        )
    assert result.code == 1
    assert "FAIL  mx" in result.out


@pytest.mark.parametrize("rpc", [[], ["--rpc"]], ids=["outside", "rpc"])
def test_save_with_connect_to_is_a_usage_error_before_any_connection(
    runbooks: Path, rpc: list[str]
) -> None:
    # evidence from a run sent to another address would show on the page as the public name's
    reached: list[socket.socket] = []
    with TcpServer(reached.append) as server:
        result = run_cli(
            "check", "northwind-traders", "--runbooks", str(runbooks), "--timeout", "2",
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", "--save", *rpc,
            stdin="a password piped in\n",
        )  # fmt: skip
    assert result.code == 2
    assert result.out == ""
    assert result.err == (
        "--save records evidence for the public name and --connect-to sends the checks "
        "elsewhere: run with one of them, not both\n"
    )
    assert reached == []
    assert not (runbooks / "evidence").exists()


def test_save_writes_evidence_that_the_runbook_shows(
    runbooks: Path, proxy: HttpsProxy, cafile: str
) -> None:
    result = check(runbooks, proxy.port, "--cafile", cafile, save=True)
    assert result.code == 0, result.err
    path = runbooks / "evidence" / "northwind-traders.json"
    data = json.loads(path.read_text())
    assert set(data) == {
        "checked_at",
        "checked_from",
        "tool_version",
        "checked_against",
        "results",
    }
    assert data["checked_against"] == {
        "client": "Northwind Traders",
        "public_fqdn": PUBLIC,
        "targets": [
            f"{PUBLIC}:443",
            *[f"https://{PUBLIC}/rpc/rpcproxy.dll?exch01.northwind.local:{p}" for p in RPC],
        ],
        "dns": None,
        "private_ca": True,
    }
    assert len(data["results"]) == 6
    assert [p.name for p in path.parent.iterdir()] == ["northwind-traders.json"]
    page = run_cli("render", "northwind-traders", "--runbooks", str(runbooks)).out
    assert "## Latest checks" in page
    assert "6 passed, 0 warned, 0 failed, 0 skipped" in page
    assert f"| **PASS** | tls | {free(PUBLIC + ':443')} |" in page
    site = runbooks.parent / "site"
    assert mkdocs_build(site, runbooks).returncode == 0
    home = visible_text((site / "index.html").read_text(encoding="utf-8"))
    assert f"pass, {data['checked_at'][:10]}" in home
    assert home.count("not run") == 2


def test_damaged_evidence_is_a_clear_error(runbooks: Path) -> None:
    (runbooks / "evidence").mkdir()
    (runbooks / "evidence" / "northwind-traders.json").write_text("{not json")
    result = run_cli("validate", "--runbooks", str(runbooks))
    assert result.code == 0  # validate checks client files, not evidence
    page = run_cli("render", "northwind-traders", "--runbooks", str(runbooks))
    assert page.code == 2
    assert "not readable evidence" in page.err and "Traceback" not in page.err


def test_a_password_a_server_gives_away_is_never_saved(
    runbooks: Path, pki: Pki, cafile: str
) -> None:
    # the proxy's reason phrase is quoted in the result, and saved results are published
    with HttpsProxy(pki.leaf(PUBLIC), "leaky") as server:
        result = check(runbooks, server.port, "--cafile", cafile, save=True)
    assert result.code == 1, result.out + result.err
    saved = (runbooks / "evidence" / "northwind-traders.json").read_text()
    assert "Svc#Leak2024" not in saved
    assert "Server error: service account [hidden: it looked like a credential]" in saved
    page = run_cli("render", "northwind-traders", "--runbooks", str(runbooks))
    assert page.code == 0, page.err
    assert "Svc&#35;Leak2024" not in page.out and "Svc#Leak2024" not in page.out


def test_evidence_edited_to_hold_a_password_is_never_published(runbooks: Path) -> None:
    evidence = {
        "checked_at": "2026-12-01T10:00:00Z",
        "checked_from": "alex-laptop",
        "tool_version": "1",
        "results": [
            {"check": "tls", "target": PUBLIC, "status": "pass", "detail": "certificate ok"},
            {"check": "auth", "target": PUBLIC, "status": "pass", "detail": LEAKED},
        ],
    }
    (runbooks / "evidence").mkdir()
    (runbooks / "evidence" / "northwind-traders.json").write_text(json.dumps(evidence))
    for verb in ("render", "steps", "handout"):
        result = run_cli(verb, "northwind-traders", "--runbooks", str(runbooks))
        assert result.code == 2, (verb, result)
        assert result.err == (
            f"{runbooks}/evidence/northwind-traders.json: results[1].detail: looks like a "
            "credential, which is never published; delete the file or run the checks again "
            "with --save\n"
        )
        assert "Svc#Leak2024" not in result.out
    site = runbooks.parent / "site"
    built = mkdocs_build(site, runbooks)
    assert built.returncode != 0
    assert "results[1].detail: looks like a credential" in built.stderr + built.stdout
    assert not site.exists() or "Svc#Leak2024" not in "".join(
        p.read_text(errors="replace") for p in site.rglob("*.html")
    )


def test_bad_connect_to_is_a_usage_error(runbooks: Path) -> None:
    result = run_cli(
        "check", "northwind-traders", "--runbooks", str(runbooks), "--connect-to", "nonsense"
    )
    assert result.code == 2
    assert "--connect-to" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("fixture", "code", "expected"),
    [
        ("query-2003.txt", 0, "PASS  validports"),
        ("query-2008.txt", 0, "PASS  validports"),
        ("export-utf16.reg", 0, "PASS  validports"),
        ("query-all-values.txt", 1, "missing: mail.northwind.com:6001-6002"),
        ("query-dword.txt", 1, "it must be REG_SZ"),
        ("query-notfound.txt", 1, "ValidPorts not found"),
    ],
)
def test_verify_validports(fixture: str, code: int, expected: str, cli: Callable[..., Run]) -> None:
    result = cli("verify-validports", "northwind-traders", str(REGQUERY / fixture))
    assert result.code == code, result.out + result.err
    assert expected in result.out


def test_verify_validports_json(cli: Callable[..., Run]) -> None:
    result = cli(
        "verify-validports", "northwind-traders", str(REGQUERY / "query-2003.txt"), "--json"
    )
    assert json.loads(result.out)["results"][0]["status"] == "pass"


def test_verify_validports_unreadable_input(cli: Callable[..., Run], tmp_path: Path) -> None:
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    result = cli("verify-validports", "northwind-traders", str(binary))
    assert result.code == 2 and "Traceback" not in result.err
    missing = cli("verify-validports", "northwind-traders", str(tmp_path / "none.txt"))
    assert missing.code == 2 and "cannot read the file" in missing.err


def test_fixture_clients_exist() -> None:
    assert (FIXTURE_CLIENTS / "evil-corp.yml").is_file()


def test_saved_checks_linked_from_outside_their_folder_are_refused(
    runbooks: Path, tmp_path: Path
) -> None:
    # as a client file linked from elsewhere is: what the folder does not hold is never
    # published as this client's checks
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}", encoding="utf-8")
    (runbooks / "evidence").mkdir()
    link = runbooks / "evidence" / "northwind-traders.json"
    link.symlink_to(outside)
    for verb in ("render", "steps"):
        result = run_cli(verb, "--runbooks", str(runbooks), "northwind-traders")
        assert result.code == 2, (verb, result.err)
        assert result.err == (
            f"{link}: is a link to a file outside its folder; saved checks are read only from "
            "the folder itself: delete the link and run the checks again with --save\n"
        ), verb
    # a link inside the folder is the folder's own file
    link.unlink()
    inside = runbooks / "evidence" / "kept.json"
    inside.write_text("{}", encoding="utf-8")
    link.symlink_to(inside)
    result = run_cli("render", "--runbooks", str(runbooks), "northwind-traders")
    assert result.code == 2 and "not readable evidence" in result.err, result.err


def test_saved_checks_are_never_read_past_their_limit(tmp_path: Path) -> None:
    from generator import evidence

    huge = tmp_path / "northwind-traders.json"
    with huge.open("wb") as out:  # sparse: 64 MiB on paper, nothing on disk
        out.truncate(64 * 1024 * 1024)
    data = evidence.read(huge)
    assert data is not None and len(data) == evidence.MAX_BYTES + 1
    with pytest.raises(UserError, match="larger than 1 MiB"):
        evidence.load(huge)
    assert evidence.read(tmp_path / "none.json") is None
