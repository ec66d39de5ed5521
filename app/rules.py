"""The attendance rules that are the same everywhere (DESIGN section 2), as pure functions.

- Scheduled minutes of a course = the sum of its sessions that are not cancelled.
- Attended minutes of a mark: present = the whole session unless fewer minutes are recorded;
  late = the minutes recorded; excused, absent and no mark = 0. A cancelled session counts 0.
- Eligible for a certificate when attended / scheduled is at least the course's minimum percent.
- No hours in the future: present or late on a session that has not started yet is refused (on every
  way in: the register, "all present", the bundle); excused ahead of time is allowed.
"""

from __future__ import annotations

from datetime import date, datetime, time

from app.i18n import _

#: the marks that give hours
HOURS_STATUSES = ("present", "late")


def session_minutes(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def attended_minutes(status: str | None, minutes: int | None, scheduled: int, cancelled: bool = False) -> int:
    if cancelled or status is None:
        return 0
    if status == "present":
        return scheduled if minutes is None else max(0, min(minutes, scheduled))
    if status == "late":
        return max(0, min(minutes or 0, scheduled))
    return 0  # excused, absent


def attendance_ratio(attended: int, scheduled: int) -> float:
    return attended / scheduled if scheduled else 0.0


def is_eligible(attended: int, scheduled: int, min_percent: int) -> bool:
    """Exactly at the minimum is eligible; integer arithmetic, so no rounding surprises."""
    return scheduled > 0 and attended * 100 >= min_percent * scheduled


def can_still_reach(attended: int, remaining: int, scheduled: int, min_percent: int) -> bool:
    """Whether full attendance at the remaining sessions would still reach the minimum."""
    return is_eligible(attended + remaining, scheduled, min_percent)


def not_started(day: date, start: time, now: datetime | None = None) -> bool:
    """The session (local date and start time) has not started yet at `now` (local time)."""
    return datetime.combine(day, start) > (now or datetime.now())


def future_mark_message(day: date, start: time) -> str:
    """Why a present or late mark is refused on a session that has not started."""
    return _(
        "The session on {date} at {time} has not started yet: it cannot be marked present or late "
        "(excused can be recorded ahead of time)."
    ).format(date=day.isoformat(), time=start.strftime("%H:%M"))
