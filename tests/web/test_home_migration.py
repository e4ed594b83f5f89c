"""Migration 0013 on a database that already holds articles: the home page's
``published_at`` and the title search are filled from what readers could see, and the
migration goes down and up again cleanly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select

from review_flow import migrate
from review_flow.articles.models import Article
from review_flow.signatures.models import Decision


def _down_and_up(db: Any) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    cfg = migrate.alembic_config(url)
    before = ScriptDirectory.from_config(cfg).get_revision("0013").down_revision
    db.engine.dispose()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, str(before))
    with db.engine.connect() as conn:
        columns = conn.exec_driver_sql("SELECT * FROM articles").keys()
    assert "published_at" not in columns
    migrate.upgrade(db.engine)


def test_upgrade_fills_the_home_page_from_existing_articles(db: Any, story: Any,
                                                            client: Any) -> None:
    approved = story.in_state("approved", title="Heart failure basics")
    retracted = story.in_state("retracted", title="Heart valve myths")
    story.in_state("under_review", title="Heart murmurs")
    revised = story.in_state("approved", title="Asthma at school")
    story.edit(revised, title="Asthma at school, revised")  # approved text stays public
    _down_and_up(db)
    with db.reading() as s:
        published = dict(s.execute(select(Article.id, Article.published_at)).all())
        signed = s.scalar(select(Decision.signed_at).where(Decision.article_id == approved))
    assert published[approved] == signed
    assert published[retracted] is None
    assert published[revised] is not None
    assert sum(1 for v in published.values() if v is not None) == 2
    html = client.get("/?q=heart").get_data(as_text=True)
    assert "Heart failure basics" in html
    assert "Heart valve myths" not in html and "Heart murmurs" not in html
    assert "Asthma at school</a>" in client.get("/?q=asthma").get_data(as_text=True)
