#!/usr/bin/env python3
"""Check a mail domain's MX, SPF and autodiscover records before and after the switch.

"before" reports today's records against the plan (MX TTL should be 3600 s or less, one SPF
record); the MX TTL is read as the DNS host set it, at one of the domain's own name servers
(asked without recursion), not at a resolver, whose cache counts it down. "after" asserts
that mail and clients now go to Office 365. Standalone: Python 3.8+, standard library only;
copy this one file anywhere. When dnspython is installed it makes the lookups, and without
--nameserver it tries each DNS server the system names in turn; without it, a built-in client
asks the first one (/etc/resolv.conf; Windows: the registry) the same questions over UDP, and
over TCP when the answer is truncated.

    python3 dnsrecords.py --mode before \\
        --mx-target contoso-com.mail.protection.outlook.com contoso.com
    python3 dnsrecords.py --mode after --mx-target ... --nameserver 192.0.2.53 contoso.com
    python3 dnsrecords.py --mode before contoso.com   (MX target not copied yet)

Exit status: 0 when nothing failed, 1 when any check failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rdatatype
    import dns.resolver
except ImportError:  # the built-in client below asks instead
    HAVE_DNSPYTHON = False
else:
    HAVE_DNSPYTHON = True

MODES = ("before", "after")
# Office 365's records and the TTL to reach before the migration starts (DOMAIN §8).
SPF_INCLUDE = "include:spf.protection.outlook.com"
SPF_RECORD = "v=spf1 include:spf.protection.outlook.com -all"
AUTODISCOVER_TARGET = "autodiscover.outlook.com"
MX_TTL_MAX = 3600
# dnspython 1.16 gives up on a chain of 15 CNAMEs or more (2.x on 16, and says so).
CNAME_CHAIN_TOO_LONG = 15
# Where the planned MX comes from when --mx-target is not given (DOMAIN §11: never derived).
UNGIVEN_MX = "the MX value in the admin center's DNS records (no --mx-target given)"
# socket.timeout only became an alias of TimeoutError in Python 3.10; this script runs on 3.8.
_TIMEOUTS = (socket.timeout, TimeoutError)
_T = TypeVar("_T")
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)" + _LABEL + r"(?:\." + _LABEL + r")+\.?$")


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


def _domain(text: str) -> str:
    """Return text as a lower-case domain name without the final dot, or raise ValueError."""
    if not _DOMAIN_RE.fullmatch(text):
        raise ValueError(f"not a valid domain name (it needs a dot): {text!r}")
    return text.rstrip(".").lower()


def _nameserver(text: str) -> str:
    """Return text as an IP address, or raise ValueError."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"the nameserver must be an IP address, not {text!r}") from None


def _port(text: str) -> int:
    """Return text as a UDP/TCP port number, or raise ValueError."""
    if not re.fullmatch("[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535, not {text!r}")
    return int(text)


def _printable(text: str, limit: int = 200) -> str:
    """Return text from DNS escaped and truncated so it is safe to print."""
    escaped = "".join(c if " " <= c < "\x7f" else f"\\x{ord(c):02x}" for c in text[:limit])
    return escaped + ("..." if len(text) > limit else "")


def _name(value: Any) -> str:
    """Return a DNS name as lower-case text without the final dot."""
    return str(value).rstrip(".").lower()


@dataclass(frozen=True)
class _Records:
    """The records one lookup found, the same whichever client asked."""

    ttl: int  # of the RRset: its lowest record TTL
    mx: tuple[tuple[int, str], ...] = ()  # (preference, exchange) of each MX record
    txt: tuple[bytes, ...] = ()  # the strings of each TXT record, joined
    cname: tuple[str, ...] = ()  # the target of each CNAME record
    ns: tuple[str, ...] = ()  # the name server of each NS record
    a: tuple[str, ...] = ()  # the address of each A record
    authoritative: bool = False  # the answer had AA set: the zone's own data, not a cache


def _no_answer_within(lifetime: float, rdtype: str, name: str) -> str:
    """Say that no answer came within lifetime seconds."""
    return f"no answer from DNS within {round(lifetime, 1):g} s ({rdtype} {name})"


def _no_server(rdtype: str, name: str) -> str:
    """Say that the server failed, refused or answered what is no answer."""
    return f"no DNS server answered {rdtype} {name} (SERVFAIL or refused)"


def _cname_chain(cnames: dict[str, str], name: str) -> list[str]:
    """Return the names the CNAMEs of a response ({name: target}) lead through from name, in
    order, up to the first name that comes back (then listed twice) or 64 CNAMEs."""
    chain = [name]
    while chain[-1] in cnames and len(chain) <= 64:
        chain.append(cnames[chain[-1]])
        if chain[-1] in chain[:-1]:
            break
    return chain


def _cname_trouble(
    responses: Sequence[dict[str, str]], name: str, rdtype: str, sure: bool
) -> str | None:
    """Say which CNAME loop or overlong chain a response's CNAMEs show for name, or None.

    sure: the resolver itself gave up on the chain (dnspython 2's ChainTooLong), so it is said
    even when no response shows which names are involved.
    """
    for cnames in responses:
        chain = _cname_chain(cnames, name)
        if chain[-1] in chain[:-1]:
            path = _printable(" -> ".join(chain))
            return f"CNAME loop: {path}; correct these CNAME records ({rdtype} {name})"
        if len(chain) - 1 >= CNAME_CHAIN_TOO_LONG:
            ends = _printable(f"from {chain[0]} to {chain[-1]}")
            return (
                f"CNAME chain too long: {len(chain) - 1} CNAMEs {ends}, more than a resolver "
                f"follows; shorten it ({rdtype} {name})"
            )
    if sure:
        return f"CNAME loop or chain too long; check the CNAME records ({rdtype} {name})"
    return None


