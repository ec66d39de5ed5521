"""One set of limits for every field of every record, whatever way it comes in (forms, bundle,
participant list, sync): lengths as the forms allow, no control characters (tab and newline only
in multi-line fields), numbers finite and within sensible bounds; and the limits of the files that
bring records in (JSON nesting and number sizes, participant lists' sizes).

    problems = check_record("participants", {"first_name": "Åsa", ...})   # [] when all is well
    data = parse_json(raw_bytes)     # a ValidationError (one line) for JSON that is too deep ...

Values are Python values as the models hold them (str, int, Decimal, date, ...). A problem names
the field and the rule, never the value (it may be personal data).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, Text

from app.errors import Problem, ValidationError
from app.i18n import _

TEXT_MAX = 10_000  # a Text field (description, note, ...) as the forms allow
INT_MAX = 2**31 - 1
# per-field bounds where the domain has them (table.field -> (low, high))
BOUNDS: dict[str, tuple[int, int]] = {
    "courses.capacity": (0, 10_000),
    "courses.min_attendance_percent": (0, 100),
    "attendance.minutes": (0, 24 * 60),
}
# per-field lengths where a Text column holds more than a form's text
LENGTHS: dict[str, int] = {
    "certificates.document": 1_000_000,
    # a closed month: every participant's hours, the summary's figures, the files' checksums (JSON)
    "month_closes.hours": 5_000_000,
    "month_closes.figures": 1_000_000,
    "month_closes.files": 100_000,
}
MONEY_MAX = Decimal("100000000")  # SEK, two decimals (Numeric(10, 2))
_CENT = Decimal("0.01")
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2199, 12, 31)

# C0 and C1 controls, DEL, lone surrogates (not storable as UTF-8), non-characters and the Unicode
# line and paragraph separators; multi-line fields may hold tab (09) and newline (0a).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")

# --- files -----------------------------------------------------------------------------------
JSON_MAX_DEPTH = 64  # a bundle needs 4 levels
JSON_MAX_DIGITS = 30  # digits of a JSON number (an amount, minutes, a capacity need far fewer)
BUNDLE_MAX_BYTES = 2 * 1024**3
LIST_MAX_BYTES = 50 * 1024**2  # a participant list (.csv or .xlsx); 20,000 people take ~2 MB
LIST_MAX_ROWS = 100_000
LIST_MAX_COLUMNS = 100  # columns read from a sheet; more are ignored
CELL_MAX_CHARS = 10_000  # a cell of a list (no field takes more; Excel's own limit is 32,767)
XLSX_MAX_ENTRY_BYTES = 64 * 1024**2  # one part of the workbook (a sheet, the shared strings), unpacked
XLSX_MAX_TOTAL_BYTES = 256 * 1024**2
XLSX_MAX_ENTRIES = 10_000


def _columns():
    from app.models import SYNCED_MODELS

    return {m.__tablename__: {c.key: c for c in m.__table__.columns} for m in SYNCED_MODELS}


_COLUMNS: dict[str, dict[str, Any]] | None = None


def _column(table: str, field: str):
    global _COLUMNS
    if _COLUMNS is None:
        _COLUMNS = _columns()
    return _COLUMNS.get(table, {}).get(field)


def text_limit(table: str, field: str) -> int | None:
    """The most characters `table.field` may hold (None for a field that is not text)."""
    column = _column(table, field)
    if column is None:
        return None
    kind = column.type
    if isinstance(kind, String) and kind.length and not isinstance(kind, Text):
        return kind.length
    if isinstance(kind, (String, Text)):
        return LENGTHS.get(f"{table}.{field}", TEXT_MAX)
    return None


def check_text(value: str, limit: int, multiline: bool = False) -> str | None:
    """The problem with a text of at most `limit` characters, or None."""
    if len(value) > limit:
        return _("longer than {n} characters").format(n=limit)
    if (_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(value):
        return _("contains a control character")
    return None


def _amount_problem(value: Decimal) -> str | None:
    if not value.is_finite():
        return _("not a finite number")
    if abs(value) >= MONEY_MAX or value != value.quantize(_CENT):
        return _("not an amount with at most two decimals")
    return None


def check_value(table: str, field: str, value: Any, *, raw: bool = False) -> str | None:
    """The problem with one value, or None. `raw`: the text as it came, before it is trimmed and
    normalised (a looser length, so that surrounding spaces are no problem; control characters
    count already)."""
    column = _column(table, field)
    if column is None or value is None:
        return None
    if isinstance(value, BadNumber):
        return value.reason
    kind = column.type
    if isinstance(value, str):
        limit = text_limit(table, field)
        if limit is None:
            return None  # a date, a number ... written as text: its own conversion checks it
        if raw and len(value) <= limit * 2 + 100:
            limit = len(value)  # within the loose bound: its normalised form is checked later
        problem = check_text(value, limit, multiline=isinstance(kind, Text))
        if problem and len(value) > limit:
            return _("longer than {n} characters").format(n=text_limit(table, field))
        return problem
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return _("not a finite number")
        if isinstance(kind, Numeric):
            return _amount_problem(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _amount_problem(value)
    if isinstance(kind, Integer) and isinstance(value, int):
        low, high = BOUNDS.get(f"{table}.{field}", (-INT_MAX, INT_MAX))
        if not low <= value <= high:
            return _("must be between {low} and {high}").format(low=low, high=high)
    if isinstance(kind, Numeric) and isinstance(value, int):
        return _amount_problem(Decimal(value))
    if isinstance(kind, (Date, DateTime)) and isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        if not DATE_MIN <= day <= DATE_MAX:
            return _("a date between {first} and {last}").format(first=DATE_MIN.isoformat(), last=DATE_MAX.isoformat())
    return None


@cache
def value_checker(table: str, field: str, raw: bool = False) -> Callable[[Any], str | None]:
    """check_value(table, field, ·, raw=raw) as a function made once per field: the same answers,
    fast for the common case (a bundle of 20,000 people checks millions of values)."""
    column = _column(table, field)
    if column is None:
        return lambda value: None
    limit = text_limit(table, field)
    if limit is not None:
        pattern = _CONTROL if isinstance(column.type, Text) else _CONTROL_SINGLE_LINE
        bound = limit * 2 + 100 if raw else limit

        def text(value: Any) -> str | None:
            if value.__class__ is str and len(value) <= bound and not pattern.search(value):
                return None
            return check_value(table, field, value, raw=raw)

        return text
    if isinstance(column.type, (Date, DateTime)):
        first, last = datetime.combine(DATE_MIN, time.min), datetime.combine(DATE_MAX, time.max)

        def day(value: Any) -> str | None:
            kind = value.__class__
            if value is None or kind is str:  # text is the date converter's to check
                return None
            if kind is datetime and first <= value <= last or kind is date and DATE_MIN <= value <= DATE_MAX:
                return None
            return check_value(table, field, value, raw=raw)

        return day
    if isinstance(column.type, Integer) and not isinstance(column.type, Boolean):
        low, high = BOUNDS.get(f"{table}.{field}", (-INT_MAX, INT_MAX))

        def integer(value: Any) -> str | None:
            if value is None or value.__class__ is int and low <= value <= high:
                return None
            return check_value(table, field, value, raw=raw)

        return integer
    return lambda value: None if value is None else check_value(table, field, value, raw=raw)


def check_record(table: str, values: dict[str, Any], record_id: str = "") -> list[Problem]:
    out = []
    for field, value in values.items():
        problem = check_value(table, field, value)
        if problem:
            out.append(Problem(field, problem, table, record_id))
    return out


def check_into(checker, table: str, values: dict[str, Any]) -> None:
    """Add the problems of `values` to a services' Checker (app.services._checks), for the fields
    it has no problem with yet (a form shows one message per field)."""
    for field, value in values.items():
        if checker.has(field):
            continue
        problem = check_value(table, field, value)
        if problem:
            checker.add(field, problem)


# --- JSON ------------------------------------------------------------------------------------


class BadNumber:
    """A number in a JSON file that no field can hold (NaN, Infinity, 1e999999, 5,000 digits):
    `parse_json` puts this in its place, and the field it is in reports `reason`."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return "BadNumber()"


