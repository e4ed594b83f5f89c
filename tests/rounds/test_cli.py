"""The board's process on the command line (DESIGN.md, contracts added with the policy
work): assign, respond, approve with --conflict, show --json with the round."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PASSWORD


def add(cli, email, role, *extra):
    r = cli("users", "add", email, "--name", email.split("@")[0].title(), "--role", role,
            *extra, "--password-stdin", input=PASSWORD + "\n")
    assert r.exit_code == 0, r.stderr


@pytest.fixture
def submitted(cli, files, db):
    add(cli, "author@example.org", "author")
    add(cli, "reed@example.org", "reviewer", "--credentials", "MD, FACP")
    add(cli, "heart@example.org", "reviewer", "--credentials", "MD", "--specialty", "Cardiology")
    add(cli, "editor@example.org", "editor")
    from review_flow.policy import service as policy

    with db.transaction() as s:
        policy.set_policy(s, changed_by=None, changes={
            "required_approvals": 2, "required_specialties": {"cardiology": 1},
            "review_checks": ["conflict_of_interest"], "require_assignment": True})
    r = cli("articles", "create", "--as", "author@example.org", "--title", "Blood pressure",
            "--body-file", files["body"], "--references-file", files["refs"])
    aid = r.stdout.strip()
    assert cli("articles", "act", aid, "submit", "--as", "author@example.org").exit_code == 0
    return aid


def test_assign_accept_declare_approve_and_show(cli, submitted):
    aid = submitted
    r = cli("articles", "assign", aid, "--reviewer", "reed@example.org",
            "--as", "editor@example.org", "--due", "2099-01-31")
    assert r.exit_code == 0, r.stderr
    assert "Reed invited" in r.stdout and "review due 2099-01-31" in r.stdout
    r = cli("articles", "assign", aid, "--reviewer", "heart@example.org",
            "--as", "editor@example.org")
    assert r.exit_code == 0, r.stderr
    for who in ("reed", "heart"):
        r = cli("articles", "respond", aid, "accept", "--as", f"{who}@example.org")
        assert r.exit_code == 0 and r.stdout.endswith("accepted\n"), r.stdout
    assert cli("articles", "act", aid, "start_review", "--as", "reed@example.org").exit_code == 0
    r = cli("articles", "act", aid, "approve", "--as", "reed@example.org", "--password-stdin",
            input=PASSWORD + "\n")
    assert r.exit_code == 1
    assert "policy asks you to declare any conflict of interest" in r.stderr
    r = cli("articles", "act", aid, "approve", "--as", "reed@example.org", "--password-stdin",
            "--conflict", "none", input=PASSWORD + "\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().endswith(
        "approvals 1/2; still needed: 1 more approval from cardiology")
    r = cli("articles", "show", aid, "--json")
    data = json.loads(r.stdout)
    assert "review_due" in data
    rnd = data["round"]
    assert (rnd["number"], rnd["policy_version"], rnd["open"]) == (1, 2, True)
    assert [(a["reviewer"]["email"], a["state"], a["overdue"]) for a in rnd["assignments"]] == [
        ("reed@example.org", "completed", False), ("heart@example.org", "accepted", False)]
    assert rnd["assignments"][0]["review_due"].startswith("2099-01-31")
    assert all(a["response_due"] for a in rnd["assignments"])
    assert [a["reviewer"] for a in rnd["approvals"]] == ["Reed, MD, FACP"]
    assert rnd["still_missing"] == "1 more approval from cardiology"
    r = cli("articles", "act", aid, "approve", "--as", "heart@example.org", "--password-stdin",
            "--conflict", "none", input=PASSWORD + "\n")
    assert r.exit_code == 0 and "under_review -> approved" in r.stdout, r.stderr
    assert cli("audit", "verify").exit_code == 0


def test_cli_refusals_are_named(cli, submitted):
    aid = submitted
    r = cli("articles", "assign", aid, "--reviewer", "author@example.org",
            "--as", "editor@example.org")
    assert r.exit_code == 1
    assert "Author is not a board member (no reviewer role)" in r.stderr
    r = cli("articles", "assign", aid, "--reviewer", "reed@example.org",
            "--as", "editor@example.org", "--due", "31/01/2099")
    assert r.exit_code == 1 and "--due '31/01/2099': not a date (YYYY-MM-DD)" in r.stderr
    r = cli("articles", "respond", aid, "accept", "--as", "reed@example.org")
    assert r.exit_code == 1 and "You have no assignment on round 1" in r.stderr
    cli("articles", "assign", aid, "--reviewer", "reed@example.org", "--as", "editor@example.org")
    r = cli("articles", "respond", aid, "decline", "--as", "reed@example.org")
    assert r.exit_code == 1 and "Give the reason for declining." in r.stderr
    r = cli("articles", "act", aid, "start_review", "--as", "heart@example.org")
    assert r.exit_code == 1 and "policy lets only an accepted assignee act" in r.stderr
    r = cli("articles", "act", aid, "submit", "--as", "author@example.org", "--conflict", "none")
    assert r.exit_code == 1 and "--conflict is declared with an approval only" in r.stderr
