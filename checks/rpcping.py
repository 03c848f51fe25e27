#!/usr/bin/env python3
"""RPC over HTTP through the proxy, target by target, as the Connectivity Analyzer's RPC ping does.

Standalone: Python 3.8+, standard library only for Basic authentication; copy this one file
anywhere. NTLM needs the optional `pyspnego` package (`pip install pyspnego`).

    RUNBOOK_PASSWORD=... python3 rpcping.py --user NORTHWIND\\migadmin \\
        https://mail.contoso.com/rpc/rpcproxy.dll?exch01.corp.local:6001

For each target the script opens an RPC over HTTP v2 virtual connection through the proxy
([MS-RPCH]: an RPC_IN_DATA and an RPC_OUT_DATA request, CONN/A1 on the OUT channel, CONN/B1 on the
IN channel, CONN/A3 and CONN/C2 back on the OUT channel), then binds to the interface the port
serves (6001 the store, 6002 the referral service, 6004 the address book) and reads the answer.
A failure names its cause and the runbook step that fixes it.

How the causes are read (our reading of [MS-RPCH] and of impacket's client):
- 401 after credentials: the credentials were refused; but IIS may also answer a ValidPorts
  problem with 401, so where the same account passed on another target of the run, the 401 is
  reported as a likely ValidPorts refusal.
- an answer carrying "Invalid RPC Port": ValidPorts refused the target (the wording impacket's
  client reports for that refusal).
- 503 "RPC Error: 6ba" (1722, server unavailable), or the OUT channel closing before CONN/C2: the
  proxy could not open the back-end connection. Windows reports a host:port missing from
  ValidPorts the same way, so the detail names both.

`--timeout` bounds each target, `--deadline` the whole run (three timeouts unless given), as
`runbook check --rpc` does.

The password comes from the environment variable RUNBOOK_PASSWORD, a prompt without echo, or one
line piped to stdin, never from the command line; it is sent only over a verified certificate
and never printed.
Exit status: 0 when nothing failed, 1 when any target failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import getpass
import importlib
import ipaddress
import json
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

CHECK = "rpcping"
PASSWORD_ENV = "RUNBOOK_PASSWORD"
NTLM_LIBRARY = "pyspnego"
# Without --deadline, a whole run may take this many times the per-target --timeout.
DEADLINE_FACTOR = 3
HEAD_MAX_BYTES = 64 * 1024
BODY_MAX_BYTES = 1024 * 1024
# [MS-RPCH] 2.1.2.1.1: the IN channel request announces a large body (128 KB to 2 GB) that the
# client streams; the OUT channel request carries exactly the 76-byte CONN/A1 PDU.
IN_CHANNEL_LENGTH = 1073741824
RECEIVE_WINDOW = 262144
# socket.timeout only became an alias of TimeoutError in Python 3.10; this script runs on 3.8.
_TIMEOUTS = (socket.timeout, TimeoutError)
_T = TypeVar("_T")

# The interface each Exchange 2003 port serves, as Microsoft's Exchange protocol documents
# ([MS-OXCRPC], [MS-OXABREF] and the address book's) and impacket give them.
NDR = (uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2, 0)
INTERFACES = {
    6001: ("the store (EMSMDB 0.81)", uuid.UUID("a4f1db00-ca47-1067-b31f-00dd010662da"), 0, 81),
    6002: (
        "the referral service (RFR 1.0)",
        uuid.UUID("1544f5e0-613c-11d1-93df-00c04fd7bd09"),
        1,
        0,
    ),
    6004: (
        "the address book (name service 56.0)",
        uuid.UUID("f5cc5a18-4264-101a-8c59-08002b2f8426"),
        56,
        0,
    ),
}

# DCE/RPC packet types (C706 12.6.4) and RTS commands ([MS-RPCH] 2.2.3.5).
PTYPE_FAULT, PTYPE_BIND, PTYPE_BIND_ACK, PTYPE_BIND_NAK, PTYPE_RTS = 3, 11, 12, 13, 20
RTS_CONNECTION_TIMEOUT, RTS_VERSION = 2, 6
_RTS_SIZES = {0: 8, 1: 28, 2: 8, 3: 20, 4: 8, 5: 8, 6: 8, 7: 4, 9: 4, 10: 4, 12: 20, 13: 8, 14: 8}

# The fixes, named as the runbook names its steps (step numbers differ per client).
FIX_CREDENTIALS = (
    "the migration account requirement (user as DOMAIN\\user, its password, not locked out)"
)
FIX_METHOD = "groundwork: the /Rpc virtual directory's authentication methods"
FIX_VALIDPORTS = "the ValidPorts step (list this exact host:port; names are not canonicalised)"
FIX_BACKEND = (
    "the reachability step from the RPC proxy (telnet the port there), then the ValidPorts step"
)
FIX_TLS12 = "Plan B: TLS 1.2 in front of IIS 6 (a device that offers TLS 1.2 on the public name)"
FIX_CERTIFICATE = "the certificate requirement (publicly trusted, covering the public name)"
FIX_OUTSIDE = "the reachability step from outside (443 on the public name)"
FIX_TIMEOUT = (
    "the reachability step from outside; a TLS device in front of IIS must pass RPC_IN_DATA and "
    "RPC_OUT_DATA through unbuffered"
)
FIX_NOT_INSTALLED = "groundwork: the RPC over HTTP Proxy component and the /Rpc virtual directory"
FIX_UNEXPECTED = (
    "groundwork: the RPC over HTTP Proxy component, the Enabled value and the /Rpc directory; "
    "then compare with the proxy's IIS log"
)

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)" + _LABEL + r"(?:\." + _LABEL + r")*\.?$")
_CONNECT_TO_RE = re.compile(
    r"^(?:\[(?P<v6a>[0-9A-Fa-f:.]+)\]|(?P<a>[^:\[\]\s]+)):(?P<pa>[0-9]+)"
    r":(?:\[(?P<v6b>[0-9A-Fa-f:.]+)\]|(?P<b>[^:\[\]\s]+)):(?P<pb>[0-9]+)$"
)
_URL_RE = re.compile(
    r"^https://(?P<proxy>[^/:?\s]+)/rpc/rpcproxy\.dll\?(?P<backend>[^:?\s]+):(?P<number>[0-9]+)$",
    re.IGNORECASE,
)
_STATUS_LINE_RE = re.compile(r"^HTTP/\d\.\d (\d{3})(?: (.*))?$")
_RPC_ERROR_RE = re.compile(r"RPC Error: ([0-9A-Fa-f]{1,8})")
_RPC_ERRORS = {0x5: "access denied", 0x6BA: "RPC server unavailable", 0x6D9: "no endpoints"}


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


@dataclass(frozen=True)
class Target:
    """One RPC proxy URL: the public name, and the server and port behind it."""

    public_fqdn: str
    server: str
    port: int

    @property
    def url(self) -> str:
        """The URL as DOMAIN §1 writes it."""
        return f"https://{self.public_fqdn}/rpc/rpcproxy.dll?{self.server}:{self.port}"


@dataclass(frozen=True)
class Credentials:
    """The account and how to authenticate; the password lives only here and in requests."""

    user: str
    password: str = ""
    method: str = "Basic"

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, method={self.method!r})"

    @property
    def secrets(self) -> list[str]:
        """What an answer must never show: the Basic token, user:password and the password."""
        pair = f"{self.user}:{self.password}"
        token = base64.b64encode(pair.encode()).decode("ascii")
        return [token, pair, self.password] if self.password else []


class _Outcome(Exception):
    """A target's verdict reached before the end: status, cause and fix."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _ResolveTimeout(OSError):
    """Name resolution did not finish before the deadline."""


