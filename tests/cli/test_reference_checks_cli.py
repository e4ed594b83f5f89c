"""The CLI's reference checks and ``act … approve --checklist-file``: refused with the
named error (exit 1), then accepted once the records are there."""

from __future__ import annotations

import json

from review_flow.policy import service as policy
from tests.cli.test_cli import add_users, cli, files  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD

ITEM = "Claims match the cited sources"


def test_checks_and_checklist_through_the_cli(cli, files, db):  # noqa: F811
    add_users(cli)
    with db.transaction() as s:
        policy.set_policy(s, changed_by=None, changes={
            "review_checks": ["references_verified"], "checklist": [ITEM]})
    aid = cli("articles", "create", "--as", "author@example.org", "--title", "BP",
              "--body-file", files["body"], "--references-file", files["refs"]).stdout.strip()
    cli("articles", "act", aid, "submit", "--as", "author@example.org")
    cli("articles", "act", aid, "start_review", "--as", "reed@example.org")
    answers = files["dir"] / "checklist.json"
    answers.write_text(json.dumps({ITEM: "no"}), encoding="utf-8")

    def approve():
        return cli("articles", "act", aid, "approve", "--as", "reed@example.org",
                   "--password-stdin", "--checklist-file", str(answers), input=PASSWORD + "\n")

    r = approve()
    assert r.exit_code == 1
    assert "Approval refused: Reference 1 (ACC/AHA guideline) is not checked yet" in r.stderr
    r = cli("articles", "check-reference", aid, "2", "problem", "--as", "reed@example.org")
    assert r.exit_code == 1 and "say what the problem is in the note" in r.stderr
    for n in ("1", "2"):
        r = cli("articles", "check-reference", aid, n, "verified", "--as", "reed@example.org")
        assert r.exit_code == 0 and f"reference {n} marked verified" in r.stdout
    r = approve()
    assert r.exit_code == 1
    assert f"you answered “no” to checklist item “{ITEM}”" in r.stderr
    answers.write_text(json.dumps({ITEM: "yes"}), encoding="utf-8")
    r = approve()
    assert r.exit_code == 0, r.stderr
    assert "-> approved" in r.stdout


def test_the_demo_approvals_carry_real_checks_and_the_allergy_article_shows_its_lint(
        cli, db):  # noqa: F811
    from sqlalchemy import select

    from review_flow.articles.models import Article, Revision
    from review_flow.articles.reference_lint import lint
    from review_flow.review_checks.models import ChecklistAnswer, ReferenceCheck
    from review_flow.signatures.models import Decision

    assert cli("demo").exit_code == 0
    with db.reading() as s:
        approvals = s.scalars(select(Decision).where(Decision.kind == "approve")).all()
        assert len(approvals) == 4  # three demo articles and the seed page's
        for d in approvals:
            answers = s.scalars(select(ChecklistAnswer).where(
                ChecklistAnswer.decision_id == d.id)).all()
            assert [a.answer for a in answers] == ["yes", "yes", "yes"]
            checked = s.scalars(select(ReferenceCheck.reference_number).where(
                ReferenceCheck.revision_id == d.revision_id,
                ReferenceCheck.reviewer_id == d.reviewer_id)).all()
            refs = s.get(Revision, d.revision_id).references  # type: ignore[union-attr]
            assert sorted(checked) == list(range(1, len(refs) + 1))
        allergy = s.scalars(select(Revision).join(Article, Article.current_revision_id
                                                  == Revision.id)
                            .where(Revision.title == "Managing Seasonal Allergies")).one()
        assert [i.message for i in lint(allergy.body, allergy.references)] == [
            "Reference 2 (Hypertension - MedlinePlus) is never cited in the body."]
        problem = s.scalars(select(ReferenceCheck).where(
            ReferenceCheck.article_id == allergy.article_id)).one()
        assert (problem.reference_number, problem.status) == (1, "problem")
    assert cli("audit", "verify").exit_code == 0
