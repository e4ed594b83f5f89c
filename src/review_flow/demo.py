"""Demo data: people in every role and articles in every state, made through the same
services as real use (so the audit log is real too)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article, edit_article
from review_flow.audit.log import RequestContext
from review_flow.policy import service as policy
from review_flow.review_checks.references import record_check
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from review_flow.users.models import User

DEMO_PASSWORD = "demo-password"


def verified_until() -> date:
    """A year from today: the demo board's credentials are verified for the coming year."""
    return utcnow().date() + timedelta(days=365)

PEOPLE = [
    # email, name, roles, credentials, specialties
    ("author@example.org", "Alex Author", ["author"], None, []),
    ("pipeline@example.org", "Drafting Pipeline", ["author"], None, []),
    ("reed@example.org", "Dr. Maya Reed", ["reviewer"], "MD, FACP", ["Internal Medicine"]),
    ("okafor@example.org", "Dr. Chidi Okafor", ["reviewer"], "MD, MPH", ["Cardiology"]),
    ("editor@example.org", "Erin Editor", ["editor"], None, []),
    ("auditor@example.org", "Aubrey Auditor", ["auditor"], None, []),
    ("admin@example.org", "Ada Admin", ["admin"], None, []),
]

SIGN_IN_HELP = f"""Demo users (password for all: {DEMO_PASSWORD}):
  author@example.org    author
  reed@example.org      reviewer (Dr. Maya Reed, MD, FACP)
  okafor@example.org    reviewer (Dr. Chidi Okafor, MD, MPH)
  editor@example.org    editor
  auditor@example.org   auditor
  admin@example.org     admin"""

# The board's checklist (the demo policy's), answered on every approval.
CHECKLIST = (
    "Claims match the cited sources",
    "Dosages and contraindications checked",
    "Plain-language version suitable for patients",
)

REFS = {
    "bp": [
        {
            "title": "2017 ACC/AHA Guideline for High Blood Pressure in Adults",
            "doi": "10.1161/HYP.0000000000000065",
        },
        {
            "title": "Hypertension - MedlinePlus",
            "url": "https://medlineplus.gov/highbloodpressure.html",
        },
    ],
    "flu": [
        {"title": "Prevention and Control of Seasonal Influenza with Vaccines", "pmid": "37616235"},
        {
            "title": "Influenza (Seasonal) fact sheet",
            "url": "https://www.who.int/news-room/fact-sheets/detail/influenza-(seasonal)",
        },
    ],
    "sleep": [
        {"title": "Recommended Amount of Sleep for a Healthy Adult", "doi": "10.5664/jcsm.4758"},
    ],
    "vitd": [
        {
            "title": "Vitamin D - Fact Sheet for Health Professionals",
            "url": "https://ods.od.nih.gov/factsheets/VitaminD-HealthProfessional/",
        },
        {
            "title": "Vitamin D Supplements and Prevention of Cancer and Cardiovascular Disease",
            "doi": "10.1056/NEJMoa1809944",
        },
    ],
}

ARTICLES = [
    (
        "Understanding High Blood Pressure",
        "High blood pressure (hypertension) often has no symptoms [1].\n\n"
        "## What the numbers mean\n\n"
        "A reading of 130/80 mm Hg or higher is considered high [1].\n\n"
        "## What you can do\n\n- Eat less salt\n- Stay active\n"
        "- Take medicines as prescribed [2]\n",
        "bp",
    ),
    (
        "Seasonal Flu Vaccination: Who Should Get It",
        "Annual influenza vaccination is recommended for everyone aged 6 months and older [1].\n\n"
        "Vaccination lowers the risk of severe illness and hospitalisation [2].\n",
        "flu",
    ),
    (
        "How Much Sleep Do Adults Need?",
        "Adults should sleep 7 or more hours per night on a regular basis [1].\n",
        "sleep",
    ),
    (
        "Vitamin D: Benefits and Risks",
        "Vitamin D helps the body absorb calcium [1]. Large trials found that supplements did not "
        "lower cancer or cardiovascular risk in healthy adults [2].\n",
        "vitd",
    ),
]


