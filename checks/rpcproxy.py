#!/usr/bin/env python3
"""Check the public RPC over HTTP endpoint: the TLS certificate, then the proxy's 401 answer.

Standalone: Python 3.8+, standard library only; copy this one file anywhere.

    python3 rpcproxy.py --server exch01.corp.local --auth-method basic mail.contoso.com
    python3 rpcproxy.py --server exch01.corp.local --auth-method basic --auth mail.contoso.com

`--auth` asks for a user and password, sends them once with Basic authentication and reports
whether they were accepted; they are never stored, logged or printed.
Exit status: 0 when nothing failed, 1 when any check failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import base64
import calendar
import getpass
import ipaddress
import json
import math
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

CHECK_TLS = "tls"
CHECK_PROXY = "rpcproxy"
CHECK_AUTH = "auth"
RPC_PORTS = (6001, 6002, 6004)
HEAD_MAX_BYTES = 64 * 1024
EXPIRY_WARN_DAYS = 30
# socket.timeout only became an alias of TimeoutError in Python 3.10; this script runs on 3.8.
_TIMEOUTS = (socket.timeout, TimeoutError)
_T = TypeVar("_T")
# OpenSSL verify codes that say which way a certificate is untrusted.
_SELF_SIGNED = (18, 19)
_EXPIRED, _NOT_YET_VALID, _NAME_MISMATCH = 10, 9, 62

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)" + _LABEL + r"(?:\." + _LABEL + r")*\.?$")
_CONNECT_TO_RE = re.compile(
    r"^(?:\[(?P<v6a>[0-9A-Fa-f:.]+)\]|(?P<a>[^:\[\]\s]+)):(?P<pa>[0-9]+)"
    r":(?:\[(?P<v6b>[0-9A-Fa-f:.]+)\]|(?P<b>[^:\[\]\s]+)):(?P<pb>[0-9]+)$"
)
_STATUS_LINE_RE = re.compile(r"^HTTP/\d\.\d (\d{3})(?: (.*))?$")


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


class _ProbeError(Exception):
    """The proxy's answer could not be read as an HTTP response head; the message says why."""


@dataclass(frozen=True)
class _Response:
    """Status and headers of an HTTP response (the body is never read)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class _CertInfo:
    """What the TLS check reads from a certificate it could not verify."""

    names: list[str]
    not_before: float
    not_after: float
    self_issued: bool


@dataclass(frozen=True)
class _TlsOutcome:
    """The tls result, and whether the proxy can be probed (and with verification)."""

    result: Result
    reachable: bool
    trusted: bool


# --- shared helpers (repeated in each script so that each file stands alone) ---


def valid_host(host: str) -> bool:
    """Return True for a DNS name, NetBIOS-style single label, or IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.match(host))


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
        return "timed out (filtered?)"
    return str(exc.strerror or exc)


# --- TLS ---