def _lookup(resolver: Any, name: str, rdtype: str) -> tuple[str, Any]:
    """Return ("ok", _Records), ("nxdomain", None), ("noanswer", None) or ("error", why)."""
    if isinstance(resolver, _Server):
        return _lookup_builtin(resolver, name, rdtype)
    return _lookup_dnspython(resolver, name, rdtype)


# --- with dnspython ---


def _resolver(nameserver: str | None, port: int, timeout: float) -> Any:
    """Return a resolver for one server (or the system's), bounded by timeout per lookup."""
    resolver = dns.resolver.Resolver(configure=nameserver is None)
    # The port must be set before the nameservers: some dnspython versions bind it then.
    resolver.port = port
    resolver.nameservers = [nameserver] if nameserver else list(resolver.nameservers)
    resolver.timeout = timeout
    # The lifetime bounds a whole lookup, retries and a TCP fallback included.
    resolver.lifetime = timeout
    return resolver


def _cnames(response: Any) -> dict[str, str]:
    """Return {name: target} of the CNAMEs in a dnspython response (None: none)."""
    return {
        _name(rrset.name): _name(rrset[0].target)
        for rrset in getattr(response, "answer", None) or []
        if rrset.rdtype == dns.rdatatype.CNAME and len(rrset)
    }


def _records(answer: Any, rdtype: str) -> _Records:
    """Return a dnspython answer's records."""
    ttl = int(answer.rrset.ttl)
    aa = bool(answer.response.flags & dns.flags.AA)
    if rdtype == "MX":
        mx = tuple((int(r.preference), _name(r.exchange)) for r in answer)
        return _Records(ttl, mx=mx, authoritative=aa)
    if rdtype == "TXT":
        return _Records(ttl, txt=tuple(b"".join(r.strings) for r in answer), authoritative=aa)
    if rdtype == "NS":
        return _Records(ttl, ns=tuple(_name(r.target) for r in answer), authoritative=aa)
    if rdtype == "A":
        return _Records(ttl, a=tuple(str(r.address) for r in answer), authoritative=aa)
    return _Records(ttl, cname=tuple(_name(r.target) for r in answer), authoritative=aa)


def _lookup_dnspython(resolver: Any, name: str, rdtype: str) -> tuple[str, Any]:
    """_lookup with dnspython."""
    # dnspython 2 calls it resolve(); 1.16 (still packaged with older Linux) only has query().
    lookup = getattr(resolver, "resolve", None) or resolver.query
    try:
        return "ok", _records(lookup(name + ".", rdtype), rdtype)
    except dns.resolver.NXDOMAIN:
        return "nxdomain", None
    except dns.resolver.NoAnswer as exc:
        # dnspython 1.16 (no ChainTooLong) gives up on a CNAME loop or long chain this way, as
        # if there were no record; 2.x raises NoNameservers for it, below
        if hasattr(dns.message, "ChainTooLong"):
            return "noanswer", None
        trouble = _cname_trouble([_cnames(exc.kwargs.get("response"))], name, rdtype, False)
        return ("error", trouble) if trouble else ("noanswer", None)
    except dns.exception.Timeout:
        return "error", _no_answer_within(resolver.lifetime, rdtype, name)
    except dns.resolver.NoNameservers as exc:
        # dnspython 2 gives up on a CNAME loop or long chain so (ChainTooLong, then no server
        # left): the records are wrong, not the server. Each error is (server, ..., why, answer).
        errors = [e for e in exc.kwargs.get("errors") or [] if isinstance(e, tuple)]
        too_long = getattr(dns.message, "ChainTooLong", ())
        sure = any(isinstance(item, too_long) for error in errors for item in error)
        trouble = _cname_trouble([_cnames(error[-1]) for error in errors], name, rdtype, sure)
        return "error", trouble or _no_server(rdtype, name)
    except dns.exception.DNSException as exc:
        return "error", f"DNS error for {rdtype} {name}: {_printable(str(exc))}"
    except OSError as exc:
        return "error", f"cannot reach the DNS server: {exc.strerror or exc}"


# --- without dnspython: a DNS client of the standard library's ---
#
# It asks one server what dnspython's stub resolver asks (a query with RD, no EDNS) and reads
# the answer as dnspython 2 does, so both give the same results: UDP answers are taken only
# from the server's address and port, with one of the IDs sent and the question asked (others
# and malformed ones are ignored until the lifetime ends); a truncated answer (TC) is asked
# again over TCP; CNAMEs are followed in the answer, 15 at most.

