"""The board's "review requested" e-mail: one outbox row per change, its reviewers chosen
when a deliverer expands it, one digest per reviewer when several articles wait."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article, edit_article
from review_flow.notifications import board_mail, preferences
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxMessage
from review_flow.outbox.transports import SmtpSettings
from review_flow.users import service as users
from tests.outbox.conftest import REFS
from tests.support.receivers import ReceivedMail, smtp_server

BASE = "https://reviews.example.org"


def _settings(port: int = 9, **kw: Any) -> DeliverySettings:
    smtp = SmtpSettings(host="127.0.0.1", port=port, tls="none", timeout=5, base_url=BASE)
    return DeliverySettings(smtp=smtp, **kw)


def _deliver(db: Any, clock: Any, **kw: Any) -> list[ReceivedMail]:
    """One delivery pass over a real SMTP server; what it received."""
    with smtp_server() as (port, inbox):
        Deliverer(db, _settings(port, **kw), clock=clock).run()
    return inbox


def _asked(inbox: list[ReceivedMail]) -> dict[str, list[str]]:
    """Each recipient's "review requested" e-mails, as their texts (SMTP's CRLF as \\n)."""
    out: dict[str, list[str]] = {}
    for m in inbox:
        if m.message["X-Review-Flow-Kind"] == "review_requested":
            out.setdefault(m.rcpt_tos[0], []).append(
                m.message.get_content().replace("\r\n", "\n"))
    return out


def _rows(db: Any, status: str | None = None) -> list[OutboxMessage]:
    with db.reading() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.kind == "review_requested")
        if status:
            stmt = stmt.where(OutboxMessage.status == status)
        rows = list(s.scalars(stmt.order_by(OutboxMessage.id)))
        s.expunge_all()
        return rows


def _submit(db: Any, actor: Any, aid: int) -> None:
    with db.transaction() as s:
        perform_action(s, actor, aid, "submit")


def _write(db: Any, author: Any, title: str) -> int:
    with db.transaction() as s:
        return create_article(s, author, title=title, body="Less salt [1].",
                              references=REFS).id


def test_each_eligible_reviewer_gets_todays_email_once(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    aid = new_article(submit=True)
    inbox = _deliver(db, clock)
    asked = _asked(inbox)
    assert {k: len(v) for k, v in asked.items()} == {
        "reed@example.org": 1, "okafor@example.org": 1}
    text = asked["reed@example.org"][0]
    assert text.startswith("Hello Dr. Maya Reed,\n\nAlex Author submitted "
                           '"Managing high blood pressure" (revision 1) for review.\n'
                           "It waits for a member of the Medical Advisory Board")
    assert f"{BASE}/review/{aid}" in text
    msg = next(m.message for m in inbox if m.rcpt_tos == ["reed@example.org"])
    assert msg["Subject"] == "Review requested: Managing high blood pressure"
    # The board's row reads "expanded"; each e-mail is its own row, with its own id.
    (board,) = _rows(db, "expanded")
    assert board.recipient == board_mail.LABEL and board.sent_at == clock.now
    sent = _rows(db, "sent")
    assert sorted(r.recipient for r in sent) == ["okafor@example.org", "reed@example.org"]
    assert all(r.article_id == aid and r.user_id for r in sent)
    assert {f"<{r.message_id}@review-flow>" for r in sent} == {
        m.message["Message-ID"] for m in inbox}
    assert not set(board.payload) - set(sent[0].payload) - set(board_mail._ROUTING)
    # Nothing is left to expand: a second pass sends nothing more.
    assert _deliver(db, clock) == []


def test_two_requests_before_one_delivery_make_one_digest(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    first = new_article(title="Managing high blood pressure", submit=True)
    second = new_article(title="Salt and the kidneys", submit=True)
    inbox = _deliver(db, clock)
    asked = _asked(inbox)
    assert {k: len(v) for k, v in asked.items()} == {
        "reed@example.org": 1, "okafor@example.org": 1}
    text = asked["okafor@example.org"][0]
    assert ('Alex Author submitted "Managing high blood pressure" (revision 1) for review.\n'
            f"    {BASE}/review/{first}\n") in text
    assert ('Alex Author submitted "Salt and the kidneys" (revision 1) for review.\n'
            f"    {BASE}/review/{second}\n") in text
    assert text.startswith("Hello Dr. Chidi Okafor,\n\n2 articles wait for a member")
    assert f"The review queue lists them all: {BASE}/review\n" in text
    assert {m.message["Subject"] for m in inbox} == {"Review requested: 2 articles"}
    assert len(_rows(db, "expanded")) == 2
    assert Counter(m.message["Message-ID"] for m in inbox).most_common(1)[0][1] == 1


def test_the_author_and_a_reviser_are_left_out_of_that_article(
    db: Any, people: Any, make_user: Any, clock: Any
) -> None:
    writer = make_user("writer@example.org", "author", "reviewer", name="Wren Writer")
    reviser = make_user("reviser@example.org", "editor", "reviewer", name="Rui Reviser")
    own = _write(db, writer, "Written by a reviewer")
    _submit(db, writer, own)
    # The only article due is the writer's own: no e-mail for them at all.
    asked = _asked(_deliver(db, clock))
    assert set(asked) == {"reed@example.org", "okafor@example.org", "reviser@example.org"}
    revised = _write(db, people["author"], "Revised by an editor")
    with db.transaction() as s:
        edit_article(s, reviser, revised, title="Revised by an editor", body="More [1].",
                     references=REFS)
    plain = _write(db, people["author"], "Plain")
    _submit(db, people["author"], revised)
    _submit(db, people["author"], plain)
    asked = _asked(_deliver(db, clock))
    # Both for the writer (a digest); only "Plain" for the reviser, who wrote a revision
    # of the other: today's single e-mail.
    assert "2 articles wait" in asked["writer@example.org"][0]
    (to_reviser,) = asked["reviser@example.org"]
    assert '"Plain" (revision 1) for review.' in to_reviser
    assert "Revised by an editor" not in to_reviser
    assert all("2 articles wait" in asked[r][0]
               for r in ("reed@example.org", "okafor@example.org"))


def test_an_article_taken_up_before_the_delivery_is_not_announced(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    """The e-mail says the article waits for a reviewer: one whose review started (or
    that was withdrawn) before the delivery is left out, and its row is still done."""
    taken = new_article(title="Taken up at once", submit=True)
    waiting = new_article(title="Still waiting", submit=True)
    with db.transaction() as s:
        perform_action(s, people["reviewer"], taken, "start_review")
    asked = _asked(_deliver(db, clock))
    assert {k: len(v) for k, v in asked.items()} == {
        "reed@example.org": 1, "okafor@example.org": 1}
    for texts in asked.values():
        assert '"Still waiting" (revision 1) for review.' in texts[0]
        assert "Taken up at once" not in texts[0] and "2 articles" not in texts[0]
    assert f"/review/{waiting}" in asked["reed@example.org"][0]
    with db.transaction() as s:
        perform_action(s, people["author"], waiting, "withdraw")
    _submit(db, people["author"], waiting)
    with db.transaction() as s:
        perform_action(s, people["author"], waiting, "withdraw")
    # Submitted again, then withdrawn before the delivery: nobody is told, nothing waits.
    assert _asked(_deliver(db, clock)) == {}
    assert _rows(db, "to_expand") == []


def test_an_opt_out_and_a_deactivation_after_the_change_are_respected(
    db: Any, people: Any, make_user: Any, new_article: Any, clock: Any
) -> None:
    make_user("third@example.org", "reviewer", name="Dr. Tess Third")
    new_article(submit=True)
    # Between the change and the delivery: one reviewer turns the kind off, one leaves.
    with db.transaction() as s:
        preferences.set_email_preferences(
            s, s.merge(people["reviewer2"].user), {"review_requested": False})
        users.set_active(s, s.merge(people["reviewer"].user), False)
    asked = _asked(_deliver(db, clock))
    assert list(asked) == ["third@example.org"]


def test_a_long_digest_stops_at_its_lines_and_points_to_the_queue(
    db: Any, people: Any
) -> None:
    n = board_mail.DIGEST_LINES + 3
    for i in range(n):
        _submit(db, people["author"], _write(db, people["author"], f"Article {i}"))
    requests = [(r.message_id, r.payload) for r in _rows(db, "to_expand")]
    assert len(requests) == n
    with db.reading() as s:
        rows = board_mail.expand(s, requests)
    assert sorted(r["recipient"] for r in rows) == ["okafor@example.org", "reed@example.org"]
    payload = rows[0]["payload"]
    assert (payload["count"], len(payload["digest"]), payload["more"]) == (
        n, board_mail.DIGEST_LINES, 3)
    subject, text = board_mail.render({**payload, "to_name": "Dr. Maya Reed"}, BASE)
    assert subject == f"Review requested: {n} articles"
    assert '"Article 24" (revision 1)' in text and '"Article 25"' not in text
    assert "  ... and 3 more.\n" in text and f"lists them all: {BASE}/review\n" in text
    # Stable ids: the same requests and reviewer make the same message id.
    with db.reading() as s:
        again = board_mail.expand(s, requests)
    assert [r["message_id"] for r in again] == [r["message_id"] for r in rows]
    assert len({r["message_id"] for r in rows}) == 2


def test_a_burst_is_gathered_until_it_has_been_quiet(
    db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    new_article(submit=True)
    (board,) = _rows(db)
    clock.now = board.created_at + timedelta(seconds=5)
    assert _deliver(db, clock, digest_quiet_s=30, digest_max_wait_s=600) == []
    assert [r.status for r in _rows(db)] == ["to_expand"]
    clock.advance(30)
    asked = _asked(_deliver(db, clock, digest_quiet_s=30, digest_max_wait_s=600))
    assert set(asked) == {"reed@example.org", "okafor@example.org"}
    # However busy the board, nothing waits past the maximum wait.
    new_article(title="Second", submit=True)
    (second,) = _rows(db, "to_expand")
    clock.now = second.created_at + timedelta(seconds=5)
    assert _deliver(db, clock, digest_quiet_s=30, digest_max_wait_s=600) == []
    assert len(_deliver(db, clock, digest_quiet_s=30, digest_max_wait_s=4)) == 2


def test_two_deliverers_expanding_at_once_send_each_email_once(
    backend: str, db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent deliverers are a PostgreSQL deployment (FOR UPDATE SKIP LOCKED)")
    new_article(title="One", submit=True)
    new_article(title="Two", submit=True)
    seen: dict[str, list[int]] = {}
    with smtp_server() as (port, inbox):
        second = Deliverer(db, _settings(port), clock=clock,
                           on_expand_selected=lambda ids: seen.setdefault("second", ids))

        def first_holds(ids: list[int]) -> None:
            # The first has taken the rows and not committed: the second, expanding now,
            # skips them instead of waiting (a plain FOR UPDATE would block until the
            # first commits) or expanding them again.
            seen["first"] = ids
            done: list[int] = []
            t = threading.Thread(target=lambda: done.append(second.expand()))
            t.start()
            t.join(10)
            assert done == [0], "the second deliverer waited for the first's rows"

        first = Deliverer(db, _settings(port), clock=clock, on_expand_selected=first_holds)
        assert first.run().sent == 2
        assert second.run().sent == 0
    assert len(seen["first"]) == 2 and seen["second"] == []
    assert sorted(m.rcpt_tos[0] for m in inbox) == ["okafor@example.org", "reed@example.org"]
    assert len(_rows(db, "sent")) == 2


def test_purge_removes_old_expanded_rows_and_keeps_those_to_expand(
    app: Any, db: Any, people: Any, new_article: Any, clock: Any
) -> None:
    from sqlalchemy import update

    from review_flow.timeutil import utcnow

    new_article(submit=True)
    _deliver(db, clock)
    new_article(title="Second", submit=True)  # not delivered yet
    with db.transaction() as s:
        s.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(days=120)))
    result = app.test_cli_runner().invoke(args=["outbox", "purge", "--older-than-days", "90"])
    assert "purged 3 messages" in result.output  # the board row, expanded, and its 2 e-mails
    assert [r.status for r in _rows(db)] == ["to_expand"]
    status = app.test_cli_runner().invoke(args=["outbox", "status"]).output
    assert status.splitlines() == [
        "pending\t0", "to_expand\t1", "sent\t0", "expanded\t0", "dead\t0", "cancelled\t0"]