class _Deadline(Exception):
    """The target's overall deadline passed."""


@dataclass(frozen=True)
class _Response:
    """Status and headers of an HTTP response."""

    status: int
    reason: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str:
        """The first value of a header, or ""."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


# --- shared helpers (repeated in each script so that each file stands alone) ---


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


def parse_connect_to(spec: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """Parse curl-style `H:P:H2:P2`: connections to H:P go to H2:P2 (names kept for TLS/HTTP)."""
    match = _CONNECT_TO_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected HOST:PORT:CONNECT_HOST:CONNECT_PORT, not {spec!r}")
    named = (_host(match.group("v6a") or match.group("a")), _port(match.group("pa")))
    actual = (_host(match.group("v6b") or match.group("b")), _port(match.group("pb")))
    return named, actual


def parse_target(url: str) -> Target:
    """Parse `https://PUBLIC/rpc/rpcproxy.dll?SERVER:PORT`, or raise ValueError."""
    match = _URL_RE.match(url.strip())
    if not match:
        raise ValueError(f"expected https://PUBLIC/rpc/rpcproxy.dll?SERVER:PORT, not {url!r}")
    public = _host(match.group("proxy"))
    return Target(public, _host(match.group("backend")), _port(match.group("number")))


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


def _secret_forms(secrets: Sequence[str]) -> list[bytes]:
    """Each secret as a server may send it back: as sent (UTF-8) or in Latin-1, longest first
    (so that user:password is replaced whole, not as the user and a replaced password)."""
    forms = {secret.encode() for secret in secrets if secret}
    forms |= {s.encode("latin-1") for s in secrets if s and max(map(ord, s)) < 256}
    forms |= {_url_form(s).encode() for s in secrets if s} | {
        quote_plus(s, safe="").encode() for s in secrets if s
    }
    return sorted(forms, key=len, reverse=True)


def _url_form(secret: str) -> str:
    """The secret as a URL or a form would carry it (percent-encoded)."""
    return quote(secret, safe="")


# A secret shorter than this is hidden only where it stands as a word of its own: a password
# "x" hidden everywhere turned "fix" in a message into "fi[credentials]".
SHORT_SECRET = 6


def _replace(text: Any, form: Any, mark: Any) -> Any:
    """`text` (str or bytes) with `form` replaced by `mark`; a short form only as a whole word."""
    # in any case: a server may send a secret back upper-cased (bytes: ASCII letters folded)
    if len(form) >= SHORT_SECRET:
        return re.sub(re.escape(form), lambda _: mark, text, flags=re.IGNORECASE)
    if isinstance(form, bytes):
        pattern: Any = rb"(?<![0-9A-Za-z])" + re.escape(form) + rb"(?![0-9A-Za-z])"
    else:
        pattern = r"(?<![0-9A-Za-z])" + re.escape(form) + r"(?![0-9A-Za-z])"
    return re.sub(pattern, lambda _: mark, text, flags=re.IGNORECASE)


def _redact(data: bytes, secrets: Sequence[str]) -> bytes:
    """Received bytes with every secret replaced, before any of them is shown."""
    for form in _secret_forms(secrets):
        data = _replace(data, form, b"[credentials]")
    return data


def _shown(data: bytes, secrets: Sequence[str], limit: int = 60) -> str:
    """Received bytes as _printable shows them, cut at limit, with the secrets hidden first.

    Whole secrets are replaced before the cut, so a cut through one shows none of it; a
    "[credentials]" the cut would split is kept whole; and a secret's first 3 or more
    characters left at the end are blanked too, as its rest may lie past the cut or be unread.
    """
    mark = b"[credentials]"
    data = _redact(data, secrets)
    end = min(limit, len(data))
    split = data.find(mark, max(0, end - len(mark) + 1))
    if 0 <= split < end:
        end = split + len(mark)
    shown = data[:end]
    forms = _secret_forms(secrets)
    start = max(
        (
            n
            for form in forms
            if len(form) >= SHORT_SECRET
            for n in range(3, len(form))
            if shown.lower().endswith(form[:n].lower())
        ),
        default=0,
    )
    if start:
        shown = shown[:-start] + mark
    return _printable(shown, len(shown)) + ("..." if len(data) > end else "")


def _hide(text: str, secrets: Sequence[str]) -> str:
    """Text with every secret replaced: as sent, as read back (Latin-1) or as _printable shows it.

    A proxy that answers with the request's Authorization in its reason phrase or body must not
    make the password a result, printed and saved as evidence.
    """
    for secret in secrets:
        data = secret.encode()
        shown = _printable(data, len(data))
        url, form_url = _url_form(secret), quote_plus(secret, safe="")
        for form in (secret, data.decode("latin-1"), shown, url, form_url):
            text = _replace(text, form, "[credentials]")
    return text


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


def cafile_problem(cafile: str) -> str | None:
    """Why `cafile` cannot be the CA bundle of a run, or None: read once before any
    connection, so that a wrong file is the user's error, not a server's failed handshake."""
    try:
        ssl.create_default_context(cafile=cafile)
    except ssl.SSLError as exc:
        what = exc.reason or re.sub(r" \(_ssl\.c:\d+\)$", "", str(exc))
        return f"not a CA bundle: no PEM certificate could be read from it ({what})"
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    return None


def _context(cafile: str | None) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2 or later): the system store, or cafile."""
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _old_tls_version(
    target: Target, deadline: float, connect_to: Mapping[tuple[str, int], tuple[str, int]] | None
) -> str | None:
    """Handshake again allowing TLS 1.0 and no verification: which protocol does it speak?"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    try:
        sock = _tls_connect(target.public_fqdn, deadline, context, connect_to)
    except (OSError, _Deadline):
        return None
    with sock:
        return sock.version()


def _tls_connect(
    host: str,
    deadline: float,
    context: ssl.SSLContext,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> ssl.SSLSocket:
    """Open TLS to host:443 (or where connect_to sends it), with host as SNI and name checked."""
    if deadline <= time.monotonic():
        raise _Deadline
    sock = _connect(*_route(host, 443, connect_to), deadline)
    try:
        # CPython bounds the whole handshake by the socket timeout, not each read.
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _tls_failure(
    error: Exception,
    target: Target,
    deadline: float,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> _Outcome:
    """Name why the TLS connection to the public name failed (credentials were not sent)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return _Outcome(
            "fail",
            f"certificate not trusted: {error.verify_message}; credentials were not sent; "
            f"fix: {FIX_CERTIFICATE}",
        )
    if isinstance(error, ssl.SSLError):
        reason = str(error.reason or error)
        if "WRONG_VERSION_NUMBER" in reason:
            return _Outcome(
                "fail", f"TLS failed: {reason} (plain HTTP on 443?); fix: {FIX_UNEXPECTED}"
            )
        old = _old_tls_version(target, deadline, connect_to)
        offered = f"the server offers only {old}" if old else f"handshake failed: {reason}"
        return _Outcome("fail", f"TLS 1.2 not offered: {offered}; fix: {FIX_TLS12}")
    if isinstance(error, (_Deadline, *_TIMEOUTS)):
        return _Outcome(
            "fail", f"timeout: no TLS connection to the public name in time; fix: {FIX_OUTSIDE}"
        )
    if isinstance(error, OSError):
        return _Outcome(
            "fail",
            f"cannot connect to {target.public_fqdn}:443: {_describe(error)}; fix: {FIX_OUTSIDE}",
        )
    return _Outcome("fail", f"unexpected answer: {error}; fix: {FIX_UNEXPECTED}")


