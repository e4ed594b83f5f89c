"""Delivering the outbox to real receivers on loopback: SMTP (aiosmtpd) and HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.actions import perform_action
from review_flow.notifications import webhooks
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.outbox.service import enqueue
from review_flow.outbox.transports import SmtpSettings, WebhookTransport
from tests.support.receivers import smtp_server, webhook_receiver
from tests.support.webhook_config import LOOPBACK, TEST_WEBHOOKS, register

SECRET = "whsec_cmV2aWV3LWZsb3ctdGVzdC1zZWNyZXQtMzItYnl0ZXM="  # 32 bytes, Standard Webhooks


def _settings(smtp_port: int = 9, **kw: Any) -> DeliverySettings:
    kw.setdefault("webhook_timeout_s", 5)
    return DeliverySettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=smtp_port,
            tls="none",
            timeout=5,
            mail_from="Review Flow <review@example.org>",
            base_url="https://reviews.example.org",
        ),
        webhooks=TEST_WEBHOOKS,
        **kw,
    )


def _rows(db: Any) -> list[OutboxMessage]:
    """The rows that are sent: not the board's audience rows, once expanded into them."""
    with db.reading() as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.status != "expanded")
                              .order_by(OutboxMessage.id)))
        s.expunge_all()
        return rows


def _request_changes(db: Any, people: Any, aid: int, comment: str) -> None:
    for actor, action, extra in (
        (people["reviewer"], "start_review", {}),
        (people["reviewer"], "request_changes", {"comment": comment}),
    ):
        with db.transaction() as s:
            perform_action(s, actor, aid, action, **extra)


def test_email_arrives_over_smtp_with_recipient_and_text(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    aid = new_article(submit=True)
    with smtp_server() as (port, inbox):
        # The board hears while the article waits for a reviewer (the delivery after the
        # submit); the author, once the reviewer asked for changes.
        report = Deliverer(db, _settings(port), clock=clock).run()
        _request_changes(db, people, aid, "Please cite the 2024 sodium guideline.\nAnd fix [1].")
        report.add(Deliverer(db, _settings(port), clock=clock).run())
    assert (report.sent, report.retrying, report.dead) == (3, 0, 0)
    by_rcpt = {m.rcpt_tos[0]: m for m in inbox}
    assert set(by_rcpt) == {"reed@example.org", "okafor@example.org", "author@example.org"}
    review = by_rcpt["reed@example.org"].message
    assert review["Subject"] == "Review requested: Managing high blood pressure"
    assert f"https://reviews.example.org/review/{aid}" in review.get_content()
    change = by_rcpt["author@example.org"]
    assert change.mail_from == "review@example.org"
    msg = change.message
    assert msg["To"] == "Alex Author <author@example.org>"
    assert msg["Subject"] == "Changes requested: Managing high blood pressure"
    text = msg.get_content()
    assert "Dr. Maya Reed, MD, FACP asked for changes" in text
    assert "Please cite the 2024 sodium guideline." in text and "And fix [1]." in text
    row = next(r for r in _rows(db) if r.recipient == "author@example.org")
    assert msg["Message-ID"] == f"<{row.message_id}@review-flow>"
    assert msg["X-Review-Flow-Id"] == row.message_id
    assert row.status == "sent" and row.sent_at == clock.now and row.attempts == 1


def test_webhook_receiver_verifies_the_signature(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["article.submit"], secret=SECRET)
        aid = new_article(submit=True)
        deliverer = Deliverer(db, _settings(), clock=clock)
        deliverer.transports = {"webhook": deliverer.transports["webhook"]}  # no SMTP here
        deliverer.run()
    hooks = [r for r in _rows(db) if r.channel == "webhook"]
    assert [r.status for r in hooks] == ["sent"]
    assert len(rx.hits) == 1
    hit = rx.hits[0]
    assert hit.signature_ok
    assert hit.headers["X-Review-Flow-Event"] == "article.submit"
    assert hit.headers["X-Review-Flow-Id"] == hooks[0].message_id
    assert hit.headers["X-Review-Flow-Timestamp"] == str(int(clock.now.timestamp()))
    assert hit.json["id"] == hooks[0].message_id
    assert hit.json["data"]["article"]["id"] == aid
    assert hit.json["data"]["to_state"] == "submitted"
    # Our own verifier agrees with the receiver's independent check, and rejects tampering.
    ts = hit.headers["X-Review-Flow-Timestamp"]
    sig = hit.headers["X-Review-Flow-Signature"]
    assert webhooks.verify(SECRET, ts, hit.body, sig, now=clock.now)
    assert not webhooks.verify(SECRET, ts, hit.body + b" ", sig, now=clock.now)
    assert not webhooks.verify(SECRET, ts, hit.body, sig, now=clock.now + timedelta(hours=1))


def test_a_failing_receiver_is_retried_with_backoff(
    db: Any, people: Any, new_article: Any, clock: Any, app: Any, token_for: Any, make_user: Any
) -> None:
    settings = _settings(max_attempts=4, backoff_base_s=60, backoff_cap_s=3600)
    with webhook_receiver(SECRET) as rx:
        rx.script = [500, 503]  # down twice, then up
        with db.transaction() as s:
            hook_id = register(
                s, url=rx.url, events=["article.create"], secret=SECRET
            ).id
        new_article()
        deliverer = Deliverer(db, settings, clock=clock)
        r1 = deliverer.run()
        assert (r1.sent, r1.retrying) == (0, 1)
        row = _rows(db)[0]
        assert row.status == "pending" and row.attempts == 1
        assert row.available_at == clock.now + timedelta(seconds=60)
        # Not due yet: nothing is sent however often the deliverer runs.
        assert deliverer.run().attempted == 0
        clock.advance(59)
        assert deliverer.run().attempted == 0
        clock.advance(1)
        assert deliverer.run().retrying == 1
        assert _rows(db)[0].available_at == clock.now + timedelta(seconds=120)
        clock.advance(120)
        assert deliverer.run().sent == 1
    assert [h.json["id"] for h in rx.hits] == [row.message_id] * 3  # same id every time
    assert all(h.signature_ok for h in rx.hits)
    final = _rows(db)[0]
    assert final.status == "sent" and final.attempts == 3 and final.last_error is None

    # Admins see each attempt and the receiver's answers.
    admin = make_user("admin@example.org", "admin")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token_for(admin)}"}
    deliveries = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auth).json
    attempts = deliveries["items"][0]["attempts"]
    assert [(a["ok"], a["status_code"]) for a in attempts] == [
        (False, 500),
        (False, 503),
        (True, 200),
    ]
    assert attempts[0]["response"] == "receiver is down"
    assert deliveries["items"][0]["status"] == "sent"


