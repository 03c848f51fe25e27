#!/usr/bin/env python3
"""Check the public RPC over HTTP endpoint: the TLS certificate, then the proxy's 401 answer.

Standalone: Python 3.8+, standard library only; copy this one file anywhere.

    python3 rpcproxy.py --server exch01.corp.local --auth-method basic mail.contoso.com
    python3 rpcproxy.py --server exch01.corp.local --auth-method basic --auth mail.contoso.com
    python3 rpcproxy.py --server exch01.corp.local --auth-method ntlm --window 2026-12-05 \\
        mail.contoso.com
    python3 rpcproxy.py --server exch01.corp.local --auth-method ntlm --valid-until 2026-12-15 \\
        mail.contoso.com

It reports the certificate (trust, name, end date: a warning under 30 days, before a week
after --window, or before the end of the --valid-until day), which TLS versions the public
name accepts (failing when TLS 1.2 is not one of them), and the proxy's 401 answer per port.
`--timeout` bounds each step, `--deadline` the whole run. `--auth` asks for a user and
password (or reads them as two lines piped to stdin), sends them once with Basic authentication
and reports whether they were accepted; they are never stored, logged or printed.
Exit status: 0 when nothing failed, 1 when any check failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import base64
import calendar
import contextlib
import datetime
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
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

CHECK_TLS = "tls"
CHECK_PROXY = "rpcproxy"
CHECK_AUTH = "auth"
CHECK_VERSIONS = "tls-versions"
RPC_PORTS = (6001, 6002, 6004)
HEAD_MAX_BYTES = 64 * 1024
EXPIRY_WARN_DAYS = 30
# The certificate must outlast the cutover window by this much (DOMAIN §6: window + 72 h + margin).
WINDOW_MARGIN_DAYS = 7
# Without --deadline, a whole run may take this many times the per-step --timeout.
DEADLINE_FACTOR = 3
# At most this many authentication schemes offered in a 401 are named in a result.
MAX_SCHEMES = 12
# The versions probed one at a time, as named in results and in ssl.TLSVersion.
TLS_VERSIONS = (
    ("TLS 1.0", "TLSv1"),
    ("TLS 1.1", "TLSv1_1"),
    ("TLS 1.2", "TLSv1_2"),
    ("TLS 1.3", "TLSv1_3"),
)
# Exchange Online's migration connections use TLS 1.2 (DOMAIN §0).
REQUIRED_VERSION = "TLS 1.2"
# Old protocols need OpenSSL 3's security level 0; only used to learn what a server offers.
_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
_WARNINGS_LOCK = threading.Lock()
# OpenSSL reasons meaning this machine, not the server, cannot speak a version.
_LOCAL_LIMITS = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_SUITABLE")
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


class _HandshakeStalled(OSError):
    """The TCP connection opened, but the TLS handshake did not finish before the deadline."""


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
    """The tls result, and whether the proxy can be probed (with verification, old protocols)."""

    result: Result
    reachable: bool
    trusted: bool
    legacy: bool = False


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

    A proxy that answers with the request's Authorization in its reason phrase must not make the
    password a result, printed and saved as evidence.
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
    if isinstance(exc, _HandshakeStalled):
        return str(exc)
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


def _until(timeout: float, deadline: float | None) -> float:
    """Return the end of one step: timeout from now, but never after the run's deadline."""
    end = time.monotonic() + timeout
    return end if deadline is None else min(end, deadline)


def _allowed(timeout: float, deadline: float | None) -> float:
    """Return the seconds a step starting now may take, as said in results (0.1 s steps)."""
    if deadline is None or time.monotonic() + timeout <= deadline:
        return timeout
    return round(max(0.0, deadline - time.monotonic()), 1)


def _parallel(tasks: Sequence[Callable[[], _T]], end: float, late: Callable[[int], _T]) -> list[_T]:
    """Run tasks in threads; each bounds itself by end; late(i) stands in for one still running."""
    found: dict[int, _T] = {}

    def work(index: int) -> None:
        found[index] = tasks[index]()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(tasks))]
    for worker in workers:
        worker.start()
    # Every task has its own deadline; this short grace only guards against a stuck thread.
    for worker in workers:
        worker.join(max(0.0, end - time.monotonic()) + 1.0)
    return [found[i] if i in found else late(i) for i in range(len(tasks))]


