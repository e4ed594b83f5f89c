"""``articles create --professional-body-file`` and the demo's seed article."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from review_flow import demo_seed
from review_flow.articles.content import content_hash
from review_flow.articles.models import Article, Revision
from tests.cli.test_cli import add_users, cli, files  # noqa: F401 - fixtures
from tests.core.helpers import BODY, REFS

PRO = "Offer a thiazide-type diuretic first [1].\n"


def test_articles_create_takes_a_professional_text(cli: Any, files: Any, db: Any) -> None:  # noqa: F811
    add_users(cli)
    pro = files["dir"] / "pro.md"
    pro.write_text(PRO, encoding="utf-8")
    r = cli("articles", "create", "--as", "author@example.org", "--title", "High Blood Pressure",
            "--body-file", files["body"], "--professional-body-file", str(pro),
            "--references-file", files["refs"])
    assert r.exit_code == 0, r.stderr
    article_id = int(r.stdout.strip())
    shown = json.loads(cli("articles", "show", str(article_id), "--json").stdout)
    assert shown["current_revision"]["content_hash"] == content_hash(
        "High Blood Pressure", BODY, REFS, PRO)
    with db.reading() as s:
        assert s.scalar(select(Revision.professional_body)) == PRO
    # edit keeps the professional text unless a new file is given
    title = files["dir"] / "t.md"
    title.write_text(BODY + "More.\n", encoding="utf-8")
    r = cli("articles", "edit", str(article_id), "--as", "author@example.org",
            "--body-file", str(title))
    assert r.exit_code == 0 and "revision 2" in r.stdout, r.stderr
    with db.reading() as s:
        rev = s.scalar(select(Revision).where(Revision.number == 2))
        assert rev.professional_body == PRO


def test_the_demo_has_the_seed_article_approved_in_both_texts(cli: Any, db: Any) -> None:  # noqa: F811
    assert cli("demo").exit_code == 0
    with db.reading() as s:
        article = s.scalar(select(Article).where(Article.approved_revision_id.is_not(None),
                                                 Article.author.has(email="pipeline@example.org"),
                                                 Article.state == "approved"))
        assert article is not None
        rev = article.approved_revision
        assert rev.title == demo_seed.TITLE
        assert rev.professional_body == demo_seed.PROFESSIONAL_BODY
        assert rev.generator == demo_seed.GENERATOR
        assert len(rev.references) == len(demo_seed.REFERENCES)
    assert cli("audit", "verify").exit_code == 0
