"""How a message leaves: SMTP for e-mail, signed HTTP POST for webhooks.

Each transport returns an :class:`Outcome` rather than raising, so the deliverer can log
every attempt with what the other side said.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol

import requests

from review_flow.errors import ConfigurationError
from review_flow.notifications import webhooks
from review_flow.notifications.egress import (
    Deadline,
    EgressPolicy,
    blocked_reason,
    guarded_session,
)
from review_flow.notifications.kinds import render
from review_flow.notifications.secret_box import KeyMissing


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    response: str | None = None
    error: str | None = None
    # True when retrying cannot help (address refused): the message goes to "dead".
    permanent: bool = False


@dataclass(frozen=True)
class Claimed:
    """A snapshot of a claimed message (sending happens outside any transaction)."""

    id: int
    message_id: str
    channel: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    attempt: int
    claim_token: str
    webhook_secret_sealed: str | None = None
    webhook_previous_secret_sealed: str | None = None
    webhook_active: bool = False


class Transport(Protocol):
    def send(self, item: Claimed, now_ts: int) -> Outcome: ...


# Of a webhook receiver's answer, this much is read and (clipped to 2000 characters) kept.
ANSWER_BYTES = 8192


def _clip(text: str | None, n: int = 2000) -> str | None:
    return None if text is None else text[:n]


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    tls: str = "starttls"  # "none" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    mail_from: str = "review-flow@localhost"
    base_url: str = ""
    # Verify the server against this CA bundle instead of the system's (a private CA).
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name always checked: credentials never go to a stranger."""
        return ssl.create_default_context(cafile=self.ca_file)


class SmtpTransport:
    """One SMTP session per message: simple, and a broken connection never poisons others."""

    def __init__(self, settings: SmtpSettings,
                 open_sealed: Callable[[str], str] | None = None) -> None:
        self.settings = settings
        # Opens a sealed value of a payload (an invitation's link) with the configured keys.
        self.open_sealed = open_sealed

    def build(self, item: Claimed) -> EmailMessage:
        subject, text = render(item.payload, self.settings.base_url, self.open_sealed)
        msg = EmailMessage()
        msg["From"] = self.settings.mail_from
        msg["To"] = formataddr((item.payload.get("to_name") or "", item.recipient))
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        # Stable across retries, so a mail client or list server can drop duplicates.
        msg["Message-ID"] = f"<{item.message_id}@review-flow>"
        msg["X-Review-Flow-Id"] = item.message_id
        msg["X-Review-Flow-Kind"] = item.kind
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        return msg

    def send(self, item: Claimed, now_ts: int) -> Outcome:
        s = self.settings
        try:
            msg = self.build(item)
            if s.tls == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=s.tls_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with conn:
                if s.tls == "starttls":
                    conn.starttls(context=s.tls_context())
                if s.username:
                    conn.login(s.username, s.password or "")
                refused = conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, error=f"recipient refused: {exc.recipients}", permanent=True)
        except smtplib.SMTPResponseException as exc:
            detail = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            # 550-554: this message or mailbox is refused for good. Anything else, and
            # authentication failures (530, 535), may heal once the operator fixes the
            # configuration, so they are retried.
            permanent = 550 <= exc.smtp_code <= 554 and not isinstance(
                exc, smtplib.SMTPAuthenticationError
            )
            return Outcome(
                False,
                status_code=exc.smtp_code,
                response=_clip(detail),
                error=f"SMTP {exc.smtp_code}",
                permanent=permanent,
            )
        except (smtplib.SMTPException, OSError, ConfigurationError) as exc:
            # A key missing for a sealed link is retried: the operator may configure it.
            return Outcome(False, error=_clip(f"{type(exc).__name__}: {exc}"))
        if refused:
            return Outcome(False, error=f"recipient refused: {refused}", permanent=True)
        return Outcome(True, status_code=250, response="accepted")


