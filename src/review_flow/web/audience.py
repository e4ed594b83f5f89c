"""Who the reader says they are, and what that changes on the public page.

A revision may carry a text for healthcare professionals beside the one for patients and
caregivers (``revisions.professional_body``). The reader answers "Which best describes
you?" with a plain link (``?audience=professional``), so the choice works without
JavaScript and without an account; the answer is remembered in a cookie that carries
nothing but the choice. Neither is a form that changes data, so no CSRF token is needed,
and the page stays cacheable: the page cache keys on the audience, the HTTP cache varies
on ``Cookie``, and a response that sets the cookie is never stored by a shared cache.
"""

from __future__ import annotations

from typing import Any

from flask import Request, Response

PATIENT = "patient"
PROFESSIONAL = "professional"
AUDIENCES = (PATIENT, PROFESSIONAL)
QUERY = "audience"
COOKIE = "rf_audience"
COOKIE_MAX_AGE = 365 * 24 * 3600

LABELS = {PATIENT: "Patient or caregiver", PROFESSIONAL: "Healthcare professional"}

PATIENT_DISCLAIMER = (
    "This article is for general information and education only. It is not medical "
    "advice and does not replace a consultation with a qualified health professional "
    "who knows your situation. If you think you may have a medical emergency, call your "
    "doctor or emergency services immediately."
)
PROFESSIONAL_DISCLAIMER = (
    "This information is intended for healthcare professionals. Any medical "
    "decision-making should rely on clinical judgment and independently verified "
    "information. The content provided herein does not replace professional discretion "
    "and should be considered supplementary to established clinical guidelines. "
    "Healthcare providers should verify all information against primary literature and "
    "current practice standards before application in patient care. Review Flow assumes "
    "no liability for clinical decisions based on this content."
)
DISCLAIMERS = {
    PATIENT: ("Medical disclaimer", PATIENT_DISCLAIMER),
    PROFESSIONAL: ("Professional Medical Disclaimer", PROFESSIONAL_DISCLAIMER),
}

# schema.org: who each text is written for (``audience`` and ``medicalAudience``).
STRUCTURED = {
    PATIENT: {"@type": "MedicalAudience", "audienceType": "Patient",
              "name": "Patients and caregivers"},
    PROFESSIONAL: {"@type": "MedicalAudience", "audienceType": "Clinician",
                   "name": "Healthcare professionals"},
}


def requested(request: Request) -> str | None:
    """The audience chosen by this request's link, if it names one."""
    value = request.args.get(QUERY)
    return value if value in AUDIENCES else None


def chosen(request: Request) -> str:
    """The link's choice, else the remembered one, else patients (the default text)."""
    remembered = request.cookies.get(COOKIE)
    return requested(request) or (remembered if remembered in AUDIENCES else PATIENT)


def shown(choice: str, professional_body: str | None) -> str:
    """The audience whose text the page shows: the professional one only if it exists."""
    return PROFESSIONAL if choice == PROFESSIONAL and professional_body else PATIENT


def remember(response: Response, choice: str, *, secure: bool) -> None:
    """Keep the reader's choice for next time (a year; readable only by the server)."""
    response.set_cookie(COOKIE, choice, max_age=COOKIE_MAX_AGE, path="/", secure=secure,
                        httponly=True, samesite="Lax")


def structured(url: str, shown_audience: str, has_professional: bool) -> dict[str, Any]:
    """The JSON-LD members saying whom the shown text is for and, when there are two,
    where each version is."""
    out: dict[str, Any] = {
        "audience": STRUCTURED[shown_audience],
        "medicalAudience": STRUCTURED[shown_audience],
    }
    if has_professional:
        out["hasPart"] = [
            {"@type": "WebPageElement", "name": f"The article for {STRUCTURED[a]['name'].lower()}",
             "url": f"{url}?{QUERY}={a}", "audience": STRUCTURED[a]}
            for a in AUDIENCES
        ]
    return out