# Where the system names its DNS servers (POSIX), and the registry keys on Windows.
RESOLV_CONF = "/etc/resolv.conf"
_TCPIP = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
_RDTYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16}
_OPT = 41  # EDNS: its TTL field holds the rcode's upper bits
_CLASS_IN = 1
_QR, _AA, _TC, _RD = 0x8000, 0x0400, 0x0200, 0x0100
# rcodes: the answers dnspython reads on, and those it accepts without a question section
_NOERROR, _NXDOMAIN, _YXDOMAIN = 0, 3, 6
_BARE_RCODES = (1, 2, 4, 5)  # FORMERR, SERVFAIL, NOTIMP, REFUSED
_MAX_CHAIN = 16  # dnspython 2 follows 15 CNAMEs; the 16th is one too many
_MAX_POINTERS = 16  # compression pointers in one name, as dnspython 2
_ESCAPED = b'"().;\\@$'  # characters a DNS name's text escapes with a backslash
_YXDOMAIN_TEXT = "The DNS query name is too long after DNAME substitution."


class _Malformed(Exception):
    """The bytes received break the DNS message format."""


class _Foreign(Exception):
    """A DNS message that is not the answer to this query (ID, question, not a response)."""


class _Truncated(Exception):
    """The answer to this query, truncated (TC): ask again over TCP."""


class _BadServer(Exception):
    """The server's TCP answer is malformed, cut short or not the answer to this query."""


class _Late(Exception):
    """The lookup's lifetime ended before an answer came."""


@dataclass(frozen=True)
class _Server:
    """The one DNS server the built-in client asks, each lookup within lifetime seconds;
    recurse False asks it without recursion (RD clear), as a zone's own name server is asked."""

    address: str
    port: int
    lifetime: float
    recurse: bool = True


@dataclass
class _RRset:
    """The records of one name, class and type in an answer section, in order, each once."""

    labels: tuple[bytes, ...]
    rdclass: int
    rdtype: int
    ttl: int
    items: list[Any]  # MX: (preference, labels); CNAME, NS: labels; TXT: its strings; A: text


@dataclass
class _Reply:
    """A DNS answer: its rcode, its answer section's RRsets in order, and its AA flag."""

    rcode: int
    answer: list[_RRset]
    authoritative: bool = False