def _parse_int(text: str) -> int | BadNumber:
    if len(text.lstrip("-")) > JSON_MAX_DIGITS:
        return BadNumber(_("a number with more than {n} digits").format(n=JSON_MAX_DIGITS))
    return int(text)


def _parse_float(text: str) -> float | BadNumber:
    digits = sum(ch.isdigit() for ch in text.split("e")[0].split("E")[0])
    if digits > JSON_MAX_DIGITS:
        return BadNumber(_("a number with more than {n} digits").format(n=JSON_MAX_DIGITS))
    number = float(text)
    if not math.isfinite(number):
        return BadNumber(_("not a finite number"))
    return number


def _parse_constant(text: str) -> BadNumber:  # NaN, Infinity, -Infinity
    return BadNumber(_("not a finite number"))


_KEEP = b'[]{}"'
_DELETE = bytes(b for b in range(256) if b not in _KEEP)


def json_depth_exceeded(raw: bytes, limit: int = JSON_MAX_DEPTH) -> int | None:
    """The line on which `raw` (JSON as UTF-8) nests deeper than `limit`, or None.

    Fast on large files (C-level passes over the bytes): escaped backslashes and quotes go, then
    everything but brackets and quotes, then pairs of quotes with nothing between (strings without
    brackets); what remains is scanned exactly."""
    data = raw
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = data.translate(None, _DELETE)
    while b'""' in data:
        data = data.replace(b'""', b"")
    if b'"' not in data:
        if max(itertools.accumulate(1 if c in b"[{" else -1 for c in data), default=0) <= limit:
            return None
    elif not _exact_depth_exceeded(data, limit):
        return None
    return _line_of_depth(raw, limit)


