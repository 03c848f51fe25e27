"""Real loopback servers for the check-script tests: TCP banners, TLS RPC proxies and DNS.

Every server binds an ephemeral port on 127.0.0.1, runs in daemon threads and stops when its
`with` block ends. The checks reach them through `connect_to`, keeping the public names, or,
when they save evidence, by looking the public name up as the server (tests/resolver.py).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import select
import socket
import ssl
import struct
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import quote, quote_plus

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
RPC_BANNER = b"ncacn_http/1.0"
_Server = TypeVar("_Server", bound="TcpServer")


class TcpServer:
    """Accept connections on 127.0.0.1 and run handler(conn) for each in its own thread."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def __enter__(self: _Server) -> _Server:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(5)
        self.listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                self.handler(conn)
            except (OSError, ValueError):
                pass  # the client went away or aborted the TLS handshake

    def wait_closed(self, conn: socket.socket) -> None:
        """Hold a connection open until the client closes it or the server stops."""
        conn.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue


def banner_server(banner: bytes | None, close: bool = False) -> TcpServer:
    """A TCP server that sends banner on connect (None: nothing), then waits or closes."""
    server: TcpServer

    def handle(conn: socket.socket) -> None:
        if banner:
            conn.sendall(banner)
        if not close:
            server.wait_closed(conn)

    server = TcpServer(handle)
    return server


def refused_port() -> int:
    """Return a loopback port nothing listens on (bound, then closed), so connect() is refused."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """Yield a loopback port where connect() times out, as behind a dropping firewall.

    A listen(0) socket that never accepts queues one completed connection; once that queue is
    full, Linux drops further SYNs without a reset, so new connections time out. No packet
    leaves 127.0.0.1.
    """
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect((LOOPBACK, port))
            _, writable, _ = select.select([], [filler], [], 0.3)
            if not writable:
                break  # this SYN was dropped: the queue is full
        else:
            raise RuntimeError("could not fill the accept queue of the listener")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --- certificates ---


class Pki:
    """A test CA (trustme) and the leaf certificates the TLS tests need, as PEM pairs."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="Northwind Test CA")

    def write_cafile(self, directory: str) -> str:
        """Write the CA certificate into directory and return its path."""
        path = os.path.join(directory, "test-ca.pem")
        self.ca.cert_pem.write_to_path(path)
        return path

    def leaf(self, name: str, days_left: float = 365, days_old: float = 1) -> tuple[bytes, bytes]:
        """Return (chain PEM, key PEM) for name, valid from days_old ago for days_left more."""
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = self.ca.issue_cert(
            name,
            not_before=now - datetime.timedelta(days=days_old),
            not_after=now + datetime.timedelta(days=days_left),
        )
        chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
        return chain, cert.private_key_pem.bytes()


def self_signed(name: str) -> tuple[bytes, bytes]:
    """Return (cert PEM, key PEM) of a self-signed certificate for name."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """Return a server-side TLS context for a (chain PEM, key PEM) pair."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        cert_path = os.path.join(directory, "cert.pem")
        key_path = os.path.join(directory, "key.pem")
        with open(cert_path, "wb") as handle:
            handle.write(cert_pem)
        with open(key_path, "wb") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def limit_versions(
    context: ssl.SSLContext, lowest: ssl.TLSVersion, highest: ssl.TLSVersion
) -> None:
    """Make a server context speak only lowest..highest, old versions included (as IIS 6).

    OpenSSL 3 refuses TLS 1.0 and 1.1 above security level 0, so that level is set first.
    """
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = lowest
        context.maximum_version = highest


# --- an IIS RPC proxy stand-in over TLS ---

# What a misconfigured server shows in an error (a connection string): never saved or published
LEAKED = "Server error: service account password Svc#Leak2024 rejected"
PROXY_BEHAVIOURS = (
    "basic",  # 401 offering Basic
    "ntlm",  # 401 offering Negotiate and NTLM
    "noauth",  # 401 without WWW-Authenticate
    "open",  # 200 without credentials
    "notfound",  # 404
    "leaky",  # 500 whose reason phrase gives a password away (LEAKED)
    "forbidden",  # 403
    "endless",  # 200, then a body that never ends
    "drip",  # a 401 head sent one byte at a time, forever
    "flood",  # a 401 status line, then headers that never end
    "garbage",  # bytes that are not HTTP
    "auth",  # 200 with the right Basic credentials, else 401 Basic
    "manyschemes",  # 401 offering 5,000 made-up authentication schemes in one header
    "quoteflood",  # 401 whose WWW-Authenticate is 60 KiB of escaped quotes, never closed
    "reflect",  # 401 Basic; with credentials, a 500 whose reason echoes them, decoded and not
    # 401 Basic; with credentials, a 500 whose reason echoes the password upper-cased and
    # percent-encoded (as in a URL, and as in a form: spaces as +)
    "reflectforms",
    # 401 Basic; with credentials, RPC_IN_DATA gets a line that is not HTTP, the password from
    # its byte ECHO_AT on, across the 60 shown (RPC_OUT_DATA gets nothing)
    "echo",
    "echohalf",  # as echo, the line sent in two parts, cut 6 bytes into the password
    # 401 Basic; with credentials, RPC_OUT_DATA gets 200 and a body that is no RPC PDU, the
    # password from its byte 8 on, across the 16 of a PDU header (RPC_IN_DATA gets nothing)
    "echobody",
)
# Where the echo behaviours put the password: its start within the 60 bytes an error shows.
ECHO_AT = 54