def test_gives_up_after_max_attempts(db: Any, clock: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        rx.script = [500] * 10
        with db.transaction() as s:
            hook = register(s, url=rx.url, events=["*"], secret=SECRET)
            enqueue(
                s,
                channel="webhook",
                kind="article.create",
                recipient=rx.url,
                webhook_id=hook.id,
                payload={"hello": "world"},
                now=clock.now,
            )
        deliverer = Deliverer(db, _settings(max_attempts=3, backoff_base_s=10), clock=clock)
        statuses = []
        for _ in range(5):
            report = deliverer.run()
            statuses.append((report.retrying, report.dead))
            clock.advance(3600)
    assert statuses == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    row = _rows(db)[0]
    assert row.status == "dead" and row.attempts == 3 and row.last_error == "HTTP 500"
    assert len(rx.hits) == 3


def test_unreachable_receiver_and_smtp_are_retried(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/closed", events=["*"], secret=SECRET)
    new_article(submit=True)  # webhooks for create and submit, e-mails to two reviewers
    report = Deliverer(db, _settings(smtp_port=9), clock=clock).run()
    assert (report.sent, report.retrying) == (0, 4)
    assert all(r.status == "pending" and r.last_error for r in _rows(db))
    with db.reading() as s:
        assert s.scalars(select(OutboxAttempt.ok)).all() == [False] * 4


def test_disabled_webhook_cancels_pending_messages(db: Any, new_article: Any, clock: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            hook_id = register(s, url=rx.url, events=["*"], secret=SECRET).id
        new_article()
        with db.transaction() as s:
            webhooks.update_webhook(s, TEST_WEBHOOKS, hook_id, active=False)
        report = Deliverer(db, _settings(), clock=clock).run()
    assert report.cancelled == 1 and rx.hits == []
    assert _rows(db)[0].status == "cancelled"


def test_cli_delivers_with_configured_smtp(
    app: Any, db: Any, people: Any, new_article: Any
) -> None:
    new_article(submit=True)
    with smtp_server() as (port, inbox):
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_TLS="none",
            MAIL_FROM="review@example.org",
            OUTBOX_DIGEST_QUIET="0",  # the real clock: expand what was just written
        )
        result = app.test_cli_runner().invoke(args=["outbox", "deliver", "--workers", "2"])
        assert result.exit_code == 0, result.output
        assert "sent 2," in result.output
    assert sorted(m.rcpt_tos[0] for m in inbox) == ["okafor@example.org", "reed@example.org"]
    status = app.test_cli_runner().invoke(args=["outbox", "status"]).output
    assert "sent\t2" in status and "pending\t0" in status
    assert "to_expand\t0" in status and "expanded\t1" in status  # the board's one row


def test_two_deliverers_never_send_one_message_at_once(backend: str, db: Any, clock: Any) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent deliverers are a PostgreSQL deployment (FOR UPDATE SKIP LOCKED)")
    n = 40
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            hook = register(s, url=rx.url, events=["*"], secret=SECRET)
            for i in range(n):
                enqueue(
                    s,
                    channel="webhook",
                    kind="article.create",
                    recipient=rx.url,
                    webhook_id=hook.id,
                    payload={"n": i},
                    now=clock.now,
                )
        # Both deliverers select due rows before either marks them taken: only row locks
        # (SKIP LOCKED) keep their batches apart. Without them they would pick the same
        # rows; with plain FOR UPDATE the second would wait and the barrier would break.
        barrier = threading.Barrier(2)
        selected: dict[str, list[int]] = {}

        def make(name: str) -> Deliverer:
            def on_selected(ids: list[int]) -> None:
                if name not in selected:
                    selected[name] = ids
                    barrier.wait(10)

            return Deliverer(db, _settings(batch=5), clock=clock, on_claim_selected=on_selected)

        reports: dict[str, Any] = {}
        threads = [
            threading.Thread(target=lambda k=k: reports.__setitem__(k, make(k).run()))
            for k in ("a", "b")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not set(selected["a"]) & set(selected["b"])
    assert len(selected["a"]) == len(selected["b"]) == 5
    ids = [json.loads(h.body)["n"] for h in rx.hits]
    assert sorted(ids) == list(range(n))  # each message exactly once
    assert rx.max_in_flight_same_id == 1
    assert reports["a"].sent + reports["b"].sent == n
    assert reports["a"].sent > 0 and reports["b"].sent > 0


def test_smtp_credentials_from_configuration(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    new_article(submit=True)

    def errors() -> set[str | None]:
        with db.reading() as s:
            return set(s.scalars(select(OutboxMessage.last_error).where(
                OutboxMessage.status != "expanded")))

    with smtp_server(credentials=("mailer", "s3cret-pass")) as (port, inbox):
        # Without credentials, then with wrong ones: refused, and retried later (an
        # operator fixing the configuration should not lose the mail).
        assert Deliverer(db, _settings(port), clock=clock).run().retrying == 2
        assert errors() == {"SMTP 530"}
        clock.advance(3600)
        wrong = _settings(port)
        wrong.smtp.username, wrong.smtp.password = "mailer", "not-it"
        assert Deliverer(db, wrong, clock=clock).run().retrying == 2
        assert errors() == {"SMTP 535"} and inbox == []
        clock.advance(3600)
        right = _settings(port)
        right.smtp.username, right.smtp.password = "mailer", "s3cret-pass"
        assert Deliverer(db, right, clock=clock).run().sent == 2
    assert sorted(m.rcpt_tos[0] for m in inbox) == ["okafor@example.org", "reed@example.org"]


def test_settings_come_from_configuration() -> None:
    s = DeliverySettings.from_config(
        {
            "SMTP_HOST": "mail.example.org",
            "SMTP_TLS": "ssl",
            "SMTP_USERNAME": "u",
            "SMTP_PASSWORD": "p",
            "MAIL_FROM": "Reviews <r@example.org>",
            "OUTBOX_MAX_ATTEMPTS": "5",
            "OUTBOX_BACKOFF_BASE": "10",
            "OUTBOX_BACKOFF_CAP": "60",
        }
    )
    assert (s.smtp.host, s.smtp.port, s.smtp.tls, s.smtp.username) == (
        "mail.example.org",
        465,
        "ssl",
        "u",
    )
    assert DeliverySettings.from_config({}).smtp.port == 587  # STARTTLS by default
    assert [s.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    with pytest.raises(ValueError, match="SMTP_TLS"):
        DeliverySettings.from_config({"SMTP_TLS": "maybe"})


def test_purge_keeps_pending_and_recent_messages(app: Any, db: Any, clock: Any) -> None:
    from datetime import UTC, datetime

    old = datetime.now(UTC) - timedelta(days=120)
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            hook = register(s, url=rx.url, events=["*"], secret=SECRET)
            for when in (old, old, datetime.now(UTC)):
                enqueue(
                    s,
                    channel="webhook",
                    kind="article.create",
                    recipient=rx.url,
                    webhook_id=hook.id,
                    payload={},
                    now=when,
                )
        deliverer = Deliverer(db, _settings(), clock=clock)
        assert deliverer.run(max_messages=1).sent == 1  # one old message sent
    result = app.test_cli_runner().invoke(args=["outbox", "purge", "--older-than-days", "90"])
    assert "purged 1 messages" in result.output
    statuses = sorted((r.status, r.created_at < clock.now - timedelta(days=90)) for r in _rows(db))
    assert statuses == [("pending", False), ("pending", True)]
    with db.reading() as s:
        assert s.scalars(select(OutboxAttempt)).all() == []


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_with_credentials_from_configuration(
    db: Any, people: Any, new_article: Any, clock: Any, tmp_path: Any, mode: str
) -> None:
    """TLS and credentials as configured, against a server with a real certificate
    (a throw-away CA): the mail arrives only after the login, over an encrypted link."""
    from tests.support.receivers import tls_smtp_server

    new_article(submit=True)
    with tls_smtp_server(mode, ("mailer", "s3cret-pass"), tmp_path) as server:
        settings = DeliverySettings.from_config(
            {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(server.port),
                "SMTP_TLS": mode,
                "SMTP_USERNAME": "mailer",
                "SMTP_PASSWORD": "s3cret-pass",
                "SMTP_CA_FILE": server.ca_file,
                "SMTP_TIMEOUT": "5",
            }
        )
        report = Deliverer(db, settings, clock=clock).run()
        assert (report.sent, report.retrying, report.dead) == (2, 0, 0)
        assert sorted(m.rcpt_tos[0] for m in server.messages) == [
            "okafor@example.org",
            "reed@example.org",
        ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"SMTP_PASSWORD": "wrong"}, "535"),
        # Without the CA that signed it, the server's certificate is not trusted.
        ({"SMTP_CA_FILE": ""}, "CERTIFICATE_VERIFY_FAILED"),
    ],
)
def test_email_is_not_sent_with_bad_credentials_or_an_untrusted_server(
    db: Any, new_article: Any, clock: Any, tmp_path: Any, change: Any, error: str
) -> None:
    from tests.support.receivers import tls_smtp_server

    new_article(submit=True)
    with tls_smtp_server("starttls", ("mailer", "s3cret-pass"), tmp_path) as server:
        config = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(server.port),
            "SMTP_TLS": "starttls",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "s3cret-pass",
            "SMTP_CA_FILE": server.ca_file,
            "SMTP_TIMEOUT": "5",
            **change,
        }
        report = Deliverer(db, DeliverySettings.from_config(config), clock=clock).run()
        assert report.sent == 0 and server.messages == []
    errors = [r.last_error or "" for r in _rows(db) if r.channel == "email"]
    assert errors and all(error in e for e in errors), errors


@contextmanager
def _raw_receiver(
    answer: Callable[[socket.socket], None],
) -> Iterator[tuple[str, threading.Thread]]:
    """A misbehaving receiver on loopback: it reads one request, then ``answer`` writes
    whatever bytes it likes until done or hung up on. Yields its URL and its thread,
    which has ended once the block is left."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            with suppress(OSError):  # the deliverer hung up, as it should
                answer(conn)

    server = threading.Thread(target=serve)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", server
    finally:
        server.join(30)
        listener.close()


def _one_webhook_message(db: Any, clock: Any, url: str) -> None:
    with db.transaction() as s:
        hook = register(s, url=url, events=["*"], secret=SECRET)
        enqueue(s, channel="webhook", kind="article.create", recipient=url,
                webhook_id=hook.id, payload={"n": 1}, now=clock.now)


def test_an_endless_answer_is_cut_short(db: Any, clock: Any) -> None:
    """A receiver that never stops answering costs neither memory nor the lease: the
    start of its answer is read, kept clipped, and the delivery counts by its status."""
    sent_bytes = [0]

    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Connection: close\r\n\r\n")
        while sent_bytes[0] < 200_000_000:
            conn.sendall(b"x" * 65536)
            sent_bytes[0] += 65536

    with _raw_receiver(answer) as (url, server):
        _one_webhook_message(db, clock, url)
        report = Deliverer(db, _settings(), clock=clock).run()
    assert not server.is_alive() and report.sent == 1
    assert sent_bytes[0] < 50_000_000  # it stopped reading long before the end
    with db.reading() as s:
        [answer] = s.scalars(select(OutboxAttempt.response))
    assert answer == "x" * 2000


def test_a_stopped_deliverer_gives_back_the_rest_of_its_batch(db: Any, clock: Any) -> None:
    """Told to stop mid-batch, it finishes the message in hand and releases the others:
    due again at once, attempts not counted, instead of waiting out the lease."""
    stop = threading.Event()

    class StopAfterOne:
        sent: list[str] = []

        def send(self, item: Any, now_ts: int) -> Any:
            from review_flow.outbox.transports import Outcome

            self.sent.append(item.message_id)
            stop.set()
            return Outcome(True, status_code=200)

    with db.transaction() as s:
        hook = register(s, url="https://hooks.example.org/x", events=["*"], secret=SECRET)
        for n in range(3):
            enqueue(s, channel="webhook", kind="article.create", recipient=hook.url,
                    webhook_id=hook.id, payload={"n": n}, now=clock.now)
    transport = StopAfterOne()
    report = Deliverer(db, _settings(), clock=clock, transports={"webhook": transport}).run(
        stop=stop
    )
    assert report.sent == 1 and len(transport.sent) == 1
    rows = _rows(db)
    assert [(r.status, r.attempts, r.claim_token) for r in rows] == [
        ("sent", 1, None), ("pending", 0, None), ("pending", 0, None)]
    assert all(r.available_at <= clock.now for r in rows[1:])
    again = Deliverer(db, _settings(), clock=clock, transports={"webhook": transport}).run()
    assert again.sent == 2  # no lease to wait for


def test_watch_mode_delivers_as_messages_fall_due_and_stops_on_sigterm(
    db_url: str, db: Any, new_article: Any
) -> None:
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": db_url,
           "REVIEW_FLOW_SECRET_KEY": "test-secret",
           "REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK}
    cli = str(Path(sys.executable).parent / "review-flow")
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["article.create"], secret=SECRET)
        proc = subprocess.Popen(
            [cli, "outbox", "deliver", "--watch", "--interval", "0.1"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            assert "SIGTERM or Ctrl-C stops" in proc.stderr.readline()
            new_article(title="First")  # written after the deliverer started
            deadline = time.monotonic() + 30
            while len(rx.hits) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            new_article(title="Second")
            while len(rx.hits) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [h.json["data"]["article"]["title"] for h in rx.hits] == ["First", "Second"]
    assert all(h.signature_ok for h in rx.hits)
    assert out.strip() == "sent 2, retrying 0, dead 0, cancelled 0"
    assert [r.status for r in _rows(db)] == ["sent", "sent"]


def test_watch_and_limit_do_not_go_together(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "deliver", "--watch", "--limit", "5"])
    assert result.exit_code == 2 and "--limit and --watch do not go together" in result.output


def test_a_receiver_that_never_finishes_its_headers_is_cut_off(db: Any, clock: Any) -> None:
    """A receiver sending a header line every 20 ms, for ever, never lets a socket wait
    reach the timeout (60 s here), so only the deadline on the whole exchange can end it
    (set apart at 0.5 s, so the test does not hang on the clock's mercy): it is cut off
    and the message is retried. Which of the two ends the exchange does not depend on
    how busy the machine is."""
    done = threading.Event()

    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not done.wait(0.02):  # ends when the deliverer hangs up (send fails)
            conn.sendall(b"X-Slow: y\r\n")

    transport = WebhookTransport(TEST_WEBHOOKS, timeout=60, deadline=0.5)
    with _raw_receiver(answer) as (url, _server):
        _one_webhook_message(db, clock, url)
        try:
            report = Deliverer(db, _settings(), clock=clock,
                               transports={"webhook": transport}).run()
        finally:
            done.set()
    assert report.retrying == 1
    [row] = _rows(db)
    assert row.status == "pending" and row.last_error == "no complete answer within 0.5 s; cut off"


def test_the_deadline_on_the_whole_exchange_is_three_timeouts_by_default() -> None:
    """Three timeouts: far inside the 300 s lease with the default 10 s timeout."""
    assert WebhookTransport(TEST_WEBHOOKS, timeout=2).deadline_s == 6
    assert WebhookTransport(TEST_WEBHOOKS).deadline_s == 30 < DeliverySettings().lease_s