def _key(labels: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Return labels as compared: DNS names ignore ASCII case."""
    return tuple(label.lower() for label in labels)


def _text(labels: tuple[bytes, ...]) -> str:
    """Return a name as dnspython writes it: escaped, with the final dot."""
    escaped = (
        "".join(
            "\\" + chr(c) if c in _ESCAPED else chr(c) if 0x20 < c < 0x7F else f"\\{c:03d}"
            for c in label
        )
        for label in labels
    )
    return "".join(part + "." for part in escaped) or "."


def _read_name(wire: bytes, pos: int, end: int) -> tuple[tuple[bytes, ...], int]:
    """Return the name at pos (reading no byte from end on) and where what follows it starts.

    Compression pointers must point before the name and every earlier jump, their targets must
    end before the place they jump from, and there may be 16 at most: no loop can last. A label
    type other than length (< 64) or pointer (>= 192), or a name over 255 bytes, is malformed.
    """
    labels: list[bytes] = []
    size = 1  # the root label's byte
    lowest = start = pos
    after = -1
    jumps = 0
    while True:
        if pos >= end:
            raise _Malformed("name beyond the message")
        count = wire[pos]
        pos += 1
        if count == 0:
            break
        if count < 64:
            if pos + count > end:
                raise _Malformed("label beyond the message")
            labels.append(wire[pos : pos + count])
            pos += count
            size += count + 1
            if size > 255:
                raise _Malformed("name longer than 255 bytes")
        elif count >= 192:
            if pos >= end:
                raise _Malformed("pointer beyond the message")
            target = (count & 0x3F) << 8 | wire[pos]
            pos += 1
            if after < 0:
                after = pos
            jumps += 1
            if target >= lowest or jumps > _MAX_POINTERS:
                raise _Malformed("compression pointer not backwards")
            lowest = pos = target
            end, start = start, target  # the target may not overlap what pointed to it
        else:
            raise _Malformed("unknown label type")
    return tuple(labels), pos if after < 0 else after


def _read_rdata(wire: bytes, pos: int, end: int, rdtype: int) -> Any:
    """Return one A, NS, CNAME, MX or TXT record's data, which must fill wire[pos:end]
    exactly."""
    item: Any
    if rdtype in (_RDTYPES["CNAME"], _RDTYPES["NS"]):
        item, pos = _read_name(wire, pos, end)
    elif rdtype == _RDTYPES["A"]:
        if end - pos != 4:
            raise _Malformed("A record not four bytes")
        item = socket.inet_ntoa(wire[pos:end])
        pos = end
    elif rdtype == _RDTYPES["MX"]:
        if pos + 2 > end:
            raise _Malformed("MX record too short")
        preference = int.from_bytes(wire[pos : pos + 2], "big")
        exchange, pos = _read_name(wire, pos + 2, end)
        item = (preference, exchange)
    else:
        strings = []
        while pos < end:
            count = wire[pos]
            if pos + 1 + count > end:
                raise _Malformed("TXT string beyond its record")
            strings.append(wire[pos + 1 : pos + 1 + count])
            pos += 1 + count
        if not strings:
            raise _Malformed("TXT record without a string")
        item = tuple(strings)
    if pos != end:
        raise _Malformed("record data longer than its content")
    return item


def _read_sections(wire: bytes, pos: int, counts: Sequence[int], rcode: int) -> _Reply:
    """Read the answer, authority and additional sections from pos to the message's end."""
    answer: dict[tuple[tuple[bytes, ...], int, int], _RRset] = {}
    seen: set[tuple[tuple[bytes, ...], int, int, Any]] = set()
    for section, count in enumerate(counts):
        for _ in range(count):
            labels, pos = _read_name(wire, pos, len(wire))
            if pos + 10 > len(wire):
                raise _Malformed("record header beyond the message")
            rdtype, rdclass, ttl, size = struct.unpack_from("!HHIH", wire, pos)
            pos += 10
            end = pos + size
            if end > len(wire):
                raise _Malformed("record data beyond the message")
            if section == 2 and rdtype == _OPT:
                rcode |= (ttl >> 20) & 0xFF0
            if section == 0 and rdtype in _RDTYPES.values():
                item = _read_rdata(wire, pos, end, rdtype)
                # dnspython merges a name's records of one type and class into one RRset:
                # the lowest TTL, each record once (names compared without case)
                rrkey = (_key(labels), rdclass, rdtype)
                rrset = answer.setdefault(rrkey, _RRset(labels, rdclass, rdtype, ttl, []))
                rrset.ttl = min(rrset.ttl, ttl)
                same = (
                    _key(item) if rdtype in (_RDTYPES["CNAME"], _RDTYPES["NS"])
                    else (item[0], _key(item[1])) if rdtype == _RDTYPES["MX"]
                    else item
                )  # fmt: skip
                if rrkey + (same,) not in seen:
                    seen.add(rrkey + (same,))
                    rrset.items.append(item)
            pos = end
    if pos != len(wire):
        raise _Malformed("bytes after the last record")
    return _Reply(rcode, list(answer.values()))


def _parse_reply(
    wire: bytes, ids: Collection[int], question: tuple[bytes, ...], rdtype: int, tcp: bool
) -> _Reply:
    """Return the answer to a query for question (lower case) and rdtype with one of ids.

    Raise _Foreign when the message answers something else, _Truncated when it is the answer
    with TC set over UDP (its records are not read), _Malformed when it is not DNS.
    """
    if len(wire) < 12:
        raise _Malformed("shorter than a DNS header")
    qid, flags, *counts = struct.unpack_from("!6H", wire)
    truncated = bool(flags & _TC) and not tcp
    questions = []
    pos = 12
    try:
        for _ in range(counts[0]):
            labels, pos = _read_name(wire, pos, len(wire))
            if pos + 4 > len(wire):
                raise _Malformed("question beyond the message")
            questions.append((_key(labels),) + struct.unpack_from("!HH", wire, pos))
            pos += 4
    except _Malformed:
        # as dnspython: a truncated answer may end anywhere, even in its question
        if not truncated:
            raise
    reply = None if truncated else _read_sections(wire, pos, counts[1:], flags & 0xF)
    if reply is not None:
        reply.authoritative = bool(flags & _AA)
    ours = (
        flags & _QR
        and qid in ids
        and flags & 0x7800 == 0  # opcode QUERY, as asked
        and (
            questions == [(question, rdtype, _CLASS_IN)]
            or (not questions and flags & 0xF in _BARE_RCODES)
        )
    )
    if not ours:
        raise _Foreign("not the answer to this query")
    if reply is None:
        raise _Truncated("truncated")
    return reply


def _query_wire(qid: int, question: tuple[bytes, ...], rdtype: int, recurse: bool) -> bytes:
    """Return a query as dnspython's stub resolver sends it: recursion desired (unless recurse
    is False), no EDNS."""
    name = b"".join(bytes([len(label)]) + label for label in question) + b"\x00"
    flags = _RD if recurse else 0
    return struct.pack("!6H", qid, flags, 1, 0, 0, 0) + name + struct.pack("!HH", rdtype, 1)


def _remaining(deadline: float) -> float:
    """Return the seconds left before deadline, or raise _Late."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Late("no answer before the deadline")
    return left


def _ask_udp(
    sock: socket.socket,
    sockaddr: Any,
    question: tuple[bytes, ...],
    rdtype: int,
    deadline: float,
    recurse: bool,
) -> _Reply:
    """Ask over UDP until the answer comes (raise _Truncated when it is truncated) or _Late.

    Without an answer the query is sent again after 1 s, 2 s, 4 s..., each time with a new ID;
    an answer to any of them counts.
    """
    ids: list[int] = []
    resend = time.monotonic()
    wait = 1.0
    while True:
        left = _remaining(deadline)
        if time.monotonic() >= resend:
            ids.append(secrets.randbelow(65536))
            sock.sendto(_query_wire(ids[-1], question, rdtype, recurse), sockaddr)
            resend = time.monotonic() + wait
            wait *= 2
        sock.settimeout(max(0.001, min(left, resend - time.monotonic())))
        try:
            # one datagram: never more than 65535 bytes
            wire, peer = sock.recvfrom(65535)
        except _TIMEOUTS:
            continue
        if peer[:2] != sockaddr[:2]:
            continue  # not from the server asked
        try:
            return _parse_reply(wire, ids, question, rdtype, tcp=False)
        except (_Foreign, _Malformed):
            continue  # as dnspython: a stray or broken datagram is no answer


def _read_exactly(sock: socket.socket, size: int, deadline: float) -> bytes:
    """Read exactly size bytes (never more) before deadline; raise _BadServer if it closes."""
    data = b""
    while len(data) < size:
        sock.settimeout(_remaining(deadline))
        try:
            chunk = sock.recv(size - len(data))
        except _TIMEOUTS:
            raise _Late("no answer before the deadline") from None
        if not chunk:
            raise _BadServer("the server closed the connection")
        data += chunk
    return data


def _ask_tcp(
    family: int,
    sockaddr: Any,
    question: tuple[bytes, ...],
    rdtype: int,
    deadline: float,
    recurse: bool,
) -> _Reply:
    """Ask over TCP (one query, its answer length-prefixed) before deadline."""
    qid = secrets.randbelow(65536)
    query = _query_wire(qid, question, rdtype, recurse)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
            sock.settimeout(_remaining(deadline))
            sock.sendall(len(query).to_bytes(2, "big") + query)
        except _TIMEOUTS:
            raise _Late("no answer before the deadline") from None
        size = int.from_bytes(_read_exactly(sock, 2, deadline), "big")
        wire = _read_exactly(sock, size, deadline)
    try:
        return _parse_reply(wire, (qid,), question, rdtype, tcp=True)
    except (_Foreign, _Malformed) as exc:
        raise _BadServer(str(exc)) from None


def _ask(server: _Server, name: str, rdtype: int) -> _Reply:
    """Ask server for name's records of rdtype over UDP, then TCP if the answer is truncated."""
    deadline = time.monotonic() + server.lifetime
    question = tuple(name.lower().encode("ascii").split(b"."))
    family, _, _, _, sockaddr = socket.getaddrinfo(
        server.address, server.port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST
    )[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            return _ask_udp(sock, sockaddr, question, rdtype, deadline, server.recurse)
        except _Truncated:
            pass
    return _ask_tcp(family, sockaddr, question, rdtype, deadline, server.recurse)


def _follow(reply: _Reply, name: str, rdtype: int) -> tuple[_RRset | None, int]:
    """Follow the CNAMEs in reply's answer from name as dnspython 2 does; return the RRset of
    rdtype found (or None) and how many CNAMEs led to it (_MAX_CHAIN: too many)."""
    rrsets = {(_key(r.labels), r.rdclass, r.rdtype): r for r in reply.answer}
    current = _key(tuple(name.encode("ascii").split(b".")))
    count = 0
    while count < _MAX_CHAIN:
        found = rrsets.get((current, _CLASS_IN, rdtype))
        if found is not None:
            return found, count
        alias = rrsets.get((current, _CLASS_IN, _RDTYPES["CNAME"]))
        if rdtype == _RDTYPES["CNAME"] or alias is None:
            break
        current = _key(alias.items[0])
        count += 1
    return None, count


def _lookup_builtin(server: _Server, name: str, rdtype: str) -> tuple[str, Any]:
    """_lookup with the built-in client, its outcomes and words those of _lookup_dnspython."""
    try:
        reply = _ask(server, name, _RDTYPES[rdtype])
    except _Late:
        return "error", _no_answer_within(server.lifetime, rdtype, name)
    except _BadServer:
        return "error", _no_server(rdtype, name)
    except OSError as exc:
        return "error", f"cannot reach the DNS server: {exc.strerror or exc}"
    found, count = _follow(reply, name, _RDTYPES[rdtype])
    cnames = {
        _name(_text(r.labels)): _name(_text(r.items[0]))
        for r in reply.answer
        if r.rdtype == _RDTYPES["CNAME"]
    }
    if reply.rcode in (_NOERROR, _NXDOMAIN) and count >= _MAX_CHAIN:
        return "error", _cname_trouble([cnames], name, rdtype, True)
    if reply.rcode == _NOERROR and found is not None:
        return "ok", _Records(
            found.ttl,
            mx=tuple((pref, _name(_text(host))) for pref, host in found.items)
            if rdtype == "MX"
            else (),
            txt=tuple(b"".join(s) for s in found.items) if rdtype == "TXT" else (),
            cname=tuple(_name(_text(t)) for t in found.items) if rdtype == "CNAME" else (),
            ns=tuple(_name(_text(t)) for t in found.items) if rdtype == "NS" else (),
            a=tuple(found.items) if rdtype == "A" else (),
            authoritative=reply.authoritative,
        )
    if reply.rcode == _NOERROR:
        return "noanswer", None
    if reply.rcode == _NXDOMAIN and found is None:
        return "nxdomain", None
    if reply.rcode == _YXDOMAIN:
        return "error", f"DNS error for {rdtype} {name}: {_YXDOMAIN_TEXT}"
    # another rcode, or NXDOMAIN with the records asked for: dnspython drops the server
    return "error", _cname_trouble([cnames], name, rdtype, False) or _no_server(rdtype, name)


def _resolv_conf_nameserver(path: str) -> str | None:
    """Return the address of the first usable `nameserver` line of a resolv.conf, or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 16)
    except OSError:
        return None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                return _nameserver(words[1])
            except ValueError:
                continue
    return None


def _registry_nameserver() -> str | None:
    """Return the first usable DNS server in the Windows registry's Tcpip parameters: the
    global NameServer and DhcpNameServer values, then each interface's, or None."""
    if sys.platform != "win32":
        return None
    import winreg

    def servers(key: Any) -> list[str]:
        found = []
        for value in ("NameServer", "DhcpNameServer"):
            try:
                data = winreg.QueryValueEx(key, value)[0]
            except OSError:
                continue
            if isinstance(data, list):  # REG_MULTI_SZ
                data = " ".join(str(item) for item in data)
            found += re.split(r"[\s,;]+", str(data).strip())
        return found

    candidates: list[str] = []
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _TCPIP) as key:
            candidates += servers(key)
    except OSError:
        pass
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _TCPIP + r"\Interfaces") as interfaces:
            for index in range(winreg.QueryInfoKey(interfaces)[0]):
                try:
                    with winreg.OpenKey(interfaces, winreg.EnumKey(interfaces, index)) as key:
                        candidates += servers(key)
                except OSError:
                    continue
    except OSError:
        pass
    for candidate in candidates:
        try:
            return _nameserver(candidate)
        except ValueError:
            continue
    return None