class HttpsProxy(TcpServer):
    """A TLS server answering RPC_IN_DATA the way `behaviour` says; it records request heads."""

    def __init__(
        self,
        cert: tuple[bytes, bytes],
        behaviour: str = "basic",
        credentials: tuple[str, str] = ("", ""),
        drip_interval: float = 1.0,
        versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
    ) -> None:
        if behaviour not in PROXY_BEHAVIOURS:
            raise ValueError(behaviour)
        super().__init__(self._handle)
        self.context = server_context(*cert)
        if versions is not None:
            limit_versions(self.context, *versions)
        self.behaviour = behaviour
        self.expected_authorization = "Basic " + base64.b64encode(
            ":".join(credentials).encode()
        ).decode("ascii")
        self.drip_interval = drip_interval
        self.requests: list[bytes] = []

    def _handle(self, raw: socket.socket) -> None:
        with self.context.wrap_socket(raw, server_side=True) as conn:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return  # a TLS-only check: handshake, then close
                head += chunk
            self.requests.append(head)
            getattr(self, "_" + self.behaviour)(conn, head)

    def _answer(self, conn: socket.socket, status: str, headers: tuple[str, ...] = ()) -> None:
        body = f"<html><body>{status}</body></html>".encode()
        lines = [f"HTTP/1.1 {status}", "Server: Microsoft-IIS/6.0", *headers]
        lines += ["Content-Type: text/html", f"Content-Length: {len(body)}", "Connection: close"]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def _basic(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "401 Unauthorized", ('WWW-Authenticate: Basic realm="mail"',))

    def _ntlm(self, conn: socket.socket, head: bytes) -> None:
        offered = ("WWW-Authenticate: Negotiate", "WWW-Authenticate: NTLM")
        self._answer(conn, "401 Unauthorized", offered)

    def _noauth(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "401 Unauthorized")

    def _open(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "200 OK")

    def _leaky(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, f"500 {LEAKED}")

    def _notfound(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "404 Not Found")

    def _forbidden(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "403 Forbidden")

    def _endless(self, conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rpc\r\n\r\n")
        while not self.stopping.is_set():
            conn.sendall(b"x" * 16384)

    def _drip(self, conn: socket.socket, head: bytes) -> None:
        stream = b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="' + b"a" * 10**6
        for byte in stream:
            if self.stopping.wait(self.drip_interval):
                return
            conn.sendall(bytes([byte]))

    def _flood(self, conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\n")
        while not self.stopping.is_set():
            conn.sendall(b"X-Padding: " + b"p" * 1000 + b"\r\n")

    def _garbage(self, conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"\x00\xff\x1b[2J SSH-2.0-not-http\r\n" + bytes(range(256)))

    def _manyschemes(self, conn: socket.socket, head: bytes) -> None:
        offered = ", ".join(f"Scheme{i}" for i in range(5000))
        self._answer(conn, "401 Unauthorized", (f"WWW-Authenticate: {offered}",))

    def _quoteflood(self, conn: socket.socket, head: bytes) -> None:
        self._answer(conn, "401 Unauthorized", ("WWW-Authenticate: " + '\\"' * 30000,))

    def _reflect(self, conn: socket.socket, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        sent = [line.split()[-1] for line in lines if line.lower().startswith("authorization:")]
        if not sent:
            self._basic(conn, head)
            return
        # the decoded pair first, so that a reason cut after 60 characters still holds it whole
        echoed = f"{base64.b64decode(sent[0]).decode()} {sent[0]}"
        self._answer(conn, f"500 {echoed}")
        self._drain(conn)  # an RPC channel goes on writing

    def _reflectforms(self, conn: socket.socket, head: bytes) -> None:
        password = self._sent_password(head)
        if password is None:
            self._basic(conn, head)
            return
        forms = (password.upper(), quote(password, safe=""), quote_plus(password, safe=""))
        self._answer(conn, "500 " + " ".join(forms))
        self._drain(conn)

    def _sent_password(self, head: bytes) -> str | None:
        """The password of the request's Basic Authorization, or None without one."""
        lines = head.decode("latin-1").split("\r\n")
        sent = [line.split()[-1] for line in lines if line.lower().startswith("authorization:")]
        return base64.b64decode(sent[0]).decode().partition(":")[2] if sent else None

    def _drain(self, conn: socket.socket) -> None:
        """Read what the client sends until it closes: closed now, the connection would be
        reset, and a reset drops the answer unread."""
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            while conn.recv(65536) and not self.stopping.is_set():
                pass

    def _echo(self, conn: socket.socket, head: bytes, pause: float | None = None) -> None:
        password = self._sent_password(head)
        if password is None:
            self._basic(conn, head)
            return
        if not head.startswith(b"RPC_IN_DATA "):
            self.wait_closed(conn)
            return
        line = f"{'ERROR 500 logon failed, password given: ':.<{ECHO_AT}}{password}\r\n".encode()
        if pause is None:
            conn.sendall(line)
        else:  # two TLS records: the client reads the first alone
            conn.sendall(line[: ECHO_AT + 6])
            self.stopping.wait(pause)
            conn.sendall(line[ECHO_AT + 6 :])
        self._drain(conn)

    def _echohalf(self, conn: socket.socket, head: bytes) -> None:
        self._echo(conn, head, pause=0.5)

    def _echobody(self, conn: socket.socket, head: bytes) -> None:
        password = self._sent_password(head)
        if password is None:
            self._basic(conn, head)
            return
        if not head.startswith(b"RPC_OUT_DATA "):
            self.wait_closed(conn)
            return
        body = b"DENIED: " + password.encode() + b"\r\n"
        conn.sendall(
            b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self._drain(conn)

    def _auth(self, conn: socket.socket, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        sent = [
            line.split(":", 1)[1].strip()
            for line in lines
            if line.lower().startswith("authorization:")
        ]
        if sent == [self.expected_authorization]:
            self._answer(conn, "200 OK")
        else:
            self._basic(conn, head)


class HandshakeDropper(TcpServer):
    """A TLS server that drops the connection during the handshake, as some devices do.

    drop "hello": closes as soon as the ClientHello is in, having sent nothing (the way an old
    server refuses a version it cannot read); "answer": sends its answer to the ClientHello
    (ServerHello and the rest of its flight), waits for the client's next message, then closes.
    A ClientHello it cannot accept gets its alert, as from any server. reset: close with a TCP
    reset instead of a FIN.
    """

    def __init__(
        self,
        cert: tuple[bytes, bytes],
        versions: tuple[ssl.TLSVersion, ssl.TLSVersion],
        drop: str = "answer",
        reset: bool = False,
    ) -> None:
        if drop not in ("hello", "answer"):
            raise ValueError(drop)
        super().__init__(self._handle)
        self.context = server_context(*cert)
        limit_versions(self.context, *versions)
        self.drop = drop
        self.reset = reset
        self.dropped = 0  # handshakes dropped midway (not the alerts)

    def _record(self, conn: socket.socket) -> bytes:
        """Read one TLS record (the ClientHello), or what came before the client closed."""
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            chunk = conn.recv(16384)
            if not chunk:
                break
            data += chunk
        return data

    def _handle(self, conn: socket.socket) -> None:
        hello = self._record(conn)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
        incoming.write(hello)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass  # the ClientHello is accepted: the answer is in outgoing
        except ssl.SSLError:
            conn.sendall(outgoing.read())  # a refusal, with its alert
            return
        if self.drop == "answer":
            conn.sendall(outgoing.read())
            conn.recv(16384)  # the client's next handshake message
        self.dropped += 1
        if self.reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# --- DNS ---


class DnsServer:
    """A DNS server on 127.0.0.1, UDP and TCP on one port, answering from records
    {(name, type): (ttl, [rdata])}.

    Names not in records get NXDOMAIN; known names asked for another type get an empty
    answer. A name with a CNAME asked for another type gets the chain, CNAME by CNAME, and
    what its last name holds, as an authoritative server answers; a chain that comes back to
    a name already in it stops there, so a loop is answered as the loop. mode "silent" never
    answers; "servfail" answers SERVFAIL to everything; "garbage" answers every query with
    bytes that are not a DNS message (its ID kept); "truncate" answers over UDP with the TC
    bit and no records, so the whole answer is only over TCP; "othersource" sends each UDP
    answer from another port than the one asked.

    udp_reply(query, answer), when given, returns the datagrams to send instead of the answer
    (none, several, made up); tcp_reply(query, answer) the bytes to send on the TCP stream
    instead of the length-prefixed answer. tcp=False: nothing listens on the TCP port.

    A query without recursion desired (RD clear) is answered as the zone's own name server
    answers: with the AA flag (unless authoritative=False) and the records' own TTLs. A query
    with RD is answered as a resolver answers from its cache: no AA, and each TTL
    cached_ttl when that is given (what the cache has left of the TTL it got).
    """

    def __init__(
        self,
        records: dict[tuple[str, str], tuple[int, list[str]]],
        mode: str = "answer",
        udp_reply: Callable[[bytes, bytes], list[bytes]] | None = None,
        tcp_reply: Callable[[bytes, bytes], bytes] | None = None,
        tcp: bool = True,
        cached_ttl: int | None = None,
        authoritative: bool = True,
    ) -> None:
        self.records = {(name.lower().rstrip("."), kind): v for (name, kind), v in records.items()}
        self.cached_ttl = cached_ttl
        self.authoritative = authoritative
        self.mode = mode
        self.udp_reply = udp_reply
        self.tcp_reply = tcp_reply
        self.sock, self.listener = self._bind(tcp)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind((LOOPBACK, 0))
        self.stopping = threading.Event()
        self.queries: list[tuple[str, str]] = []
        self.norecurse_queries: list[tuple[str, str]] = []  # those asked with RD clear
        self.tcp_queries: list[tuple[str, str]] = []
        self._threads = [threading.Thread(target=self._loop, daemon=True)]
        if self.listener is not None:
            self._threads.append(threading.Thread(target=self._accept_loop, daemon=True))

    @staticmethod
    def _bind(tcp: bool) -> tuple[socket.socket, socket.socket | None]:
        """Bind a UDP socket and, when tcp, a TCP listener on the same free port."""
        for _ in range(50):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((LOOPBACK, 0))
            if not tcp:
                return sock, None
            listener = socket.socket()
            try:
                listener.bind((LOOPBACK, sock.getsockname()[1]))
            except OSError:
                sock.close()
                listener.close()
                continue
            listener.listen(16)
            listener.settimeout(0.05)
            return sock, listener
        raise RuntimeError("no port free for both UDP and TCP")

    def __enter__(self) -> DnsServer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(5)
        self.sock.close()
        self.other.close()
        if self.listener is not None:
            self.listener.close()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            if self.mode == "garbage":
                self.sock.sendto(data[:2] + b"\x81\x80\xff\xff" + b"\xff" * 40, peer)
                continue
            if self.mode == "silent":
                continue
            response = self._answer(dns.message.from_wire(data))
            if self.mode == "truncate":
                response.flags |= dns.flags.TC
                response.answer, response.authority, response.additional = [], [], []
            answer = response.to_wire()
            sender = self.other if self.mode == "othersource" else self.sock
            for datagram in self.udp_reply(data, answer) if self.udp_reply else [answer]:
                sender.sendto(datagram, peer)

    def _accept_loop(self) -> None:
        assert self.listener is not None
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve_tcp, args=(conn,), daemon=True).start()

    def _serve_tcp(self, conn: socket.socket) -> None:
        """Answer one length-prefixed query, then hold the connection until the client closes."""
        with conn:
            conn.settimeout(5)
            try:
                size = int.from_bytes(self._recv_exactly(conn, 2), "big")
                data = self._recv_exactly(conn, size)
                if self.mode != "silent":
                    query = dns.message.from_wire(data)
                    self.tcp_queries.append(
                        (query.question[0].name.to_text().rstrip(".").lower(),
                         dns.rdatatype.to_text(query.question[0].rdtype))
                    )  # fmt: skip
                    answer = self._answer(query).to_wire()
                    if self.tcp_reply:
                        conn.sendall(self.tcp_reply(data, answer))
                    else:
                        conn.sendall(len(answer).to_bytes(2, "big") + answer)
                conn.settimeout(0.05)
                while not self.stopping.is_set():
                    try:
                        if not conn.recv(4096):
                            return
                    except TimeoutError:
                        continue
            except (OSError, EOFError):
                pass

    @staticmethod
    def _recv_exactly(conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise EOFError("the client closed the connection")
            data += chunk
        return data

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        if not query.flags & dns.flags.RD:
            self.norecurse_queries.append((name, kind))
        if self.mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        chain = [name]
        while kind != "CNAME" and (name, kind) not in self.records:
            if (name, "CNAME") not in self.records:
                break
            ttl, rdata = self.records[(name, "CNAME")]
            response.answer.append(dns.rrset.from_text_list(name + ".", ttl, "IN", "CNAME", rdata))
            name = rdata[0].rstrip(".").lower()
            if name in chain:
                break  # a loop: answered up to where it comes back
            chain.append(name)
        if name not in {known for known, _ in self.records}:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif (name, kind) in self.records:
            ttl, rdata = self.records[(name, kind)]
            response.answer.append(dns.rrset.from_text_list(name + ".", ttl, "IN", kind, rdata))
        if not query.flags & dns.flags.RD:
            if self.authoritative:
                response.flags |= dns.flags.AA
        elif self.cached_ttl is not None:
            for rrset in response.answer:
                rrset.ttl = self.cached_ttl
        return response
