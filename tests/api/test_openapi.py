"""The OpenAPI document, and Schemathesis against it: no server errors, every response
matches the declared schema, status codes and content types."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import GENERATOR, Api, draft

EXAMPLES_PER_OPERATION = 25


def test_document_is_generated_from_the_declarations(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    create = doc["paths"]["/api/v1/articles"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(body["required"]) == {"title", "body"}
    assert body["properties"]["title"]["maxLength"] == 300
    assert {"201", "400", "401", "403", "404", "409", "413", "415", "422"} <= set(
        create["responses"]
    )
    actions = doc["paths"]["/api/v1/articles/{article_id}/actions/{action}"]["post"]
    action_param = next(p for p in actions["parameters"] if p["name"] == "action")
    assert "approve" in action_param["schema"]["enum"]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    app: Any, make_user: Any, token_for: Any
) -> None:
    everyone = make_user(
        "everyone@example.org",
        "author",
        "reviewer",
        "editor",
        "auditor",
        "admin",
        name="Every Role",
    )
    token = token_for(everyone)
    api = Api(app.test_client(), token)
    # Something to find: a few articles in several states, a webhook.
    for i in range(3):
        aid = api.post("/articles", json=draft(title=f"Seed {i}", generator=GENERATOR)).json["id"]
        if i:
            api.act(aid, "submit")
    api.post("/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]})

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()
