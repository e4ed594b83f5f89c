"""May this person sign now, as far as their credentials go?

An admin verifies a board member's credentials (licence, board certification) and
records the last day that check holds (``users.credentials_verified_until``). After that
day the member cannot approve or reject until an admin verifies them again. A member
never verified may sign only while the policy does not ask for verification
(``require_verified_credentials``).
"""

from __future__ import annotations

from datetime import date, timedelta

from review_flow.errors import SignatureRefused
from review_flow.policy.models import PolicySettings
from review_flow.users.models import User


def lapsed(verified_until: date | None, today: date) -> bool:
    """True when a verification was recorded and its last day has passed."""
    return verified_until is not None and verified_until < today


def signing_refusal(user: User, policy: PolicySettings, today: date) -> SignatureRefused | None:
    """The named refusal when ``user``'s credentials do not allow signing today, else None."""
    until = user.credentials_verified_until
    if until is not None and lapsed(until, today):
        return SignatureRefused(
            f"Your credentials' verification lapsed on {until + timedelta(days=1):%Y-%m-%d}; "
            "an admin must re-verify them before you can sign.",
            code="credentials_lapsed", verified_until=until.isoformat())
    if until is None and policy.require_verified_credentials:
        return SignatureRefused(
            "Your credentials have not been verified; the policy requires an admin to "
            "verify them before you can sign.", code="credentials_unverified")
    return None
