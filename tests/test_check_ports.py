"""checks/ports.py against real loopback servers: banners, refusals, timeouts, the CLI."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

import pytest

from checks.ports import Result, check_ports, parse_connect_to, parse_targets
from tests.servers import RPC_BANNER, banner_server, refused_port, unanswered_port

SCRIPT = Path(__file__).resolve().parents[1] / "checks" / "ports.py"
HOST = "exch01.northwind.test"


def run_script(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run ports.py as a user would, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_one(port: int, loopback_port: int, timeout: float = 2.0) -> Result:
    """Check HOST:port while connecting to 127.0.0.1:loopback_port."""
    mapping = {(HOST, port): ("127.0.0.1", loopback_port)}
    [result] = check_ports([(HOST, port)], timeout=timeout, connect_to=mapping)
    return result


def test_rpc_port_with_the_rpc_banner_passes() -> None:
    with banner_server(RPC_BANNER) as server:
        result = check_one(6001, server.port)
    assert result == Result(
        "port",
        "exch01.northwind.test:6001",
        "pass",
        f"open, banner ncacn_http/1.0 (via 127.0.0.1:{server.port})",
    )


def test_rpc_port_with_another_banner_warns_and_shows_it_escaped() -> None:
    with banner_server(b"SSH-2.0-OpenSSH_9.6\r\n") as server:
        result = check_one(6002, server.port)
    assert result.status == "warn"
    assert (
        "open, but the banner is 'SSH-2.0-OpenSSH_9.6\\r\\n', not ncacn_http/1.0" in result.detail
    )


def test_control_bytes_in_a_banner_are_escaped_and_truncated() -> None:
    with banner_server(b"\x1b[2J\x00" + b"A" * 300) as server:
        result = check_one(6004, server.port)
    assert result.status == "warn"
    assert "'\\x1b[2J\\x00AAAA" in result.detail
    assert "..." in result.detail
    assert "\x1b" not in result.detail and "\x00" not in result.detail
    assert len(result.detail) < 200


def test_rpc_port_without_a_banner_warns_after_a_short_wait() -> None:
    with banner_server(None) as server:
        result = check_one(6001, server.port, timeout=0.5)
    assert result.status == "warn"
    assert result.detail.startswith("open, but no banner within 0.5 s (expected ncacn_http/1.0)")


def test_rpc_port_closed_without_a_banner_warns() -> None:
    with banner_server(None, close=True) as server:
        result = check_one(6001, server.port)
    assert result.status == "warn"
    assert result.detail.startswith("open, but the connection closed without a banner")


def test_other_ports_pass_when_open_without_reading_a_banner() -> None:
    with banner_server(None) as server:
        result = check_one(443, server.port, timeout=5.0)
    assert result.status == "pass"
    assert result.detail == f"open (via 127.0.0.1:{server.port})"


def test_refused_port_fails() -> None:
    [result] = check_ports([("127.0.0.1", refused_port())], timeout=2.0)
    assert (result.status, result.detail) == ("fail", "refused")


def test_unanswered_port_fails_as_timed_out() -> None:
    with unanswered_port() as port:
        [result] = check_ports([("127.0.0.1", port)], timeout=0.5)
    assert (result.status, result.detail) == ("fail", "timed out (filtered?)")


def test_unresolvable_name_fails() -> None:
    # .invalid never resolves (RFC 6761), so no query leaves the machine unanswered.
    [result] = check_ports([("nothere.invalid", 443)], timeout=2.0)
    assert result == Result("port", "nothere.invalid:443", "fail", "name not resolved")


def test_results_keep_the_order_of_the_targets() -> None:
    refused = refused_port()
    with banner_server(RPC_BANNER) as good:
        mapping = {
            ("a.test", 6001): ("127.0.0.1", good.port),
            ("b.test", 6002): ("127.0.0.1", refused),
        }
        results = check_ports(
            [("b.test", 6002), ("a.test", 6001), ("nothere.invalid", 1)], 2.0, mapping
        )
    assert [(r.target, r.status) for r in results] == [
        ("b.test:6002", "fail"),
        ("a.test:6001", "pass"),
        ("nothere.invalid:1", "fail"),
    ]


def test_connect_to_matches_host_names_case_insensitively() -> None:
    with banner_server(RPC_BANNER) as server:
        mapping = {("EXCH01.Northwind.TEST", 6001): ("127.0.0.1", server.port)}
        [result] = check_ports([(HOST, 6001)], timeout=2.0, connect_to=mapping)
    assert result.status == "pass"


def test_parse_targets_reads_ports_and_ranges() -> None:
    assert parse_targets("EXCH01:6001-6002") == [("EXCH01", 6001), ("EXCH01", 6002)]
    assert parse_targets("mail.northwind.com:443") == [("mail.northwind.com", 443)]
    assert parse_targets("[::1]:6004") == [("::1", 6004)]


@pytest.mark.parametrize(
    "spec",
    [
        "EXCH01",
        "EXCH01:",
        "EXCH 01:6001",
        "exch;rm:6001",
        "a$b:1",
        "host:0",
        "host:65536",
        "host:6002-6001",
        "host:1-9999",
        "-bad-.test:443",
        "[nothex]:1",
        "host:6001-",
    ],
)
def test_parse_targets_rejects_bad_input(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_targets(spec)


def test_parse_connect_to() -> None:
    assert parse_connect_to("mail.northwind.com:443:127.0.0.1:8443") == (
        ("mail.northwind.com", 443),
        ("127.0.0.1", 8443),
    )
    assert parse_connect_to("EXCH01:6001:[::1]:16001") == (("EXCH01", 6001), ("::1", 16001))
    for bad in ("a:1:b", "a:1:b:0", "a b:1:c:2", "a:1:b:2:3", "a:x:b:2"):
        with pytest.raises(ValueError):
            parse_connect_to(bad)


def test_cli_json_and_exit_status_one_on_failure() -> None:
    refused = refused_port()
    with banner_server(RPC_BANNER) as server:
        proc = run_script(
            "--json",
            "--timeout", "2",
            "--connect-to", f"{HOST}:6001:127.0.0.1:{server.port}",
            "--connect-to", f"{HOST}:6002:127.0.0.1:{refused}",
            f"{HOST}:6001-6002",
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout) == {
        "results": [
            {
                "check": "port",
                "target": f"{HOST}:6001",
                "status": "pass",
                "detail": f"open, banner ncacn_http/1.0 (via 127.0.0.1:{server.port})",
            },
            {
                "check": "port",
                "target": f"{HOST}:6002",
                "status": "fail",
                "detail": f"refused (via 127.0.0.1:{refused})",
            },
        ]
    }


def test_cli_exit_status_zero_and_text_output_when_all_pass() -> None:
    with banner_server(RPC_BANNER) as server:
        proc = run_script(f"127.0.0.1:{server.port}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"PASS  port  127.0.0.1:{server.port}  open\n"


def test_cli_checks_many_unanswered_targets_at_once() -> None:
    # 24 targets with a 1 s timeout: one after another they would take 24 s.
    with unanswered_port() as port:
        targets = [f"h{i}.northwind.test:{port}" for i in range(24)]
        routes = [f"--connect-to=h{i}.northwind.test:{port}:127.0.0.1:{port}" for i in range(24)]
        proc = run_script("--json", "--timeout", "1", *routes, *targets, timeout=10)
    assert proc.returncode == 1
    results = json.loads(proc.stdout)["results"]
    assert [r["target"] for r in results] == targets
    assert {r["detail"] for r in results} == {f"timed out (filtered?) (via 127.0.0.1:{port})"}


@pytest.mark.parametrize(
    "args",
    [
        ["bad host:443"],
        ["host:99999"],
        ["host:443", "--timeout", "0"],
        ["host:443", "--timeout", "nan"],
        ["host:443", "--timeout", "inf"],
        ["host:443", "--connect-to", "host:443:127.0.0.1"],
        ["host:443", "--connect-to", "host:443:bad;host:1"],
        [],
    ],
)
def test_cli_bad_usage_exits_two(args: list[str]) -> None:
    proc = run_script(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr


def test_cli_help() -> None:
    proc = run_script("--help")
    assert proc.returncode == 0
    assert "--connect-to" in proc.stdout and "ncacn_http/1.0" in proc.stdout


def test_the_run_deadline_ends_a_long_timeout() -> None:
    # A hang guard: with a 60 s timeout per connection, only the 1 s deadline ends this run.
    with unanswered_port() as port:
        code = (
            "import time; from checks.ports import check_ports; "
            f"r = check_ports([('127.0.0.1', {port})], timeout=60, "
            "deadline=time.monotonic() + 1); print(r[0].detail)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=10,
        )
    assert proc.stdout == "timed out (filtered?)\n", proc.stderr


def test_cli_prints_each_result_once_known() -> None:
    # The first target answers at once; the second never does. The first line must arrive
    # while the run still waits for the second (a 30 s timeout), not when it ends.
    with banner_server(RPC_BANNER) as fast, unanswered_port() as slow:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--timeout", "30",
             f"127.0.0.1:{fast.port}", f"127.0.0.1:{slow}"],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 15)
            assert ready, "no result printed while the run was still going"
            assert proc.stdout is not None
            assert proc.stdout.readline() == f"PASS  port  127.0.0.1:{fast.port}  open\n"
            assert proc.poll() is None
        finally:
            proc.kill()
            proc.wait()
