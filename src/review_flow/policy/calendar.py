"""Calendar arithmetic for policy intervals ("re-review every 12 months").

A month is a calendar month, not 30.44 days: an article approved on 15 March is due on
15 March of the next year, whatever the lengths of the months between. A day that the
target month lacks is clamped to its last day (31 January + 1 month is 28 or 29
February), as a board secretary counting on a wall calendar would do.
"""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(when: datetime, months: int) -> datetime:
    """``when`` moved ``months`` calendar months on (back, if negative); the day of the
    month is clamped to the target month's length; time of day and zone are kept."""
    index = when.year * 12 + (when.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)