def _system_nameserver() -> tuple[str | None, str]:
    """Return the first DNS server the system names (or None), and where it was looked for."""
    if sys.platform == "win32":
        return _registry_nameserver(), "the registry (Tcpip Parameters)"
    return _resolv_conf_nameserver(RESOLV_CONF), RESOLV_CONF


# A name server may be listed under several names and addresses: ask a few, not all.
_NAME_SERVERS_ASKED = 4
_ADDRESSES_ASKED = 2


_NOT_ASKED = "not asked: the check's time ran out"
# A name server's first try gets at least this long (or what is left), so that one silent
# server cannot use up the time of the others, nor a fair share starve a slow one.
_MIN_TRY = 1.0


@dataclass(frozen=True)
class _HostTtl:
    """The MX TTL as one of the domain's own name servers holds it."""

    ttl: int
    server: str  # its name, from the NS records
    address: str

    @property
    def internal(self) -> bool:
        """The server is inside a private network: a copy of the zone kept there (an SBS's
        internal zone), which need not be what the DNS host serves to the internet."""
        ip = ipaddress.ip_address(self.address)
        return ip.is_private and not ip.is_loopback


def _ttl_at_name_servers(
    ask: Callable[[str, str], tuple[str, Any]],
    ask_at: Callable[[str, str, str, float], tuple[str, Any]],
    left: Callable[[], float],
    domain: str,
) -> _HostTtl | str:
    """Return the TTL of domain's MX as one of the name servers of its zone holds it; or why
    none said.

    A resolver's cache counts a TTL down, so what it answers can be far below what the DNS
    host set. ask(name, rdtype) looks up through the resolver (the zone's NS records, from
    the domain up to the first name that has them, and the name servers' addresses);
    ask_at(address, name, rdtype, seconds) asks one server without recursion, and only an
    answer with AA set (the zone's own data) counts. left() is the time the check has left:
    each server is given its share of it, at least _MIN_TRY, so a silent one leaves time for
    the next.
    """
    zone = domain
    while True:
        kind, answer = ask(zone, "NS")
        if kind == "ok":
            break
        if kind == "error":
            return str(answer)
        parent = zone.partition(".")[2]
        if "." not in parent:
            return f"no NS record for {domain} or the zone it is in"
        zone = parent
    servers = sorted(set(answer.ns))[:_NAME_SERVERS_ASKED]
    why = []
    for index, server in enumerate(servers):
        if left() <= 0:
            why.append(f"{server}: {_NOT_ASKED}")
            continue
        kind, found = ask(server, "A")
        if kind != "ok":
            said = {"nxdomain": "no such name", "noanswer": "no IPv4 address"}.get(kind, found)
            why.append(f"{server}: {said}")
            continue
        addresses = sorted(set(found.a))[:_ADDRESSES_ASKED]
        for number, address in enumerate(addresses):
            tries = len(addresses) - number + len(servers) - index - 1
            share = min(left(), max(_MIN_TRY, left() / tries))
            if share <= 0:
                why.append(f"{server} ({address}): {_NOT_ASKED}")
                continue
            kind, mx = ask_at(address, domain, "MX", share)
            if kind == "ok" and mx.authoritative:
                return _HostTtl(mx.ttl, server, address)
            said = mx if kind == "error" else "no authoritative MX answer"
            why.append(f"{server} ({address}): {said}")
    return "; ".join(why) or f"no name server listed for {zone}"