# --- HTTP over one channel ---


class _Channel:
    """One TLS connection to the proxy: request heads out, response heads and body in."""

    def __init__(self, sock: ssl.SSLSocket, deadline: float, name: str) -> None:
        self.sock = sock
        self.deadline = deadline
        self.name = name
        self.buffer = b""
        self.received = 0
        self.chunked = False
        self.chunk_left = 0
        self.chunk_started = False
        self.closed = False
        # Set once credentials went out on this channel: answers are shown without them.
        self.secrets: Sequence[str] = ()

    def _line(self) -> bytes:
        """One CRLF-ended line of chunked framing (at most 1 KiB)."""
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 1024:
                raise _Outcome("fail", "unexpected answer: bad chunked encoding")
            if not self._fill():
                raise EOFError
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def close(self) -> None:
        """Close the connection (TLS close errors are of no interest)."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, data: bytes) -> None:
        """Send bytes within the deadline."""
        self._arm()
        self.sock.sendall(data)

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        self.sock.settimeout(remaining)

    def _fill(self, wait: bool = True) -> bool:
        """Read more bytes into the buffer; False when the server closed the connection.

        Without wait, raise ssl.SSLWantReadError when no application data is there yet.
        """
        if self.closed:
            return False
        if self.received >= BODY_MAX_BYTES + HEAD_MAX_BYTES:
            raise _Outcome("fail", f"unexpected answer: more than 1 MiB on the {self.name}")
        if wait:
            self._arm()
        else:
            self.sock.settimeout(0)
        try:
            chunk = self.sock.recv(16384)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        except _TIMEOUTS:
            raise _Deadline from None
        self.received += len(chunk)
        self.buffer += chunk
        self.closed = not chunk
        return bool(chunk)

    def readable(self) -> bool:
        """Whether response bytes (or a close) are waiting, without blocking."""
        if self.buffer or self.closed:
            return True
        ready, _, _ = select.select([self.sock], [], [], 0)
        if not ready and not self.sock.pending():
            return False
        # A readable socket may hold only TLS records without data (TLS 1.3 session tickets).
        try:
            self._fill(wait=False)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        return True

    def read_head(self) -> _Response:
        """Read one final response head (skipping 100 Continue), bounded."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
                # before parsing: a reason phrase is shown cut short, maybe inside a secret
                response = _parse_head(_redact(head, self.secrets))
                if 100 <= response.status < 200:
                    continue
                self.chunked = "chunked" in response.header("Transfer-Encoding").lower()
                return response
            if self.buffer and not b"HTTP/".startswith(self.buffer[:5]):
                raise _Outcome(
                    "fail",
                    f"unexpected answer on the {self.name}: not HTTP "
                    f"('{_shown(self.buffer, self.secrets)}'); "
                    f"fix: {FIX_UNEXPECTED}",
                )
            if len(self.buffer) >= HEAD_MAX_BYTES:
                raise _Outcome("fail", "unexpected answer: response headers over 64 KiB")
            if not self._fill():
                raise _Outcome(
                    "fail",
                    f"unexpected answer: the proxy closed the {self.name} without a response; "
                    f"fix: {FIX_UNEXPECTED}",
                )

    def read_body(self, count: int) -> bytes:
        """Read exactly count body bytes, decoding chunked transfer when the proxy uses it."""
        out = b""
        while len(out) < count:
            if not self.chunked:
                if not self.buffer and not self._fill():
                    raise EOFError
                take = self.buffer[: count - len(out)]
                self.buffer = self.buffer[len(take) :]
                out += take
                continue
            if self.chunk_left == 0:
                if self.chunk_started and self._line():
                    raise _Outcome("fail", "unexpected answer: bad chunked encoding")
                size = self._line().split(b";")[0].strip()
                if not re.fullmatch(b"[0-9A-Fa-f]{1,8}", size):
                    raise _Outcome("fail", "unexpected answer: bad chunked encoding")
                self.chunk_left, self.chunk_started = int(size, 16), True
                if self.chunk_left == 0:
                    raise EOFError
            if not self.buffer and not self._fill():
                raise EOFError
            take = self.buffer[: min(count - len(out), self.chunk_left)]
            self.buffer = self.buffer[len(take) :]
            self.chunk_left -= len(take)
            out += take
        return out

    def read_pdu(self) -> bytes:
        """Read one DCE/RPC or RTS PDU from the response body (its length is in its header)."""
        header = self.read_body(16)
        if header[0] != 5 or header[1] != 0:
            raise _Outcome(
                "fail",
                f"unexpected answer on the {self.name}: not an RPC PDU "
                f"('{_shown(header, self.secrets)}'); fix: {FIX_UNEXPECTED}",
            )
        (length,) = struct.unpack_from("<H", header, 8)
        if length < 16:
            raise _Outcome("fail", "unexpected answer: an RPC PDU shorter than its header")
        return header + self.read_body(length - 16)