def _legacy(context: ssl.SSLContext) -> ssl.SSLContext:
    """Let a context speak TLS 1.0 and 1.1 too, to read what an old server (IIS 6) offers."""
    # Python 3.10+ warns about TLS 1.0/1.1; here they are probed on purpose, never trusted.
    # catch_warnings() is not thread-safe, and the probes build contexts in several threads.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.set_ciphers(_LEGACY_CIPHERS)
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


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


def _context(cafile: str | None, verify: bool, legacy: bool = False) -> ssl.SSLContext:
    """Return a client context: the system store (or cafile) when verifying, else no checks."""
    if verify:
        context = ssl.create_default_context(cafile=cafile)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return _legacy(context) if legacy else context


def _version_context(member: str) -> ssl.SSLContext | None:
    """Return an unverified context speaking only one TLS version; None if this OpenSSL cannot."""
    version = getattr(ssl.TLSVersion, member, None)
    if version is None:
        return None
    try:
        context = _legacy(_context(None, False))
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = version
            context.minimum_version = version
    except (ValueError, ssl.SSLError):
        return None
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
        try:
            return context.wrap_socket(sock, server_hostname=host)
        except _TIMEOUTS:
            raise _HandshakeStalled(
                "TLS handshake stalled: the connection opened, but the server did not complete "
                "a TLS handshake"
            ) from None
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


@dataclass(frozen=True)
class _MustLast:
    """The last day the certificate must still be valid on, and why, as a warning says it."""

    day: datetime.date
    why: str


def _must_last(window: datetime.date | None, valid_until: datetime.date | None) -> _MustLast | None:
    """Return the day the certificate must last through: a week after the window, or the day
    given (a runbook gives switch + 72 hours + margin, DOMAIN §6); the later when both are."""
    needs = []
    if window is not None:
        week_after = window + datetime.timedelta(days=WINDOW_MARGIN_DAYS)
        needs.append(_MustLast(week_after, f", a week after the window {window.isoformat()}"))
    if valid_until is not None:
        needs.append(_MustLast(valid_until, ""))
    return max(needs, key=lambda need: need.day) if needs else None


