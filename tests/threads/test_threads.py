"""Comment threads on a real database (SQLite and PostgreSQL): who may open, reply,
resolve and reopen; the approve guard; where a thread sits on a later revision."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from review_flow.articles.queries import get_article
from review_flow.articles.writes import edit_article
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_chain
from review_flow.errors import Conflict, GuardFailed, PermissionDenied, ValidationFailed
from review_flow.threads import service
from review_flow.threads.models import CommentThread, ThreadMessage, ThreadStateChange
from review_flow.threads.reading import threads_for
from tests.core.helpers import REFS, act, create, snapshot, state

BODY = (
    "# Blood pressure\n\n"
    "Hypertension often has no symptoms [1].\n\n"
    "Adults should limit salt to 5 g a day [2].\n\n"
    "Check your blood pressure once a year.\n"
)


def _article(db, people, *, under_review=True):
    aid = create(db, people["author"], body=BODY)
    if under_review:
        act(db, people["author"], aid, "submit")
        act(db, people["reviewer"], aid, "start_review")
    return aid


def _open(db, actor, aid, body="Is this right?", **kw):
    with db.transaction() as s:
        return service.open_thread(s, actor, aid, body, **kw).id


def _threads(db, aid):
    with db.reading() as s:
        article = get_article(s, aid)
        return threads_for(s, aid, article.current_revision)


def _events(db, prefix="thread."):
    with db.reading() as s:
        return [(e.action, e.actor_name, e.object_id, e.comment)
                for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                if e.action.startswith(prefix)]


def test_open_reply_resolve_reopen_are_records_and_audited(db, people):
    aid = _article(db, people)
    tid = _open(db, people["reviewer"], aid, "Which guideline says 5 g?", paragraph=3,
                blocking=True)
    with db.transaction() as s:
        service.reply(s, people["author"], tid, "The WHO guideline; see [2].")
    with db.transaction() as s:
        service.resolve(s, people["author"], tid)
    with db.transaction() as s:
        service.reopen(s, people["reviewer"], tid)
    with db.reading() as s:
        t = s.get(CommentThread, tid)
        assert (t.paragraph, t.quote, t.blocking, t.state) == (
            3, "Adults should limit salt to 5 g a day [2].", True, "open")
        assert [m.body for m in s.scalars(select(ThreadMessage).order_by(ThreadMessage.id))] == [
            "Which guideline says 5 g?", "The WHO guideline; see [2]."]
        assert [(c.change, c.actor.name) for c in s.scalars(
            select(ThreadStateChange).order_by(ThreadStateChange.id))] == [
            ("resolve", "Alex Author"), ("reopen", "Dr. Maya Reed")]
        assert verify_chain(s).ok
    assert _events(db) == [
        ("thread.open", "Dr. Maya Reed", str(tid), "Which guideline says 5 g?"),
        ("thread.reply", "Alex Author", str(tid), "The WHO guideline; see [2]."),
        ("thread.resolve", "Alex Author", str(tid), None),
        ("thread.reopen", "Dr. Maya Reed", str(tid), None),
    ]
    (view,) = _threads(db, aid)
    assert view.where == "on paragraph 3"
    assert [m.author_name for m in view.messages] == ["Dr. Maya Reed", "Alex Author"]


def test_a_selected_passage_is_anchored_with_its_offsets(db, people):
    aid = _article(db, people)
    tid = _open(db, people["reviewer"], aid, "Source?", paragraph=3, quote="5 g a day")
    with db.reading() as s:
        t = s.get(CommentThread, tid)
        assert (t.quote, t.start_offset, t.end_offset) == ("5 g a day", 28, 37)


@pytest.mark.parametrize(("kw", "message"), [
    ({"paragraph": 9}, "There is no paragraph 9: revision 1 has 4 paragraphs."),
    ({"paragraph": 2, "quote": "salt"}, "The quoted passage is not in paragraph 2."),
    ({"paragraph": "two"}, "The paragraph number must be a whole number."),
    ({"quote": "salt"}, "Say which paragraph the quoted passage is in."),
    ({"paragraph": 2, "start": 5}, "Give both the start and the end of the passage, or neither."),
])
def test_a_bad_anchor_is_refused_by_name_and_writes_nothing(db, people, kw, message):
    aid = _article(db, people)
    before = snapshot(db, aid)
    with pytest.raises(ValidationFailed) as err:
        _open(db, people["reviewer"], aid, **kw)
    assert err.value.message == message
    assert snapshot(db, aid) == before
    assert _threads(db, aid) == []


def test_an_empty_comment_is_refused(db, people):
    aid = _article(db, people)
    with pytest.raises(ValidationFailed, match=re.escape("Write a comment before posting it.")):
        _open(db, people["reviewer"], aid, "   ", paragraph=2)


def test_a_stale_page_cannot_anchor_to_moved_paragraphs(db, people):
    aid = _article(db, people, under_review=False)
    with db.transaction() as s:
        edit_article(s, people["author"], aid, title="High Blood Pressure",
                     body="Intro.\n\n" + BODY, references=REFS)
    with pytest.raises(Conflict) as err:
        _open(db, people["author"], aid, paragraph=2, expected_revision=1)
    assert err.value.message.startswith("The text changed since you opened it: it is now "
                                        "revision 2")


def test_who_may_take_part(db, people, make_user):
    aid = _article(db, people)
    outsider = make_user("someone@example.org", "author", name="Sam Someone")
    with pytest.raises(PermissionDenied) as err:
        _open(db, outsider, aid, paragraph=2)
    assert err.value.message == ("Only the article's author, its reviewers and editors may "
                                 "comment on it.")
    with pytest.raises(PermissionDenied) as err:
        _open(db, people["auditor"], aid, paragraph=2)
    assert err.value.code == "not_on_article"
    tid = _open(db, people["editor"], aid, "An editor's question.", paragraph=2)
    with pytest.raises(PermissionDenied, match="may comment on it"), db.transaction() as s:
        service.reply(s, outsider, tid, "Me too")
    for actor in (people["author"], people["reviewer2"], people["reviewer"]):
        with db.transaction() as s:
            service.reply(s, actor, tid, f"Answer from {actor.name}")
    assert len(_threads(db, aid)[0].messages) == 4


def test_only_a_reviewer_who_did_not_write_it_may_block(db, people):
    aid = _article(db, people)
    with pytest.raises(PermissionDenied) as err:
        _open(db, people["author"], aid, paragraph=2, blocking=True)
    assert err.value.message == "Only a reviewer may mark a comment as blocking."
    with pytest.raises(PermissionDenied, match="Only a reviewer"):
        _open(db, people["editor"], aid, paragraph=2, blocking=True)
    # The author may open a thread that does not block.
    assert _open(db, people["author"], aid, "A note for the reviewers.", paragraph=2)


def test_only_the_opener_or_the_author_resolve_and_reopen(db, people):
    aid = _article(db, people)
    tid = _open(db, people["reviewer"], aid, paragraph=2, blocking=True)
    for actor in (people["reviewer2"], people["editor"]):
        with pytest.raises(PermissionDenied) as err, db.transaction() as s:
            service.resolve(s, actor, tid)
        assert err.value.message == ("Only the article's author or Dr. Maya Reed, who opened "
                                     "this thread, may resolve it.")
    with db.transaction() as s:
        service.resolve(s, people["reviewer"], tid)
    with pytest.raises(Conflict, match=re.escape("This thread is already resolved.")), \
            db.transaction() as s:
        service.resolve(s, people["author"], tid)
    with pytest.raises(PermissionDenied, match="may reopen it"), db.transaction() as s:
        service.reopen(s, people["reviewer2"], tid)
    with db.transaction() as s:
        service.reopen(s, people["author"], tid)
    with pytest.raises(Conflict, match=re.escape("This thread is already open.")), \
            db.transaction() as s:
        service.reopen(s, people["reviewer"], tid)
    assert [e[0] for e in _events(db)] == ["thread.open", "thread.resolve", "thread.reopen"]


def test_a_thread_of_another_article_is_not_found_there(db, people):
    aid = _article(db, people)
    other = _article(db, people)
    tid = _open(db, people["reviewer"], aid, paragraph=2)
    with pytest.raises(Exception, match=f"Comment thread {tid} does not exist on article"), \
            db.transaction() as s:
        service.resolve(s, people["reviewer"], tid, article_id=other)


def test_an_open_blocking_thread_refuses_approval_until_resolved(db, people):
    aid = _article(db, people)
    tid = _open(db, people["reviewer2"], aid, "Dose is wrong.", paragraph=3, blocking=True)
    _open(db, people["reviewer"], aid, "Just a remark.", paragraph=2)  # not blocking
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.code == "blocking_threads_open"
    assert err.value.message == ("Blocking comment on paragraph 3 by Dr. Chidi Okafor is "
                                 "still open. Resolve it before approving.")
    assert err.value.details["threads"] == [tid]
    assert snapshot(db, aid) == before
    with db.transaction() as s:
        service.resolve(s, people["author"], tid)
    assert act(db, people["reviewer"], aid, "approve").to_state == "approved"


def test_several_blocking_threads_are_all_named(db, people):
    aid = _article(db, people)
    _open(db, people["reviewer2"], aid, paragraph=3, blocking=True)
    _open(db, people["reviewer2"], aid, blocking=True)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.message == (
        "Blocking comment on paragraph 3 by Dr. Chidi Okafor is still open. Blocking comment "
        "on the whole article by Dr. Chidi Okafor is still open. Resolve them before approving.")


def test_threads_follow_their_passage_to_a_new_revision_or_go_outdated(db, people):
    aid = _article(db, people)
    salt = _open(db, people["reviewer"], aid, "Source?", paragraph=3, quote="5 g a day",
                 blocking=True)
    yearly = _open(db, people["reviewer"], aid, "How often exactly?", paragraph=4)
    symptoms = _open(db, people["reviewer"], aid, "Cite more.", paragraph=2)
    act(db, people["reviewer"], aid, "request_changes")
    new_body = (
        "# Blood pressure\n\n"
        "A new opening paragraph.\n\n"
        "Hypertension often has no symptoms at all [1].\n\n"  # touched: fuzzy match
        "Adults should limit salt to 5 g a day [2].\n\n"  # moved from 3 to 4
        "Have your blood pressure measured at every visit.\n"  # rewritten: outdated
    )
    with db.transaction() as s:
        edit_article(s, people["author"], aid, title="High Blood Pressure", body=new_body,
                     references=REFS)
    views = {v.id: v for v in _threads(db, aid)}
    assert views[salt].location is not None
    assert (views[salt].location.paragraph, views[salt].location.exact) == (4, True)
    assert views[salt].location.start == new_body.split("\n\n")[3].find("5 g a day")
    assert views[salt].where == "on paragraph 4"
    assert views[symptoms].location is not None
    assert (views[symptoms].location.paragraph, views[symptoms].location.exact) == (3, False)
    assert views[yearly].outdated
    assert views[yearly].where == "on paragraph 4 of revision 1 (outdated)"
    # The blocking one moved with its passage: approval names where it is now.
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    moved = "Blocking comment on paragraph 4 by Dr. Maya Reed"
    with pytest.raises(GuardFailed, match=re.escape(moved)):
        act(db, people["reviewer"], aid, "approve")
    assert state(db, aid) == "under_review"