def _context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    """Return a client context: the system store (or cafile) when verifying, else no checks."""
    if verify:
        return ssl.create_default_context(cafile=cafile)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _tls_connect(
    host: str,
    port: int,
    deadline: float,
    context: ssl.SSLContext,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> ssl.SSLSocket:
    """Open TLS to host:port (or where connect_to sends it), with host as SNI and name checked."""
    sock = _connect(*_route(host, port, connect_to), deadline)
    try:
        # CPython bounds the whole handshake by the socket timeout, not each read.
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the DER element at pos."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, size = data[pos], data[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + size > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + size


def _children(data: bytes, parent: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Return the DER elements inside a constructed element."""
    items = []
    pos = parent[1]
    while pos < parent[2]:
        item = _der(data, pos)
        if item[2] > parent[2]:
            raise ValueError("DER element overruns its parent")
        items.append(item)
        pos = item[2]
    return items


def _der_time(data: bytes, item: tuple[int, int, int]) -> float:
    """Return a UTCTime or GeneralizedTime as seconds since the epoch."""
    text = data[item[1] : item[2]].decode("ascii").rstrip("Z")
    if item[0] == 0x17:  # UTCTime: two-digit year, 50-99 meaning 19xx (RFC 5280)
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    return float(calendar.timegm(time.strptime(text[:14], "%Y%m%d%H%M%S")))


def _parse_certificate(der: bytes) -> _CertInfo:
    """Read names, validity and self-issuance from a DER certificate (raise ValueError)."""
    tbs = _children(der, _children(der, _der(der, 0))[0])
    if tbs[0][0] == 0xA0:  # explicit version
        tbs = tbs[1:]
    issuer, validity, subject = tbs[2], tbs[3], tbs[4]
    not_before, not_after = (_der_time(der, item) for item in _children(der, validity)[:2])
    common_names = []
    for rdn in _children(der, subject):
        for attribute in _children(der, rdn):
            oid, value = _children(der, attribute)[:2]
            if der[oid[1] : oid[2]] == b"\x55\x04\x03":  # 2.5.4.3 commonName
                common_names.append(der[value[1] : value[2]].decode("utf-8", "replace"))
    alt_names = []
    for extensions in (item for item in tbs[5:] if item[0] == 0xA3):
        for extension in _children(der, _children(der, extensions)[0]):
            parts = _children(der, extension)
            if der[parts[0][1] : parts[0][2]] != b"\x55\x1d\x11":  # 2.5.29.17 subjectAltName
                continue
            for tag, start, end in _children(der, _der(der, parts[-1][1])):
                if tag == 0x82:  # dNSName
                    alt_names.append(der[start:end].decode("ascii", "replace"))
                elif tag == 0x87:  # iPAddress
                    alt_names.append(str(ipaddress.ip_address(der[start:end])))
    self_issued = der[issuer[1] : issuer[2]] == der[subject[1] : subject[2]]
    return _CertInfo(alt_names or common_names, not_before, not_after, self_issued)


def _name_matches(host: str, names: Sequence[str]) -> bool:
    """Return True when host matches a certificate name (exact, or a left-most * label)."""
    host = host.lower().rstrip(".")
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def _day(seconds: float) -> str:
    """Return an epoch time as YYYY-MM-DD (UTC)."""
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def _untrusted_detail(
    host: str, error: ssl.SSLCertVerificationError, info: _CertInfo | None
) -> str:
    """Explain every problem found with a certificate that failed verification."""
    problems = []
    code = error.verify_code
    if code in _SELF_SIGNED or (info and info.self_issued):
        problems.append("untrusted: self-signed certificate")
    elif code not in (_EXPIRED, _NOT_YET_VALID, _NAME_MISMATCH):
        problems.append(f"untrusted: {error.verify_message}")
    # OpenSSL reports only its first error, so the certificate itself is read for the rest.
    if info is None:
        if code in (_EXPIRED, _NOT_YET_VALID, _NAME_MISMATCH):
            problems.append(str(error.verify_message))
        return "; ".join(problems)
    if not _name_matches(host, info.names):
        shown = ", ".join(_printable(n.encode()) for n in info.names[:5]) or "no name"
        problems.append(f"name mismatch: the certificate is for {shown}, not {host}")
    now = time.time()
    if info.not_after < now:
        days = int((now - info.not_after) // 86400)
        problems.append(f"expired on {_day(info.not_after)} ({days} days ago)")
    elif info.not_before > now:
        problems.append(f"not valid before {_day(info.not_before)}")
    return "; ".join(problems)


def _probe_tls(
    host: str,
    port: int,
    timeout: float,
    cafile: str | None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> _TlsOutcome:
    """Handshake with verification; after a trust failure, again without it to learn why."""
    target = f"{host}:{port}"
    try:
        with _tls_connect(
            host, port, time.monotonic() + timeout, _context(cafile, True), connect_to
        ) as sock:
            cert = sock.getpeercert() or {}
            version = sock.version() or "unknown protocol"
    except ssl.SSLCertVerificationError as error:
        info, version = None, "unknown protocol"
        try:
            with _tls_connect(
                host, port, time.monotonic() + timeout, _context(None, False), connect_to
            ) as sock:
                der = sock.getpeercert(binary_form=True) or b""
                version = sock.version() or version
            info = _parse_certificate(der)
        except (OSError, ValueError, IndexError):
            pass  # the verify error alone still says what is wrong
        # Cutover needs a publicly trusted certificate that matches the public name (DOMAIN §2).
        detail = f"{_untrusted_detail(host, error, info)}; {version}"
        return _TlsOutcome(Result(CHECK_TLS, target, "fail", detail), True, False)
    except ssl.SSLError as error:
        reason = str(error.reason or error)
        detail = f"TLS handshake failed: {reason}"
        if "WRONG_VERSION_NUMBER" in reason:
            detail += " (the server does not speak TLS here: plain HTTP?)"
        elif "PROTOCOL" in reason:
            detail += " (the server may offer only TLS 1.0 or older, as IIS 6 does by default)"
        return _TlsOutcome(Result(CHECK_TLS, target, "fail", detail), False, False)
    except OSError as error:
        detail = f"cannot connect: {_describe(error)}"
        return _TlsOutcome(Result(CHECK_TLS, target, "fail", detail), False, False)
    expires = ssl.cert_time_to_seconds(str(cert.get("notAfter")))
    days = math.floor((expires - time.time()) / 86400)
    detail = f"trusted, name matches, expires {_day(expires)} ({days} days), {version}"
    status = "warn" if days < EXPIRY_WARN_DAYS else "pass"
    if status == "warn":
        detail += f": renew it before the migration (under {EXPIRY_WARN_DAYS} days left)"
    return _TlsOutcome(Result(CHECK_TLS, target, status, detail), True, True)


def check_tls(
    host: str,
    port: int = 443,
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
) -> Result:
    """Check the certificate on host:port: trusted, name matches, days to expiry, protocol."""
    return _probe_tls(host, port, timeout, cafile, connect_to).result


# --- the RPC proxy over HTTPS ---


def _url(public_fqdn: str, server: str, rpc_port: int) -> str:
    """Return the RPC proxy URL for one server port (DOMAIN §1)."""
    return f"https://{public_fqdn}/rpc/rpcproxy.dll?{server}:{rpc_port}"


def _request(public_fqdn: str, server: str, rpc_port: int, authorization: str = "") -> bytes:
    """Build the RPC_IN_DATA request Outlook and the migration service start with."""
    lines = [
        f"RPC_IN_DATA /rpc/rpcproxy.dll?{server}:{rpc_port} HTTP/1.1",
        f"Host: {public_fqdn}",
        "User-Agent: MSRPC",
        "Accept: application/rpc",
        "Content-Length: 0",
        "Connection: close",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _read_head(sock: ssl.SSLSocket, deadline: float, timeout: float) -> bytes:
    """Read the status line and headers only, within HEAD_MAX_BYTES and the overall deadline."""
    data = b""
    while True:
        ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
        if ends:
            return data[: min(ends)]
        if not b"HTTP/".startswith(data[:5]):
            raise _ProbeError(f"not an HTTP response (received '{_printable(data)}')")
        if len(data) >= HEAD_MAX_BYTES:
            raise _ProbeError(f"response headers exceed {HEAD_MAX_BYTES // 1024} KiB")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _ProbeError(f"no complete response head within {timeout:g} s (stalled server)")
        # The deadline, not a per-read timeout, bounds a server that drips a byte at a time.
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(16384, HEAD_MAX_BYTES - len(data)))
        except _TIMEOUTS:
            continue
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        if not chunk:
            what = "before a response" if not data else "in the middle of the response head"
            raise _ProbeError(f"connection closed {what}")
        data += chunk


def _parse_head(head: bytes) -> _Response:
    """Split a response head into status, reason and headers."""
    lines = re.split(r"\r?\n", head.decode("latin-1"))
    match = _STATUS_LINE_RE.match(lines[0])
    if not match:
        raise _ProbeError(f"not an HTTP response (status line '{_printable(lines[0].encode())}')")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obsolete folded continuation
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return _Response(int(match.group(1)), match.group(2) or "", headers)


def _auth_schemes(response: _Response) -> list[str]:
    """Return the authentication schemes named in WWW-Authenticate headers, in order."""
    schemes: list[str] = []
    for name, value in response.headers:
        if name.lower() != "www-authenticate":
            continue
        # One header may hold several challenges: "Negotiate, NTLM" or "Basic realm=\"a, b\"".
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)
        for part in unquoted.split(","):
            words = part.split()
            if words and "=" not in words[0] and not (len(words) > 1 and words[1][0] == "="):
                scheme = _printable(words[0].encode("latin-1"), 30)
                if scheme.lower() not in (s.lower() for s in schemes):
                    schemes.append(scheme)
    return schemes


def _judge(response: _Response, authentication: str) -> tuple[str, str]:
    """Judge the proxy's answer to a request without credentials (DOMAIN §2)."""
    code = response.status
    reason = _printable(response.reason.encode("latin-1"))
    if code == 401:
        schemes = _auth_schemes(response)
        if not schemes:
            return "fail", "401 without WWW-Authenticate: No supported Authentication Methods found"
        offered = ", ".join(schemes)
        # NTLM clients also authenticate through Negotiate, which falls back to NTLM.
        wanted = {"Basic": {"basic"}, "NTLM": {"ntlm", "negotiate"}}[authentication]
        if wanted & {s.lower() for s in schemes}:
            return "pass", f"401 as expected; offers {offered}"
        return "fail", (
            f"401, but offers only {offered}: enable {authentication} authentication on /rpc "
            f"or set the migration endpoint to the offered method"
        )
    if code == 200:
        return (
            "fail",
            "200 without credentials: open proxy, anyone can use it; "
            "require authentication on /rpc",
        )
    if code == 404:
        return "fail", "404: RPC over HTTP not installed (no /rpc/rpcproxy.dll)"
    if code == 403:
        return "fail", (
            "403 Forbidden: IIS refuses access to /rpc; check its directory security "
            "(403.4 means SSL required, 403.6 a blocked IP address)"
        )
    return "fail", f"unexpected HTTP {code} {reason}".rstrip()


def _exchange(
    public_fqdn: str,
    request: bytes,
    timeout: float,
    context: ssl.SSLContext,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> _Response:
    """Send one request to the proxy and read the response head (raise _ProbeError or OSError)."""
    deadline = time.monotonic() + timeout
    with _tls_connect(public_fqdn, 443, deadline, context, connect_to) as sock:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.sendall(request)
        return _parse_head(_read_head(sock, deadline, timeout))


def _failure(error: Exception) -> str:
    """Say why a proxy request got no usable answer."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, OSError):
        return f"cannot connect: {_describe(error)}"
    return str(error)


def _method(authentication: str) -> str:
    """Return Basic or NTLM as the migration wizard writes it, or raise ValueError."""
    methods = {"basic": "Basic", "ntlm": "NTLM"}
    if authentication.lower() not in methods:
        raise ValueError(f"authentication must be Basic or NTLM, not {authentication!r}")
    return methods[authentication.lower()]


def _validate(public_fqdn: str, server: str, ports: Sequence[int]) -> None:
    """Refuse names and ports that must not reach a request line or Host header."""
    _host(public_fqdn)
    _host(server)
    if not ports or not all(1 <= port <= 65535 for port in ports):
        raise ValueError(f"ports must be 1 to 65535, at least one: {list(ports)!r}")


def check_proxy(
    public_fqdn: str,
    server: str,
    ports: Sequence[int] = RPC_PORTS,
    authentication: str = "Basic",
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    verify: bool = True,
) -> list[Result]:
    """Send an unauthenticated RPC_IN_DATA per port; expect 401 offering the endpoint's method."""
    method = _method(authentication)
    _validate(public_fqdn, server, ports)
    context = _context(cafile, verify)
    note = "" if verify else " (certificate not verified: see the tls result)"
    results = []
    for rpc_port in ports:
        target = _url(public_fqdn, server, rpc_port)
        try:
            response = _exchange(
                public_fqdn, _request(public_fqdn, server, rpc_port), timeout, context, connect_to
            )
        except (OSError, _ProbeError) as error:
            results.append(Result(CHECK_PROXY, target, "fail", _failure(error) + note))
            continue
        status, detail = _judge(response, method)
        results.append(Result(CHECK_PROXY, target, status, detail + note))
    return results


def probe_auth(
    public_fqdn: str,
    server: str,
    rpc_port: int,
    username: str,
    password: str,
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    verify: bool = True,
) -> Result:
    """Send Basic credentials once: 2xx means accepted, 401 refused, anything else a failure.

    Only over a verified certificate: credentials never go to a server we cannot trust.
    """
    _validate(public_fqdn, server, [rpc_port])
    target = _url(public_fqdn, server, rpc_port)
    if ":" in username:
        return Result(CHECK_AUTH, target, "fail", "a Basic user name cannot contain ':'")
    if not verify:
        detail = "not sent: the certificate is not trusted, so the server may not be the client's"
        return Result(CHECK_AUTH, target, "skip", detail)
    # The credentials live only in this request; no message below may include them.
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    request = _request(public_fqdn, server, rpc_port, "Basic " + token)
    try:
        response = _exchange(public_fqdn, request, timeout, _context(cafile, verify), connect_to)
    except (OSError, _ProbeError) as error:
        return Result(CHECK_AUTH, target, "fail", _failure(error))
    reason = _printable(response.reason.encode("latin-1"))
    status = f"HTTP {response.status} {reason}".rstrip()
    if response.status == 401:
        detail = "credentials refused (401): check the user (DOMAIN\\user form) and password"
        return Result(CHECK_AUTH, target, "fail", detail)
    if 200 <= response.status < 300:
        return Result(CHECK_AUTH, target, "pass", f"credentials accepted ({status})")
    return Result(CHECK_AUTH, target, "fail", f"credentials not accepted ({status})")


def run(
    public_fqdn: str,
    server: str,
    ports: Sequence[int] = RPC_PORTS,
    authentication: str = "Basic",
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    credentials: Callable[[], tuple[str, str]] | None = None,
) -> list[Result]:
    """Check TLS, then the proxy per port, then (given credentials) one authenticated request.

    credentials is called, for (user, password), only when the authenticated probe can run.
    """
    method = _method(authentication)
    _validate(public_fqdn, server, ports)
    outcome = _probe_tls(public_fqdn, 443, timeout, cafile, connect_to)
    results = [outcome.result]
    targets = [_url(public_fqdn, server, rpc_port) for rpc_port in ports]
    if not outcome.reachable:
        skipped = "skipped: no TLS connection to the public name (see the tls result)"
        results += [Result(CHECK_PROXY, target, "skip", skipped) for target in targets]
        if credentials is not None:
            results.append(Result(CHECK_AUTH, targets[0], "skip", skipped))
        return results
    # After a trust failure the proxy is still probed, unverified, so one run shows both.
    results += check_proxy(
        public_fqdn, server, ports, method, timeout, cafile, connect_to, outcome.trusted
    )
    if credentials is not None:
        if method != "Basic":
            detail = "the authenticated probe supports Basic only; NTLM is not supported"
            results.append(Result(CHECK_AUTH, targets[0], "skip", detail))
        else:
            username, password = credentials()
            results.append(
                probe_auth(
                    public_fqdn,
                    server,
                    ports[0],
                    username,
                    password,
                    timeout,
                    cafile,
                    connect_to,
                    outcome.trusted,
                )
            )
    return results


# --- command line ---


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
    if not 0 < value <= 300:
        raise ValueError(f"timeout must be above 0 and at most 300 seconds, not {text}")
    return value


def _ports(text: str) -> list[int]:
    """Parse a comma-separated port list such as 6001,6002,6004."""
    ports = [_port(item.strip()) for item in text.split(",") if item.strip()]
    if not ports:
        raise ValueError("give at least one port")
    return ports


def _ask_credentials() -> tuple[str, str]:
    """Prompt on the terminal (prompts to stderr, so --json output stays clean)."""
    sys.stderr.write("User for the authenticated probe (DOMAIN\\user): ")
    sys.stderr.flush()
    username = input().strip()
    password = getpass.getpass("Password (sent once, never stored): ", stream=sys.stderr)
    return username, password


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Check the RPC over HTTP proxy behind a public name: the TLS certificate, "
        "then an unauthenticated RPC_IN_DATA per port (expect 401 with the endpoint's method).",
    )
    parser.add_argument("public_fqdn", type=_arg(_host), help="public name, e.g. mail.contoso.com")
    parser.add_argument(
        "--server", required=True, type=_arg(_host), help="Exchange server FQDN in the URL"
    )
    parser.add_argument(
        "--auth-method", required=True, type=_arg(_method), help="basic or ntlm (the endpoint's)"
    )
    parser.add_argument(
        "--ports", type=_arg(_ports), default=list(RPC_PORTS), help="6001,6002,6004 by default"
    )
    parser.add_argument("--cafile", help="trust this CA bundle instead of the system store")
    parser.add_argument("--timeout", type=_arg(_timeout), default=10.0, help="seconds (10)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--auth", action="store_true", help="also send credentials once (asked for; Basic only)"
    )
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        type=_arg(parse_connect_to),
        metavar="H:P:H2:P2",
        help="connect to H2:P2 wherever H:P is named (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.cafile is not None:
        try:
            ssl.create_default_context(cafile=args.cafile)
        except (OSError, ssl.SSLError) as exc:
            parser.error(f"cannot use --cafile {args.cafile}: {getattr(exc, 'strerror', exc)}")
    try:
        results = run(
            args.public_fqdn,
            args.server,
            args.ports,
            args.auth_method,
            args.timeout,
            args.cafile,
            dict(args.connect_to),
            _ask_credentials if args.auth else None,
        )
    except EOFError:
        parser.error("--auth needs a user and a password")
    print_results(results, args.json)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
