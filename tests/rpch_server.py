"""A loopback IIS RPC proxy that speaks RPC over HTTP v2 ([MS-RPCH]) for the rpcping tests.

It plays the inbound and outbound proxy and the Exchange back-end at once: TLS with a test
certificate, a Basic 401 challenge, ValidPorts matched as DOMAIN §4 says (case-insensitive host,
exact port or `first-last` range, no canonicalisation), the RTS handshake (CONN/A1 on the OUT
channel, CONN/B1 on the IN channel; CONN/A3 and CONN/C2 back on the OUT channel) and a bind_ack
for the interface the port serves. Its refusals follow our reading of [MS-RPCH] and impacket:
- a host:port missing from ValidPorts: `503 Invalid RPC Port` on the channel request;
- a back-end port nothing listens on: the outbound proxy cannot connect when CONN/A1 arrives and
  answers the OUT channel with `HTTP/1.0 503 RPC Error: 6ba` (1722, [MS-RPCH] 3.2.4.5.11);
- modes: "normal", "tls10" (a TLS 1.0-only server, as IIS 6), "silent" (reads the request and
  never answers), "ntlm-only" (its 401 offers Negotiate and NTLM only, and it checks NTLM).
Every request head is kept in `requests`, so tests can see what was sent.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import struct
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

import spnego
import spnego.exceptions

from tests.servers import TcpServer, server_context

# broken-rts: CONN/A3 announces two commands and holds one; short-bind-ack: a bind_ack of a
# header only
MODES = ("normal", "tls10", "silent", "ntlm-only", "broken-rts", "short-bind-ack")
NDR = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le + struct.pack("<HH", 2, 0)
# What the back-end serves on each port (the same table as [MS-OXCRPC], [MS-OXABREF], [MS-NSPI]).
SERVED = {
    6001: uuid.UUID("a4f1db00-ca47-1067-b31f-00dd010662da").bytes_le + struct.pack("<HH", 0, 81),
    6002: uuid.UUID("1544f5e0-613c-11d1-93df-00c04fd7bd09").bytes_le + struct.pack("<HH", 1, 0),
    6004: uuid.UUID("f5cc5a18-4264-101a-8c59-08002b2f8426").bytes_le + struct.pack("<HH", 56, 0),
}
OUT_CHANNEL_LENGTH = 1073741824
CONNECTION_TIMEOUT_MS = 120000


def valid_ports_allows(valid_ports: str, host: str, port: int) -> bool:
    """Whether a ValidPorts value lets the proxy forward to host:port (DOMAIN §4)."""
    for item in valid_ports.split(";"):
        name, sep, ports = item.strip().rpartition(":")
        if not sep or name.lower() != host.lower():
            continue
        first, _, last = ports.partition("-")
        if first.isdigit() and int(first) <= port <= int(last or first):
            return True
    return False


def _pdu(ptype: int, body: bytes, call_id: int = 0) -> bytes:
    return struct.pack("<BBBBIHHI", 5, 0, ptype, 0x03, 0x10, 16 + len(body), 0, call_id) + body


def _rts(commands: list[bytes]) -> bytes:
    return _pdu(20, struct.pack("<HH", 0, len(commands)) + b"".join(commands))


CONN_A3 = _rts([struct.pack("<II", 2, CONNECTION_TIMEOUT_MS)])
BROKEN_A3 = _pdu(20, struct.pack("<HH", 0, 2) + struct.pack("<II", 2, CONNECTION_TIMEOUT_MS))
CONN_C2 = _rts(
    [
        struct.pack("<II", 6, 1),
        struct.pack("<II", 0, 65536),
        struct.pack("<II", 2, CONNECTION_TIMEOUT_MS),
    ]
)


def bind_answer(bind_pdu: bytes, port: int, serves: int | None = None) -> bytes:
    """The back-end's bind_ack: acceptance when the first context asks for what port serves
    (or, given `serves`, what that other port serves: a service on the wrong port)."""
    (call_id,) = struct.unpack_from("<I", bind_pdu, 12)
    abstract, transfer = bind_pdu[32:52], bind_pdu[52:72]
    accepted = abstract == SERVED.get(serves or port) and transfer == NDR
    result = struct.pack("<HH", 0, 0) if accepted else struct.pack("<HH", 2, 1)
    address = f"{port}".encode() + b"\x00"
    body = struct.pack("<HHIH", 5840, 5840, 0x1234, len(address)) + address
    body += b"\x00" * ((4 - (16 + len(body)) % 4) % 4)
    body += struct.pack("<BBH", 1, 0, 0) + result + (NDR if accepted else b"\x00" * 20)
    return _pdu(12, body, call_id)


@dataclass
class _VirtualConnection:
    """The two channels of one virtual connection, joined by its cookie."""

    port: int
    in_ready: threading.Event = field(default_factory=threading.Event)
    binds: list[bytes] = field(default_factory=list)
    bind_arrived: threading.Event = field(default_factory=threading.Event)


class RpchProxy(TcpServer):
    """The loopback proxy; `valid_ports` is the REG_SZ value, `dead_ports` have no listener."""

    def __init__(
        self,
        cert: tuple[bytes, bytes],
        credentials: tuple[str, str],
        valid_ports: str,
        dead_ports: frozenset[int] = frozenset(),
        mode: str = "normal",
        chunked: bool = False,
        misplaced: dict[int, int] | None = None,
        refuse_with_401: bool = False,
        ntlm_challenge: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        super().__init__(self._handle)
        self.context = server_context(*cert)
        if mode == "tls10":  # IIS 6 speaks TLS 1.0 at most (DOMAIN §0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.minimum_version = ssl.TLSVersion.TLSv1
                self.context.maximum_version = ssl.TLSVersion.TLSv1
            self.context.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.mode = mode
        self.authorization = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        self.valid_ports = valid_ports
        self.dead_ports = dead_ports
        self.chunked = chunked  # the OUT channel's body in chunks, as some reverse proxies send it
        self.misplaced = misplaced or {}  # port: the port whose service answers there instead
        # A ValidPorts refusal answered as 401, as IIS may log it (a third-party reading).
        self.refuse_with_401 = refuse_with_401
        # "ntlm-only": answer an NTLM negotiate with this token instead of a real challenge.
        self.ntlm_challenge = ntlm_challenge
        self.requests: list[bytes] = []
        self._connections: dict[bytes, _VirtualConnection] = {}
        self._lock = threading.Lock()

    def _connection(self, cookie: bytes, port: int) -> _VirtualConnection:
        with self._lock:
            return self._connections.setdefault(cookie, _VirtualConnection(port))

    def _handle(self, raw: socket.socket) -> None:
        with self.context.wrap_socket(raw, server_side=True) as conn:
            buffer = b""
            state: dict[str, Any] = {}  # what this connection has authenticated so far
            while True:  # several requests may come on one kept-alive connection
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk or len(buffer) > 65536:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                self.requests.append(head)
                if self.mode == "silent":
                    self.wait_closed(conn)
                    return
                if not self._request(conn, head, buffer, state):
                    return
                buffer = b""

    def _answer(self, conn: ssl.SSLSocket, status: str, headers: tuple[str, ...] = ()) -> None:
        body = f"<html><body>{status}</body></html>".encode()
        lines = [f"HTTP/1.1 {status}", "Server: Microsoft-IIS/6.0", *headers]
        lines += ["Content-Type: text/html", f"Content-Length: {len(body)}"]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def _authenticate(self, authorization: str, state: dict[str, Any]) -> tuple[str, ...] | None:
        """None when the request may pass, else the WWW-Authenticate headers of a 401.

        "ntlm-only" runs NTLM's challenge on the kept-alive connection (pyspnego's acceptor,
        which reads the accounts from the file NTLM_USER_FILE names); the others take Basic.
        """
        if self.mode != "ntlm-only":
            if authorization == self.authorization:
                return None
            return ('WWW-Authenticate: Basic realm="mail"',)
        offered = ("WWW-Authenticate: Negotiate", "WWW-Authenticate: NTLM")
        if not authorization.startswith("NTLM "):
            return offered
        if self.ntlm_challenge is not None:
            return (f"WWW-Authenticate: NTLM {self.ntlm_challenge}",)
        if "ntlm" not in state:
            state["ntlm"] = spnego.server(protocol="ntlm")
        try:
            answer = state["ntlm"].step(base64.b64decode(authorization[5:]))
        except spnego.exceptions.SpnegoError:
            del state["ntlm"]
            return offered
        if state["ntlm"].complete:
            del state["ntlm"]
            return None
        return (f"WWW-Authenticate: NTLM {base64.b64encode(answer or b'').decode()}",)

    def _request(
        self, conn: ssl.SSLSocket, head: bytes, rest: bytes, state: dict[str, Any]
    ) -> bool:
        """Serve one request; True when the connection may carry another."""
        lines = head.decode("latin-1").split("\r\n")
        method, _, path = lines[0].partition(" ")
        path = path.rsplit(" ", 1)[0]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        challenge = self._authenticate(headers.get("authorization", ""), state)
        if challenge is not None:
            self._answer(conn, "401 Unauthorized", challenge)
            if headers.get("content-length", "0") == "0":
                return True
            self.wait_closed(conn)  # let the client read the 401 before its body is refused
            return False
        match = re.fullmatch(r"/rpc/rpcproxy\.dll\?([^:]+):([0-9]+)", path)
        if method not in ("RPC_IN_DATA", "RPC_OUT_DATA") or not match:
            self._answer(conn, "404 Not Found")
            return False
        host, port = match.group(1), int(match.group(2))
        if not valid_ports_allows(self.valid_ports, host, port):
            if self.refuse_with_401:
                self._answer(conn, "401 Unauthorized", ('WWW-Authenticate: Basic realm="mail"',))
            else:
                self._answer(conn, "503 Invalid RPC Port")
            self.wait_closed(conn)
            return False
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        reader = _Reader(conn, rest)
        if method == "RPC_OUT_DATA":
            self._out_channel(conn, reader, port)
        else:
            self._in_channel(reader, port)
        return False

    def _out_channel(self, conn: ssl.SSLSocket, reader: _Reader, port: int) -> None:
        a1 = reader.pdu()
        if a1 is None:
            return
        if port in self.dead_ports:  # the outbound proxy's connect to the back-end fails
            conn.sendall(b"HTTP/1.0 503 RPC Error: 6ba\r\nContent-Length: 0\r\n\r\n")
            self.wait_closed(conn)
            return
        vc = self._connection(a1[32:48], port)
        length = (
            "Transfer-Encoding: chunked"
            if self.chunked
            else f"Content-Length: {OUT_CHANNEL_LENGTH}"
        )
        conn.sendall(
            b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\n"
            + f"{length}\r\n\r\n".encode()
            + self._frame(BROKEN_A3 if self.mode == "broken-rts" else CONN_A3)
        )
        while not vc.in_ready.wait(0.05):
            if self.stopping.is_set():
                return
        conn.sendall(self._frame(CONN_C2))
        answered = 0
        while not self.stopping.is_set():
            vc.bind_arrived.wait(0.05)
            while answered < len(vc.binds):
                answer = bind_answer(vc.binds[answered], port, self.misplaced.get(port))
                if self.mode == "short-bind-ack":  # its header, the length set to match
                    answer = answer[:8] + struct.pack("<H", 16) + answer[10:16]
                conn.sendall(self._frame(answer))
                answered += 1
            vc.bind_arrived.clear()
            if answered and answered == len(vc.binds):
                self.wait_closed(conn)
                return

    def _frame(self, pdu: bytes) -> bytes:
        """A PDU as the OUT channel's body carries it: as is, or split over two chunks."""
        if not self.chunked:
            return pdu
        half = len(pdu) // 2
        return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (pdu[:half], pdu[half:]))

    def _in_channel(self, reader: _Reader, port: int) -> None:
        b1 = reader.pdu()
        if b1 is None:
            return
        vc = self._connection(b1[32:48], port)
        vc.in_ready.set()
        while not self.stopping.is_set():
            pdu = reader.pdu()
            if pdu is None:
                return
            if pdu[2] == 11:  # bind
                vc.binds.append(pdu)
                vc.bind_arrived.set()


class _Reader:
    """Reads PDUs from a channel's request body."""

    def __init__(self, conn: ssl.SSLSocket, data: bytes) -> None:
        self.conn = conn
        self.data = data

    def _need(self, count: int) -> bool:
        while len(self.data) < count:
            try:
                chunk = self.conn.recv(16384)
            except TimeoutError:
                return False
            if not chunk:
                return False
            self.data += chunk
        return True

    def pdu(self) -> bytes | None:
        """The next PDU, or None when the client closed or went quiet."""
        if not self._need(16):
            return None
        (length,) = struct.unpack_from("<H", self.data, 8)
        if length < 16 or not self._need(length):
            return None
        pdu, self.data = self.data[:length], self.data[length:]
        return pdu