def _calendar(not_after: float, must_last: _MustLast | None) -> tuple[str, str]:
    """Judge a certificate's end date against today and the day it must last through
    (DOMAIN §6)."""
    now = time.time()
    if not_after < now:
        days_ago = int((now - not_after) // 86400)
        return "fail", f"expired on {_day(not_after)} ({days_ago} days ago)"
    days = math.floor((not_after - now) / 86400)
    text = f"expires {_day(not_after)} ({days} days)"
    if days < EXPIRY_WARN_DAYS:
        return "warn", f"{text}: renew it before the migration (under {EXPIRY_WARN_DAYS} days left)"
    if must_last is not None:
        # valid through the whole day: until the next day begins (UTC)
        day_after = must_last.day + datetime.timedelta(days=1)
        if not_after < calendar.timegm(day_after.timetuple()):
            return "warn", (
                f"{text}: renew it before the migration (it must last until "
                f"{must_last.day.isoformat()}{must_last.why})"
            )
    return "pass", text


def _untrusted_detail(
    host: str,
    error: ssl.SSLCertVerificationError,
    info: _CertInfo | None,
    must_last: _MustLast | None = None,
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
    if info.not_after < time.time():
        problems.append(_calendar(info.not_after, must_last)[1])
    elif info.not_before > time.time():
        problems.append(f"not valid before {_day(info.not_before)}")
    return "; ".join(problems)


def _verified(
    host: str,
    port: int,
    end: float,
    cafile: str | None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
    legacy: bool,
) -> tuple[dict[str, Any], str]:
    """Handshake with verification; return the peer certificate and the protocol spoken."""
    with _tls_connect(host, port, end, _context(cafile, True, legacy), connect_to) as sock:
        return dict(sock.getpeercert() or {}), sock.version() or "unknown protocol"


def _untrusted(
    host: str,
    port: int,
    timeout: float,
    deadline: float | None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
    error: ssl.SSLCertVerificationError,
    must_last: _MustLast | None,
    legacy: bool,
) -> _TlsOutcome:
    """After a trust failure, handshake again without verification only to read the certificate.

    Nothing but a TLS handshake is sent on that connection: never a request, never credentials.
    """
    info, version = None, "unknown protocol"
    try:
        with _tls_connect(
            host, port, _until(timeout, deadline), _context(None, False, legacy), connect_to
        ) as sock:
            der = sock.getpeercert(binary_form=True) or b""
            version = sock.version() or version
        info = _parse_certificate(der)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        pass  # the verify error alone still says what is wrong
    # Cutover needs a publicly trusted certificate that matches the public name (DOMAIN §6).
    detail = f"{_untrusted_detail(host, error, info, must_last)}; {version}"
    if info is not None and info.not_after >= time.time():
        detail += "; " + _calendar(info.not_after, must_last)[1]
    elif info is None:
        detail += "; end date not read"
    result = Result(CHECK_TLS, f"{host}:{port}", "fail", detail)
    return _TlsOutcome(result, True, False, legacy)


def _probe_tls(
    host: str,
    port: int,
    timeout: float,
    cafile: str | None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
    must_last: _MustLast | None = None,
    deadline: float | None = None,
) -> _TlsOutcome:
    """Handshake with verification; after a trust failure, again without it to learn why.

    A server speaking only TLS 1.0/1.1 (IIS 6) is read again allowing those versions, so its
    certificate and proxy are still checked; the tls-versions result fails for it.
    """
    target = f"{host}:{port}"
    allowed = _allowed(timeout, deadline)
    legacy = False
    try:
        try:
            cert, version = _verified(
                host, port, _until(timeout, deadline), cafile, connect_to, False
            )
        except ssl.SSLCertVerificationError:
            raise
        except ssl.SSLError as error:
            if "WRONG_VERSION_NUMBER" in str(error.reason or error):
                raise
            try:
                legacy = True
                cert, version = _verified(
                    host, port, _until(timeout, deadline), cafile, connect_to, True
                )
            except ssl.SSLCertVerificationError:
                raise
            except OSError:
                raise error from None
    except ssl.SSLCertVerificationError as error:
        return _untrusted(host, port, timeout, deadline, connect_to, error, must_last, legacy)
    except ssl.SSLError as error:
        reason = str(error.reason or error)
        detail = f"TLS handshake failed: {reason}"
        if "WRONG_VERSION_NUMBER" in reason:
            detail += " (the server does not speak TLS here: plain HTTP?)"
        return _TlsOutcome(Result(CHECK_TLS, target, "fail", detail), False, False)
    except OSError as error:
        if isinstance(error, _HandshakeStalled):
            detail = f"{error} within {allowed:g} s"
        else:
            detail = f"cannot connect: {_describe(error)}"
        return _TlsOutcome(Result(CHECK_TLS, target, "fail", detail), False, False)
    status, dates = _calendar(ssl.cert_time_to_seconds(str(cert.get("notAfter"))), must_last)
    # A private CA proves less than the public store Office 365 uses (DOMAIN §6): say so.
    trust = "trusted by the given CA file, not the system store;" if cafile else "trusted,"
    detail = f"{trust} name matches, {dates}, {version}"
    if legacy:
        detail += f" (read allowing old protocols: see {CHECK_VERSIONS})"
    return _TlsOutcome(Result(CHECK_TLS, target, status, detail), True, True, legacy)


def check_tls(
    host: str,
    port: int = 443,
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    window: datetime.date | None = None,
    deadline: float | None = None,
    valid_until: datetime.date | None = None,
) -> Result:
    """Check the certificate on host:port: trusted, name matches, end date, protocol."""
    must_last = _must_last(window, valid_until)
    return _probe_tls(host, port, timeout, cafile, connect_to, must_last, deadline).result


def _try_version(
    host: str,
    port: int,
    end: float,
    member: str,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None,
) -> str:
    """Handshake speaking one version only: accepted, refused, broken off, stalled, or why it
    did not run.

    Refused: an alert, or the connection closed or reset before the server sent a byte back (old
    servers drop a ClientHello they cannot read). A close or reset after the server answered
    broke the handshake off midway, and that proves no refusal. The handshake runs over memory
    buffers so that it is known whether the server had answered.
    """
    context = _version_context(member)
    if context is None:
        return "untestable"
    try:
        sock = _connect(*_route(host, port, connect_to), end)
    except OSError as error:
        return f"no connection ({_describe(error)})"
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    answered = False
    with sock:
        try:
            while True:
                try:
                    tls.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                else:
                    # the client's last handshake message; done, the server may close at once
                    with contextlib.suppress(OSError):
                        sock.sendall(outgoing.read())
                    return "accepted"
                # CPython bounds each send and read by the socket timeout: set to what is left.
                sock.settimeout(max(0.001, end - time.monotonic()))
                sock.sendall(outgoing.read())
                data = sock.recv(16384)
                if not data:  # closed, everything it sent read without an alert
                    return "broken off" if answered else "refused"
                answered = True
                incoming.write(data)
        except _TIMEOUTS:
            return "stalled"
        except ssl.SSLError as error:
            reason = str(error.reason or error)
            return "untestable" if any(r in reason for r in _LOCAL_LIMITS) else "refused"
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return "broken off" if answered else "refused"
        except OSError as error:
            return f"no connection ({_describe(error)})"


def check_versions(
    host: str,
    port: int = 443,
    timeout: float = 10.0,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    deadline: float | None = None,
) -> Result:
    """Probe TLS 1.0 to 1.3 one at a time (at once, in threads); fail unless 1.2 is accepted.

    These handshakes verify nothing and send nothing after the handshake.
    """
    end = _until(timeout, deadline)
    tasks = [
        lambda member=member: _try_version(host, port, end, member, connect_to)
        for _, member in TLS_VERSIONS
    ]
    outcomes = _parallel(tasks, end, lambda i: "stalled")
    groups: dict[str, list[str]] = {}
    for index, (name, _) in enumerate(TLS_VERSIONS):
        groups.setdefault(outcomes[index], []).append(name)
    parts: list[str] = []
    for outcome, names in groups.items():
        shown = ", ".join(names)
        if outcome == "accepted":
            parts.insert(0, f"accepts {shown}")
        elif outcome == "refused":
            parts.append(f"refuses {shown}")
        elif outcome == "stalled":
            parts.append(f"handshake stalled for {shown}")
        elif outcome == "broken off":
            parts.append(f"broke off the handshake for {shown} (not proven refused)")
        elif outcome == "untestable":
            parts.append(f"{shown} not testable here (this machine's OpenSSL lacks it)")
        else:
            parts.append(f"{shown}: {outcome}")
    summary = "; ".join(parts)
    target = f"{host}:{port}"
    if REQUIRED_VERSION in groups.get("accepted", []):
        return Result(CHECK_VERSIONS, target, "pass", summary)
    required = outcomes[[name for name, _ in TLS_VERSIONS].index(REQUIRED_VERSION)]
    if required.startswith("no connection"):
        # nothing answered: whether TLS 1.2 is offered is unknown, and the tls result says why
        detail = f"skipped: {REQUIRED_VERSION} not tested, {required} (see the tls result)"
        return Result(CHECK_VERSIONS, target, "skip", detail)
    if REQUIRED_VERSION in groups.get("broken off", []) + groups.get("stalled", []):
        # no answer either way: saying the server does not offer TLS 1.2 would be a guess
        detail = (
            f"{REQUIRED_VERSION} not confirmed: {summary}; Exchange Online's migration "
            f"connections use {REQUIRED_VERSION}, so run this again and, if it recurs, look at "
            f"what sits in front of the server (a firewall or TLS device)"
        )
        return Result(CHECK_VERSIONS, target, "fail", detail)
    detail = (
        f"{REQUIRED_VERSION} not offered ({summary}): Exchange Online's migration connections "
        f"use {REQUIRED_VERSION}, so expect the migration to fail until something in front of "
        f"the server offers {REQUIRED_VERSION} on this name"
    )
    return Result(CHECK_VERSIONS, target, "fail", detail)


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


def _read_head(
    sock: ssl.SSLSocket, deadline: float, timeout: float, secrets: Sequence[str] = ()
) -> bytes:
    """Read the status line and headers only, within HEAD_MAX_BYTES and the overall deadline;
    what is shown of an answer that is not HTTP never shows the secrets sent."""
    data = b""
    while True:
        ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
        if ends:
            return data[: min(ends)]
        if not b"HTTP/".startswith(data[:5]):
            raise _ProbeError(f"not an HTTP response (received '{_shown(data, secrets)}')")
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


def _parse_head(head: bytes, secrets: Sequence[str] = ()) -> _Response:
    """Split a response head into status, reason and headers (linear in its size)."""
    lines = head.decode("latin-1").split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    match = _STATUS_LINE_RE.match(lines[0])
    if not match:
        shown = _shown(lines[0].encode("latin-1"), secrets)
        raise _ProbeError(f"not an HTTP response (status line '{shown}')")
    fields: list[tuple[str, list[str]]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:  # obsolete folded continuation
            fields[-1][1].append(line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name.strip(), [value.strip()]))
    headers = [(name, " ".join(parts)) for name, parts in fields]
    return _Response(int(match.group(1)), match.group(2) or "", headers)


# A quoted string (closed or not), a run of other text, or a comma: one pass, no backtracking.
_CHALLENGE_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"?|[^",]+|,')


def _challenge_parts(value: str) -> list[str]:
    """Split a WWW-Authenticate value at commas outside quoted strings (quotes emptied)."""
    parts: list[str] = []
    current: list[str] = []
    for token in _CHALLENGE_TOKEN_RE.findall(value):
        if token == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append('""' if token.startswith('"') else token)
    parts.append("".join(current))
    return parts


def _auth_schemes(response: _Response) -> list[str]:
    """Return the authentication schemes named in WWW-Authenticate headers, in order, once each."""
    schemes: list[str] = []
    seen: set[str] = set()
    for name, value in response.headers:
        if name.lower() != "www-authenticate":
            continue
        # One header may hold several challenges: "Negotiate, NTLM" or "Basic realm=\"a, b\"".
        for part in _challenge_parts(value):
            words = part.split()
            if words and "=" not in words[0] and not (len(words) > 1 and words[1][0] == "="):
                scheme = _printable(words[0].encode("latin-1"), 30)
                if scheme.lower() not in seen:
                    seen.add(scheme.lower())
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
        more = len(schemes) - MAX_SCHEMES
        offered = ", ".join(schemes[:MAX_SCHEMES]) + (f" and {more} more" if more > 0 else "")
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
    deadline: float | None = None,
    secrets: Sequence[str] = (),
) -> _Response:
    """Send one request to the proxy and read the response head (raise _ProbeError or OSError);
    secrets are what the request carries, never shown in an error."""
    allowed = _allowed(timeout, deadline)
    end = _until(timeout, deadline)
    with _tls_connect(public_fqdn, 443, end, context, connect_to) as sock:
        sock.settimeout(max(0.001, end - time.monotonic()))
        sock.sendall(request)
        return _parse_head(_read_head(sock, end, allowed, secrets), secrets)


