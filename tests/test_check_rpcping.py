"""checks/rpcping.py and `runbook check --rpc` against the loopback MS-RPCH proxy.

Every run goes through a subprocess with a timeout (the hang guard); every output, evidence
file and request head is read for the password.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.rpcping import FIX_UNEXPECTED
from tests.conftest import EXAMPLES, ROOT, runbook_args
from tests.rpch_server import RpchProxy, valid_ports_allows
from tests.servers import ECHO_AT, HttpsProxy, Pki, TcpServer, self_signed

SCRIPT = ROOT / "checks" / "rpcping.py"
PUBLIC = "mail.northwind.com"
SERVER = "exch01.northwind.local"
USER = "NORTHWIND\\migadmin"
PASSWORD = "Tq7-unique-Secret-4Zx"
VALID_PORTS = (
    "EXCH01:6001-6002;EXCH01:6004;exch01.northwind.local:6001-6002;exch01.northwind.local:6004;"
    "mail.northwind.com:6001-6002;mail.northwind.com:6004"
)
URLS = [f"https://{PUBLIC}/rpc/rpcproxy.dll?{SERVER}:{port}" for port in (6001, 6002, 6004)]
# The password as it could leak: plain, or inside a Basic token.
LEAKS = [
    PASSWORD,
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    base64.b64encode(PASSWORD.encode()).decode()[:-4],
]


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A test CA."""
    return Pki()


@pytest.fixture
def cafile(pki: Pki, tmp_path: Path) -> str:
    """The test CA as a PEM file."""
    return pki.write_cafile(str(tmp_path))


def proxy(
    pki: Pki,
    valid_ports: str = VALID_PORTS,
    password: str = PASSWORD,
    **options: object,
) -> RpchProxy:
    """A loopback proxy for the public name, accepting USER with password."""
    return RpchProxy(pki.leaf(PUBLIC), (USER, password), valid_ports, **options)  # type: ignore[arg-type]


def assert_no_leak(*texts: str) -> None:
    """The password appears in none of the texts, in clear or as a Basic token."""
    for text in texts:
        for leak in LEAKS:
            assert leak not in text


