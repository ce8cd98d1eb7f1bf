"""Real loopback servers for tests: an HTTP portal server and an SMTP server (aiosmtpd).

`PortalServer` serves routes the test owns on 127.0.0.1 (or another loopback address) at a free port. A route is a path
(with query string, exactly as requested) mapped to a `Page` or to a callable taking the
`Request` and returning a `Page`; every request is logged so tests can count them.
"""

from __future__ import annotations

import asyncio
import gzip as _gzip
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union


@dataclass
class Page:
    body: Union[bytes, str] = b""
    status: int = 200
    headers: dict = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0            # seconds before answering
    gzip: bool = False            # send Content-Encoding: gzip
    encoding: str | None = None   # a Content-Encoding header for a body already encoded (bombs)
    drip: float = 0.0             # seconds between 1 KB chunks of the body (slow-drip servers)
    reset_after: int | None = None  # send this many body bytes, then reset the connection

    def payload(self) -> bytes:
        data = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return _gzip.compress(data) if self.gzip else data


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    client: tuple[str, int] | None = None  # the client's (address, port): which process asked (tests/test_queue.py)


Route = Union[Page, Callable[[Request], Page]]


class _LoopbackHTTPServer(ThreadingHTTPServer):
    """http.server's threading server without its reverse DNS lookup of the bound address
    (`getfqdn` in `server_bind`): for an address like 127.77.0.5 that is a query to the resolver,
    off the loopback, taking tens of milliseconds per server."""

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class PortalServer:
    def __init__(self, routes: dict[str, Route] | None = None, robots: str | None = "User-agent: *\nAllow: /\n",
                 ssl_context=None, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = dict(routes or {})
        if robots is not None and "/robots.txt" not in self.routes:
            self.routes["/robots.txt"] = Page(robots, content_type="text/plain")
        self.log: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, send_body: bool) -> None:
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.client_address[:2])
                with server._lock:
                    server.log.append(req)
                route = server.routes.get(self.path)
                page = route(req) if callable(route) else route
                if page is None:
                    page = Page("<html><body>not found</body></html>", status=404)
                if page.delay:
                    time.sleep(page.delay)
                data = page.payload()
                self.send_response(page.status)
                if page.content_type:
                    self.send_header("Content-Type", page.content_type)
                if page.gzip or page.encoding:
                    self.send_header("Content-Encoding", page.encoding or "gzip")
                for k, v in page.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not send_body:
                    return
                if page.reset_after is not None:
                    self.wfile.write(data[: page.reset_after])
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if page.drip:
                    try:
                        for start in range(0, len(data), 1024):
                            self.wfile.write(data[start : start + 1024])
                            self.wfile.flush()
                            time.sleep(page.drip)
                    except OSError:  # the client gave up on us: that is the point of the test
                        self.close_connection = True
                    return
                try:
                    self.wfile.write(data)
                except OSError:  # the client went away (a crawl killed or a download cut at its limit)
                    self.close_connection = True

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

        self.httpd = _LoopbackHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if ssl_context is not None:  # HTTPS, e.g. with `self_signed(...)`'s context
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base = f"{'https' if ssl_context else 'http'}://{host}:{self.port}"
        # shutdown() waits for the serving loop to look at its stop flag: every 50 ms, not the default
        # 0.5 s, which made closing the 60 portals of one test take 15 s
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> int:
        return sum(1 for r in self.log if r.path == path)

    def __enter__(self) -> "PortalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SMTPSink:
    """aiosmtpd on loopback, keeping every message it accepts as an `email.message.EmailMessage`.

    Failure modes for delivery tests: `data_replies` are answered to DATA, in order, before it
    accepts again (None accepts one message), e.g. ["451 4.3.0 Try later", None, "554 5.6.0 No"];
    `rcpt_replies` maps an address to its RCPT TO answer (e.g. "550 5.1.1 No such user");
    `accept_delays` are seconds to wait, in order, after keeping a message and before answering 250
    (a client that times out then cannot know the message was kept).
    `stall` maps an address to seconds to wait after keeping its message and before answering (every
    time: a slow server behind one recipient); `drop_after_data` holds addresses whose message is kept
    and then the connection closed without an answer.
    Pass `port` to bring a server back on the port of one that was stopped; `login=(user, password)`
    requires AUTH; `tls="starttls"` (required before MAIL) or `tls="tls"` (implicit) with `ssl_context`
    serves TLS. `peers` holds the client address of each accepted message, so a test can see whether
    one connection was reused.
    """

    def __init__(self, port: int | None = None, login: tuple[str, str] | None = None,
                 tls: str | None = None, ssl_context=None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.envelopes: list = []
        self.peers: list = []
        self.data_replies: list = []
        self.rcpt_replies: dict[str, str] = {}
        self.accept_delays: list[float] = []
        self.stall: dict[str, float] = {}
        self.drop_after_data: set[str] = set()
        self.rcpts: list[str] = []  # every RCPT TO accepted, in order: who was tried
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = sink.rcpt_replies.get(address.lower())
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                sink.rcpts.append(address.lower())
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if sink.data_replies:
                    reply = sink.data_replies.pop(0)
                    if reply:
                        return reply
                sink.envelopes.append(envelope)
                sink.peers.append(session.peer)
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                if sink.accept_delays:
                    await asyncio.sleep(sink.accept_delays.pop(0))
                to = {a.lower() for a in envelope.rcpt_tos}
                if to & sink.drop_after_data:
                    server.transport.close()
                    return "421 closing"  # never reaches the client: the connection is gone
                for address in to & set(sink.stall):
                    await asyncio.sleep(sink.stall[address])
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            given = (auth_data.login.decode(), auth_data.password.decode())
            return AuthResult(success=given == login, handled=False)

        self.port = port or free_port()
        options = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticate} if login else {}
        if tls == "starttls":
            options.update(tls_context=ssl_context, require_starttls=True)
        elif tls == "tls":
            options.update(ssl_context=ssl_context)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> "SMTPSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def self_signed(directory):
    """A certificate for 127.0.0.1 written to `directory`, and a server context using it.

    Clients trust it through the SSL_CERT_FILE environment variable (as they would a private CA).
    """
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dxwatch test SMTP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