def _failure(error: Exception) -> str:
    """Say why a proxy request got no usable answer."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, _HandshakeStalled):
        return str(error)
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
    legacy: bool = False,
    deadline: float | None = None,
) -> list[Result]:
    """Send an unauthenticated RPC_IN_DATA per port, all at once; expect 401 with the method."""
    method = _method(authentication)
    _validate(public_fqdn, server, ports)
    context = _context(cafile, verify, legacy)
    note = "" if verify else " (certificate not verified: see the tls result)"
    end = _until(timeout, deadline)

    def probe(rpc_port: int) -> Result:
        target = _url(public_fqdn, server, rpc_port)
        request = _request(public_fqdn, server, rpc_port)
        try:
            response = _exchange(public_fqdn, request, timeout, context, connect_to, deadline)
        except (OSError, _ProbeError) as error:
            return Result(CHECK_PROXY, target, "fail", _failure(error) + note)
        status, detail = _judge(response, method)
        return Result(CHECK_PROXY, target, status, detail + note)

    def late(index: int) -> Result:
        target = _url(public_fqdn, server, ports[index])
        return Result(CHECK_PROXY, target, "fail", "no answer before the deadline")

    tasks = [lambda rpc_port=rpc_port: probe(rpc_port) for rpc_port in ports]
    return _parallel(tasks, end, late)


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
    deadline: float | None = None,
) -> Result:
    """Send Basic credentials once: 2xx means accepted, 401 refused, anything else a failure.

    Only over a verified certificate and a modern protocol: credentials never go to a server we
    cannot trust, nor over the old protocols the other probes allow.
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
    secrets = [token, f"{username}:{password}", password] if password else [token]
    try:
        response = _exchange(
            public_fqdn, request, timeout, _context(cafile, verify), connect_to, deadline, secrets
        )
    except (OSError, _ProbeError) as error:
        return Result(CHECK_AUTH, target, "fail", _hide(_failure(error), secrets))
    reason = _shown(response.reason.encode("latin-1"), secrets)
    status = f"HTTP {response.status} {reason}".rstrip()
    if response.status == 401:
        detail = "credentials refused (401): check the user (DOMAIN\\user form) and password"
        return Result(CHECK_AUTH, target, "fail", detail)
    if 200 <= response.status < 300:
        return Result(CHECK_AUTH, target, "pass", f"credentials accepted ({status})")
    return Result(CHECK_AUTH, target, "fail", f"credentials not accepted ({status})")