def rpcping(
    port: int,
    cafile: str,
    *urls: str,
    timeout: str = "3",
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> tuple[int, list[dict[str, str]], str]:
    """Run the script against the loopback proxy; return exit status, results and stderr."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--user", USER, "--cafile", cafile, "--timeout", timeout]
        + [*options, "--connect-to", f"{PUBLIC}:443:127.0.0.1:{port}", "--json", *(urls or URLS)],
        env=env or {**os.environ, "RUNBOOK_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert_no_leak(proc.stdout, proc.stderr)
    results = json.loads(proc.stdout)["results"] if proc.stdout else []
    return proc.returncode, results, proc.stderr


def statuses(results: list[dict[str, str]]) -> list[str]:
    """The status of each result, in order."""
    return [r["status"] for r in results]


def heads_with_credentials(server: RpchProxy) -> list[bytes]:
    """The request heads that carried an Authorization header."""
    return [h for h in server.requests if b"\r\nauthorization:" in h.lower()]


def test_valid_targets_pass_with_the_right_basic_credentials(pki: Pki, cafile: str) -> None:
    with proxy(pki) as server:
        code, results, err = rpcping(server.port, cafile)
    assert code == 0, results
    assert statuses(results) == ["pass", "pass", "pass"]
    assert [r["target"] for r in results] == URLS
    assert {r["check"] for r in results} == {"rpcping"}
    assert "the store (EMSMDB 0.81)" in results[0]["detail"]
    assert "the referral service (RFR 1.0)" in results[1]["detail"]
    assert "the address book (name service 56.0)" in results[2]["detail"]
    heads = b"\n".join(server.requests)
    assert b"RPC_IN_DATA /rpc/rpcproxy.dll?exch01.northwind.local:6001 HTTP/1.1" in heads
    assert b"RPC_OUT_DATA /rpc/rpcproxy.dll?exch01.northwind.local:6001 HTTP/1.1" in heads
    assert b"Content-Length: 1073741824" in heads and b"Content-Length: 76" in heads
    # Per target: one question without credentials, then the IN and the OUT channel with them.
    assert len(server.requests) == 9 and len(heads_with_credentials(server)) == 6
    for head in server.requests:
        assert PASSWORD.encode() not in head
        assert head.lower().count(b"authorization:") <= 1


def test_wrong_credentials_are_named_with_their_fix(pki: Pki, cafile: str) -> None:
    with proxy(pki, password="another-password") as server:
        code, results, _ = rpcping(server.port, cafile, URLS[0])
    assert code == 1
    assert statuses(results) == ["fail"]
    assert results[0]["detail"].startswith("credentials refused (HTTP 401 Unauthorized")
    assert "the migration account requirement" in results[0]["detail"]


def test_a_target_missing_from_validports_is_named_with_its_fix(pki: Pki, cafile: str) -> None:
    without_6002 = VALID_PORTS.replace(
        "exch01.northwind.local:6001-6002", "exch01.northwind.local:6001"
    )
    with proxy(pki, valid_ports=without_6002) as server:
        code, results, _ = rpcping(server.port, cafile)
    assert code == 1
    assert statuses(results) == ["pass", "fail", "pass"]
    detail = results[1]["detail"]
    assert detail.startswith("ValidPorts refused the target (HTTP 503 Invalid RPC Port")
    assert "fix: the ValidPorts step" in detail


def test_a_401_where_the_account_passed_elsewhere_points_at_validports(
    pki: Pki, cafile: str
) -> None:
    without_6004 = "exch01.northwind.local:6001-6002"
    with proxy(pki, valid_ports=without_6004, refuse_with_401=True) as server:
        code, results, _ = rpcping(server.port, cafile)
    assert code == 1
    assert statuses(results) == ["pass", "pass", "fail"]
    assert results[2]["detail"].startswith(
        "ValidPorts likely refused the target: 401 here, while the same account passed on "
        "2 other targets; fix: the ValidPorts step"
    )


def test_validports_matching_is_caseless_and_exact(pki: Pki, cafile: str) -> None:
    assert valid_ports_allows("EXCH01.NORTHWIND.LOCAL:6001-6002", SERVER, 6002)
    assert not valid_ports_allows("EXCH01:6001-6002;exch01.northwind.local:6004", SERVER, 6001)
    assert not valid_ports_allows("exch01.northwind.local:6001-6002", SERVER, 6004)
    # The NetBIOS name does not stand for the FQDN: no canonicalisation (DOMAIN §4).
    with proxy(pki, valid_ports="EXCH01:6001-6002;EXCH01.Northwind.Local:6004") as server:
        code, results, _ = rpcping(server.port, cafile)
    assert statuses(results) == ["fail", "fail", "pass"]
    assert all(r["detail"].startswith("ValidPorts refused") for r in results[:2])


def test_a_dead_backend_port_is_named_with_its_fix(pki: Pki, cafile: str) -> None:
    with proxy(pki, dead_ports=frozenset({6004})) as server:
        code, results, _ = rpcping(server.port, cafile)
    assert code == 1
    assert statuses(results) == ["pass", "pass", "fail"]
    detail = results[2]["detail"]
    assert detail.startswith("back-end unreachable from the proxy: RPC error 0x6ba (1722")
    assert "fix: the reachability step from the RPC proxy" in detail


def test_a_chunked_out_channel_is_read(pki: Pki, cafile: str) -> None:
    with proxy(pki, chunked=True) as server:
        code, results, _ = rpcping(server.port, cafile)
    assert code == 0, results
    assert statuses(results) == ["pass", "pass", "pass"]


def test_a_service_on_the_wrong_port_is_named(pki: Pki, cafile: str) -> None:
    with proxy(pki, misplaced={6004: 6001}) as server:
        code, results, _ = rpcping(server.port, cafile)
    assert code == 1
    assert statuses(results) == ["pass", "pass", "fail"]
    assert results[2]["detail"].startswith(
        "interface refused: exch01.northwind.local:6004 answered but does not offer "
        "the address book (name service 56.0)"
    )


def test_a_tls_1_0_only_proxy_is_named_and_gets_no_request(pki: Pki, cafile: str) -> None:
    with proxy(pki, mode="tls10") as server:
        code, results, _ = rpcping(server.port, cafile, URLS[0])
    assert code == 1
    detail = results[0]["detail"]
    assert detail.startswith("TLS 1.2 not offered: the server offers only TLSv1;"), detail
    assert "Plan B: TLS 1.2 in front of IIS 6" in detail
    assert server.requests == []


def test_an_untrusted_certificate_gets_no_credentials(pki: Pki, cafile: str) -> None:
    with RpchProxy(self_signed(PUBLIC), (USER, PASSWORD), VALID_PORTS) as server:
        code, results, _ = rpcping(server.port, cafile, URLS[0])
    assert code == 1
    assert results[0]["detail"].startswith("certificate not trusted: self-signed certificate")
    assert "credentials were not sent" in results[0]["detail"]
    assert server.requests == []


def test_a_proxy_without_basic_is_named_and_gets_no_credentials(pki: Pki, cafile: str) -> None:
    with proxy(pki, mode="ntlm-only") as server:
        code, results, _ = rpcping(server.port, cafile, URLS[0])
    assert code == 1
    assert results[0]["detail"].startswith(
        "method not offered: the proxy offers Negotiate, NTLM, not Basic"
    )
    assert "groundwork: the /Rpc virtual directory" in results[0]["detail"]
    assert heads_with_credentials(server) == []


def test_a_silent_proxy_fails_within_the_timeout(pki: Pki, cafile: str) -> None:
    with proxy(pki, mode="silent") as server:
        code, results, _ = rpcping(server.port, cafile, URLS[0], timeout="1.5")
    assert code == 1
    assert results[0]["detail"].startswith("timeout: no answer within 1.5 s")


@pytest.fixture
def ntlm_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The account the loopback proxy's NTLM acceptor knows (pyspnego reads NTLM_USER_FILE)."""
    users = tmp_path / "ntlm-users"
    users.write_text(f"NORTHWIND:migadmin:{PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))


def rpcping_ntlm(port: int, cafile: str, password: str) -> tuple[int, list[dict[str, str]]]:
    """Run the script with --auth ntlm against the loopback proxy."""
    env = {**os.environ, "RUNBOOK_PASSWORD": password}
    code, results, _ = rpcping(port, cafile, env=env, options=("--auth", "ntlm"))
    return code, results


@pytest.mark.usefixtures("ntlm_users")
def test_ntlm_passes_where_the_proxy_offers_it(pki: Pki, cafile: str) -> None:
    with proxy(pki, mode="ntlm-only") as server:
        code, results = rpcping_ntlm(server.port, cafile, PASSWORD)
        refused_code, refused = rpcping_ntlm(server.port, cafile, "not-the-password")
    assert code == 0, results
    assert statuses(results) == ["pass", "pass", "pass"]
    assert b"Authorization: NTLM " in b"".join(server.requests)
    assert refused_code == 1
    assert all(r["detail"].startswith("credentials refused") for r in refused)
    for head in server.requests:
        assert PASSWORD.encode() not in head


# What pyspnego makes of each: binascii.Error, ValueError (twice), KeyError.
BROKEN_CHALLENGES = [
    "!!!not-base64!!!",
    base64.b64encode(b"NTLMSSP\x00\x02\x00\x00\x00" + b"\x00" * 8).decode(),
    base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00" + b"\x00" * 60).decode(),
    base64.b64encode(bytes(range(256)) * 4).decode(),
]


@pytest.mark.parametrize("challenge", BROKEN_CHALLENGES)
def test_a_broken_ntlm_challenge_is_one_failure_without_a_traceback(
    pki: Pki, cafile: str, challenge: str
) -> None:
    with proxy(pki, mode="ntlm-only", ntlm_challenge=challenge) as server:
        code, results, err = rpcping(server.port, cafile, URLS[0], options=("--auth", "ntlm"))
    assert err == ""
    assert code == 1
    [result] = results
    assert result["status"] == "fail"
    assert result["detail"] == (
        "unexpected answer: the proxy's NTLM challenge on the IN channel cannot be read; fix: "
        + FIX_UNEXPECTED
    )


def test_ntlm_without_its_library_says_so(pki: Pki, cafile: str, tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "spnego.py").write_text("raise ImportError('not installed here')\n")
    env = {**os.environ, "RUNBOOK_PASSWORD": PASSWORD, "PYTHONPATH": str(blocker)}
    with proxy(pki) as server:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--user", USER, "--auth", "ntlm", "--cafile", cafile]
            + ["--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", "--json", URLS[0]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0
    result = json.loads(proc.stdout)["results"][0]
    assert result["status"] == "skip"
    assert result["detail"].startswith("not checked: NTLM needs pyspnego")
    assert server.requests == []


def test_a_short_password_is_hidden_only_as_a_word_of_its_own(cafile: str) -> None:
    # a password "x" hidden everywhere turned the advice "fix:" into "fi[credentials]"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
        port = closed.getsockname()[1]
        env = {**os.environ, "RUNBOOK_PASSWORD": "x"}
        code, results, _ = rpcping(port, cafile, URLS[0], timeout="2", env=env)
    assert code == 1
    [result] = results
    assert "refused; fix: " in result["detail"] and "[credentials]" not in result["detail"]


def test_the_password_is_never_taken_from_the_command_line(cafile: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_PASSWORD"}
    base = [sys.executable, str(SCRIPT), "--user", USER, URLS[0]]
    asked = subprocess.run(
        base, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert asked.returncode == 2
    assert (
        "no password: set RUNBOOK_PASSWORD, run in a terminal to be asked, or pipe it in"
        in asked.stderr
    )
    given = subprocess.run(
        [*base, "--password", PASSWORD], env=env, capture_output=True, text=True, timeout=60
    )
    assert given.returncode == 2
    assert "unrecognized arguments" in given.stderr


def piped(port: int, cafile: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """Run the script with the password piped to stdin, away from any terminal."""
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_PASSWORD"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--user", USER, "--cafile", cafile, "--timeout", "3"]
        + ["--connect-to", f"{PUBLIC}:443:127.0.0.1:{port}", "--json", URLS[0]],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


def test_a_password_piped_to_stdin_is_read_whole_and_without_a_warning(
    pki: Pki, cafile: str
) -> None:
    # only the line end is taken off: a space at the end of a password is part of it
    with proxy(pki, password=PASSWORD + " ") as server:
        proc = piped(server.port, cafile, PASSWORD + " \n")
    assert proc.returncode == 0, proc.stderr
    assert statuses(json.loads(proc.stdout)["results"]) == ["pass"]
    # getpass on a pipe warns "Can not control echo on the terminal" and "password may be echoed"
    assert "Warning" not in proc.stderr and "echo" not in proc.stderr
    assert proc.stderr == f"Password for {USER} (never stored or shown): \n"
    assert_no_leak(proc.stdout, proc.stderr)


@pytest.mark.parametrize("stdin", ["\n", "", "\r\n"])
def test_an_empty_piped_password_is_a_usage_error(pki: Pki, cafile: str, stdin: str) -> None:
    with proxy(pki) as server:
        proc = piped(server.port, cafile, stdin)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        "rpcping.py: error: no password: set RUNBOOK_PASSWORD, run in a terminal to be asked, "
        "or pipe it in on one line"
    )
    assert server.requests == []


@pytest.mark.parametrize("given", ["variable", "piped"])
def test_a_password_not_in_utf_8_is_a_usage_error(pki: Pki, cafile: str, given: str) -> None:
    # bytes of another encoding reach Python as lone surrogates: encoding the request failed
    # with a traceback that named one character of the password
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_PASSWORD"}
    if given == "variable":
        env["RUNBOOK_PASSWORD"] = "Gr\udcfcn2024!"  # the byte 0xFC, as os.environ reads it
    with proxy(pki) as server:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--user", USER, "--cafile", cafile, "--timeout", "3",
             "--connect-to", f"{PUBLIC}:443:127.0.0.1:{server.port}", URLS[0]],
            env=env,
            input=b"Gr\xfcn2024!\n",
            capture_output=True,
            timeout=60,
            start_new_session=True,
        )  # fmt: skip
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and proc.stdout == b"", err
    what = "RUNBOOK_PASSWORD is" if given == "variable" else "the password typed or piped in is"
    assert err.splitlines()[-1] == (
        f"rpcping.py: error: {what} not UTF-8 text (bytes of another encoding): set the "
        "terminal or the variable to UTF-8 and give it again"
    )
    assert "Traceback" not in err and "Gr" not in err and "\\udc" not in err
    assert server.requests == []


def test_the_script_parses_as_python_3_8() -> None:
    import ast

    ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 8))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "migadmin", URLS[0]], "DOMAIN\\user"),
        (["--user", USER, "https://mail.northwind.com/owa/"], "rpcproxy.dll?SERVER:PORT"),
        (["--user", USER, "--auth", "digest", URLS[0]], "Basic or NTLM"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_cafile_that_is_no_ca_bundle_exits_2_before_any_connection(tmp_path: Path) -> None:
    not_a_bundle = tmp_path / "passwd"
    not_a_bundle.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    connections: list[object] = []
    with TcpServer(connections.append) as server:
        code, results, err = rpcping(server.port, str(not_a_bundle))
    assert (code, results) == (2, [])
    assert err.splitlines()[-1] == (
        f"rpcping.py: error: --cafile {not_a_bundle}: not a CA bundle: no PEM certificate "
        "could be read from it (NO_CERTIFICATE_OR_CRL_FOUND)"
    )
    assert connections == []


# --- impacket's client against the same server ---


def impacket_bind(server: RpchProxy, port: int, interface: tuple[str, str]) -> None:
    """Connect with impacket's MS-RPCH client through the loopback proxy and bind."""
    from impacket.dcerpc.v5 import transport
    from impacket.uuid import uuidtup_to_bin

    rpc = transport.DCERPCTransportFactory(f"ncacn_http:{SERVER}[{port}]")
    # The proxy URL first: it switches the transport to the MS-RPCH client that takes the
    # credentials (the query names the target, as the migration service's requests do).
    rpc.set_rpc_proxy_url(f"https://127.0.0.1:{server.port}/rpc/rpcproxy.dll?{SERVER}:{port}")
    rpc.set_credentials("migadmin", PASSWORD, "NORTHWIND")
    dce = rpc.get_dce_rpc()
    dce.connect()
    try:
        dce.bind(uuidtup_to_bin(interface))
    finally:
        dce.disconnect()


def test_impacket_binds_through_the_same_proxy(pki: Pki) -> None:
    pytest.importorskip("impacket")
    with proxy(pki) as server:
        impacket_bind(server, 6004, ("F5CC5A18-4264-101A-8C59-08002B2F8426", "56.0"))
        impacket_bind(server, 6001, ("A4F1DB00-CA47-1067-B31F-00DD010662DA", "0.81"))
        impacket_bind(server, 6002, ("1544F5E0-613C-11D1-93DF-00C04FD7BD09", "1.0"))
        # The store's interface is not what 6004 serves: impacket reads the refusal in our ack.
        with pytest.raises(Exception, match="abstract_syntax_not_supported"):
            impacket_bind(server, 6004, ("A4F1DB00-CA47-1067-B31F-00DD010662DA", "0.81"))


def test_impacket_reads_a_chunked_out_channel(pki: Pki) -> None:
    pytest.importorskip("impacket")
    with proxy(pki, chunked=True) as server:
        impacket_bind(server, 6004, ("F5CC5A18-4264-101A-8C59-08002B2F8426", "56.0"))


def test_impacket_reports_the_validports_refusal(pki: Pki) -> None:
    pytest.importorskip("impacket")
    from impacket.dcerpc.v5.rpch import RPC_PROXY_INVALID_RPC_PORT_ERR

    with (
        proxy(pki, valid_ports="EXCH01:6001-6002;EXCH01:6004") as server,
        pytest.raises(Exception) as refused,
    ):
        impacket_bind(server, 6001, ("A4F1DB00-CA47-1067-B31F-00DD010662DA", "0.81"))
    assert RPC_PROXY_INVALID_RPC_PORT_ERR in str(refused.value)


# --- runbook check --rpc ---


@pytest.fixture
def runbooks(tmp_path: Path) -> Iterator[Path]:
    """A private copy of the example client files (evidence is written beside them)."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for path in EXAMPLES.glob("*.yml"):
        shutil.copy(path, folder)
    yield folder


def runbook_check(
    runbooks: Path, port: int, cafile: str, *args: str, save: bool = False
) -> subprocess.CompletedProcess[str]:
    """`runbook check northwind-traders --rpc` against the loopback proxy; with `save`,
    `--save` and the public name looked up as the proxy (--save refuses --connect-to)."""
    route = f"{PUBLIC}:443:127.0.0.1:{port}"
    common = ["check", "northwind-traders", "--rpc", "--runbooks", str(runbooks)]
    common += ["--timeout", "3", "--cafile", cafile]
    proc = subprocess.run(
        runbook_args(*common, "--save", *args, resolve=[route])
        if save
        else runbook_args(*common, "--connect-to", route, *args),
        cwd=ROOT,
        env={**os.environ, "RUNBOOK_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert_no_leak(proc.stdout, proc.stderr)
    return proc


def test_runbook_check_rpc_gives_one_result_per_target(
    pki: Pki, cafile: str, runbooks: Path
) -> None:
    with proxy(pki) as server:
        proc = runbook_check(runbooks, server.port, cafile, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [(r["check"], r["target"], r["status"]) for r in results] == [
        ("rpcping", url, "pass") for url in URLS
    ]
    assert all(set(r) == {"check", "target", "status", "detail"} for r in results)


def test_runbook_check_rpc_fails_and_saves_without_the_password(
    pki: Pki, cafile: str, runbooks: Path
) -> None:
    with proxy(pki, dead_ports=frozenset({6002})) as server:
        proc = runbook_check(runbooks, server.port, cafile, "--json", save=True)
    assert proc.returncode == 1
    results = json.loads(proc.stdout)["results"]
    assert statuses(results) == ["pass", "fail", "pass"]
    evidence = runbooks / "evidence" / "northwind-traders.json"
    saved = evidence.read_text(encoding="utf-8")
    assert [r["status"] for r in json.loads(saved)["results"]] == ["pass", "fail", "pass"]
    for path in runbooks.rglob("*"):
        if path.is_file():
            assert_no_leak(path.read_text(encoding="utf-8", errors="replace"))


def test_credentials_the_proxy_echoes_are_never_printed_nor_saved(
    pki: Pki, cafile: str, runbooks: Path
) -> None:
    # A verified proxy answering 500 with the request's Authorization, decoded and not.
    with HttpsProxy(pki.leaf(PUBLIC), "reflect") as server:
        code, results, err = rpcping(server.port, cafile, URLS[0])
        proc = runbook_check(runbooks, server.port, cafile, "--json", save=True)
    assert any(b"\r\nAuthorization: Basic " in head for head in server.requests)
    assert code == 1 and proc.returncode == 1
    echoed = "unexpected answer: HTTP 500 [credentials] [credentials] on the "
    assert results[0]["detail"].startswith(echoed)
    assert all(r["detail"].startswith(echoed) for r in json.loads(proc.stdout)["results"])
    saved = (runbooks / "evidence" / "northwind-traders.json").read_text(encoding="utf-8")
    assert echoed in saved
    assert_no_leak(saved)


ECHO_PREFIX = f"{'ERROR 500 logon failed, password given: ':.<{ECHO_AT}}"


@pytest.mark.parametrize(
    ("behaviour", "detail"),
    [
        # the line whole: the password hidden before the cut at 60, not cut in two first
        (
            "echo",
            f"unexpected answer on the IN channel: not HTTP ('{ECHO_PREFIX}[credentials]...'); "
            f"fix: {FIX_UNEXPECTED}",
        ),
        # only its first part read: the password's first 6 characters end what is shown
        (
            "echohalf",
            f"unexpected answer on the IN channel: not HTTP ('{ECHO_PREFIX}[credentials]'); "
            f"fix: {FIX_UNEXPECTED}",
        ),
        # a body that is no RPC PDU, the password across the 16 bytes of a PDU header
        (
            "echobody",
            "unexpected answer on the OUT channel: not an RPC PDU ('DENIED: [credentials]'); "
            f"fix: {FIX_UNEXPECTED}",
        ),
    ],
)
def test_a_password_echoed_across_the_cut_is_never_shown_in_part(
    pki: Pki, cafile: str, runbooks: Path, behaviour: str, detail: str
) -> None:
    with HttpsProxy(pki.leaf(PUBLIC), behaviour) as server:
        code, results, err = rpcping(server.port, cafile, URLS[0])
        proc = runbook_check(runbooks, server.port, cafile, "--json", save=True)
    assert code == 1 and proc.returncode == 1, err
    assert results[0]["detail"] == detail
    assert {r["detail"] for r in json.loads(proc.stdout)["results"]} == {detail}
    saved = (runbooks / "evidence" / "northwind-traders.json").read_text(encoding="utf-8")
    assert {r["detail"] for r in json.loads(saved)["results"]} == {detail}
    for text in (proc.stdout, saved, err):
        assert PASSWORD[:3] not in text


def test_runbook_check_rpc_all_targets_follows_validports(
    pki: Pki, cafile: str, runbooks: Path
) -> None:
    # The proxy lists every entry but the public name's: those targets are refused.
    with proxy(pki, valid_ports=VALID_PORTS.split(";mail.")[0]) as server:
        proc = runbook_check(runbooks, server.port, cafile, "--all-targets", "--user", USER)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    hosts = ["EXCH01", SERVER, PUBLIC]
    assert len(lines) == 9
    expected = [(h, p) for h in hosts for p in (6001, 6002, 6004)]
    for line, (host, port) in zip(lines, expected, strict=True):
        assert f"rpcproxy.dll?{host}:{port}:" in line
        assert line.startswith("FAIL" if host == PUBLIC else "PASS")


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--rpc", "--user", "nodomain"], PASSWORD, "--user: the account must be written"),
        (["--rpc"], None, "--rpc: no password: set RUNBOOK_PASSWORD, run in a terminal to be"),
        (["--all-targets"], PASSWORD, "--user and --all-targets go with --rpc"),
    ],
)
def test_runbook_check_rpc_usage_errors_exit_2(
    runbooks: Path, args: list[str], password: str | None, message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_PASSWORD"}
    if password:
        env["RUNBOOK_PASSWORD"] = password
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "check", "northwind-traders", *args]
        + ["--runbooks", str(runbooks)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_no_leak(proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("broken-rts", "unexpected answer: a broken RTS PDU (too short for what it announces)"),
        ("short-bind-ack", f"unexpected answer: a bind_ack from {SERVER}:6001 too short to read"),
    ],
)
def test_a_malformed_answer_is_said_in_plain_words(
    pki: Pki, cafile: str, mode: str, detail: str
) -> None:
    with proxy(pki, mode=mode) as server:
        code, results, err = rpcping(server.port, cafile, URLS[0])
    assert code == 1 and "Traceback" not in err
    assert results[0]["detail"].startswith(detail + "; fix: ")


def test_the_script_holds_a_whole_run_to_its_deadline(pki: Pki, cafile: str) -> None:
    """Three silent targets, 1 s each, a 1.5 s deadline: the third is never started."""
    with proxy(pki, mode="silent") as server:
        code, results, err = rpcping(
            server.port, cafile, timeout="1", options=("--deadline", "1.5")
        )
    assert code == 1, err
    assert [r["status"] for r in results] == ["fail", "fail", "skip"]
    assert results[2]["detail"] == "not started: the run's deadline passed"


def test_a_silent_proxy_cannot_stretch_a_run_past_its_deadline(pki: Pki, cafile: str) -> None:
    from checks import rpcping as script

    targets = [script.parse_target(u) for u in URLS]
    credentials = script.Credentials(USER, PASSWORD)
    with proxy(pki, mode="silent") as server:
        route = {(PUBLIC, 443): ("127.0.0.1", server.port)}
        results = script.run(targets, credentials, 1.0, cafile, route, deadline=1.5)
    # the first target gets its whole timeout, the second what is left, the third none
    assert [r.status for r in results] == ["fail", "fail", "skip"]
    assert results[0].detail.startswith("timeout")
    assert results[2].detail == "not started: the run's deadline passed"


def test_a_password_echoed_upper_cased_or_percent_encoded_is_never_shown(
    pki: Pki, cafile: str
) -> None:
    password = "Pass word/#Tq7x"
    forms = [password, password.upper(), "Pass%20word%2F%23Tq7x", "Pass+word%2F%23Tq7x"]
    with HttpsProxy(pki.leaf(PUBLIC), "reflectforms") as server:
        code, results, err = rpcping(
            server.port, cafile, URLS[0], env={**os.environ, "RUNBOOK_PASSWORD": password}
        )
    assert code == 1, err
    assert "[credentials] [credentials] [credentials]" in results[0]["detail"]
    for form in forms:
        assert form not in results[0]["detail"] and form not in err