def _parse_head(head: bytes) -> _Response:
    """Split a response head into status, reason and headers."""
    lines = re.split(r"\r?\n", head.decode("latin-1"))
    match = _STATUS_LINE_RE.match(lines[0])
    if not match:
        # the head was redacted when read; _shown keeps a "[credentials]" at the cut whole
        shown = _shown(lines[0].encode("latin-1"), ())
        raise _Outcome(
            "fail",
            f"unexpected answer: not an HTTP status line ('{shown}'); fix: {FIX_UNEXPECTED}",
        )
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return _Response(int(match.group(1)), match.group(2) or "", headers)


def _schemes(response: _Response) -> list[str]:
    """The authentication schemes named in WWW-Authenticate headers, in order."""
    schemes: list[str] = []
    for name, value in response.headers:
        if name.lower() != "www-authenticate":
            continue
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)
        for part in unquoted.split(","):
            words = part.split()
            if words and "=" not in words[0] and not (len(words) > 1 and words[1][0] == "="):
                scheme = _printable(words[0].encode("latin-1"), 30)
                if scheme.lower() not in (s.lower() for s in schemes):
                    schemes.append(scheme)
    return schemes


def _offers(schemes: Sequence[str], method: str) -> bool:
    """Whether the proxy's 401 offers the endpoint's method (NTLM also through Negotiate)."""
    wanted = {"Basic": {"basic"}, "NTLM": {"ntlm", "negotiate"}}[method]
    return bool(wanted & {s.lower() for s in schemes})


