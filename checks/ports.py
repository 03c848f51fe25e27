#!/usr/bin/env python3
"""Check TCP reachability of host:port targets, and the RPC over HTTP banner on 6001/6002/6004.

Standalone: Python 3.8+, standard library only; copy this one file anywhere.

    python3 ports.py mail.contoso.com:443
    python3 ports.py --timeout 3 EXCH01:6001-6002 EXCH01:6004 exch01.corp.local:6001-6002
    python3 ports.py --json --connect-to mail.contoso.com:443:127.0.0.1:8443 mail.contoso.com:443

Exit status: 0 when nothing failed, 1 when any target failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

CHECK = "port"
# A healthy RPC over HTTP endpoint greets a raw TCP connection with this banner (DOMAIN §1).
RPC_BANNER = b"ncacn_http/1.0"
RPC_PORTS = frozenset({6001, 6002, 6004})
BANNER_MAX_BYTES = 256
BANNER_MAX_WAIT = 2.0
MAX_TARGETS = 512
# socket.timeout only became an alias of TimeoutError in Python 3.10; this script runs on 3.8.
_TIMEOUTS = (socket.timeout, TimeoutError)
_T = TypeVar("_T")

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)" + _LABEL + r"(?:\." + _LABEL + r")*\.?$")
_TARGET_RE = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<hostname_or_ip>[^:\[\]\s]+))"
    r":(?P<first>[0-9]+)(?:-(?P<last>[0-9]+))?$"
)
_CONNECT_TO_RE = re.compile(
    r"^(?:\[(?P<v6a>[0-9A-Fa-f:.]+)\]|(?P<a>[^:\[\]\s]+)):(?P<pa>[0-9]+)"
    r":(?:\[(?P<v6b>[0-9A-Fa-f:.]+)\]|(?P<b>[^:\[\]\s]+)):(?P<pb>[0-9]+)$"
)


@dataclass(frozen=True)
class Result:
    """One check outcome: status is "pass", "warn", "fail" or "skip"."""

    check: str
    target: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """Return the result as the JSON object the scripts print."""
        return asdict(self)


class _ResolveTimeout(OSError):
    """Name resolution did not finish before the deadline."""


def valid_host(host: str) -> bool:
    """Return True for a DNS name, NetBIOS-style single label, or IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.fullmatch(host))


def _port(text: str) -> int:
    """Return text as a TCP port number, or raise ValueError."""
    if not re.fullmatch("[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535, not {text!r}")
    return int(text)


def _host(text: str) -> str:
    """Return text as a host name or address, or raise ValueError."""
    if not valid_host(text):
        raise ValueError(f"not a valid host name or IP address: {text!r}")
    return text


def parse_targets(spec: str) -> list[tuple[str, int]]:
    """Parse `host:port` or `host:first-last` (IPv6 as `[addr]:port`) into targets."""
    match = _TARGET_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected host:port or host:first-last, not {spec!r}")
    host = _host(match.group("v6") or match.group("hostname_or_ip"))
    first = _port(match.group("first"))
    last = _port(match.group("last") or match.group("first"))
    if last < first or last - first >= MAX_TARGETS:
        raise ValueError(f"bad port range in {spec!r}")
    return [(host, port) for port in range(first, last + 1)]


