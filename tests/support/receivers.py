"""Real receivers on loopback for outbox tests: an SMTP server (aiosmtpd) and an HTTP
webhook endpoint that checks each delivery independently of our code: the Standard
Webhooks signature with the ``standardwebhooks`` package, as an integrator would, and the
legacy ``X-Review-Flow-Signature`` HMAC by hand."""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.servers import free_port


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _SmtpHandler:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.require_auth = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.require_auth and not session.authenticated:
            return "530 Authentication required"
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def start_on_a_free_port(
    make: Callable[[int], Controller], ports: Iterator[int] | None = None, tries: int = 5
) -> tuple[Controller, int]:
    """Start an aiosmtpd controller on a free loopback port. aiosmtpd binds by number,
    so the port can be taken between picking and binding (another test run on the
    machine): then it starts again on a fresh one."""
    for _ in range(tries):
        port = next(ports) if ports is not None else free_port()
        controller = make(port)
        try:
            controller.start()
        except OSError as exc:
            controller.loop.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return controller, port
    raise RuntimeError(f"no free port for the SMTP server after {tries} tries")


@contextmanager
def smtp_server(
    credentials: tuple[str, str] | None = None,
) -> Iterator[tuple[int, list[ReceivedMail]]]:
    """An SMTP server on 127.0.0.1; yields (port, received messages). With
    ``credentials`` it refuses mail until the client logs in with them (AUTH over plain
    TCP is allowed here only because this is loopback in a test)."""
    handler = _SmtpHandler()
    extra: dict[str, Any] = {}
    if credentials is not None:

        def authenticator(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            ok = (data.login.decode(), data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535

        handler.require_auth = True
        extra = {"authenticator": authenticator, "auth_require_tls": False}
    controller, port = start_on_a_free_port(
        lambda port: Controller(handler, hostname="127.0.0.1", port=port, **extra)
    )
    try:
        yield port, handler.messages
    finally:
        controller.stop()


@dataclass
class TlsSmtp:
    port: int
    messages: list[ReceivedMail]
    ca_file: str  # the test CA that signed the server's certificate (for 127.0.0.1)


@contextmanager
def tls_smtp_server(
    mode: str, credentials: tuple[str, str], ca_dir: Any
) -> Iterator[TlsSmtp]:
    """An SMTP server on 127.0.0.1 with a real certificate from a throw-away CA
    (trustme): ``mode`` "starttls" (STARTTLS required before anything else, AUTH only
    over TLS) or "ssl" (TLS from the first byte). Mail is refused until the client
    logs in with ``credentials``."""
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = str(ca_dir / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)

    def authenticator(
        _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = (data.login.decode(), data.password.decode()) == credentials
        return AuthResult(success=ok, handled=False)

    handler = _SmtpHandler()
    handler.require_auth = True
    tls: dict[str, Any] = (
        {"tls_context": server_ctx, "require_starttls": True}
        if mode == "starttls"
        else {"ssl_context": server_ctx}
    )
    controller, port = start_on_a_free_port(
        lambda port: Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticator,
            # With "ssl" the listener speaks only TLS, but aiosmtpd knows of TLS only after
            # STARTTLS, so its own guard would hide AUTH; the link is encrypted either way.
            auth_require_tls=mode == "starttls",
            **tls,
        )
    )
    try:
        yield TlsSmtp(port, handler.messages, ca_file)
    finally:
        controller.stop()


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool  # the legacy X-Review-Flow-Signature
    # What ``standardwebhooks.Webhook(secret).verify`` said: None when it accepted the
    # delivery, else its complaint (it also refuses timestamps 5 minutes off its clock).
    standard_error: str | None = "not checked"

    @property
    def standard_ok(self) -> bool:
        return self.standard_error is None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secret: str
    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    # Status codes to answer, in order; when empty, 200.
    script: list[int] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight_same_id: int = 0
    gate: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def standard_check(self, body: bytes, headers: dict[str, str]) -> str | None:
        """None if the Standard Webhooks library accepts the delivery, else why not."""
        try:
            standardwebhooks.Webhook(self.secret).verify(body, headers)
        except (standardwebhooks.WebhookVerificationError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def expected_signature(self, timestamp: str, body: bytes) -> str:
        mac = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        return "v1=" + mac.hexdigest()


@contextmanager
def webhook_receiver(secret: str) -> Iterator[WebhookReceiver]:
    """An HTTP endpoint on 127.0.0.1 that records each POST and whether its signature
    (HMAC-SHA256 over "<timestamp>.<body>") verifies with ``secret``."""
    state = WebhookReceiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k: v for k, v in self.headers.items()}
            ts = headers.get("X-Review-Flow-Timestamp", "")
            # One signature, or several (comma-separated) while a rolled secret's grace
            # period lasts: any one made with our secret will do.
            expected = state.expected_signature(ts, body)
            ok = any(hmac.compare_digest(expected, part.strip())
                     for part in headers.get("X-Review-Flow-Signature", "").split(","))
            standard_error = state.standard_check(body, headers)
            mid = headers.get("webhook-id", "")
            with state.lock:
                state.in_flight[mid] = state.in_flight.get(mid, 0) + 1
                state.max_in_flight_same_id = max(state.max_in_flight_same_id, state.in_flight[mid])
                state.hits.append(Hit(headers, body, ok, standard_error))
                status = state.script.pop(0) if state.script else 200
            if state.gate is not None:
                state.gate.wait(10)
            with state.lock:
                state.in_flight[mid] -= 1
            payload = b'{"received": true}' if status < 300 else b"receiver is down"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/review-flow"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
