"""One set of limits for every field of every record, whatever way it comes in (forms, bundle,
participant list, sync): lengths as the forms allow, no control characters (tab and newline only
in multi-line fields), numbers finite and within sensible bounds.

    problems = check_record("participants", {"first_name": "Åsa", ...})   # [] when all is well

Values are Python values as the models hold them (str, int, Decimal, date, ...). A problem names
the field and the rule, never the value (it may be personal data).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, String, Text

from app.errors import Problem
from app.i18n import _

TEXT_MAX = 10_000  # a Text field (description, note, ...) as the forms allow
INT_MAX = 2**31 - 1
# per-field bounds where the domain has them (table.field -> (low, high))
BOUNDS: dict[str, tuple[int, int]] = {
    "courses.capacity": (0, 10_000),
    "courses.min_attendance_percent": (0, 100),
    "attendance.minutes": (0, 24 * 60),
}
MONEY_MAX = Decimal("100000000")  # SEK, two decimals
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # everything below space except tab (09) and newline (0a)
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def _columns():
    from app.models import SYNCED_MODELS

    return {m.__tablename__: {c.key: c for c in m.__table__.columns} for m in SYNCED_MODELS}


_COLUMNS: dict[str, dict[str, Any]] | None = None


def check_value(table: str, field: str, value: Any) -> str | None:
    """The problem with one value, or None."""
    global _COLUMNS
    if _COLUMNS is None:
        _COLUMNS = _columns()
    column = _COLUMNS.get(table, {}).get(field)
    if column is None or value is None:
        return None
    kind = column.type
    if isinstance(value, str):
        limit = kind.length if isinstance(kind, String) and kind.length else TEXT_MAX
        if len(value) > limit:
            return _("longer than {n} characters").format(n=limit)
        pattern = _CONTROL if isinstance(kind, Text) else _CONTROL_SINGLE_LINE
        if pattern.search(value):
            return _("contains a control character")
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return _("not a finite number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            return _("not a finite number")
        if abs(value) >= MONEY_MAX or value.as_tuple().exponent < -2:  # type: ignore[operator]
            return _("not an amount with at most two decimals")
        return None
    if isinstance(kind, Integer) and isinstance(value, int):
        low, high = BOUNDS.get(f"{table}.{field}", (-INT_MAX, INT_MAX))
        if not low <= value <= high:
            return _("must be between {low} and {high}").format(low=low, high=high)
    if isinstance(kind, Numeric) and isinstance(value, (int, float)) and abs(value) >= MONEY_MAX:
        return _("not an amount with at most two decimals")
    return None


def check_record(table: str, values: dict[str, Any], record_id: str = "") -> list[Problem]:
    out = []
    for field, value in values.items():
        problem = check_value(table, field, value)
        if problem:
            out.append(Problem(field, problem, table, record_id))
    return out