class WebhookTransport:
    """A signed JSON POST; any 2xx is success, anything else is retried. Connections
    go only where the egress policy allows (notifications/egress.py)."""

    def __init__(
        self,
        config: webhooks.WebhookConfig | None,
        timeout: float = 10.0,
        deadline: float | None = None,
    ) -> None:
        self.config = config
        self.timeout = timeout
        # The whole exchange, however slowly the receiver talks: far inside the lease.
        # Three timeouts unless given (a test sets it apart from the timeout).
        self.deadline_s = 3 * timeout if deadline is None else deadline
        self.http = guarded_session(config.egress if config else EgressPolicy())

    @staticmethod
    def body(item: Claimed) -> bytes:
        return json.dumps(item.payload, ensure_ascii=False, separators=(",", ":")).encode()

    def _secrets(self, item: Claimed) -> list[str]:
        """The secrets that sign this delivery: the current one, and the one before it
        while its grace period lasts."""
        if self.config is None:
            raise KeyMissing("no webhook configuration given to the deliverer")
        sealed = [item.webhook_secret_sealed or "", item.webhook_previous_secret_sealed]
        return [self.config.box.open(s) for s in sealed if s is not None]

    def headers(
        self, item: Claimed, secrets_in_force: list[str], now_ts: int, body: bytes
    ) -> dict[str, str] | None:
        """Standard Webhooks headers, and the legacy ones while they are on; None when
        nothing could sign (a legacy secret with the legacy headers off)."""
        assert self.config is not None  # _secrets() refused a missing configuration
        standard = webhooks.standard_signature_header(
            secrets_in_force, item.message_id, now_ts, body
        )
        legacy = self.config.legacy_headers
        if standard is None and not legacy:
            return None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "review-flow-webhooks/1",
            webhooks.EVENT_HEADER: item.kind,
            webhooks.STANDARD_ID_HEADER: item.message_id,
            webhooks.STANDARD_TIMESTAMP_HEADER: str(now_ts),
        }
        if standard is not None:
            headers[webhooks.STANDARD_SIGNATURE_HEADER] = standard
        if legacy:
            headers[webhooks.ID_HEADER] = item.message_id
            headers[webhooks.TIMESTAMP_HEADER] = str(now_ts)
            headers[webhooks.SIGNATURE_HEADER] = webhooks.signature_header(
                secrets_in_force, now_ts, body
            )
        return headers

    def send(self, item: Claimed, now_ts: int) -> Outcome:
        try:
            secrets_in_force = self._secrets(item)
        except ValueError as exc:  # no key, or not the key that sealed it: fix and retry
            return Outcome(False, error=f"cannot sign: {exc}")
        body = self.body(item)
        headers = self.headers(item, secrets_in_force, now_ts, body)
        if headers is None:
            return Outcome(
                False,
                error=f"cannot sign: the endpoint's secret is not {webhooks.SECRET_RULE}, and "
                f"{webhooks.LEGACY_HEADERS_SETTING} is off; give the endpoint a new secret",
            )
        deadline = Deadline(self.deadline_s)
        try:
            with deadline, self.http.post(
                item.recipient,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            ) as resp:
                answer = self._read_answer(resp)
        except requests.RequestException as exc:
            blocked = blocked_reason(exc)
            if blocked is not None:  # policy, not weather: retrying cannot help
                return Outcome(False, error=_clip(blocked), permanent=True)
            if deadline.fired:
                return Outcome(
                    False, error=f"no complete answer within {self.deadline_s:g} s; cut off"
                )
            return Outcome(False, error=_clip(f"{type(exc).__name__}: {exc}"))
        if deadline.fired:  # cut off mid-answer: not a delivery (receivers drop repeats)
            return Outcome(
                False,
                status_code=resp.status_code,
                response=_clip(answer),
                error=f"no complete answer within {self.deadline_s:g} s; cut off",
            )
        ok = 200 <= resp.status_code < 300
        return Outcome(
            ok,
            status_code=resp.status_code,
            response=_clip(answer),
            error=None if ok else f"HTTP {resp.status_code}",
        )

    def _read_answer(self, resp: requests.Response) -> str:
        """The start of the receiver's answer: what the log keeps, read within the
        timeout, so a huge or endless body costs neither memory nor the lease; a body
        cut short is kept as far as it came."""
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(1024):
                chunks.append(chunk)
                size += len(chunk)
                if size >= ANSWER_BYTES or time.monotonic() > deadline:
                    break
        except (requests.RequestException, OSError):
            pass
        raw = b"".join(chunks)[:ANSWER_BYTES]
        try:
            return raw.decode(resp.encoding or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return raw.decode("utf-8", errors="replace")


def monotonic_ms() -> float:
    return time.monotonic() * 1000