def parse_connect_to(spec: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """Parse curl-style `H:P:H2:P2`: connections to H:P go to H2:P2 (names kept for TLS/HTTP)."""
    match = _CONNECT_TO_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected HOST:PORT:CONNECT_HOST:CONNECT_PORT, not {spec!r}")
    named = (_host(match.group("v6a") or match.group("a")), _port(match.group("pa")))
    actual = (_host(match.group("v6b") or match.group("b")), _port(match.group("pb")))
    return named, actual


def _route(
    host: str, port: int, connect_to: Mapping[tuple[str, int], tuple[str, int]] | None
) -> tuple[str, int]:
    """Return where a connection named host:port really goes (host names compare caselessly)."""
    for (named_host, named_port), actual in (connect_to or {}).items():
        if named_port == port and named_host.lower() == host.lower():
            return actual
    return host, port


def label(host: str, port: int) -> str:
    """Return host:port, bracketing IPv6 addresses."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _printable(data: bytes, limit: int = 60) -> str:
    """Return received bytes as escaped, truncated ASCII safe to print."""
    escapes = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}
    text = "".join(
        escapes.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in data[:limit]
    )
    return text + ("..." if len(data) > limit else "")


def _resolve(host: str, port: int, deadline: float) -> list[Any]:
    """Resolve host in a helper thread so a hung resolver cannot outlast the deadline."""
    found: list[list[Any]] = []
    errors: list[OSError] = []

    def work() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if errors:
        raise errors[0]
    if not found:
        raise _ResolveTimeout("name resolution timed out")
    return found[0]


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """Open a TCP connection to host:port, trying each address until the deadline."""
    error: OSError = TimeoutError("timed out")
    for family, kind, proto, _, addr in _resolve(host, port, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(addr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _describe(exc: OSError) -> str:
    """Say in a few words why a connection failed."""
    if isinstance(exc, socket.gaierror):
        return "name not resolved"
    if isinstance(exc, _ResolveTimeout):
        return "name resolution timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, _TIMEOUTS):
        # No answer at all usually means a firewall drops the packets.
        return "timed out (filtered?)"
    return f"cannot connect: {exc.strerror or exc}"


def _read_banner(sock: socket.socket, deadline: float) -> tuple[bytes, str]:
    """Read up to BANNER_MAX_BYTES until a full banner, EOF or the deadline; say how it ended."""
    data = b""
    while len(data) < BANNER_MAX_BYTES:
        if data.startswith(RPC_BANNER) or b"\n" in data:
            return data, "complete"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(BANNER_MAX_BYTES - len(data))
        except _TIMEOUTS:
            return data, "timeout"
        except OSError:
            return data, "reset"
        if not chunk:
            return data, "closed"
        data += chunk
    return data, "complete"


def _banner_verdict(data: bytes, ending: str, wait: float) -> tuple[str, str]:
    """Judge what an RPC port said on connect (DOMAIN §1: expect ncacn_http/1.0)."""
    expected = RPC_BANNER.decode()
    if data.startswith(RPC_BANNER):
        return "pass", f"open, banner {expected}"
    if data:
        return "warn", f"open, but the banner is '{_printable(data)}', not {expected}"
    if ending == "timeout":
        return "warn", f"open, but no banner within {wait:g} s (expected {expected})"
    return "warn", f"open, but the connection closed without a banner (expected {expected})"


def _until(seconds: float, deadline: float | None) -> float:
    """Return the end of one step: seconds from now, but never after the run's deadline."""
    end = time.monotonic() + seconds
    return end if deadline is None else min(end, deadline)


def _check_one(
    host: str,
    port: int,
    timeout: float,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
    deadline: float | None = None,
) -> Result:
    """Connect to one target and, on an RPC port, read its banner."""
    target = label(host, port)
    actual_host, actual_port = _route(host, port, connect_to)
    via = (
        ""
        if (actual_host, actual_port) == (host, port)
        else f" (via {label(actual_host, actual_port)})"
    )
    try:
        sock = _connect(actual_host, actual_port, _until(timeout, deadline))
    except OSError as exc:
        return Result(CHECK, target, "fail", _describe(exc) + via)
    with sock:
        if port not in RPC_PORTS:
            return Result(CHECK, target, "pass", "open" + via)
        wait = min(timeout, BANNER_MAX_WAIT)
        data, ending = _read_banner(sock, _until(wait, deadline))
    status, detail = _banner_verdict(data, ending, wait)
    return Result(CHECK, target, status, detail + via)


def check_ports(
    targets: Sequence[tuple[str, int]],
    timeout: float = 5.0,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    deadline: float | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Check all targets at once (one thread each), so the run takes about one timeout.

    Each connection and banner read ends by the run's deadline too, when one is given.
    on_result, when given, gets each result in target order as soon as it and those before it
    are known.
    """
    if len(targets) > MAX_TARGETS:
        raise ValueError(f"at most {MAX_TARGETS} targets at once, not {len(targets)}")
    results: list[Result | None] = [None] * len(targets)

    def work(index: int, host: str, port: int) -> None:
        results[index] = _check_one(host, port, timeout, connect_to, deadline)

    workers = [
        threading.Thread(target=work, args=(i, host, port), daemon=True)
        for i, (host, port) in enumerate(targets)
    ]
    for worker in workers:
        worker.start()
    # Each worker is bounded by its own deadlines; this outer bound is only a safety net.
    guard = _until(timeout + BANNER_MAX_WAIT, deadline) + 1.0
    found = []
    for index, worker in enumerate(workers):
        worker.join(max(0.0, guard - time.monotonic()))
        late = Result(CHECK, label(*targets[index]), "fail", "no result before the deadline")
        result = results[index] or late
        found.append(result)
        if on_result is not None:
            on_result(result)
    return found


def print_results(results: Sequence[Result], as_json: bool) -> None:
    """Print results as JSON ({"results": [...]}) or as one line each."""
    if as_json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        return
    for r in results:
        print(f"{r.status.upper():<4}  {r.check}  {r.target}  {r.detail}")


def exit_status(results: Sequence[Result]) -> int:
    """Return 1 when any result failed, else 0."""
    return 1 if any(r.status == "fail" for r in results) else 0


def _arg(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """Wrap a ValueError-raising parser for argparse (which then exits with status 2)."""

    def convert(text: str) -> _T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _timeout(text: str) -> float:
    """Parse a timeout in seconds (0 < t <= 300)."""
    value = float(text)
    if not math.isfinite(value) or not 0 < value <= 300:
        raise ValueError(f"timeout must be above 0 and at most 300 seconds, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Check that TCP ports are reachable; on 6001/6002/6004 expect the "
        "RPC over HTTP banner ncacn_http/1.0.",
    )
    parser.add_argument(
        "targets",
        nargs="+",
        type=_arg(parse_targets),
        metavar="HOST:PORT",
        help="host:port or host:first-last, e.g. EXCH01:6001-6002",
    )
    parser.add_argument("--timeout", type=_arg(_timeout), default=5.0, help="seconds (5)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        type=_arg(parse_connect_to),
        metavar="H:P:H2:P2",
        help="connect to H2:P2 wherever H:P is named (repeatable)",
    )
    args = parser.parse_args(argv)
    targets = [target for group in args.targets for target in group]
    if len(targets) > MAX_TARGETS:
        parser.error(f"at most {MAX_TARGETS} targets at once")

    def stream(result: Result) -> None:
        if not args.json:
            print_results([result], False)
            sys.stdout.flush()

    results = check_ports(
        targets, timeout=args.timeout, connect_to=dict(args.connect_to), on_result=stream
    )
    if args.json:
        print_results(results, True)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
