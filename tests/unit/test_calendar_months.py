"""Re-review dates are counted in calendar months with the day clamped, never in days."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from review_flow.policy.calendar import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, 30, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, 30, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC), 12,
         datetime(2025, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), 48, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 3, 15, 12, tzinfo=UTC), 12, datetime(2027, 3, 15, 12, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 12, 31, tzinfo=UTC), 1, datetime(2027, 1, 31, tzinfo=UTC)),
        (datetime(2026, 8, 31, tzinfo=UTC), 1, datetime(2026, 9, 30, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), -1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 5, 10, tzinfo=UTC), 0, datetime(2026, 5, 10, tzinfo=UTC)),
    ],
)
def test_add_months_on_the_calendar(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_twelve_months_is_not_365_days_times_anything() -> None:
    """The old rule (months x 30.44 days) put a 12-month review across a leap year on
    14 March, not 15; and one month from 1 February on 3 March, not 1 March."""
    start = datetime(2027, 3, 15, 8, tzinfo=UTC)
    assert (start + timedelta(days=round(12 * 30.44))).date().isoformat() == "2028-03-14"
    assert add_months(start, 12) == datetime(2028, 3, 15, 8, tzinfo=UTC)
    february = datetime(2026, 2, 1, tzinfo=UTC)
    assert (february + timedelta(days=round(30.44))).date().isoformat() == "2026-03-03"
    assert add_months(february, 1) == datetime(2026, 3, 1, tzinfo=UTC)


_zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])


@given(
    start=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2900, 12, 31),
                       timezones=_zones),
    months=st.integers(min_value=-1200, max_value=1200),
)
def test_add_months_properties(start: datetime, months: int) -> None:
    moved = add_months(start, months)
    # The right month ...
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    # ... the same day, or that month's last day when it has no such day ...
    last = calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(start.day, last)
    # ... and the same time of day, in the same zone.
    assert moved.timetz() == start.timetz()
    assert moved.tzinfo is start.tzinfo


@given(start=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2900, 12, 1)),
       months=st.integers(min_value=0, max_value=600))
def test_add_months_never_goes_backwards(start: datetime, months: int) -> None:
    assert add_months(start, months) >= start
