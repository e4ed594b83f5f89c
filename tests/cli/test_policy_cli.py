"""``review-flow policy show|set``: a policy file is one version's JSON; every change is a
new version and an audit event; a refused file writes nothing and names the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from review_flow.audit.models import AuditEvent
from review_flow.cli import main
from review_flow.policy.models import PolicyVersion


@pytest.fixture
def cli(db_url: str, db: Any, people: Any, tmp_path: Path, monkeypatch: Any) -> Any:
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def _file(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "policy.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return str(path)


def _counts(db: Any) -> tuple[int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(PolicyVersion)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_show_lists_every_key_of_the_version_in_force(cli: Any) -> None:
    result = cli("policy", "show")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("policy version 1, set ")
    for key in ("required_approvals", "required_specialties", "rereview_months", "conflicts",
                "checklist", "review_due_days", "invitation_expiry_days"):
        assert f"  {key} " in result.output


def test_show_json_is_a_policy_file_that_set_reads_back(cli: Any, db: Any,
                                                        tmp_path: Path) -> None:
    shown = cli("policy", "show", "--json")
    doc = json.loads(shown.output)
    assert doc["required_approvals"] == 1 and doc["conflicts"] == "refuse"
    same = cli("policy", "set", "--file", _file(tmp_path, doc), "--as", "editor@example.org")
    assert same.exit_code == 0
    assert "no change: policy version 1 already says this" in same.output
    assert _counts(db)[0] == 1


def test_set_makes_a_new_audited_version(cli: Any, db: Any, tmp_path: Path) -> None:
    path = _file(tmp_path, {"required_approvals": 2,
                            "required_specialties": {"Cardiology": 1},
                            "conflicts": "disclose",
                            "checklist": ["Dosages checked", "Contraindications listed"]})
    result = cli("policy", "set", "--file", path, "--as", "editor@example.org",
                 "--note", "Two reviewers, one cardiologist")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "policy version 2 in force (was 1); changed: checklist, conflicts, "
        "required_approvals, required_specialties")
    doc = json.loads(cli("policy", "show", "--json").output)
    assert doc["required_specialties"] == {"cardiology": 1}
    assert doc["checklist"] == ["Dosages checked", "Contraindications listed"]
    with db.reading() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "policy.update")).one()
        assert event.actor_name == "Erin Editor"
        assert event.comment == "Two reviewers, one cardiologist"
        assert event.policy_version == 2
        assert event.client_addr == "cli"
        assert set(event.data["changes"]) == {"checklist", "conflicts", "required_approvals",
                                              "required_specialties"}
    assert "Two reviewers, one cardiologist" in cli("policy", "show").output


def test_keys_left_out_take_their_defaults_not_the_values_in_force(
    cli: Any, tmp_path: Path
) -> None:
    cli("policy", "set", "--file", _file(tmp_path, {"required_approvals": 3}),
        "--as", "editor@example.org")
    cli("policy", "set", "--file", _file(tmp_path, {"rereview_months": 6}),
        "--as", "editor@example.org")
    doc = json.loads(cli("policy", "show", "--json").output)
    assert (doc["required_approvals"], doc["rereview_months"]) == (1, 6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"required_approvals": 2, "quorum": 2}, "policy: quorum: unknown key (known keys: "),
        ('{"required_approvals": 2,}', "policy file: not valid JSON: "),
        ("[1, 2]", "policy file: must be a JSON object of policy keys"),
        ({"required_approvals": 0}, "policy: required_approvals: "),
        ({"required_approvals": "two"}, "policy: required_approvals: "),
        ({"conflicts": "ignore"}, "policy: conflicts: Input should be 'refuse' or 'disclose'"),
        ({"required_specialties": {"cardiology": 2}},
         "policy: required_specialties: required_specialties asks for 2 specialist "
         "approvals but required_approvals is 1"),
        ({"checklist": ["Dosages", "Dosages"]}, "policy: checklist: an item appears twice"),
        ({"review_checks": ["vibes"]}, "policy: review_checks: unknown review check(s): vibes"),
        ({"name": ""}, "policy: name: must not be empty"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem_and_writes_nothing(
    cli: Any, db: Any, tmp_path: Path, content: Any, message: str
) -> None:
    before = _counts(db)
    result = cli("policy", "set", "--file", _file(tmp_path, content), "--as",
                 "editor@example.org")
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert _counts(db) == before


@pytest.mark.parametrize("who", ["author@example.org", "reed@example.org",
                                 "auditor@example.org"])
def test_only_editors_and_admins_may_set_the_policy(cli: Any, db: Any, tmp_path: Path,
                                                    who: str) -> None:
    before = _counts(db)
    result = cli("policy", "set", "--file", _file(tmp_path, {"required_approvals": 2}),
                 "--as", who)
    assert result.exit_code == 1
    assert ("Error: Changing the review policy requires the editor or admin role."
            in result.output)
    assert _counts(db) == before


def test_an_admin_may_set_the_policy(cli: Any, make_user: Any, tmp_path: Path) -> None:
    make_user("root@example.org", "admin", name="Ada Admin")
    result = cli("policy", "set", "--file", _file(tmp_path, {"rereview_months": 24}),
                 "--as", "root@example.org")
    assert result.exit_code == 0, result.output
    assert "set " in cli("policy", "show").output and "by Ada Admin" in cli(
        "policy", "show").output


def test_set_help_says_who_may_set_it(cli: Any) -> None:
    text = " ".join(cli("policy", "set", "--help").output.split())
    assert "(editors and admins only)" in text
    assert "they must be an editor or an admin" in text