def _request_head(method: str, target: Target, length: int, authorization: str = "") -> bytes:
    """An RPC_IN_DATA or RPC_OUT_DATA request head ([MS-RPCH] 2.1.2.1.1 and 2.1.2.1.2)."""
    lines = [
        f"{method} /rpc/rpcproxy.dll?{target.server}:{target.port} HTTP/1.1",
        f"Host: {target.public_fqdn}",
        "Accept: application/rpc",
        "User-Agent: MSRPC",
        "Cache-Control: no-cache",
        "Connection: Keep-Alive",
        "Pragma: No-cache",
        f"Content-Length: {length}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _judge_error(response: _Response, channel: str, method: str, body: bytes = b"") -> _Outcome:
    """Name the cause of a proxy's non-success answer to an authenticated channel request."""
    # the head was redacted when read; _shown keeps a "[credentials]" at the cut whole
    code, reason = response.status, _shown(response.reason.encode("latin-1"), (), 120)
    status = f"HTTP {code} {reason}".rstrip()
    if "invalid rpc port" in (reason + body.decode("latin-1")).lower():
        return _Outcome(
            "fail",
            f"ValidPorts refused the target ({status} on the {channel}); fix: {FIX_VALIDPORTS}",
        )
    if code == 401:
        schemes = _schemes(response)
        if schemes and not _offers(schemes, method):
            return _Outcome(
                "fail",
                f"method not offered: the proxy offers {', '.join(schemes)}, not {method}; "
                f"fix: {FIX_METHOD}",
            )
        return _Outcome(
            "fail",
            f"credentials refused ({status} on the {channel}); fix: {FIX_CREDENTIALS} "
            f"(a 401 on only some targets points at ValidPorts instead)",
        )
    error = _RPC_ERROR_RE.search(reason)
    if code == 503 and error:
        number = int(error.group(1), 16)
        name = _RPC_ERRORS.get(number, "")
        said = f"RPC error 0x{number:x} ({number}{', ' + name if name else ''})"
        if number == 0x6BA:
            return _Outcome(
                "fail",
                f"back-end unreachable from the proxy: {said} on the {channel}: the proxy could "
                f"not connect to the server's port, or ValidPorts does not list this exact "
                f"host:port (Windows reports both as 1722); fix: {FIX_BACKEND}",
            )
        return _Outcome(
            "fail",
            f"unexpected answer: the proxy reports {said} on the {channel}; fix: {FIX_UNEXPECTED}",
        )
    if code == 404:
        return _Outcome(
            "fail",
            f"RPC proxy not found ({status}): no /rpc/rpcproxy.dll; fix: {FIX_NOT_INSTALLED}",
        )
    return _Outcome("fail", f"unexpected answer: {status} on the {channel}; fix: {FIX_UNEXPECTED}")


# --- RTS and DCE/RPC packets ---


def _pdu(ptype: int, body: bytes, call_id: int = 0) -> bytes:
    """A connection-oriented PDU: common header (first and last fragment, little-endian)."""
    return struct.pack("<BBBBIHHI", 5, 0, ptype, 0x03, 0x10, 16 + len(body), 0, call_id) + body


def _rts(flags: int, commands: Sequence[bytes]) -> bytes:
    """An RTS PDU ([MS-RPCH] 2.2.3.6.1) holding commands."""
    return _pdu(PTYPE_RTS, struct.pack("<HH", flags, len(commands)) + b"".join(commands))


def _command(kind: int, value: int | bytes) -> bytes:
    """One RTS command: a 4-byte type and a 4-byte value or a 16-byte cookie."""
    data = value if isinstance(value, bytes) else struct.pack("<I", value)
    return struct.pack("<I", kind) + data


def conn_a1(virtual_connection: bytes, out_channel: bytes) -> bytes:
    """CONN/A1, sent on the OUT channel ([MS-RPCH] 2.2.4.2): 76 bytes."""
    commands = [
        _command(RTS_VERSION, 1),
        _command(3, virtual_connection),
        _command(3, out_channel),
        _command(0, RECEIVE_WINDOW),
    ]
    return _rts(0, commands)


def conn_b1(virtual_connection: bytes, in_channel: bytes, association: bytes) -> bytes:
    """CONN/B1, sent on the IN channel ([MS-RPCH] 2.2.4.5)."""
    commands = [
        _command(RTS_VERSION, 1),
        _command(3, virtual_connection),
        _command(3, in_channel),
        _command(4, IN_CHANNEL_LENGTH),
        _command(5, 300000),
        _command(12, association),
    ]
    return _rts(0, commands)


def rts_commands(pdu: bytes) -> list[int]:
    """The command types of an RTS PDU, or raise ValueError when it does not parse."""
    (count,) = struct.unpack_from("<H", pdu, 18)
    kinds, pos = [], 20
    for _ in range(count):
        (kind,) = struct.unpack_from("<I", pdu, pos)
        if kind == 8:  # Padding: a count, then that many bytes
            (size,) = struct.unpack_from("<I", pdu, pos + 4)
            step = 8 + size
        elif kind == 11:  # ClientAddress: IPv4 or IPv6, then 12 bytes of padding
            (family,) = struct.unpack_from("<I", pdu, pos + 4)
            step = 8 + (4 if family == 0 else 16) + 12
        elif kind in _RTS_SIZES:
            step = _RTS_SIZES[kind]
        else:
            raise ValueError(f"unknown RTS command {kind}")
        kinds.append(kind)
        pos += step
    if pos > len(pdu):
        raise ValueError("RTS commands overrun the PDU")
    return kinds


def bind(port: int, call_id: int = 1) -> bytes:
    """A bind to the interface the port serves, NDR transfer syntax (C706 12.6.4.3)."""
    _, interface, major, minor = INTERFACES[port]
    ndr, ndr_major, ndr_minor = NDR
    context = struct.pack("<HBB", 0, 1, 0) + interface.bytes_le + struct.pack("<HH", major, minor)
    context += ndr.bytes_le + struct.pack("<HH", ndr_major, ndr_minor)
    return _pdu(PTYPE_BIND, struct.pack("<HHIBBH", 5840, 5840, 0, 1, 0, 0) + context, call_id)


def _judge_bind(pdu: bytes, target: Target) -> Result:
    """Read the answer to the bind: bind_ack with acceptance, or why not."""
    name = INTERFACES[target.port][0]
    where = f"{target.server}:{target.port}"
    ptype = pdu[2]
    if ptype == PTYPE_BIND_ACK and len(pdu) >= 26:
        (address_length,) = struct.unpack_from("<H", pdu, 24)
        pos = 26 + address_length
        pos += (4 - pos % 4) % 4
        if pos + 8 <= len(pdu) and pdu[pos] >= 1:
            result, reason = struct.unpack_from("<HH", pdu, pos + 4)
            if result == 0:
                return Result(
                    CHECK,
                    target.url,
                    "pass",
                    f"RPC over HTTP works: bound to {name} on {where} through the proxy",
                )
            return Result(
                CHECK,
                target.url,
                "fail",
                f"interface refused: {where} answered but does not offer {name} "
                f"(result {result}, reason {reason}): another service listens on that port; "
                f"fix: {FIX_BACKEND}",
            )
    if ptype == PTYPE_BIND_NAK and len(pdu) >= 18:
        (reason,) = struct.unpack_from("<H", pdu, 16)
        detail = f"interface refused: {where} rejected the bind to {name} (reason {reason})"
        return Result(CHECK, target.url, "fail", f"{detail}; fix: {FIX_BACKEND}")
    if ptype == PTYPE_FAULT and len(pdu) >= 28:
        (status,) = struct.unpack_from("<I", pdu, 24)
        detail = f"unexpected answer: a fault 0x{status:x} instead of a bind_ack from {where}"
        return Result(CHECK, target.url, "fail", f"{detail}; fix: {FIX_UNEXPECTED}")
    detail = (
        f"unexpected answer: a bind_ack from {where} too short to read"
        if ptype == PTYPE_BIND_ACK
        else f"unexpected answer: RPC packet type {ptype} instead of a bind_ack from {where}"
    )
    return Result(CHECK, target.url, "fail", f"{detail}; fix: {FIX_UNEXPECTED}")


# --- authentication ---


def _basic(credentials: Credentials) -> str:
    """The Basic Authorization value (the account as DOMAIN\\user)."""
    token = f"{credentials.user}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


def _ntlm_module() -> Any:
    """The optional NTLM library, or None when it is not installed."""
    try:
        return importlib.import_module("spnego")
    except ImportError:
        return None


def _open_channel(
    method_name: str,
    target: Target,
    length: int,
    credentials: Credentials,
    deadline: float,
    context: ssl.SSLContext,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> _Channel:
    """Connect and send an authenticated channel request head (NTLM: after its handshake)."""
    name = f"{'IN' if method_name == 'RPC_IN_DATA' else 'OUT'} channel"
    channel = _Channel(
        _tls_connect(target.public_fqdn, deadline, context, connect_to), deadline, name
    )
    channel.secrets = credentials.secrets
    try:
        if credentials.method == "Basic":
            channel.send(_request_head(method_name, target, length, _basic(credentials)))
            return channel
        client = _ntlm_module().client(
            credentials.user,
            credentials.password,
            hostname=target.public_fqdn,
            service="HTTP",
            protocol="ntlm",
        )
        negotiate = base64.b64encode(client.step()).decode("ascii")
        channel.send(_request_head(method_name, target, 0, "NTLM " + negotiate))
        response = channel.read_head()
        challenge = ""
        for key, value in response.headers:
            if key.lower() == "www-authenticate" and value.upper().startswith("NTLM "):
                challenge = value[5:].strip()
        if response.status != 401 or not challenge:
            raise _judge_error(response, name, "NTLM")
        length_header = response.header("Content-Length")
        if length_header.isdigit() and int(length_header) <= HEAD_MAX_BYTES:
            channel.read_body(int(length_header))
        try:
            answer = client.step(base64.b64decode(challenge))
        # The token is the server's: pyspnego rejects a broken one with ValueError, KeyError,
        # struct.error or its own errors, and none of them is a bug here.
        except Exception:
            raise _Outcome(
                "fail",
                f"unexpected answer: the proxy's NTLM challenge on the {name} cannot be read; "
                f"fix: {FIX_UNEXPECTED}",
            ) from None
        authenticate = base64.b64encode(answer).decode("ascii")
        channel.send(_request_head(method_name, target, length, "NTLM " + authenticate))
        return channel
    except BaseException:
        channel.close()
        raise


# --- one target ---


def _preflight(
    target: Target,
    method: str,
    deadline: float,
    context: ssl.SSLContext,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> None:
    """Ask without credentials first: the proxy must answer 401 offering the endpoint's method."""
    try:
        sock = _tls_connect(target.public_fqdn, deadline, context, connect_to)
    except (OSError, _Deadline) as error:
        raise _tls_failure(error, target, deadline, connect_to) from None
    channel = _Channel(sock, deadline, "IN channel")
    try:
        channel.send(_request_head("RPC_IN_DATA", target, 0))
        response = channel.read_head()
    finally:
        channel.close()
    if response.status == 401:
        schemes = _schemes(response)
        if not _offers(schemes, method):
            offered = ", ".join(schemes) or "no method (no WWW-Authenticate header)"
            raise _Outcome(
                "fail",
                f"method not offered: the proxy offers {offered}, not {method}; fix: {FIX_METHOD}",
            )
        return
    if response.status >= 300:
        raise _judge_error(response, "IN channel", method)


def _first_answer(channels: Sequence[_Channel]) -> _Channel:
    """Wait for the first channel with something to read (the proxy answers on OUT, or on IN
    only to refuse)."""
    while True:
        for channel in channels:
            if channel.readable():
                return channel
        remaining = channels[0].deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        select.select([c.sock for c in channels], [], [], min(remaining, 0.5))


def ping(
    target: Target,
    credentials: Credentials,
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
) -> Result:
    """Open a virtual connection to one target and bind to its interface; name any failure.

    Whatever the proxy echoes, the result never shows the credentials.
    """
    result = _ping(target, credentials, timeout, cafile, connect_to)
    return Result(
        result.check, result.target, result.status, _hide(result.detail, credentials.secrets)
    )


def _ping(
    target: Target,
    credentials: Credentials,
    timeout: float,
    cafile: str | None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> Result:
    """ping() before the credentials are hidden from the result."""
    if target.port not in INTERFACES:
        known = ", ".join(str(p) for p in INTERFACES)
        return Result(
            CHECK,
            target.url,
            "skip",
            f"not checked: no known interface on port {target.port} (Exchange 2003 serves {known})",
        )
    if credentials.method == "NTLM" and _ntlm_module() is None:
        return Result(
            CHECK,
            target.url,
            "skip",
            f"not checked: NTLM needs {NTLM_LIBRARY} (pip install {NTLM_LIBRARY}); "
            "or check with Basic if /Rpc also allows it",
        )
    deadline = time.monotonic() + timeout
    stage = "connecting to the proxy"
    channels: list[_Channel] = []
    try:
        context = _context(cafile)
        stage = "asking the proxy without credentials"
        _preflight(target, credentials.method, deadline, context, connect_to)
        stage = "opening the IN and OUT channels"
        cookies = [uuid.uuid4().bytes for _ in range(4)]
        in_channel = _open_channel(
            "RPC_IN_DATA", target, IN_CHANNEL_LENGTH, credentials, deadline, context, connect_to
        )
        channels.append(in_channel)
        out_channel = _open_channel(
            "RPC_OUT_DATA", target, 76, credentials, deadline, context, connect_to
        )
        channels.append(out_channel)
        out_channel.send(conn_a1(cookies[0], cookies[1]))
        # A proxy that refused the IN channel may have closed it: its answer is read below.
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            in_channel.send(conn_b1(cookies[0], cookies[2], cookies[3]))
        stage = "waiting for the OUT channel response"
        answered = _first_answer([out_channel, in_channel])
        response = answered.read_head()
        if answered is in_channel or response.status != 200:
            body = answered.buffer[:2048]
            raise _judge_error(response, answered.name, credentials.method, body)
        stage = "waiting for CONN/A3 and CONN/C2"
        _read_handshake(out_channel)
        stage = "waiting for the bind_ack"
        in_channel.send(bind(target.port))
        while True:
            try:
                pdu = out_channel.read_pdu()
            except EOFError:
                raise _Outcome(
                    "fail",
                    f"back-end unreachable from the proxy: the OUT channel closed before "
                    f"the bind_ack; fix: {FIX_BACKEND}",
                ) from None
            if pdu[2] != PTYPE_RTS:  # flow control and pings may come first
                return _judge_bind(pdu, target)
    except _Outcome as outcome:
        return Result(CHECK, target.url, outcome.status, outcome.detail)
    except (_Deadline, *_TIMEOUTS):
        detail = f"timeout: no answer within {timeout:g} s ({stage}); fix: {FIX_TIMEOUT}"
        return Result(CHECK, target.url, "fail", detail)
    except (OSError, EOFError) as error:
        reason = _describe(error) if isinstance(error, OSError) else "connection closed"
        return Result(
            CHECK,
            target.url,
            "fail",
            f"unexpected answer: {reason} ({stage}); fix: {FIX_UNEXPECTED}",
        )
    finally:
        for channel in channels:
            channel.close()


def _read_handshake(out_channel: _Channel) -> None:
    """Read CONN/A3, then CONN/C2, from the OUT channel ([MS-RPCH] 3.2.2.4.1)."""
    seen_a3 = False
    while True:
        try:
            pdu = out_channel.read_pdu()
        except EOFError:
            got = "after CONN/A3" if seen_a3 else "before CONN/A3"
            raise _Outcome(
                "fail",
                f"back-end unreachable from the proxy: the OUT channel closed {got}, "
                f"before CONN/C2; fix: {FIX_BACKEND}",
            ) from None
        if pdu[2] != PTYPE_RTS:
            raise _Outcome(
                "fail",
                f"unexpected answer: RPC packet type {pdu[2]} before CONN/C2; "
                f"fix: {FIX_UNEXPECTED}",
            )
        try:
            kinds = rts_commands(pdu)
        except (ValueError, struct.error) as error:
            # struct's own words name a buffer size, not the packet: said plainly instead
            why = "too short for what it announces" if isinstance(error, struct.error) else error
            raise _Outcome(
                "fail", f"unexpected answer: a broken RTS PDU ({why}); fix: {FIX_UNEXPECTED}"
            ) from None
        if kinds == [RTS_CONNECTION_TIMEOUT]:
            seen_a3 = True
        elif kinds == [RTS_VERSION, 0, RTS_CONNECTION_TIMEOUT]:
            if not seen_a3:
                raise _Outcome(
                    "fail", f"unexpected answer: CONN/C2 before CONN/A3; fix: {FIX_UNEXPECTED}"
                )
            return


def run(
    targets: Sequence[Target],
    credentials: Credentials,
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    deadline: float | None = None,
) -> list[Result]:
    """Ping every target in turn; one result each, within `deadline` seconds in all if given.

    A target that would start after the deadline is skipped, and each one gets at most the
    time left. When the same account passed on another target, a 401 cannot be the password:
    the proxy refused that host:port, which IIS may answer with 401 too.
    """
    end = None if deadline is None else time.monotonic() + deadline
    results = []
    for target in targets:
        left = timeout if end is None else min(timeout, end - time.monotonic())
        if left <= 0.05:
            results.append(
                Result(CHECK, target.url, "skip", "not started: the run's deadline passed")
            )
            continue
        results.append(ping(target, credentials, left, cafile, connect_to))
    passed = sum(1 for r in results if r.status == "pass")
    if not passed:
        return results
    return [
        Result(
            r.check,
            r.target,
            r.status,
            f"ValidPorts likely refused the target: 401 here, while the same account passed on "
            f"{passed} other target{'s' * (passed != 1)}; fix: {FIX_VALIDPORTS}",
        )
        if r.detail.startswith("credentials refused")
        else r
        for r in results
    ]


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


def parse_user(text: str) -> str:
    """Check an account written DOMAIN\\user (no ':' and no control characters)."""
    domain, sep, user = text.partition("\\")
    if not sep or not domain or not user or "\\" in user:
        raise ValueError(f"the account must be written DOMAIN\\user, not {text!r}")
    if ":" in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("the account must not contain ':' or control characters")
    if any(0xD800 <= ord(c) < 0xE000 for c in text):
        raise ValueError("the account is not UTF-8 text (bytes of another encoding)")
    return text


def parse_method(text: str) -> str:
    """Return Basic or NTLM as the migration wizard writes it, or raise ValueError."""
    methods = {"basic": "Basic", "ntlm": "NTLM"}
    if text.lower() not in methods:
        raise ValueError(f"authentication must be Basic or NTLM, not {text!r}")
    return methods[text.lower()]


def _read_secret(prompt: str) -> str:
    """Ask for a secret without echo at a terminal; from a pipe, read one line of stdin.

    Only the line end is removed. getpass on a pipe would warn that the password may be echoed,
    which is false there. Raise EOFError when stdin is closed or at its end.
    """
    if sys.stdin is None:
        raise EOFError
    if sys.stdin.isatty():
        return getpass.getpass(prompt, stream=sys.stderr)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    sys.stderr.write("\n")
    if not line:
        raise EOFError
    line = line[:-1] if line.endswith("\n") else line
    return line[:-1] if line.endswith("\r") else line


def read_password(user: str) -> str:
    """The password from RUNBOOK_PASSWORD, else a prompt without echo, else a line piped to
    stdin; raise EOFError if none (or an empty one, or one that is not UTF-8 text)."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return _text_secret(password, f"{PASSWORD_ENV} is")
    try:
        password = _read_secret(f"Password for {user} (never stored or shown): ")
    except EOFError:
        password = ""
    if not password:
        raise EOFError(
            f"no password: set {PASSWORD_ENV}, run in a terminal to be asked, or pipe it in "
            "on one line"
        )
    return _text_secret(password, "the password typed or piped in is")


def _text_secret(secret: str, what: str) -> str:
    """`secret` when it is text; bytes that are not UTF-8 (from a terminal or variable in
    another encoding) reach Python as lone surrogates, which no request can carry: raise
    EOFError saying so, without a character of it (the encoder's error would name one)."""
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        raise EOFError(
            f"{what} not UTF-8 text (bytes of another encoding): set the terminal or the "
            "variable to UTF-8 and give it again"
        ) from None
    return secret


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        description="RPC over HTTP through the proxy to each target, like the Connectivity "
        "Analyzer: the MS-RPCH virtual connection, then a bind to the port's interface. "
        f"Basic needs only the standard library; NTLM needs {NTLM_LIBRARY} "
        f"(pip install {NTLM_LIBRARY}). The password is read from {PASSWORD_ENV}, asked for "
        "without echo, or read as one line piped to stdin; it is never taken from the command "
        "line.",
    )
    parser.add_argument(
        "targets",
        nargs="+",
        type=_arg(parse_target),
        metavar="URL",
        help="https://PUBLIC/rpc/rpcproxy.dll?SERVER:PORT (6001, 6002 or 6004)",
    )
    parser.add_argument(
        "--user", required=True, type=_arg(parse_user), help="the account, DOMAIN\\user"
    )
    parser.add_argument(
        "--auth", type=_arg(parse_method), default="Basic", help="basic (default) or ntlm"
    )
    parser.add_argument("--cafile", help="trust this CA bundle instead of the system store")
    parser.add_argument(
        "--timeout", type=_arg(_timeout), default=10.0, help="seconds per target, all in (10)"
    )
    parser.add_argument(
        "--deadline",
        type=_arg(_timeout),
        help=f"seconds for the whole run (default: {DEADLINE_FACTOR} times --timeout); a target "
        "that would start after it is reported skipped",
    )
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
    problem = cafile_problem(args.cafile) if args.cafile is not None else None
    if problem:
        parser.error(f"--cafile {args.cafile}: {problem}")
    try:
        password = read_password(args.user)
    except EOFError as exc:
        parser.error(str(exc) or "no password given")
    credentials = Credentials(args.user, password, args.auth)
    deadline = args.deadline if args.deadline is not None else DEADLINE_FACTOR * args.timeout
    results = run(
        args.targets, credentials, args.timeout, args.cafile, dict(args.connect_to), deadline
    )
    print_results(results, args.json)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
