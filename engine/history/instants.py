"""Instants read from histories and ``--as-of``: ISO 8601 text, checked against the range followup handles.

Python's datetime holds years 1 to 9999, and a due date is an event's time plus a pack's
durations: an event in year 9999 (or a time whose offset carries it past a year's edge) would
overflow there, far from the file that caused it. So every instant a history or ``--as-of``
gives must lie in [EARLIEST, LATEST) in UTC, which leaves LATEST to year 9999 (almost a thousand
years) for a pack's durations to add up to, and as much below EARLIEST for ones subtracted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..diagnostics import FollowupError, excerpt

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# What a pack's durations may add to (or take from) an instant in range and still give a date.
HEADROOM = datetime(9999, 12, 31, tzinfo=UTC) - LATEST - timedelta(days=1)

_LEAP_SECOND = re.compile(r"\d:[0-5]\d:60(?:[.,]\d+)?(?:Z|z|[+-]\d|$)")


class InstantError(FollowupError, ValueError):
    """An instant that cannot be used; the message says why in plain words."""


def leap_second(text: str) -> bool:
    """Whether ``text`` writes second 60 (a leap second), which datetime cannot hold."""
    return _LEAP_SECOND.search(text) is not None


def leap_second_message(text: str) -> str:
    fixed = _LEAP_SECOND.sub(_to_59, text, count=1)
    return f"time {excerpt(text)}: leap seconds are not supported; write {excerpt(fixed)}"


def _to_59(match: re.Match[str]) -> str:
    return match.group(0).replace(":60", ":59", 1)


def check_range(moment: datetime, text: str) -> datetime:
    """``moment`` (aware) if it lies in the range followup handles; InstantError otherwise."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None  # its offset takes it past year 1 or 9999
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InstantError(
            f"time {excerpt(text)} is out of range: followup handles times from {EARLIEST.year} "
            f"to {LATEST.year - 1} (UTC), so that due dates computed from them stay valid dates"
        )
    return moment
