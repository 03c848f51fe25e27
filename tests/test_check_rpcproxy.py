"""checks/rpcproxy.py against real loopback TLS servers standing in for the IIS RPC proxy."""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from checks.rpcproxy import (
    Result,
    check_proxy,
    check_tls,
    check_versions,
    parse_connect_to,
    probe_auth,
    run,
)
from tests.servers import (
    ECHO_AT,
    HandshakeDropper,
    HttpsProxy,
    Pki,
    TcpServer,
    banner_server,
    refused_port,
    self_signed,
)

SCRIPT = Path(__file__).resolve().parents[1] / "checks" / "rpcproxy.py"
PUBLIC = "mail.northwind.test"
SERVER = "exch01.northwind.local"
URL = f"https://{PUBLIC}/rpc/rpcproxy.dll?{SERVER}"
USER, PASSWORD = "NORTHWIND\\migadmin", "Tr0ub4dor&3-secret"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="module")
def cafile(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    return pki.write_cafile(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def good_cert(pki: Pki) -> tuple[bytes, bytes]:
    return pki.leaf(PUBLIC)


def route(server: TcpServer | int) -> dict[tuple[str, int], tuple[str, int]]:
    """connect_to sending the public name's port 443 to a loopback server."""
    port = server if isinstance(server, int) else server.port
    return {(PUBLIC, 443): ("127.0.0.1", port)}


StartProxy = Callable[..., HttpsProxy]


@pytest.fixture
def proxy(good_cert: tuple[bytes, bytes]) -> Iterator[StartProxy]:
    """Start HttpsProxy servers with the good certificate: proxy(behaviour, **options)."""
    with contextlib.ExitStack() as stack:
        yield lambda behaviour, **options: stack.enter_context(
            HttpsProxy(good_cert, behaviour, **options)
        )


def run_script(
    *args: str, stdin: str = "", timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run rpcproxy.py in a fresh interpreter, detached from any terminal (for getpass)."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


# --- TLS ---


def test_tls_trusted_certificate_passes(cafile: str, good_cert: tuple[bytes, bytes]) -> None:
    with HttpsProxy(good_cert) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.check == "tls" and result.target == f"{PUBLIC}:443"
    assert result.status == "pass", result.detail
    assert result.detail.startswith(
        "trusted by the given CA file, not the system store; name matches, expires "
    )
    assert "(365 days), TLSv1." in result.detail or "(364 days), TLSv1." in result.detail


def test_tls_certificate_close_to_expiry_warns(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=10.5)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "warn"
    assert "(10 days)" in result.detail
    assert "renew it before the migration (under 30 days left)" in result.detail


def test_tls_self_signed_certificate_fails(cafile: str) -> None:
    with HttpsProxy(self_signed(PUBLIC)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert result.detail.startswith("untrusted: self-signed certificate; TLSv1.")


def test_tls_unknown_issuer_fails(cafile: str) -> None:
    with HttpsProxy(Pki().leaf(PUBLIC)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert result.detail.startswith("untrusted: unable to get local issuer certificate; TLSv1.")


def test_tls_name_mismatch_fails_and_names_the_certificate(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf("remote.northwind.test")) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert result.detail.startswith(
        "name mismatch: the certificate is for remote.northwind.test, not mail.northwind.test; "
    )


def test_tls_wildcard_certificate_matches(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf("*.northwind.test")) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "pass", result.detail


def test_tls_expired_certificate_fails_with_the_date(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=-3.5, days_old=400)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert result.detail.startswith("expired on ")
    assert "(3 days ago)" in result.detail


def test_tls_reports_every_problem_not_only_the_first(pki: Pki, cafile: str) -> None:
    # OpenSSL stops at the name mismatch; the expiry comes from reading the certificate.
    with HttpsProxy(pki.leaf("old.northwind.test", days_left=-1.5, days_old=30)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert "name mismatch: the certificate is for old.northwind.test" in result.detail
    assert "expired on " in result.detail and "(1 days ago)" in result.detail


def test_tls_refused_fails() -> None:
    result = check_tls(PUBLIC, connect_to=route(refused_port()), timeout=5)
    assert result == Result("tls", f"{PUBLIC}:443", "fail", "cannot connect: refused")


def test_tls_to_a_server_that_does_not_speak_tls_fails() -> None:
    with banner_server(b"HTTP/1.1 400 Bad Request\r\n\r\n", close=True) as server:
        result = check_tls(PUBLIC, connect_to=route(server.port), timeout=5)
    assert result.status == "fail"
    assert result.detail.startswith("TLS handshake failed: ")


# --- the proxy's answer without credentials ---


def test_proxy_sends_rpc_in_data_with_the_public_host(proxy: StartProxy, cafile: str) -> None:
    server = proxy("basic")
    check_proxy(PUBLIC, SERVER, [6001], "Basic", timeout=5, cafile=cafile, connect_to=route(server))
    assert server.requests == [
        b"RPC_IN_DATA /rpc/rpcproxy.dll?exch01.northwind.local:6001 HTTP/1.1\r\n"
        b"Host: mail.northwind.test\r\n"
        b"User-Agent: MSRPC\r\n"
        b"Accept: application/rpc\r\n"
        b"Content-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    ]


@pytest.mark.parametrize(
    ("behaviour", "method", "status", "detail"),
    [
        ("basic", "Basic", "pass", "401 as expected; offers Basic"),
        ("ntlm", "ntlm", "pass", "401 as expected; offers Negotiate, NTLM"),
        (
            "basic",
            "NTLM",
            "fail",
            "401, but offers only Basic: enable NTLM authentication on /rpc or set the "
            "migration endpoint to the offered method",
        ),
        (
            "ntlm",
            "Basic",
            "fail",
            "401, but offers only Negotiate, NTLM: enable Basic authentication on /rpc or set "
            "the migration endpoint to the offered method",
        ),
        (
            "noauth",
            "Basic",
            "fail",
            "401 without WWW-Authenticate: No supported Authentication Methods found",
        ),
        (
            "open",
            "Basic",
            "fail",
            "200 without credentials: open proxy, anyone can use it; "
            "require authentication on /rpc",
        ),
        ("notfound", "Basic", "fail", "404: RPC over HTTP not installed (no /rpc/rpcproxy.dll)"),
        (
            "forbidden",
            "Basic",
            "fail",
            "403 Forbidden: IIS refuses access to /rpc; check its directory security "
            "(403.4 means SSL required, 403.6 a blocked IP address)",
        ),
    ],
)
def test_proxy_answers(
    proxy: StartProxy, cafile: str, behaviour: str, method: str, status: str, detail: str
) -> None:
    server = proxy(behaviour)
    results = check_proxy(
        PUBLIC, SERVER, [6001, 6004], method, timeout=5, cafile=cafile, connect_to=route(server)
    )
    assert results == [
        Result("rpcproxy", f"{URL}:6001", status, detail),
        Result("rpcproxy", f"{URL}:6004", status, detail),
    ]


def test_proxy_garbage_is_not_an_http_response(proxy: StartProxy, cafile: str) -> None:
    server = proxy("garbage")
    [result] = check_proxy(
        PUBLIC, SERVER, [6001], timeout=5, cafile=cafile, connect_to=route(server)
    )
    assert result.status == "fail"
    assert result.detail.startswith("not an HTTP response (received '\\x00")
    assert "\x00" not in result.detail and "\x1b" not in result.detail


def test_proxy_endless_body_is_not_read(proxy: StartProxy, cafile: str) -> None:
    server = proxy("endless")
    [result] = check_proxy(
        PUBLIC, SERVER, [6001], timeout=5, cafile=cafile, connect_to=route(server)
    )
    assert result.status == "fail"
    assert result.detail.startswith("200 without credentials: open proxy")


def test_proxy_endless_headers_stop_at_the_cap(proxy: StartProxy, cafile: str) -> None:
    server = proxy("flood")
    [result] = check_proxy(
        PUBLIC, SERVER, [6001], timeout=5, cafile=cafile, connect_to=route(server)
    )
    assert result == Result("rpcproxy", f"{URL}:6001", "fail", "response headers exceed 64 KiB")


def test_proxy_slow_drip_stops_at_the_overall_deadline(proxy: StartProxy, cafile: str) -> None:
    # A byte every 0.3 s never trips a per-read timeout; only the overall deadline ends it.
    server = proxy("drip", drip_interval=0.3)
    [result] = check_proxy(
        PUBLIC, SERVER, [6001], timeout=1.5, cafile=cafile, connect_to=route(server)
    )
    assert result.status == "fail"
    assert result.detail == "no complete response head within 1.5 s (stalled server)"


def test_proxy_untrusted_certificate_fails_when_verifying(cafile: str) -> None:
    with HttpsProxy(self_signed(PUBLIC), "basic") as server:
        [result] = check_proxy(
            PUBLIC, SERVER, [6001], timeout=5, cafile=cafile, connect_to=route(server)
        )
    assert result.status == "fail"
    assert result.detail.startswith("certificate not trusted: self-signed certificate")


# --- the authenticated probe ---


def test_auth_probe_accepts_the_right_credentials_without_echoing_them(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "auth", credentials=(USER, PASSWORD)) as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, PASSWORD, 5, cafile, route(server))
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert f"Authorization: Basic {token}\r\n".encode() in server.requests[0]
    assert result == Result("auth", f"{URL}:6001", "pass", "credentials accepted (HTTP 200 OK)")


def test_auth_probe_reports_refused_credentials(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "auth", credentials=(USER, PASSWORD)) as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, "wrong", 5, cafile, route(server))
    assert result.status == "fail"
    assert (
        result.detail
        == "credentials refused (401): check the user (DOMAIN\\user form) and password"
    )


def test_credentials_never_go_to_an_untrusted_server(cafile: str) -> None:
    with HttpsProxy(self_signed(PUBLIC), "auth", credentials=(USER, PASSWORD)) as server:
        results = run(
            PUBLIC, SERVER, [6001], "basic", 5, cafile, route(server), lambda: (USER, PASSWORD)
        )
    assert [(r.check, r.status) for r in results] == [
        ("tls", "fail"),
        ("tls-versions", "pass"),
        ("rpcproxy", "pass"),
        ("auth", "skip"),
    ]
    assert results[3].detail.startswith("not sent: the certificate is not trusted")
    assert all(b"Authorization" not in head for head in server.requests)


def test_auth_probe_other_answers_are_not_acceptance(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "notfound") as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, PASSWORD, 5, cafile, route(server))
    assert result.status == "fail"
    assert result.detail.startswith("credentials not accepted (HTTP 404")


def test_auth_probe_failure_messages_hold_no_credentials() -> None:
    result = probe_auth(PUBLIC, SERVER, 6001, USER, PASSWORD, 5, None, route(refused_port()))
    assert result.detail == "cannot connect: refused"
    assert PASSWORD not in repr(result) and "migadmin" not in repr(result)


@pytest.mark.parametrize("password", [PASSWORD, "p\u00e4ssw\u00f6rd-\u00fcn\u00efcode"])
def test_auth_probe_never_shows_credentials_the_proxy_echoes(
    good_cert: tuple[bytes, bytes], cafile: str, password: str
) -> None:
    with HttpsProxy(good_cert, "reflect") as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, password, 5, cafile, route(server))
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    assert f"Authorization: Basic {token}\r\n".encode() in server.requests[0]
    assert result == Result(
        "auth",
        f"{URL}:6001",
        "fail",
        "credentials not accepted (HTTP 500 [credentials] [credentials])",
    )


# --- run(): TLS first, then the proxy ---


ECHO_PREFIX = f"{'ERROR 500 logon failed, password given: ':.<{ECHO_AT}}"


@pytest.mark.parametrize(
    ("behaviour", "shown"),
    [
        # the line whole: the password hidden before the cut at 60, not cut in two first
        ("echo", f"{ECHO_PREFIX}[credentials]..."),
        # only its first part read: the password's first 6 characters end what is shown
        ("echohalf", f"{ECHO_PREFIX}[credentials]"),
    ],
)
def test_auth_probe_hides_a_password_echoed_across_the_cut(
    good_cert: tuple[bytes, bytes], cafile: str, behaviour: str, shown: str
) -> None:
    with HttpsProxy(good_cert, behaviour) as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, PASSWORD, 5, cafile, route(server))
    assert result == Result(
        "auth", f"{URL}:6001", "fail", f"not an HTTP response (received '{shown}')"
    )
    assert PASSWORD[:3] not in result.detail


def test_run_probes_the_proxy_unverified_after_a_trust_failure(cafile: str) -> None:
    with HttpsProxy(self_signed(PUBLIC), "basic") as server:
        results = run(PUBLIC, SERVER, [6001], "basic", 5, cafile, route(server))
    assert [(r.check, r.status) for r in results] == [
        ("tls", "fail"),
        ("tls-versions", "pass"),
        ("rpcproxy", "pass"),
    ]
    assert results[2].detail == (
        "401 as expected; offers Basic (certificate not verified: see the tls result)"
    )


def test_run_skips_the_proxy_when_tls_cannot_connect() -> None:
    results = run(
        PUBLIC,
        SERVER,
        [6001, 6002],
        "Basic",
        5,
        None,
        route(refused_port()),
        lambda: (USER, PASSWORD),
    )
    assert results[0] == Result("tls", f"{PUBLIC}:443", "fail", "cannot connect: refused")
    # nothing answered: whether TLS 1.2 is offered is not known, so it is not said
    assert results[1] == Result(
        "tls-versions",
        f"{PUBLIC}:443",
        "skip",
        "skipped: TLS 1.2 not tested, no connection (refused) (see the tls result)",
    )
    skipped = "skipped: no TLS connection to the public name (see the tls result)"
    assert results[2:] == [
        Result("rpcproxy", f"{URL}:6001", "skip", skipped),
        Result("rpcproxy", f"{URL}:6002", "skip", skipped),
        Result("auth", f"{URL}:6001", "skip", skipped),
    ]


def test_run_does_not_ask_for_credentials_with_ntlm(proxy: StartProxy, cafile: str) -> None:
    server = proxy("ntlm")

    def ask() -> tuple[str, str]:
        raise AssertionError("credentials must not be asked for an NTLM endpoint")

    results = run(PUBLIC, SERVER, [6001], "NTLM", 5, cafile, route(server), ask)
    assert [(r.check, r.status) for r in results] == [
        ("tls", "pass"),
        ("tls-versions", "pass"),
        ("rpcproxy", "pass"),
        ("auth", "skip"),
    ]
    assert results[3].detail == "the authenticated probe supports Basic only; NTLM is not supported"


def test_bad_names_never_reach_the_request_line(proxy: StartProxy, cafile: str) -> None:
    server = proxy("basic")
    with pytest.raises(ValueError):
        check_proxy(PUBLIC, "exch01 HTTP/1.1\r\nX-Evil: 1", [6001], connect_to=route(server))
    with pytest.raises(ValueError):
        check_proxy(PUBLIC, SERVER, [6001], "Digest", connect_to=route(server))
    with pytest.raises(ValueError):
        check_proxy(PUBLIC, SERVER, [], connect_to=route(server))
    with pytest.raises(ValueError):
        run(PUBLIC, "exch01/../x", [6001], connect_to=route(server))
    assert server.requests == []


def test_parse_connect_to() -> None:
    assert parse_connect_to(f"{PUBLIC}:443:127.0.0.1:8443") == ((PUBLIC, 443), ("127.0.0.1", 8443))
    with pytest.raises(ValueError):
        parse_connect_to(f"{PUBLIC}:443:127.0.0.1")


# --- the command line ---


def test_cli_json_passes_with_exit_zero(proxy: StartProxy, cafile: str) -> None:
    server = proxy("basic")
    proc = run_script(
        "--json", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
        "--timeout", "5", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [(r["check"], r["target"], r["status"]) for r in results] == [
        ("tls", f"{PUBLIC}:443", "pass"),
        ("tls-versions", f"{PUBLIC}:443", "pass"),
        ("rpcproxy", f"{URL}:6001", "pass"),
        ("rpcproxy", f"{URL}:6002", "pass"),
        ("rpcproxy", f"{URL}:6004", "pass"),
    ]
    assert set(results[0]) == {"check", "target", "status", "detail"}


def test_cli_exit_one_when_no_authentication_method_is_offered(
    proxy: StartProxy, cafile: str
) -> None:
    server = proxy("noauth")
    proc = run_script(
        "--server", SERVER, "--auth-method", "ntlm", "--cafile", cafile, "--ports", "6001",
        "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[2] == (
        f"FAIL  rpcproxy  {URL}:6001  401 without WWW-Authenticate: "
        "No supported Authentication Methods found"
    )


def test_cli_slow_drip_finishes(proxy: StartProxy, cafile: str) -> None:
    server = proxy("drip", drip_interval=0.5)
    proc = run_script(
        "--json", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
        "--ports", "6001", "--timeout", "2",
        "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        timeout=10,
    )  # fmt: skip
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["results"][2]["detail"] == (
        "no complete response head within 2 s (stalled server)"
    )


def test_cli_auth_never_prints_credentials_the_proxy_echoes(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "reflect") as server:
        proc = run_script(
            "--json", "--auth", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
            "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
            stdin=f"{USER}\n{PASSWORD}\n",
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["results"][-1]["detail"] == (
        "credentials not accepted (HTTP 500 [credentials] [credentials])"
    )
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for leak in (PASSWORD, "migadmin", token[:8]):
        assert leak not in proc.stdout + proc.stderr


def test_cli_auth_prompts_and_never_prints_the_credentials(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "auth", credentials=(USER, PASSWORD)) as server:
        proc = run_script(
            "--json", "--auth", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
            "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
            stdin=f"{USER}\n{PASSWORD}\n",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert results[-1] == {
        "check": "auth",
        "target": f"{URL}:6001",
        "status": "pass",
        "detail": "credentials accepted (HTTP 200 OK)",
    }
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "migadmin" not in proc.stdout + proc.stderr
    assert "User for the authenticated probe" in proc.stderr


def test_cli_auth_reads_a_piped_password_whole_and_without_a_warning(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    # only the line end is taken off: spaces around a password are part of it
    password = f"  {PASSWORD} "
    with HttpsProxy(good_cert, "auth", credentials=(USER, password)) as server:
        proc = run_script(
            "--json", "--auth", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
            "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
            stdin=f"{USER}\n{password}\n",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][-1]["status"] == "pass"
    # getpass on a pipe warns "Can not control echo on the terminal" and "password may be echoed"
    assert "Warning" not in proc.stderr and "echo" not in proc.stderr
    assert proc.stderr == (
        "User for the authenticated probe (DOMAIN\\user): Password (sent once, never stored): \n"
    )


@pytest.mark.parametrize("stdin", [f"{USER}\n\n", f"{USER}\n", f"{USER}\r\n\r\n"])
def test_cli_auth_with_an_empty_password_exits_two(
    good_cert: tuple[bytes, bytes], cafile: str, stdin: str
) -> None:
    with HttpsProxy(good_cert, "auth", credentials=(USER, "")) as server:
        proc = run_script(
            "--auth", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
            "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
            stdin=stdin,
        )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "rpcproxy.py: error: --auth needs a password: it was empty or not given"
    )
    assert all(b"Authorization" not in head for head in server.requests)


def test_cli_auth_with_a_password_not_in_utf_8_exits_two(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    # typed in a Latin-1 terminal: Python reads the byte 0xFC (u) as a lone surrogate, which
    # could not be encoded for the request: a traceback naming the character
    with HttpsProxy(good_cert, "auth", credentials=(USER, "x")) as server:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--auth", "--server", SERVER, "--auth-method", "basic",
             "--cafile", cafile, "--ports", "6001",
             "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC],
            input=f"{USER}\n".encode() + b"Gr\xfcn2024!\n",
            capture_output=True,
            timeout=20,
            start_new_session=True,
        )  # fmt: skip
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert err.splitlines()[-1] == (
        "rpcproxy.py: error: --auth: the user or password is not UTF-8 text (bytes of another "
        "encoding): set the terminal to UTF-8 and give them again"
    )
    assert "Traceback" not in err and "Gr" not in err and "\\udc" not in err
    assert all(b"Authorization" not in head for head in server.requests)


def test_cli_auth_without_input_exits_two(good_cert: tuple[bytes, bytes], cafile: str) -> None:
    with HttpsProxy(good_cert, "basic") as server:
        proc = run_script(
            "--auth", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
            "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        )  # fmt: skip
    assert proc.returncode == 2
    assert "--auth needs a user and a password" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--server", "exch 01", "--auth-method", "basic", PUBLIC],
        ["--server", SERVER, "--auth-method", "digest", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--ports", "6001,70000", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--cafile", "/nonexistent/ca.pem", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "mail.northwind.test;rm"],
        ["--auth-method", "basic", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--timeout", "nan", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--timeout", "inf", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--deadline", "nan", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--window", "2026-13-01", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--window", "next week", PUBLIC],
        ["--server", SERVER, "--auth-method", "basic", "--valid-until", "2027-02-30", PUBLIC],
    ],
)
def test_cli_bad_usage_exits_two(args: list[str]) -> None:
    proc = run_script(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr


def test_cli_a_cafile_that_is_no_ca_bundle_exits_two_before_any_connection(
    tmp_path: Path,
) -> None:
    not_a_bundle = tmp_path / "passwd"
    not_a_bundle.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    connections: list[object] = []
    with TcpServer(connections.append) as server:
        proc = run_script(
            "--server", SERVER, "--auth-method", "basic", "--cafile", str(not_a_bundle),
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines()[-1] == (
        f"rpcproxy.py: error: --cafile {not_a_bundle}: not a CA bundle: no PEM certificate "
        "could be read from it (NO_CERTIFICATE_OR_CRL_FOUND)"
    )
    assert connections == []


# --- TLS versions and the certificate's calendar ---

TLS10 = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)
TLS12 = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)


def test_versions_of_a_tls_1_0_only_server_fail_naming_tls_1_2(
    good_cert: tuple[bytes, bytes],
) -> None:
    with HttpsProxy(good_cert, versions=TLS10) as server:
        result = check_versions(PUBLIC, connect_to=route(server), timeout=5)
    assert result.check == "tls-versions" and result.status == "fail"
    assert result.detail.startswith(
        "TLS 1.2 not offered (accepts TLS 1.0; refuses TLS 1.1, TLS 1.2, TLS 1.3): "
        "Exchange Online's migration connections use TLS 1.2"
    )


def test_versions_of_a_tls_1_2_only_server_pass(good_cert: tuple[bytes, bytes]) -> None:
    with HttpsProxy(good_cert, versions=TLS12) as server:
        result = check_versions(PUBLIC, connect_to=route(server), timeout=5)
    assert result == Result(
        "tls-versions",
        f"{PUBLIC}:443",
        "pass",
        "accepts TLS 1.2; refuses TLS 1.0, TLS 1.1, TLS 1.3",
    )


@pytest.mark.parametrize("reset", [False, True])
def test_a_handshake_broken_off_after_the_server_answered_is_no_refusal(
    good_cert: tuple[bytes, bytes], reset: bool
) -> None:
    # ServerHello and the rest sent, the client's answer read, then a close (or a reset)
    with HandshakeDropper(good_cert, TLS12, "answer", reset) as server:
        result = check_versions(PUBLIC, connect_to=route(server), timeout=5)
    assert server.dropped == 1
    assert result == Result(
        "tls-versions",
        f"{PUBLIC}:443",
        "fail",
        "TLS 1.2 not confirmed: refuses TLS 1.0, TLS 1.1, TLS 1.3; broke off the handshake for "
        "TLS 1.2 (not proven refused); Exchange Online's migration connections use TLS 1.2, so "
        "run this again and, if it recurs, look at what sits in front of the server (a firewall "
        "or TLS device)",
    )


@pytest.mark.parametrize("reset", [False, True])
def test_a_close_right_after_the_client_hello_is_a_refusal(
    good_cert: tuple[bytes, bytes], reset: bool
) -> None:
    with HandshakeDropper(good_cert, TLS12, "hello", reset) as server:
        result = check_versions(PUBLIC, connect_to=route(server), timeout=5)
    assert server.dropped == 1
    assert result.status == "fail"
    assert result.detail.startswith(
        "TLS 1.2 not offered (refuses TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3): "
        "Exchange Online's migration connections use TLS 1.2"
    )


def test_run_against_tls_1_0_still_reads_the_certificate_and_the_proxy(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert, "auth", credentials=(USER, PASSWORD), versions=TLS10) as server:
        results = run(
            PUBLIC, SERVER, [6001], "basic", 5, cafile, route(server), lambda: (USER, PASSWORD)
        )
    assert [(r.check, r.status) for r in results] == [
        ("tls", "pass"),
        ("tls-versions", "fail"),
        ("rpcproxy", "pass"),
        ("auth", "skip"),
    ]
    assert results[0].detail.endswith(", TLSv1 (read allowing old protocols: see tls-versions)")
    assert results[3].detail.startswith("not sent: the public name does not offer TLS 1.2")
    assert all(b"Authorization" not in head for head in server.requests)


def test_a_stalled_handshake_is_reported_as_such() -> None:
    with banner_server(None) as server:
        results = run(PUBLIC, SERVER, [6001], "basic", 1, None, route(server))
    assert results[0] == Result(
        "tls",
        f"{PUBLIC}:443",
        "fail",
        "TLS handshake stalled: the connection opened, but the server did not complete a TLS "
        "handshake within 1 s",
    )
    # a stall is no refusal either
    assert results[1].detail.startswith(
        "TLS 1.2 not confirmed: handshake stalled for TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3; "
    )
    assert results[2].status == "skip"


def _in_days(days: int) -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=days)


def test_certificate_ending_before_a_week_after_the_window_warns(pki: Pki, cafile: str) -> None:
    window = _in_days(40)
    with HttpsProxy(pki.leaf(PUBLIC, days_left=45.5)) as server:
        result = check_tls(
            PUBLIC, cafile=cafile, connect_to=route(server), timeout=5, window=window
        )
        calm = check_tls(
            PUBLIC, cafile=cafile, connect_to=route(server), timeout=5, window=_in_days(20)
        )
    assert result.status == "warn"
    week_after = (window + datetime.timedelta(days=7)).isoformat()
    assert (
        f"renew it before the migration (it must last until {week_after}, a week after the "
        f"window {window.isoformat()})"
    ) in result.detail
    assert calm.status == "pass", calm.detail


def test_certificate_ending_before_the_valid_until_day_is_over_warns(pki: Pki, cafile: str) -> None:
    # ends about 45.5 days from now: within day 46, after day 44 is over
    with HttpsProxy(pki.leaf(PUBLIC, days_left=45.5)) as server:
        result = check_tls(
            PUBLIC, cafile=cafile, connect_to=route(server), timeout=5, valid_until=_in_days(46)
        )
        calm = check_tls(
            PUBLIC, cafile=cafile, connect_to=route(server), timeout=5, valid_until=_in_days(44)
        )
    assert result.status == "warn"
    assert (
        f": renew it before the migration (it must last until {_in_days(46).isoformat()}), "
    ) in result.detail
    assert calm.status == "pass", calm.detail


def test_the_later_of_window_and_valid_until_counts(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=45.5)) as server:
        by_window = check_tls(
            PUBLIC,
            cafile=cafile,
            connect_to=route(server),
            timeout=5,
            window=_in_days(40),
            valid_until=_in_days(30),
        )
    assert by_window.status == "warn"
    assert "a week after the window" in by_window.detail


def test_untrusted_certificate_still_reports_its_end_date(cafile: str) -> None:
    with HttpsProxy(self_signed(PUBLIC)) as server:
        result = check_tls(PUBLIC, cafile=cafile, connect_to=route(server), timeout=5)
    assert result.status == "fail"
    assert result.detail.endswith(f"; expires {_in_days(365).isoformat()} (364 days)") or (
        result.detail.endswith(f"; expires {_in_days(364).isoformat()} (363 days)")
    )


def test_the_system_store_is_named_plainly_when_no_cafile_is_given(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    with HttpsProxy(good_cert) as server:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--json", "--server", SERVER, "--auth-method", "basic",
             "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC],
            env={**os.environ, "SSL_CERT_FILE": cafile},
            capture_output=True,
            text=True,
            timeout=20,
        )  # fmt: skip
    tls = json.loads(proc.stdout)["results"][0]
    assert tls["detail"].startswith("trusted, name matches, expires "), tls


def test_cli_window_warns(pki: Pki, cafile: str) -> None:
    with HttpsProxy(pki.leaf(PUBLIC, days_left=40.5)) as server:
        proc = run_script(
            "--server", SERVER, "--auth-method", "basic", "--cafile", cafile, "--ports", "6001",
            "--window", _in_days(35).isoformat(),
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("WARN  tls  ")
    assert "a week after the window" in proc.stdout.splitlines()[0]


def test_cli_valid_until_warns(pki: Pki, cafile: str) -> None:
    until = _in_days(41).isoformat()
    with HttpsProxy(pki.leaf(PUBLIC, days_left=40.5)) as server:
        proc = run_script(
            "--server", SERVER, "--auth-method", "basic", "--cafile", cafile, "--ports", "6001",
            "--valid-until", until,
            "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("WARN  tls  ")
    assert f"(it must last until {until})" in proc.stdout.splitlines()[0]


# --- hostile answers: parsing stays linear and bounded ---


def test_many_offered_schemes_are_named_briefly(proxy: StartProxy, cafile: str) -> None:
    server = proxy("manyschemes")
    [result] = check_proxy(
        PUBLIC, SERVER, [6001], timeout=5, cafile=cafile, connect_to=route(server)
    )
    assert result.status == "fail"
    assert result.detail.startswith("401, but offers only Scheme0, Scheme1, ")
    assert "Scheme11 and 4988 more: enable Basic" in result.detail
    assert len(result.detail) < 400


def test_a_hostile_challenge_parses_in_linear_time(proxy: StartProxy, cafile: str) -> None:
    # A hang guard, not a stopwatch: quadratic parsing took 23 s on this answer.
    server = proxy("quoteflood")
    proc = run_script(
        "--json", "--server", SERVER, "--auth-method", "basic", "--cafile", cafile,
        "--ports", "6001", "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", PUBLIC,
        timeout=10,
    )  # fmt: skip
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["results"][2]["check"] == "rpcproxy"


def test_auth_probe_never_shows_a_password_echoed_upper_cased_or_percent_encoded(
    good_cert: tuple[bytes, bytes], cafile: str
) -> None:
    password = "Pass word/#Tq7x"
    with HttpsProxy(good_cert, "reflectforms") as server:
        result = probe_auth(PUBLIC, SERVER, 6001, USER, password, 5, cafile, route(server))
    assert result.detail == (
        "credentials not accepted (HTTP 500 [credentials] [credentials] [credentials])"
    )