def _out_of_time(deadline: float | None) -> bool:
    """Return True when the run's deadline has passed."""
    return deadline is not None and time.monotonic() >= deadline


def run(
    public_fqdn: str,
    server: str,
    ports: Sequence[int] = RPC_PORTS,
    authentication: str = "Basic",
    timeout: float = 10.0,
    cafile: str | None = None,
    connect_to: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    credentials: Callable[[], tuple[str, str]] | None = None,
    window: datetime.date | None = None,
    deadline: float | None = None,
    on_result: Callable[[Result], None] | None = None,
    valid_until: datetime.date | None = None,
) -> list[Result]:
    """Check the certificate and the TLS versions (at once), then the proxy per port, then
    (given credentials) one authenticated request; each step within timeout, all by deadline.

    credentials is called, for (user, password), only when the authenticated probe can run.
    on_result, when given, is called with each result as soon as it is known.
    """
    method = _method(authentication)
    _validate(public_fqdn, server, ports)
    results: list[Result] = []

    def report(*found: Result) -> None:
        for result in found:
            results.append(result)
            if on_result is not None:
                on_result(result)

    target = f"{public_fqdn}:443"
    targets = [_url(public_fqdn, server, rpc_port) for rpc_port in ports]
    if _out_of_time(deadline):
        passed = "skipped: the run's overall deadline passed first"
        report(
            Result(CHECK_TLS, target, "skip", passed),
            Result(CHECK_VERSIONS, target, "skip", passed),
        )
        report(*(Result(CHECK_PROXY, url, "skip", passed) for url in targets))
        if credentials is not None:
            report(Result(CHECK_AUTH, targets[0], "skip", passed))
        return results
    end = _until(timeout, deadline)
    found: list[Result] = []
    worker = threading.Thread(
        target=lambda: found.append(
            check_versions(public_fqdn, 443, timeout, connect_to, deadline)
        ),
        daemon=True,
    )
    worker.start()
    must_last = _must_last(window, valid_until)
    outcome = _probe_tls(public_fqdn, 443, timeout, cafile, connect_to, must_last, deadline)
    worker.join(max(0.0, end - time.monotonic()) + 1.0)
    late = Result(CHECK_VERSIONS, target, "fail", "no answer before the deadline")
    versions = found[0] if found else late
    report(outcome.result, versions)
    skipped = ""
    if not outcome.reachable:
        skipped = "skipped: no TLS connection to the public name (see the tls result)"
    elif _out_of_time(deadline):
        skipped = "skipped: the run's overall deadline passed first"
    if skipped:
        report(*(Result(CHECK_PROXY, target, "skip", skipped) for target in targets))
        if credentials is not None:
            report(Result(CHECK_AUTH, targets[0], "skip", skipped))
        return results
    # After a trust failure the proxy is still probed, unverified, so one run shows both.
    report(
        *check_proxy(
            public_fqdn,
            server,
            ports,
            method,
            timeout,
            cafile,
            connect_to,
            outcome.trusted,
            outcome.legacy,
            deadline,
        )
    )
    if credentials is not None:
        if method != "Basic":
            detail = "the authenticated probe supports Basic only; NTLM is not supported"
            report(Result(CHECK_AUTH, targets[0], "skip", detail))
        elif outcome.legacy:
            detail = (
                f"not sent: the public name does not offer {REQUIRED_VERSION}, and credentials "
                "never travel over an older protocol"
            )
            report(Result(CHECK_AUTH, targets[0], "skip", detail))
        elif _out_of_time(deadline):
            report(Result(CHECK_AUTH, targets[0], "skip", "skipped: the run's deadline passed"))
        else:
            username, password = credentials()
            # The prompt waits for a person, so this last request gets its own timeout only.
            report(
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
    if not math.isfinite(value) or not 0 < value <= 300:
        raise ValueError(f"timeout must be above 0 and at most 300 seconds, not {text}")
    return value


def _date(text: str) -> datetime.date:
    """Parse a YYYY-MM-DD date."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"expected a date as YYYY-MM-DD, not {text!r}")
    return datetime.date.fromisoformat(text)


def _ports(text: str) -> list[int]:
    """Parse a comma-separated port list such as 6001,6002,6004."""
    ports = [_port(item.strip()) for item in text.split(",") if item.strip()]
    if not ports:
        raise ValueError("give at least one port")
    return ports


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


def _ask_credentials() -> tuple[str, str]:
    """Ask for the user and the password, on the terminal or as two lines of a pipe (prompts to
    stderr, so --json output stays clean); raise EOFError saying what is missing."""
    sys.stderr.write("User for the authenticated probe (DOMAIN\\user): ")
    sys.stderr.flush()
    try:
        username = input().strip()
    except (EOFError, RuntimeError):  # RuntimeError: no stdin at all
        raise EOFError("--auth needs a user and a password") from None
    try:
        password = _read_secret("Password (sent once, never stored): ")
    except EOFError:
        password = ""
    if not password:
        raise EOFError("--auth needs a password: it was empty or not given")
    try:
        # bytes of another encoding reach Python as lone surrogates, which no request carries
        f"{username}:{password}".encode()
    except UnicodeEncodeError:
        raise EOFError(
            "--auth: the user or password is not UTF-8 text (bytes of another encoding): set "
            "the terminal to UTF-8 and give them again"
        ) from None
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
    parser.add_argument(
        "--timeout", type=_arg(_timeout), default=10.0, help="seconds for each step (10)"
    )
    parser.add_argument(
        "--deadline",
        type=_arg(_timeout),
        help="seconds for the whole run (default: three times --timeout)",
    )
    parser.add_argument(
        "--window",
        type=_arg(_date),
        metavar="YYYY-MM-DD",
        help="planned cutover date: warn when the certificate ends before a week after it",
    )
    parser.add_argument(
        "--valid-until",
        type=_arg(_date),
        metavar="YYYY-MM-DD",
        help="warn when the certificate ends before this day is over (the later of this and "
        "--window's week counts)",
    )
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
    problem = cafile_problem(args.cafile) if args.cafile is not None else None
    if problem:
        parser.error(f"--cafile {args.cafile}: {problem}")
    total = args.deadline if args.deadline is not None else DEADLINE_FACTOR * args.timeout

    def stream(result: Result) -> None:
        if not args.json:
            print_results([result], False)
            sys.stdout.flush()

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
            window=args.window,
            deadline=time.monotonic() + total,
            on_result=stream,
            valid_until=args.valid_until,
        )
    except EOFError as exc:
        parser.error(str(exc))
    if args.json:
        print_results(results, True)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