def has_users(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def load(session: Session) -> None:
    ctx = RequestContext(request_id="demo", client_addr="cli")
    people: dict[str, User] = {}
    for email, name, roles, creds, specs in PEOPLE:
        people[email] = users.add_user(
            session,
            email=email,
            name=name,
            roles=roles,
            password=DEMO_PASSWORD,
            credentials=creds,
            specialties=specs,
            # Board members' credentials were checked by the admin for the coming year.
            credentials_verified_until=verified_until() if "reviewer" in roles else None,
            context=ctx,
        )
    policy.set_policy(
        session,
        changed_by=people["editor@example.org"],
        changes={
            "name": "Medical Advisory Board policy",
            "review_checks": ["checklist", "references_verified", "conflict_of_interest"],
            "checklist": list(CHECKLIST),
            "require_verified_credentials": True,
        },
        note="Demo: the board's stricter policy with review checks on",
        context=ctx,
    )
    author = Actor(people["author@example.org"], context=ctx)
    pipeline = Actor(people["pipeline@example.org"], context=ctx)
    reed = Actor(people["reed@example.org"], context=ctx)
    okafor = Actor(people["okafor@example.org"], context=ctx)
    editor = Actor(people["editor@example.org"], context=ctx)
    # The board's checks are records: each reference checked, the checklist answered.
    checks = {"conflict_of_interest": "none"}
    answers = {item: "yes" for item in CHECKLIST}

    def make(title: str, body: str, refs: str, who: Actor = author, gen: dict | None = None) -> int:
        return create_article(
            session, who, title=title, body=body, references=REFS[refs], generator=gen
        ).id

    def act(a: Actor, aid: int, action: str, **kw: object) -> None:
        if action in ("approve", "reject"):
            kw.setdefault("password", DEMO_PASSWORD)
        if action == "approve":
            kw.setdefault("attestations", checks)
            kw.setdefault("checklist", answers)
            verify_references(a, aid)
        perform_action(session, a, aid, action, **kw)  # type: ignore[arg-type]

    def verify_references(a: Actor, aid: int) -> None:
        """The reviewer's check of every reference of the text under review."""
        rev = get_article(session, aid).current_revision
        assert rev is not None
        for n in range(1, len(rev.references) + 1):
            record_check(session, a, aid, n, "verified")

    # approved
    bp = make(*ARTICLES[0])
    act(author, bp, "submit")
    act(reed, bp, "start_review")
    act(reed, bp, "approve")
    # approved, then revised: readers still see the approved text
    flu = make(
        *ARTICLES[1],
        who=pipeline,
        gen={"name": "demo-writer", "model": "example-model", "version": "2026.11"},
    )
    act(pipeline, flu, "submit")
    act(okafor, flu, "start_review")
    act(okafor, flu, "approve")
    title, body, refs = ARTICLES[1]
    edit_article(
        session,
        pipeline,
        flu,
        title=title,
        body=body + "\nPeople with egg allergy can receive any licensed vaccine [1].\n",
        references=REFS[refs],
        generator={"name": "demo-writer", "model": "example-model", "version": "2026.11"},
    )
    # under review
    sleep = make(*ARTICLES[2])
    act(author, sleep, "submit")
    act(reed, sleep, "start_review")
    # changes requested
    vitd = make(*ARTICLES[3])
    act(author, vitd, "submit")
    act(okafor, vitd, "start_review")
    act(
        okafor,
        vitd,
        "request_changes",
        comment="Please state the recommended daily intake and cite the source.",
    )
    # submitted
    sub = make(
        "Managing Seasonal Allergies", "Antihistamines relieve sneezing and itching [1].\n", "bp"
    )
    act(author, sub, "submit")
    # Its lint says reference 2 is never cited; a board member flags reference 1 (a
    # blood-pressure guideline cited for a claim about antihistamines).
    record_check(session, okafor, sub, 1, "problem",
                 "A hypertension guideline: it says nothing about antihistamines for allergies.")
    # draft
    make(
        "Early Signs of Type 2 Diabetes",
        "Common early signs include thirst and fatigue.\n",
        "sleep",
    )
    # rejected
    rej = make("Detox Teas Cure Everything", "Detox teas remove toxins [1].\n", "sleep")
    act(author, rej, "submit")
    act(reed, rej, "start_review")
    act(reed, rej, "reject", comment="The claim is not supported by the cited evidence.")
    # retracted
    ret = make("Antibiotics for the Common Cold", "Antibiotics do not help colds [1].\n", "flu")
    act(author, ret, "submit")
    act(okafor, ret, "start_review")
    act(okafor, ret, "approve")
    act(editor, ret, "retract", comment="Superseded by an updated guideline; under revision.")
