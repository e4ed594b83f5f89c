"""An editor's revision of approved text: the editor who made it (or the author) submits
it, nobody else; the editor may not review it; the author is told by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles import queries, writes
from review_flow.errors import PermissionDenied
from review_flow.notifications.kinds import render
from review_flow.outbox.models import OutboxMessage
from tests.core.helpers import BODY, act, create, snapshot, state


def _approved(db: Any, people: Any) -> int:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    return aid


def _edit(db: Any, who: Any, aid: int, body: str = BODY + "\nUpdated dosage [1].\n") -> None:
    with db.transaction() as s:
        cur = queries.get_article(s, aid).current_revision
        assert cur is not None
        writes.edit_article(s, who, aid, title=cur.title, body=body,
                              references=cur.references)


def _mail(db: Any, kind: str) -> list[OutboxMessage]:
    with db.reading() as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))
        s.expunge_all()
        return rows


@pytest.fixture
def revised(db: Any, people: Any) -> int:
    aid = _approved(db, people)
    _edit(db, people["editor"], aid)
    assert state(db, aid) == "draft"
    return aid


def test_the_editor_who_revised_it_may_submit_it(db: Any, people: Any, revised: int) -> None:
    with db.reading() as s:
        article = queries.get_article(s, revised)
        assert "submit" in queries.allowed_actions(s, people["editor"], article)
    result = act(db, people["editor"], revised, "submit")
    assert (result.from_state, result.to_state) == ("draft", "submitted")
    assert result.event.actor_name == "Erin Editor"


def test_the_author_may_submit_the_editors_revision(db: Any, people: Any,
                                                    revised: int) -> None:
    assert act(db, people["author"], revised, "submit").to_state == "submitted"


def test_the_revising_editor_may_withdraw_it_again(db: Any, people: Any, revised: int) -> None:
    act(db, people["editor"], revised, "submit")
    assert act(db, people["editor"], revised, "withdraw").to_state == "draft"


def test_an_editor_who_did_not_revise_it_may_not_submit_it(
    db: Any, people: Any, make_user: Any, revised: int
) -> None:
    other = make_user("second-editor@example.org", "editor", name="Sam Second")
    before = snapshot(db, revised)
    with db.reading() as s:
        assert "submit" not in queries.allowed_actions(s, other,
                                                        queries.get_article(s, revised))
    with pytest.raises(PermissionDenied) as err:
        act(db, other, revised, "submit")
    assert err.value.message == (
        "Only the article's author, or an editor who revised it, may submit for review.")
    assert err.value.code == "not_the_author"
    assert snapshot(db, revised) == before


def test_an_editor_on_an_article_they_never_edited_may_not_submit(db: Any, people: Any) -> None:
    aid = create(db, people["author"])
    with pytest.raises(PermissionDenied, match="or an editor who revised it"):
        act(db, people["editor"], aid, "submit")
    assert state(db, aid) == "draft"


def test_a_reviewer_who_revised_it_is_not_an_editor_and_may_not_submit(
    db: Any, people: Any, make_user: Any
) -> None:
    """Only editors edit others' articles, but a person with both roles who revised
    may submit and, having revised, never review."""
    both = make_user("both@example.org", "editor", "reviewer", name="Dr. Both")
    aid = _approved(db, people)
    _edit(db, both, aid)
    act(db, both, aid, "submit")
    with pytest.raises(PermissionDenied) as err:
        act(db, both, aid, "start_review")
    assert err.value.code == "separation_of_duties"
    assert state(db, aid) == "submitted"


def test_the_author_is_told_by_email(db: Any, people: Any, revised: int) -> None:
    [mail] = _mail(db, "revised_by_editor")
    assert mail.recipient == "author@example.org"
    assert mail.user_id == people["author"].id
    assert mail.article_id == revised
    subject, text = render({**mail.payload, "to_name": "Alex Author"},
                           "https://reviews.example.org")
    assert subject == "Revised by an editor: High Blood Pressure"
    assert 'Erin Editor revised the approved text of your article "High Blood Pressure": ' \
        "revision 2 is a draft now." in text
    assert "Readers keep seeing the approved revision 1 until the new one is approved." in text
    assert "You or Erin Editor may submit it for review" in text
    assert "Open it: https://reviews.example.org/write/" in text


def test_the_author_is_told_once_per_revision_of_approved_text(db: Any, people: Any,
                                                               revised: int) -> None:
    _edit(db, people["editor"], revised, BODY + "\nAnother change [2].\n")  # a draft now
    assert len(_mail(db, "revised_by_editor")) == 1


def test_no_such_email_when_the_author_revises_their_own(db: Any, people: Any) -> None:
    aid = _approved(db, people)
    _edit(db, people["author"], aid)
    assert state(db, aid) == "draft"
    assert _mail(db, "revised_by_editor") == []