def _check_mx(
    resolver: Any,
    domain: str,
    mx_target: str | None,
    mode: str,
    at_name_servers: Callable[[], _HostTtl | str],
) -> Result:
    """Before: report MX and its TTL against the plan. After: lowest MX is Office 365's.

    Without mx_target (not yet copied from the admin center; it is never derived) the TTL
    is still checked before the switch, and after it the MX is shown to compare by eye.
    Before the switch the TTL judged is the one at_name_servers() reads at the domain's own
    name servers; when it reads none, the resolver's (a cache may have counted it down).
    """
    kind, answer = _lookup(resolver, domain, "MX")
    planned = f"0 {mx_target}" if mx_target else UNGIVEN_MX
    if kind == "nxdomain":
        return Result("mx", domain, "fail", "the domain does not exist (NXDOMAIN)")
    if kind == "error":
        return Result("mx", domain, "fail", answer)
    if kind == "noanswer":
        status = "warn" if mode == "before" else "fail"
        return Result("mx", domain, status, f"no MX record; planned: {planned}")
    records = sorted(answer.mx)
    ttl = answer.ttl
    shown = _printable(", ".join(f"{pref} {host}" for pref, host in records))
    lowest = records[0][0]
    primary = {host for pref, host in records if pref == lowest}
    if mode == "after":
        if mx_target is None:
            detail = f"MX {shown}: compare the lowest preference with {UNGIVEN_MX}"
            return Result("mx", domain, "warn", detail)
        if primary == {mx_target}:
            return Result("mx", domain, "pass", f"MX {shown}: mail goes to Office 365")
        return Result("mx", domain, "fail", f"MX {shown}: the lowest preference is not {mx_target}")
    if mx_target is not None and primary == {mx_target}:
        detail = f"MX today: {shown} (TTL {ttl} s); planned: {planned}; already switched"
        return Result("mx", domain, "pass", detail)
    # Senders keep the old MX for a TTL; lower it before the migration starts (DOMAIN §11).
    lower = f"; lower the TTL to {MX_TTL_MAX} s or less before the migration starts"
    # always asked at the name servers, even when the resolver says AA: inside the client's
    # network that is often a copy of the zone (an SBS's internal zone), not the DNS host's
    at = at_name_servers()
    if isinstance(at, _HostTtl):
        server = _printable(at.server)
        if at.internal:
            detail = (
                f"MX today: {shown} (TTL {at.ttl} s at {server}, {at.address}: a server "
                "inside a private network, whose copy of the zone may not be what the "
                f"internet sees); planned: {planned}; run this check from outside the "
                "client's network, or with --nameserver and a public resolver"
            )
            return Result("mx", domain, "warn", detail)
        detail = f"MX today: {shown} (TTL {at.ttl} s at {server}); planned: {planned}"
        if at.ttl > MX_TTL_MAX:
            return Result("mx", domain, "warn", detail + lower)
        if ttl > max(at.ttl, MX_TTL_MAX):
            # lowered at the host, but a cache holds the record from before: it keeps the
            # old TTL until that runs out (DOMAIN §11: one old TTL before the switch)
            detail += (
                f"; lowered, but the resolver asked still holds the record for {ttl} s: "
                "caches keep the old TTL until it runs out, so switch no earlier"
            )
            return Result("mx", domain, "warn", detail)
        return Result("mx", domain, "pass", detail)
    detail = (
        f"MX today: {shown} (TTL {ttl} s as the resolver gives it, which a cache counts "
        f"down; not read at the domain's name servers: {_printable(at)}); planned: {planned}"
    )
    if ttl > MX_TTL_MAX:
        return Result("mx", domain, "warn", detail + lower)
    read = "; read the TTL beside the MX record at the DNS host"
    return Result("mx", domain, "warn", detail + read)


