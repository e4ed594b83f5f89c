"""The "Review policy" page: every key of the version in force, a form that makes a new
audited version, the earlier versions with what changed, and refusals that name the key
and write nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.audit.models import AuditEvent
from review_flow.policy import service as policy_service
from review_flow.policy.models import PolicyVersion


def form_of(html: str) -> dict[str, Any]:
    """The policy form's fields as the page filled them in (what a browser would send)."""
    form = html[html.index('class="stack policy-form"'):html.index("</form>",
                                                                 html.index("policy-form"))]
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        if name.group(1) == "review_checks":
            data.setdefault("review_checks", []).append(value.group(1) if value else "")
        else:
            data[name.group(1)] = value.group(1) if value else ""
    for name, text in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>',
                                 form):
        data[name] = text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    return data


def _counts(db: Any) -> tuple[int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(PolicyVersion)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_the_page_shows_every_key_of_the_version_in_force(as_role: Any) -> None:
    html = as_role("editor").get("/policy").get_data(as_text=True)
    assert "<h1>Review policy</h1>" in html
    assert "In force: version 1" in html
    for label in ("Approvals required", "Approvals required by specialty",
                  "Re-review interval (months)", "Conflicts of interest", "Checklist items",
                  "Response due (days)", "Review due (days)", "Reminder (days before due)",
                  "Escalation (days after due)", "Invitation expires after (days)",
                  "Assignment required", "Reviewers may claim unassigned articles",
                  "Show articles pending review to readers", "Review checks"):
        assert f"<dt>{label}</dt>" in html, label
        assert f">{label}" in html.split('id="change-heading"')[1], label
    assert 'href="/policy">Review policy</a>' in html  # in the navigation


def test_saving_the_form_makes_a_new_version_and_an_audit_event(as_role: Any, db: Any) -> None:
    editor = as_role("editor")
    data = form_of(editor.get("/policy").get_data(as_text=True))
    data.update(required_approvals="2", required_specialties="Cardiology: 1\n\n",
                checklist="Dosages checked\r\nContraindications listed\r\n",
                conflicts="disclose", note="Two reviewers, one cardiologist")
    response = editor.post("/policy", data)
    assert response.status_code == 303
    page = editor.get("/policy").get_data(as_text=True)
    assert "Policy version 2 is in force. Changed: Approvals required, Approvals required " \
           "by specialty, Conflicts of interest, Checklist items." in page
    assert "In force: version 2" in page
    assert "cardiology: 1" in page
    with db.reading() as s:
        version, settings = policy_service.active_policy(s)
        assert version == 2
        assert settings.required_specialties == {"cardiology": 1}
        assert settings.checklist == ("Dosages checked", "Contraindications listed")
        assert settings.conflicts == "disclose"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "policy.update")).one()
        assert event.actor_name == "Erin Editor"
        assert event.comment == "Two reviewers, one cardiologist"
        assert event.request_id and event.client_addr
        assert set(event.data["changes"]) == {"required_approvals", "required_specialties",
                                              "conflicts", "checklist"}
    history = page.split('id="history-heading"')[1]
    assert "Erin Editor" in history and "Two reviewers, one cardiologist" in history
    assert "<li>Approvals required: 2</li>" in history
    assert "The first policy" in history


def test_an_unchanged_form_makes_no_version(as_role: Any, db: Any) -> None:
    editor = as_role("editor")
    data = form_of(editor.get("/policy").get_data(as_text=True))
    before = _counts(db)
    assert editor.post("/policy", data).status_code == 303
    assert "Nothing changed" in editor.get("/policy").get_data(as_text=True)
    assert _counts(db) == before


def test_an_admin_may_change_it_too(as_role: Any) -> None:
    admin = as_role("admin")
    data = form_of(admin.get("/policy").get_data(as_text=True))
    data["rereview_months"] = "6"
    assert admin.post("/policy", data).status_code == 303
    assert "In force: version 2" in admin.get("/policy").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"required_approvals": "two"}, "required_approvals",
         "must be a whole number, not &#39;two&#39;"),
        ({"required_approvals": "0"}, "required_approvals",
         "Input should be greater than or equal to 1"),
        ({"required_specialties": "cardiology"}, "required_specialties",
         "line 1 (&#39;cardiology&#39;) should read &#39;specialty: count&#39;"),
        ({"required_specialties": "cardiology: 2"}, "required_specialties",
         "asks for 2 specialist approvals but required_approvals is 1"),
        ({"checklist": "Dosages\nDosages"}, "checklist", "an item appears twice"),
        ({"conflicts": "ignore"}, "conflicts", "Input should be &#39;refuse&#39; or"),
        ({"review_due_days": "999"}, "review_due_days", "less than or equal to 180"),
        ({"note": "x" * 501}, "note", "at most 500 characters"),
        ({"name": "  "}, "name", "must not be empty"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key_and_writes_nothing(
    as_role: Any, db: Any, change: dict[str, str], key: str, message: str
) -> None:
    editor = as_role("editor")
    data = form_of(editor.get("/policy").get_data(as_text=True))
    data.update(change)
    before = _counts(db)
    response = editor.post("/policy", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was saved" in html
    assert message in html
    assert f'href="#{key}"' in html
    # What was typed stays in the form (a radio button can only show its own choices).
    typed = next(iter(change.values()))
    if key not in ("note", "conflicts"):
        assert typed.split("\n")[0] in html
    assert _counts(db) == before


def test_a_form_saved_against_an_older_version_is_refused(as_role: Any, db: Any,
                                                          story: Any) -> None:
    editor = as_role("editor")
    data = form_of(editor.get("/policy").get_data(as_text=True))
    story.set_policy(rereview_months=24)  # another editor saves first
    data["required_approvals"] = "2"
    before = _counts(db)
    response = editor.post("/policy", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The policy changed while you were editing it: version 2 is in force now, not 1." \
        in html
    assert _counts(db) == before
    # Having seen it, saving again applies the change on top of version 2.
    again = form_of(html)
    assert again["expected_version"] == "2" and again["required_approvals"] == "2"
    assert editor.post("/policy", again).status_code == 303


def test_earlier_versions_are_paged(as_role: Any, story: Any, monkeypatch: Any) -> None:
    from review_flow.web import policy_page

    monkeypatch.setattr(policy_page, "HISTORY_PAGE", 2)
    for months in (6, 7, 8):
        story.set_policy(rereview_months=months)
    editor = as_role("editor")
    first = editor.get("/policy").get_data(as_text=True).split('id="history-heading"')[1]
    assert "<td>4 <span" in first and "<td>3</td>" in first and "<td>2</td>" not in first
    assert 'href="/policy?before=3#history-heading"' in first
    second = editor.get("/policy?before=3").get_data(as_text=True).split(
        'id="history-heading"')[1]
    assert "<td>2</td>" in second and "<td>1</td>" in second
    assert "Re-review interval (months): 6" in second
    assert "Older versions" not in second


def test_every_policy_key_has_a_label_and_a_field(as_role: Any) -> None:
    """A key added to the policy model shows up here, or this fails."""
    from review_flow.policy import document
    from review_flow.web import policy_page

    assert set(document.KEYS) <= set(policy_page.LABELS)
    form = form_of(as_role("admin").get("/policy").get_data(as_text=True))
    html = as_role("admin").get("/policy").get_data(as_text=True)
    for key in document.KEYS:
        assert key in form or f'name="{key}"' in html, key