def _exact_depth_exceeded(data: bytes, limit: int) -> bool:
    depth, in_string = 0, False
    for c in data:
        if c == 0x22:
            in_string = not in_string
        elif in_string:
            continue
        elif c in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _line_of_depth(raw: bytes, limit: int) -> int:
    depth, in_string, escaped, line = 0, False, False, 1
    for c in raw:
        if c == 0x0A:
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:
                escaped = True
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
            if depth > limit:
                return line
        elif c in b"]}":
            depth -= 1
    return line


def parse_json(raw: bytes) -> Any:
    """JSON (UTF-8, with or without BOM) -> Python values, within the limits: a ValidationError
    with one line for text that is not UTF-8, not JSON or nested deeper than JSON_MAX_DEPTH; a
    number no field can hold becomes a BadNumber (reported by the field it is in)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            Problem("", _("The file is not UTF-8 text (line {line}, byte {position}).").format(line=line, position=exc.start + 1))
        ) from None
    line = json_depth_exceeded(raw)
    if line is not None:
        raise ValidationError(
            Problem("", _("The file nests more than {n} levels deep (line {line}): it is not a Kursdesk file.").format(
                n=JSON_MAX_DEPTH, line=line))
        )
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            Problem(
                "",
                _("The file is not valid JSON: {reason} at line {line}, column {column}.").format(
                    reason=exc.msg, line=exc.lineno, column=exc.colno
                ),
            )
        ) from None
    except RecursionError:  # not reached after the depth check; a safety net
        raise ValidationError(Problem("", _("The file nests too deeply: it is not a Kursdesk file."))) from None


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message may quote it: short, one line; else only its kind."""
    if isinstance(value, BadNumber):
        return _("a number")
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str) and len(value) <= limit and not _CONTROL_SINGLE_LINE.search(value):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return _("a text of {n} characters").format(n=len(value))
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("an object")
    return _("a value")


__all__ = [
    "BadNumber",
    "check_into",
    "check_record",
    "check_text",
    "check_value",
    "json_depth_exceeded",
    "parse_json",
    "shown",
    "text_limit",
    "value_checker",
]