def _has_include(record: str) -> bool:
    """Return True when an SPF record includes Office 365's SPF."""
    return any(token.lower().lstrip("+") == SPF_INCLUDE for token in record.split())


def _check_spf(resolver: Any, domain: str, mode: str) -> Result:
    """Before: report SPF (one record only). After: it includes Office 365."""
    kind, answer = _lookup(resolver, domain, "TXT")
    if kind == "nxdomain":
        return Result("spf", domain, "fail", "the domain does not exist (NXDOMAIN)")
    if kind == "error":
        return Result("spf", domain, "fail", answer)
    texts = [] if kind == "noanswer" else [t.decode("utf-8", "replace") for t in answer.txt]
    records = sorted(t for t in texts if t.split()[:1] and t.split()[0].lower() == "v=spf1")
    shown = " | ".join(_printable(r) for r in records)
    if not records:
        if mode == "after":
            return Result("spf", domain, "fail", f"no SPF record: publish {SPF_RECORD}")
        return Result(
            "spf", domain, "pass", f"no SPF record today; at the switch publish {SPF_RECORD}"
        )
    if len(records) > 1:
        # Only one SPF record per domain; with more, receivers treat SPF as broken (DOMAIN §8).
        detail = f"{len(records)} SPF records, only one is allowed: merge them ({shown})"
        return Result("spf", domain, "warn" if mode == "before" else "fail", detail)
    if mode == "after":
        if _has_include(records[0]):
            return Result("spf", domain, "pass", f"SPF includes Office 365: {shown}")
        return Result("spf", domain, "fail", f"SPF lacks {SPF_INCLUDE}: {shown}")
    advice = (
        "already includes Office 365"
        if _has_include(records[0])
        else f"add {SPF_INCLUDE} at the switch"
    )
    return Result("spf", domain, "pass", f"SPF today: {shown}; {advice}")


def _check_autodiscover(resolver: Any, domain: str, mode: str) -> Result:
    """Before: report autodiscover. After: it is a CNAME to autodiscover.outlook.com."""
    name = f"autodiscover.{domain}"
    kind, answer = _lookup(resolver, name, "CNAME")
    if kind == "error":
        return Result("autodiscover", name, "fail", answer)
    wanted = f"CNAME {AUTODISCOVER_TARGET}"
    if kind == "ok":
        target = answer.cname[0]
        if target == AUTODISCOVER_TARGET:
            return Result("autodiscover", name, "pass", f"CNAME {target}")
        detail = f"CNAME {_printable(target)}, not {AUTODISCOVER_TARGET}"
        if mode == "after":
            return Result("autodiscover", name, "fail", detail)
        return Result(
            "autodiscover",
            name,
            "pass",
            f"CNAME {_printable(target)} today; at the switch: {wanted}",
        )
    today = "no record" if kind == "nxdomain" else "a record that is not a CNAME"
    if mode == "after":
        return Result("autodiscover", name, "fail", f"{today}; expected {wanted}")
    return Result("autodiscover", name, "pass", f"{today} today; at the switch: {wanted}")


