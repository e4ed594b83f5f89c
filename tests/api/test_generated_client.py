"""A pipeline's view of the API: a client generated from ``/api/v1/openapi.json`` by
openapi-python-client (into a temporary folder), driving a workflow against gunicorn.

What it proves: every operation is generated with typed requests, responses (201s and
error bodies included) and the headers a pipeline must send and read, so that a draft can
be created with references and a generator, edited under If-Match, submitted, its history
read, and its creation retried under one Idempotency-Key without a second draft."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import GENERATOR
from tests.support.servers import gunicorn

PACKAGE = "review_flow_client"
# Everything the suite checks is in the document; the generator's own post-hook (ruff
# format) only restyles, and may be absent.
CONFIG = "post_hooks: []\n"


def _generator() -> Path:
    """The openapi-python-client script of this environment; skip (outside CI) without it."""
    script = Path(sys.executable).parent / "openapi-python-client"
    if not script.exists():
        if os.environ.get("CI"):
            pytest.fail("openapi-python-client is not installed: pip install -e '.[test]'")
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    return script


def _document(tmp: Path) -> dict[str, Any]:
    """The document, from an app of its own: it does not depend on the database."""
    from review_flow.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp / 'unused.db'}"})
    return app.test_client().get("/api/v1/openapi.json").json  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(the client package generated from the document, imported; the document), once."""
    script = _generator()
    tmp_path = tmp_path_factory.mktemp("client")
    spec = _document(tmp_path)
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(spec))
    (tmp_path / "config.yaml").write_text(CONFIG)
    done = subprocess.run(
        [str(script), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(tmp_path / PACKAGE), "--config", str(tmp_path / "config.yaml")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Any warning means a piece of the API was left out of the client.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        _forget()
        yield importlib.import_module(PACKAGE), spec
    finally:
        sys.path.remove(str(tmp_path))
        _forget()


def _forget() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_operation_is_generated(generated: Any) -> None:
    document = generated[1]
    operations = {(op["tags"][0], op["operationId"]) for item in document["paths"].values()
                  for method, op in item.items() if method != "description"}
    assert len(operations) >= 19
    for tag, operation in operations:
        module = _module(f"api.{tag}.{operation}")
        assert callable(module.sync_detailed), operation


def test_a_pipeline_runs_a_workflow_through_the_generated_client(
    generated: Any, db_url: str, people: Any, token_for: Any
) -> None:
    m = _module("models")
    create = _module("api.articles.create_article")
    update = _module("api.articles.update_article")
    act = _module("api.articles.act_on_article")
    history = _module("api.articles.article_history")
    get = _module("api.articles.get_article")

    token = token_for(people["author"])
    with gunicorn(db_url, workers=1) as base:
        client = generated[0].AuthenticatedClient(base_url=base, token=token,
                                               raise_on_unexpected_status=True)
        draft = m.ArticleCreate(
            title="Managing high blood pressure",
            body="Lower salt intake helps [1].",
            references=[m.Reference(title="Hypertension guideline", doi="10.1000/xyz123")],
            generator=m.Generator(**GENERATOR),
        )

        # Create: a typed 201 with ETag and Location, under an Idempotency-Key.
        first = create.sync_detailed(client=client, body=draft, idempotency_key="run-7/a-1")
        assert first.status_code == 201
        article = first.parsed
        assert isinstance(article, m.Article)
        assert article.state == m.ArticleState.DRAFT and article.version == 1
        assert isinstance(article.created_at, datetime.datetime)
        assert article.content.generator.name == GENERATOR["name"]
        assert article.content.references[0].doi == "10.1000/xyz123"
        assert first.headers["ETag"] == '"v1"'
        assert first.headers["Location"] == f"/api/v1/articles/{article.id}"
        assert "Idempotent-Replayed" not in first.headers

        # A retry under the same key: the same article, said to be a replay.
        again = create.sync_detailed(client=client, body=draft, idempotency_key="run-7/a-1")
        assert again.status_code == 201 and again.parsed.id == article.id
        assert again.headers["Idempotent-Replayed"] == "true"

        # Edit under If-Match; a stale one is a typed 409 with the current version.
        edited = m.ArticleUpdate(
            title="Managing high blood pressure in adults",
            body="Lower salt intake helps [1].",
            references=draft.references,
            generator=m.Generator(name="drafting-pipeline", model="medwriter-large",
                                  version="2026.12"),
        )
        saved = update.sync_detailed(article.id, client=client, body=edited,
                                     if_match=first.headers["ETag"])
        assert saved.status_code == 200 and saved.parsed.version == 2
        assert saved.headers["ETag"] == '"v2"'
        stale = update.sync_detailed(article.id, client=client, body=edited, if_match='"v1"')
        assert stale.status_code == 409
        assert isinstance(stale.parsed, m.ErrorResponse)
        assert stale.parsed.error.code == m.ErrorDetailCode.CONFLICT
        assert stale.parsed.error.details.current_version == 2

        # Submit, with the ETag of the edit.
        submitted = act.sync_detailed(article.id, m.ActOnArticleAction.SUBMIT, client=client,
                                      body=m.ActionRequest(), if_match=saved.headers["ETag"])
        assert submitted.status_code == 200
        assert submitted.parsed.to_state == m.ActionResponseToState.SUBMITTED

        # History: typed events, oldest first.
        events = history.sync(article.id, client=client)
        assert isinstance(events, m.EventList)
        assert [e.action for e in events.items][-1].endswith("submit")
        assert all(isinstance(e.at, datetime.datetime) for e in events.items)

        current = get.sync(article.id, client=client)
        assert current.state == m.ArticleState.SUBMITTED
        assert current.content.generator.version == "2026.12"

        # An error body is typed too: a missing article is a 404 ErrorResponse.
        missing = get.sync_detailed(2_000_000_000, client=client)
        assert missing.status_code == 404
        assert missing.parsed.error.code == m.ErrorDetailCode.NOT_FOUND