def check_domain(
    domain: str,
    mx_target: str | None,
    mode: str,
    nameserver: str | None = None,
    port: int = 53,
    timeout: float = 5.0,
    deadline: float | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Check MX, SPF and autodiscover of one domain in mode "before" or "after" the switch.

    The three checks run at once, each within timeout and never after deadline (a
    time.monotonic() value), so a silent or garbling server costs one timeout, not three;
    before the switch the MX check's further lookups (the domain's name servers, their
    addresses, the MX asked at them) share its time.
    on_result, when given, gets each result in order as soon as it is known.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be before or after, not {mode!r}")
    domain = _domain(domain)
    mx_target = None if mx_target is None else _domain(mx_target)
    if nameserver is not None:
        nameserver = _nameserver(nameserver)
    targets = (("mx", domain), ("spf", domain), ("autodiscover", f"autodiscover.{domain}"))
    limit = timeout if deadline is None else min(timeout, deadline - time.monotonic())
    if limit <= 0:
        detail = "skipped: the run's overall deadline passed first"
        return [Result(check, target, "skip", detail) for check, target in targets]
    resolvers: list[Any]
    end = time.monotonic() + limit
    if HAVE_DNSPYTHON:
        try:
            resolvers = [_resolver(nameserver, port, limit) for _ in targets]
        except dns.exception.DNSException as exc:
            detail = f"no DNS resolver ({_printable(str(exc))}): give --nameserver"
            return [Result(check, target, "fail", detail) for check, target in targets]
    else:
        where = ""
        if nameserver is None:
            nameserver, where = _system_nameserver()
        if nameserver is None:
            detail = f"no DNS resolver (no nameserver in {where}): give --nameserver"
            return [Result(check, target, "fail", detail) for check, target in targets]
        resolvers = [_Server(nameserver, port, limit) for _ in targets]

    def left() -> float:
        return end - time.monotonic()

    def ask(name: str, rdtype: str) -> tuple[str, Any]:
        """Look name up through the resolver in what is left of the lookups' time."""
        if left() <= 0:
            return "error", _NOT_ASKED
        if not HAVE_DNSPYTHON:
            return _lookup(_Server(str(nameserver), port, left()), name, rdtype)
        try:
            return _lookup(_resolver(nameserver, port, left()), name, rdtype)
        except dns.exception.DNSException as exc:
            return "error", f"no DNS resolver ({_printable(str(exc))})"

    def ask_at(address: str, name: str, rdtype: str, seconds: float) -> tuple[str, Any]:
        """Ask one name server, without recursion, for at most seconds of what is left."""
        lifetime = min(seconds, left())
        if lifetime <= 0:
            return "error", _NOT_ASKED
        return _lookup_builtin(_Server(address, port, lifetime, recurse=False), name, rdtype)

    checks: list[Callable[[], Result]] = [
        lambda: _check_mx(
            resolvers[0],
            domain,
            mx_target,
            mode,
            lambda: _ttl_at_name_servers(ask, ask_at, left, domain),
        ),
        lambda: _check_spf(resolvers[1], domain, mode),
        lambda: _check_autodiscover(resolvers[2], domain, mode),
    ]
    found: dict[int, Result] = {}

    def work(index: int) -> None:
        found[index] = checks[index]()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
    for worker in workers:
        worker.start()
    guard = end + 1.0  # each lookup ends by its lifetime; this is a guard
    results = []
    for index, worker in enumerate(workers):
        worker.join(max(0.0, guard - time.monotonic()))
        check, target = targets[index]
        late = Result(check, target, "fail", "no answer from DNS before the deadline")
        results.append(found.get(index, late))
        if on_result is not None:
            on_result(results[-1])
    return results


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
        description="Check MX, SPF and autodiscover records before or after the switch to "
        "Office 365.",
    )
    parser.add_argument("domain", type=_arg(_domain), help="mail domain, e.g. contoso.com")
    parser.add_argument("--mode", required=True, choices=MODES, help="before or after the switch")
    parser.add_argument(
        "--mx-target",
        type=_arg(_domain),
        help="planned MX host (Office 365's), copied from the admin center; without it the "
        "MX is shown but not compared",
    )
    parser.add_argument(
        "--nameserver",
        type=_arg(_nameserver),
        help="ask this DNS server (IP); without it, the system's (without dnspython: the first "
        "nameserver of /etc/resolv.conf, on Windows of the registry)",
    )
    parser.add_argument(
        "--port",
        type=_arg(_port),
        default=53,
        help="the port DNS servers are asked on, the domain's own name servers too (53)",
    )
    parser.add_argument("--timeout", type=_arg(_timeout), default=5.0, help="seconds (5)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.nameserver is None and not HAVE_DNSPYTHON:
        args.nameserver, where = _system_nameserver()
        if args.nameserver is None:
            parser.error(f"no DNS server found in {where}: give --nameserver with its IP address")

    def stream(result: Result) -> None:
        if not args.json:
            print_results([result], False)
            sys.stdout.flush()

    results = check_domain(
        args.domain,
        args.mx_target,
        args.mode,
        args.nameserver,
        args.port,
        args.timeout,
        on_result=stream,
    )
    if args.json:
        print_results(results, True)
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
