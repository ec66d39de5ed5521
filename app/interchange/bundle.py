"""The JSON bundle (DESIGN section 7): every record of the database in one versioned file.

Export writes the whole database, soft-deleted records included (with their `deleted_at`),
in a deterministic order (record type, then id), one record per line, atomically (a temporary
file in the same folder, then a rename). Certificates carry their frozen PDF (base64), so a
restore keeps them byte-identical.

Import reads and validates the WHOLE bundle before it writes anything: every problem becomes a
`Problem(field, reason, record_type, record_id)` and they are raised together as one
`ValidationError`. The JSON is read within app.limits (nesting depth, digits of a number, no NaN
or Infinity), every field is held to the forms' limits (app.limits), and a bundle must not add a
second live participant with a personnummer, or company with an organisation number, that another
record has (in the database or in the bundle). A valid bundle is applied in one transaction: records are matched by id,
existing ones updated, new ones bulk-inserted.

Fields of version 1 (the names never change within the version; more may be added):

- every record: id, created_at, updated_at, deleted_at (ISO date-times, UTC)
- providers: name, org_number
- companies: name, org_number, municipality, industry, contact_name, contact_email,
  contact_phone, organisation_type
- needs: company_id, date, description, target_groups, course_ids
- participants: first_name, last_name, personal_number, gender, email, phone, company_id,
  protected, project_start, project_end, exit_reason, exit_status, employment_terms,
  employment_extent, formal_qualification, informed_on (the date the data protection notice was given, or null)
- courses: code, title, description, learning_outcomes, title_en, description_en, learning_outcomes_en,
  provider_id, location, teacher,
  min_attendance_percent, certificate_language, capacity
- sessions: course_id, date, start, end, location, teacher, cancelled
- enrollments: course_id, participant_id, status, certificate_language
- attendance: session_id, participant_id, status, minutes, note
- certificates: number, verification_code, course_id, participant_id, issued_on, language, kind,
  revoked_on, revoke_reason, supersedes_id, pdf_sha256, pdf (base64 or null)
- originals_received: participant_id, month (YYYY-MM), received_on
- project_settings: key, value (the ESF project's settings that every laptop shares)

The hourly wage fields (hourly_wage_cost of companies and participants) are gone: a bundle that still
carries them is imported with them ignored, said once (`notices`). Attendance present or late on a
session that has not started yet is refused.
- originals_received: participant_id, month (YYYY-MM), received_on, signed_hours (the hours on the
  signed report, or null)
- month_closes: month (YYYY-MM), closed_at, closed_by, device_id, rounding (exact/floor), hours
  ({participant id: "12.50"}), figures (the summary's figures, an object), files ({file name:
  SHA-256}); one record per version of a closed month (app/services/month_close.py)
- erasures: participant_id, erased_on, reason (request, retention, never-participated), forced,
  device, totals (JSON text {"YYYY-MM": {company id: minutes}}): a person erased (GDPR). Import
  erases them here too and leaves out every record of an erased person (app/gdpr/erasure.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app import limits, rules
from app.db import Database
from app.errors import Problem, UserError, ValidationError
from app.gdpr import audit
from app.gdpr.erasure import REASONS as ERASURE_REASONS
from app.gdpr.erasure import erase_applied, leave_out_erased
from app.gdpr.erasure import totals_text as _erasure_totals
from app.i18n import N_, _
from app.interchange.files import atomic_file
from app.limits import BadNumber, shown
from app.models import (
    ATTENDANCE_STATUSES,
    CERTIFICATE_LANGUAGES,
    ENROLLMENT_STATUSES,
    Attendance,
    Certificate,
    Company,
    Course,
    CourseSession,
    Enrollment,
    Erasure,
    MonthClose,
    NeedCourse,
    NeedsAnalysis,
    OriginalReceived,
    Participant,
    ProjectSetting,
    Provider,
    Record,
    need_course_id,
    project_setting_id,
    utcnow,
)
from app.progress import Progress
from app.services import project_data
from app.sync.capture import baseline_pending, capture_suspended
from app.validation import (
    FieldError,
    check_time_range,
    gender_from_personal_number,
    mask_personal_number,
    normalize_email,
    normalize_gender,
    normalize_municipality,
    normalize_org_number,
    normalize_personal_number,
    normalize_phone,
    parse_date,
    parse_month,
    parse_time,
)

FORMAT = "kursdesk-bundle"
VERSION = 1



class _Bad(Exception):
    """An invalid value; the message is translated."""


# --------------------------------------------------------------------------------------
# Value converters: bundle value -> stored value (raise _Bad), and back
# --------------------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(_("Must be text."))
    return value


def _required_text(value: Any) -> str:
    text = _text(value)
    if not text.strip():
        raise _Bad(_("This field is required."))
    return text


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(_("Must be a whole number."))
    return value


def _optional_count(value: Any) -> int | None:
    if value is None:
        return None
    number = _int(value)
    if number < 0:
        raise _Bad(_("Must be 0 or more."))
    return number


def _percent(value: Any) -> int:
    number = _int(value)
    if not 0 <= number <= 100:
        raise _Bad(_("Must be a whole number between 0 and 100."))
    return number


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(_("Must be true or false."))
    return value


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(_("Must be a number."))
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise _Bad(_("Must be a number.")) from None
    if not number.is_finite() or number < 0:
        raise _Bad(_("Must be 0 or more."))
    return number


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise _Bad(_("Must be a date as YYYY-MM-DD."))
    try:
        return parse_date(value)
    except FieldError as exc:
        raise _Bad(exc.message) from None


def _optional_date(value: Any) -> date | None:
    return None if value is None or value == "" else _date(value)


def _time(value: Any) -> time:
    if not isinstance(value, str):
        raise _Bad(_("Must be a time as HH:MM."))
    try:
        return parse_time(value)
    except FieldError as exc:
        raise _Bad(exc.message) from None


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(_("Must be a date and time as YYYY-MM-DDTHH:MM:SS."))
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(_("Must be a date and time as YYYY-MM-DDTHH:MM:SS.")) from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _fk(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _UUID_RE.match(value):
        raise _Bad(_("Must be the id (UUID) of a record."))
    return value


def _required_fk(value: Any) -> str:
    result = _fk(value)
    if result is None:
        raise _Bad(_("This field is required."))
    return result


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def convert(value: Any) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str) or value not in allowed:
            raise _Bad(
                _("Unknown value {value}: use one of {choices}.").format(
                    value=shown(value),
                    choices=", ".join(repr(c) if c else "''" for c in allowed),
                )
            )
        return value

    return convert


def _validated(fn: Callable[[str], Any], *, empty_ok: bool = True) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or value == "":
            if empty_ok:
                return ""
            raise _Bad(_("This field is required."))
        if not isinstance(value, str):
            raise _Bad(_("Must be text."))
        try:
            return fn(value)
        except FieldError as exc:
            raise _Bad(exc.message) from None

    return convert


def _gender(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise _Bad(_("Must be text."))
    try:
        return normalize_gender(value)
    except FieldError as exc:
        raise _Bad(exc.message) from None


def _month(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(_("Enter the month as YYYY-MM."))
    try:
        year, month = parse_month(value)
    except FieldError as exc:
        raise _Bad(exc.message) from None
    return f"{year:04d}-{month:02d}"


def _pdf(value: Any) -> bytes | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(_("Must be the PDF as base64 text."))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(_("Must be the PDF as base64 text.")) from None


def _optional_bool(value: Any) -> bool | None:
    return None if value is None or value == "" else _bool(value)


def _project_code(field: str) -> Callable[[Any], int | None]:
    def convert(value: Any) -> int | None:
        if value is None or value == "":
            return None
        try:
            return project_data.code(field, _int(value))
        except FieldError as exc:
            raise _Bad(exc.message) from None

    return convert


def _course_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(_("Must be a list of course ids."))
    return [_required_fk(v) for v in value]


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HOURS_RE = re.compile(r"^\d{1,6}(\.\d{1,2})?$")


def _json_object(check: Callable[[str, Any], bool] | None, message: str) -> Callable[[Any], str]:
    """A JSON object stored as compact JSON text; `check(key, value)` holds each entry to its form."""

    def convert(value: Any) -> str:
        if value is None:
            value = {}
        if not isinstance(value, dict) or (check is not None and not all(check(k, v) for k, v in value.items())):
            raise _Bad(_(message))
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    return convert


def _out_json(value: str | None) -> Any:
    return json.loads(value) if value else {}


# Model values -> JSON values
def _out_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _out_time(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _out_datetime(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _out_money(value: Decimal | float | None) -> float | int | None:
    if value is None:
        return None
    number = Decimal(str(value)).normalize()
    return int(number) if number == number.to_integral_value() else float(number)


def _out_pdf(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode("ascii") if value else None


def _same(value: Any) -> Any:
    return value


# --------------------------------------------------------------------------------------
# The record types of the bundle
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    key: str  # name in the bundle
    column: str  # attribute of the model
    convert: Callable[[Any], Any]
    required: bool = False
    default: Any = None  # for new records when the bundle leaves the field out
    out: Callable[[Any], Any] = _same
    parent: str = ""  # bundle key of the record type this id refers to


def _f(key, convert, *, column=None, required=False, default=None, out=_same, parent=""):
    return Field(key, key if column is None else column, convert, required, default, out, parent)


_STAMPS = (
    _f("created_at", _datetime, out=_out_datetime),
    _f("updated_at", _datetime, out=_out_datetime),
    _f("deleted_at", _datetime, out=_out_datetime),
)


@dataclass(frozen=True)
class RecordType:
    key: str
    model: type[Record]
    fields: tuple[Field, ...]

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return self.fields + _STAMPS


TYPES: tuple[RecordType, ...] = (
    RecordType("providers", Provider, (
        _f("name", _required_text, required=True),
        _f("org_number", _validated(normalize_org_number), default=""),
    )),
    RecordType("companies", Company, (
        _f("name", _required_text, required=True),
        _f("org_number", _validated(normalize_org_number), default=""),
        _f("municipality", _validated(normalize_municipality), default=""),
        _f("industry", _text, default=""),
        _f("contact_name", _text, default=""),
        _f("contact_email", _validated(normalize_email), default=""),
        _f("contact_phone", _validated(normalize_phone), default=""),
        _f("organisation_type", _validated(project_data.organisation_type), default=""),
    )),
    RecordType("participants", Participant, (
        _f("first_name", _required_text, required=True),
        _f("last_name", _required_text, required=True),
        _f("personal_number", _validated(normalize_personal_number, empty_ok=False), required=True),
        _f("gender", _gender, default=""),
        _f("email", _validated(normalize_email), default=""),
        _f("phone", _validated(normalize_phone), default=""),
        _f("company_id", _fk, parent="companies"),
        _f("protected", _bool, default=False),
        _f("project_start", _optional_date, out=_out_date),
        _f("project_end", _optional_date, out=_out_date),
        _f("exit_reason", _project_code("exit_reason")),
        _f("exit_status", _project_code("exit_status")),
        _f("employment_terms", _project_code("employment_terms")),
        _f("employment_extent", _project_code("employment_extent")),
        _f("formal_qualification", _optional_bool),
        _f("informed_on", _optional_date, out=_out_date),
    )),
    RecordType("courses", Course, (
        _f("code", _required_text, required=True),
        _f("title", _required_text, required=True),
        _f("description", _text, default=""),
        _f("learning_outcomes", _text, default=""),
        _f("provider_id", _fk, parent="providers"),
        _f("location", _text, default=""),
        _f("teacher", _text, default=""),
        _f("min_attendance_percent", _percent, default=80),
        _f("certificate_language", _choice(CERTIFICATE_LANGUAGES), default="sv"),
        _f("capacity", _optional_count),
        _f("title_en", _text, default=""),
        _f("description_en", _text, default=""),
        _f("learning_outcomes_en", _text, default=""),
    )),
    RecordType("needs", NeedsAnalysis, (
        _f("company_id", _required_fk, required=True, parent="companies"),
        _f("date", _date, required=True, out=_out_date),
        _f("description", _text, default=""),
        _f("target_groups", _text, default=""),
        # not a column: the linked courses (need_courses rows)
        _f("course_ids", _course_ids, column="", default=None, parent="courses"),
    )),
    RecordType("sessions", CourseSession, (
        _f("course_id", _required_fk, required=True, parent="courses"),
        _f("date", _date, required=True, out=_out_date),
        _f("start", _time, column="start_time", required=True, out=_out_time),
        _f("end", _time, column="end_time", required=True, out=_out_time),
        _f("location", _text, default=""),
        _f("teacher", _text, default=""),
        _f("cancelled", _bool, default=False),
    )),
    RecordType("enrollments", Enrollment, (
        _f("course_id", _required_fk, required=True, parent="courses"),
        _f("participant_id", _required_fk, required=True, parent="participants"),
        _f("status", _choice(ENROLLMENT_STATUSES), required=True),
        _f("certificate_language", _choice(("",) + CERTIFICATE_LANGUAGES), default=""),
    )),
    RecordType("attendance", Attendance, (
        _f("session_id", _required_fk, required=True, parent="sessions"),
        _f("participant_id", _required_fk, required=True, parent="participants"),
        _f("status", _choice(ATTENDANCE_STATUSES), required=True),
        _f("minutes", _optional_count),
        _f("note", _text, default=""),
    )),
    RecordType("certificates", Certificate, (
        _f("number", _required_text, required=True),
        _f("verification_code", _required_text, required=True),
        _f("course_id", _required_fk, required=True, parent="courses"),
        _f("participant_id", _required_fk, required=True, parent="participants"),
        _f("issued_on", _date, required=True, out=_out_date),
        _f("language", _choice(CERTIFICATE_LANGUAGES), default="sv"),
        _f("kind", _choice(("course", "participation")), default="course"),
        _f("revoked_on", _optional_date, out=_out_date),
        _f("revoke_reason", _text, default=""),
        _f("supersedes_id", _fk, parent="certificates"),
        _f("pdf_sha256", _text, default=""),
        _f("pdf", _pdf, out=_out_pdf),
    )),
    RecordType("originals_received", OriginalReceived, (
        _f("participant_id", _required_fk, required=True, parent="participants"),
        _f("month", _month, required=True),
        _f("received_on", _date, required=True, out=_out_date),
        _f("signed_hours", _money, out=_out_money),
    )),
    RecordType("month_closes", MonthClose, (
        _f("month", _month, required=True),
        _f("closed_at", _datetime, required=True, out=_out_datetime),
        _f("closed_by", _text, default=""),
        _f("device_id", _text, default=""),
        _f("rounding", _choice(("exact", "floor")), default="exact"),
        _f("hours", _json_object(lambda k, v: bool(_UUID_RE.match(k)) and isinstance(v, str) and bool(_HOURS_RE.match(v)),
                                 N_("Must be an object of participant ids and hours as text (\"12.50\").")),
           default="{}", out=_out_json),
        _f("figures", _json_object(None, N_("Must be an object.")), default="{}", out=_out_json),
        _f("files", _json_object(lambda k, v: isinstance(k, str) and isinstance(v, str) and bool(_SHA256_RE.match(v)),
                                 N_("Must be an object of file names and SHA-256 checksums.")),
           default="{}", out=_out_json),
    )),
    RecordType("project_settings", ProjectSetting, (
        _f("key", _required_text, required=True),
        _f("value", _text, default=""),
    )),
    RecordType("erasures", Erasure, (  # app/gdpr/erasure.py: no personal data
        _f("participant_id", _required_fk, required=True),
        _f("erased_on", _date, required=True, out=_out_date),
        _f("reason", _choice(ERASURE_REASONS), required=True),
        _f("forced", _bool, default=False),
        _f("device", _text, default=""),
        _f("totals", _validated(_erasure_totals), default=""),
    )),
)
BY_KEY = {t.key: t for t in TYPES}

# Fields (bundle keys) whose combination must be unique per record type, with the message.
_UNIQUE: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "courses": ((("code",), "code"),),
    "enrollments": ((("course_id", "participant_id"), "enrollment"),),
    "attendance": ((("session_id", "participant_id"), "attendance"),),
    "certificates": ((("number",), "number"), (("verification_code",), "verification_code")),
    "originals_received": ((("participant_id", "month"), "original"),),
    "project_settings": ((("key",), "setting"),),
}


def _unique_message(kind: str, values: tuple) -> str:
    if kind == "code":
        return _("The course code {code} is used by another course.").format(code=values[0])
    if kind == "enrollment":
        return _("The participant is already enrolled in this course (another enrollment).")
    if kind == "attendance":
        return _("The participant already has another attendance mark for this session.")
    if kind == "number":
        return _("The certificate number {number} is used by another certificate.").format(number=values[0])
    if kind == "verification_code":
        return _("The verification code is used by another certificate.")
    if kind == "setting":
        return _("The project setting {key} appears in another record.").format(key=values[0])
    return _("A signed original for this participant and month is already recorded.")


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------

def _columns(rtype: RecordType) -> list[Field]:
    return [f for f in rtype.all_fields if f.column]


def _export_records(session, rtype: RecordType) -> Iterable[dict[str, Any]]:
    model = rtype.model
    fields = _columns(rtype)
    attrs = [getattr(model, f.column) for f in fields]
    links: dict[str, list[str]] = {}
    if rtype.model is NeedsAnalysis:
        for need_id, course_id in session.execute(
            select(NeedCourse.need_id, NeedCourse.course_id)
            .where(NeedCourse.deleted_at.is_(None))
            .order_by(NeedCourse.need_id, NeedCourse.course_id)
        ):
            links.setdefault(need_id, []).append(course_id)
    rows = session.execute(select(model.id, *attrs).order_by(model.id).execution_options(yield_per=5000))
    for row in rows:
        record: dict[str, Any] = {"id": row[0]}
        for field, value in zip(fields, row[1:]):
            record[field.key] = field.out(value)
        if rtype.model is NeedsAnalysis:
            # keep the field order of the documentation: course_ids after target_groups
            stamps = {k: record.pop(k) for k in ("created_at", "updated_at", "deleted_at")}
            record["course_ids"] = links.get(row[0], [])
            record.update(stamps)
        yield record


def export_bundle(db: Database, path: str | Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write the whole database to `path` as a JSON bundle; the number of records per type.
    Through a temporary file next to it (app.interchange.files.atomic_file): a failed or killed
    export leaves the target as it was."""
    counts: dict[str, int] = {}
    with atomic_file(path, "export") as tmp:
        with open(tmp, "w", encoding="utf-8") as handle, db.read() as session:
            head = {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": utcnow().replace(microsecond=0).isoformat() + "Z",
            }
            handle.write(json.dumps(head, ensure_ascii=False)[:-1])
            for done, rtype in enumerate(TYPES):
                handle.write(f',\n"{rtype.key}": [')
                n = 0
                for record in _export_records(session, rtype):
                    handle.write("\n" if n == 0 else ",\n")
                    handle.write(json.dumps(record, ensure_ascii=False))
                    n += 1
                handle.write("\n]" if n else "]")
                counts[rtype.key] = n
                if progress is not None:
                    progress(done + 1, len(TYPES))
            handle.write("\n}\n")
            handle.flush()
            os.fsync(handle.fileno())
    audit.record(db, "bundle-export", counts.get("participants", 0))  # full personnummer (GDPR audit log)
    return counts


# --------------------------------------------------------------------------------------
# Import: read, validate everything, then apply in one transaction
# --------------------------------------------------------------------------------------

@dataclass
class _Parsed:
    """The converted records of one type: id -> {bundle key: stored value} (present keys only)."""

    rtype: RecordType
    records: dict[str, dict[str, Any]]


def _read(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > limits.BUNDLE_MAX_BYTES:
            raise UserError(
                _("The file {file} is larger than {n} GB: it is not a Kursdesk bundle.").format(
                    file=path, n=limits.BUNDLE_MAX_BYTES // 1024**3
                )
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(_("The file {file} does not exist.").format(file=path)) from None
    except MemoryError:
        raise UserError(_("The file {file} is too large to read on this computer.").format(file=path)) from None
    except OSError as exc:
        raise UserError(
            _("The file {file} cannot be read: {reason}").format(file=path, reason=exc.strerror or exc)
        ) from None
    try:
        return limits.parse_json(raw)
    except MemoryError:
        raise UserError(_("The file {file} is too large to read on this computer.").format(file=path)) from None


def _check_header(data: Any) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem("", _("The file is not a Kursdesk bundle: the top level must be an object."))]
    problems = []
    if data.get("format") != FORMAT:
        problems.append(
            Problem("format", _("The file is not a Kursdesk bundle: format must be \"{format}\".").format(format=FORMAT))
        )
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        problems.append(
            Problem(
                "version",
                _("Unsupported bundle version {version}: this Kursdesk reads version {supported}.").format(
                    version=shown(version), supported=VERSION
                ),
            )
        )
    return problems


def _parse_type(rtype: RecordType, items: Any, problems: list[Problem]) -> _Parsed:
    parsed = _Parsed(rtype, {})
    if items is None:
        return parsed
    if not isinstance(items, list):
        problems.append(Problem("", _("Must be a list of records."), rtype.key))
        return parsed
    fields = rtype.all_fields
    add = problems.append
    # app.limits, made once per field: before conversion (what no converter may see: numbers no field
    # holds, text far too long or with control characters) and after (the stored value)
    raw_checks = [limits.value_checker(rtype.key, f.column, raw=True) if f.column else None for f in fields]
    stored_checks = [
        None if not f.column or f.convert in (_fk, _required_fk) else limits.value_checker(rtype.key, f.column)
        for f in fields
    ]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            add(Problem("", _("Record number {n} must be an object.").format(n=index + 1), rtype.key))
            continue
        rid = item.get("id")
        if not isinstance(rid, str) or not _UUID_RE.match(rid):
            add(Problem("id", _("Must be the id (UUID) of the record."), rtype.key, f"#{index + 1}"))
            continue
        if rid in parsed.records:
            add(Problem("id", _("This id appears more than once in the bundle."), rtype.key, rid))
            continue
        values: dict[str, Any] = {}
        ok = True
        for field, raw_check, stored_check in zip(fields, raw_checks, stored_checks):
            if field.key not in item:
                if field.required:
                    add(Problem(field.key, _("This field is required."), rtype.key, rid))
                    ok = False
                continue
            value = item[field.key]
            problem = raw_check(value) if raw_check is not None else None
            if problem is None and value.__class__ is BadNumber:
                problem = value.reason
            if problem is None:
                try:
                    value = values[field.key] = field.convert(value)
                except _Bad as exc:
                    add(Problem(field.key, str(exc), rtype.key, rid))
                    ok = False
                    continue
                problem = stored_check(value) if stored_check is not None else None
            if problem is not None:
                add(Problem(field.key, problem, rtype.key, rid))
                ok = False
        if ok:
            _check_record(rtype.key, rid, values, problems)
        parsed.records[rid] = values
    return parsed


def _check_record(key: str, rid: str, values: dict[str, Any], problems: list[Problem]) -> None:
    """Rules across the fields of one record."""
    if key == "sessions":
        try:
            check_time_range(values["start"], values["end"])
        except FieldError as exc:
            problems.append(Problem("end", exc.message, key, rid))
    elif key == "attendance":
        if values["status"] == "late" and values.get("minutes") is None:
            problems.append(Problem("minutes", _("A late mark needs the minutes attended."), key, rid))
    elif key == "participants":
        if not values.get("gender") and "personal_number" in values:
            values["gender"] = gender_from_personal_number(values["personal_number"])
    elif key == "project_settings":
        if "key" in values and rid != project_setting_id(values["key"]):
            # one record per setting on every laptop: its id comes from its key
            problems.append(Problem("id", _("A project setting's id must be the one derived from its key."), key, rid))
    elif key == "certificates":
        pdf, digest = values.get("pdf"), values.get("pdf_sha256")
        if pdf is not None and digest and hashlib.sha256(pdf).hexdigest() != digest.lower():
            problems.append(Problem("pdf", _("The PDF does not match its SHA-256 checksum."), key, rid))


class _Existing:
    """What the database already holds, loaded on demand."""

    def __init__(self, session):
        self.session = session
        self._ids: dict[str, set[str]] = {}

    def ids(self, key: str) -> set[str]:
        if key not in self._ids:
            model = BY_KEY[key].model
            self._ids[key] = set(self.session.execute(select(model.id)).scalars())
        return self._ids[key]

    def unique_values(self, key: str, names: tuple[str, ...]) -> Iterable[tuple[str, tuple]]:
        rtype = BY_KEY[key]
        columns = [getattr(rtype.model, next(f.column for f in rtype.fields if f.key == n)) for n in names]
        for row in self.session.execute(select(rtype.model.id, *columns)):
            yield row[0], tuple(row[1:])


def _check_references(parsed: dict[str, _Parsed], existing: _Existing, problems: list[Problem]) -> None:
    for key, part in parsed.items():
        rtype = part.rtype
        for field in rtype.fields:
            if not field.parent:
                continue
            bundle_ids = parsed[field.parent].records
            known = None
            for rid, values in part.records.items():
                value = values.get(field.key)
                refs = value if isinstance(value, list) else [value] if value else []
                for ref in refs:
                    if ref in bundle_ids:
                        continue
                    if known is None:
                        known = existing.ids(field.parent)
                    if ref not in known:
                        problems.append(
                            Problem(
                                field.key,
                                _("No record with id {id} among the {kind} of the bundle or the database.").format(
                                    id=ref, kind=field.parent
                                ),
                                key,
                                rid,
                            )
                        )


def _check_unique(parsed: dict[str, _Parsed], existing: _Existing, problems: list[Problem]) -> None:
    for key, unique in _UNIQUE.items():
        records = parsed[key].records
        if not records:
            continue
        for names, kind in unique:
            owner: dict[tuple, str] = {}
            for rid, values in records.items():
                if not all(n in values for n in names):
                    continue
                value = tuple(values[n] for n in names)
                if value in owner:
                    problems.append(Problem(names[-1], _unique_message(kind, value), key, rid))
                else:
                    owner[value] = rid
            if not existing.ids(key).difference(records):
                continue
            for rid, value in existing.unique_values(key, names):
                if rid in records:
                    continue  # replaced by the bundle's version
                other = owner.get(value)
                if other is not None:
                    problems.append(Problem(names[-1], _unique_message(kind, value), key, other))


# Identities (DESIGN section 2): one live record per personnummer and per organisation number.
_IDENTITIES = {"participants": "personal_number", "companies": "org_number"}


def _identity_message(key: str, value: str, owner: str) -> str:
    if key == "participants":
        return _("The personal identity number {number} is already registered for another participant (id {id}).").format(
            number=mask_personal_number(value), id=owner
        )
    # a sole trader's organisation number is a personnummer: shown masked
    number = value if len(value) == 11 and value[2] >= "2" else value[:6] + "-****"
    return _("The organisation number {number} is already registered for another company (id {id}).").format(
        number=number, id=owner
    )


def _check_identities(parsed: dict[str, _Parsed], existing: _Existing, problems: list[Problem]) -> None:
    """A bundle must not add a second live participant with a personnummer that another one has, nor a
    second live company with an organisation number (in the database or twice in the bundle).
    Records matched by id are updates; clashes the database already had are not the bundle's."""
    for key, name in _IDENTITIES.items():
        records = parsed[key].records
        if not records:
            continue
        model = BY_KEY[key].model
        column = getattr(model, name)
        before: dict[str, tuple[str, bool]] = {
            rid: (value or "", deleted is None)
            for rid, value, deleted in existing.session.execute(select(model.id, column, model.deleted_at))
        }
        groups: dict[str, list[str]] = {}
        for rid, (value, live) in before.items():
            if live and value and rid not in records:
                groups.setdefault(value, []).append(rid)
        introduced: set[str] = set()
        for rid, values in records.items():
            old = before.get(rid)
            value = values[name] if name in values else (old[0] if old else "")
            live = values["deleted_at"] is None if "deleted_at" in values else (old[1] if old else True)
            if not (live and value):
                continue
            if old != (value, True):
                introduced.add(rid)
            groups.setdefault(value, []).append(rid)
        for value, ids in groups.items():
            if len(ids) < 2:
                continue
            keep = next((rid for rid in ids if rid not in introduced), ids[0])
            for rid in ids:
                if rid != keep and rid in introduced:
                    problems.append(Problem(name, _identity_message(key, value, keep), key, rid))


def _check_future_marks(parsed: dict[str, _Parsed], existing: _Existing, problems: list[Problem], now: datetime | None) -> None:
    """No hours in the future: present or late on a session that has not started yet is refused."""
    marks = {rid: v for rid, v in parsed["attendance"].records.items() if v.get("status") in rules.HOURS_STATUSES}
    if not marks:
        return
    sessions = parsed["sessions"].records
    starts: dict[str, tuple[date, time]] = {}
    wanted = set()
    for values in marks.values():
        sid = values.get("session_id")
        if sid in sessions and "date" in sessions[sid] and "start" in sessions[sid]:
            starts[sid] = (sessions[sid]["date"], sessions[sid]["start"])
        elif sid:
            wanted.add(sid)
    ids = sorted(wanted)
    for chunk in range(0, len(ids), 900):
        for sid, day, start in existing.session.execute(
            select(CourseSession.id, CourseSession.date, CourseSession.start_time).where(
                CourseSession.id.in_(ids[chunk:chunk + 900])
            )
        ):
            starts.setdefault(sid, (day, start))
    for rid, values in marks.items():
        start = starts.get(values.get("session_id"))
        if start is not None and values.get("deleted_at") is None and rules.not_started(*start, now):
            problems.append(Problem("status", rules.future_mark_message(*start), "attendance", rid))


def _check_minutes(parsed: dict[str, _Parsed], existing: _Existing, problems: list[Problem]) -> None:
    """Minutes attended are within the session's length."""
    marks = {rid: v for rid, v in parsed["attendance"].records.items() if v.get("minutes") is not None}
    if not marks:
        return
    sessions = parsed["sessions"].records
    lengths: dict[str, int] = {}
    wanted = set()
    for values in marks.values():
        sid = values.get("session_id")
        if sid in sessions and "start" in sessions[sid] and "end" in sessions[sid]:
            lengths[sid] = rules.session_minutes(sessions[sid]["start"], sessions[sid]["end"])
        elif sid:
            wanted.add(sid)
    ids = sorted(wanted)
    for chunk in range(0, len(ids), 900):
        for sid, start, end in existing.session.execute(
            select(CourseSession.id, CourseSession.start_time, CourseSession.end_time).where(
                CourseSession.id.in_(ids[chunk:chunk + 900])
            )
        ):
            lengths.setdefault(sid, rules.session_minutes(start, end))
    for rid, values in marks.items():
        length = lengths.get(values.get("session_id"))
        if length is not None and not 0 <= values["minutes"] <= length:
            problems.append(
                Problem("minutes", _("Minutes must be between 0 and {length}.").format(length=length), "attendance", rid)
            )


def _certificate_order(records: dict[str, dict[str, Any]], problems: list[Problem]) -> list[str]:
    """New certificates ordered so that a superseded one is inserted before the one correcting it."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    for start in sorted(records):
        stack = [start]
        path: list[str] = []
        while stack:
            rid = stack[-1]
            if state.get(rid) == 2:
                stack.pop()
                continue
            if state.get(rid) == 1:
                state[rid] = 2
                order.append(rid)
                stack.pop()
                continue
            state[rid] = 1
            path.append(rid)
            parent = records[rid].get("supersedes_id")
            if parent in records:
                if state.get(parent) == 1:
                    problems.append(
                        Problem("supersedes_id", _("Certificates supersede each other in a circle."), "certificates", rid)
                    )
                    state[rid] = 2
                    stack.pop()
                    continue
                if state.get(parent) != 2:
                    stack.append(parent)
    return order


def validate_bundle(db: Database, data: Any, *, now: datetime | None = None) -> dict[str, _Parsed]:
    """Every problem of a loaded bundle, raised as one ValidationError; the converted records.
    `now`: the local time that decides which sessions have started (for tests)."""
    problems = _check_header(data)
    if problems:
        raise ValidationError(problems)
    parsed = {rtype.key: _parse_type(rtype, data.get(rtype.key), problems) for rtype in TYPES}
    with db.read() as session:
        leave_out_erased(session, parsed)  # app/gdpr/erasure.py: an erased person never comes back
        existing = _Existing(session)
        _check_references(parsed, existing, problems)
        _check_unique(parsed, existing, problems)
        _check_identities(parsed, existing, problems)
        _check_minutes(parsed, existing, problems)
        _check_future_marks(parsed, existing, problems, now)
        _certificate_order(parsed["certificates"].records, problems)
    if problems:
        raise ValidationError(problems)
    return parsed


# fields of earlier bundles that are read and ignored (said once, in `notices`)
DROPPED_FIELDS = {"companies": ("hourly_wage_cost",), "participants": ("hourly_wage_cost",)}


def _dropped_fields_notice(data: Any) -> str | None:
    for key, names in DROPPED_FIELDS.items():
        items = data.get(key) if isinstance(data, dict) else None
        if isinstance(items, list) and any(isinstance(r, dict) and any(n in r for n in names) for r in items):
            return _(
                "The bundle's hourly wage costs were ignored: Kursdesk no longer keeps them "
                "(co-financing is hours × the project's unit cost)."
            )
    return None


def import_bundle(
    db: Database,
    path: str | Path,
    *,
    progress: Progress | None = None,
    notices: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Validate the whole bundle, then apply it in one transaction; the records per type.
    What the user should know about it (fields ignored) is appended to `notices`."""
    data = _read(Path(path))
    parsed = validate_bundle(db, data, now=now)
    notice = _dropped_fields_notice(data)
    if notice and notices is not None:
        notices.append(notice)
    del data
    now = utcnow()
    counts: dict[str, int] = {}
    with db.bulk_write() as session:
        for done, rtype in enumerate(TYPES):
            part = parsed[rtype.key]
            counts[rtype.key] = len(part.records)
            if part.records:
                _apply(session, part, now)
            if progress is not None:
                progress(done + 1, len(TYPES))
        erase_applied(session, list(parsed["erasures"].records))
    return counts


def _apply(session, part: _Parsed, now: datetime) -> None:
    rtype = part.rtype
    model = rtype.model
    fields = _columns(rtype)
    have = set()
    ids = list(part.records)
    for chunk in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        batch = ids[chunk:chunk + 900]
        have.update(session.execute(select(model.id).where(model.id.in_(batch))).scalars())
    new_rows, changed_rows = [], []
    for rid, values in part.records.items():
        if rid in have:
            row = {"id": rid}
            for field in fields:
                if field.key in values:
                    row[field.column] = values[field.key]
            if row.get("updated_at") is None:
                row["updated_at"] = now
            if "created_at" in row and row["created_at"] is None:
                del row["created_at"]
            changed_rows.append(row)
        else:
            row = {"id": rid}
            for field in fields:
                value = values.get(field.key, field.default)
                row[field.column] = value
            if row["created_at"] is None:
                row["created_at"] = now
            if row["updated_at"] is None:
                row["updated_at"] = row["created_at"]
            new_rows.append(row)
    if model is Certificate and new_rows:
        # a superseded certificate goes in before the one that corrects it: insert by depth
        depth: dict[str, int] = {}
        for rid in _certificate_order(part.records, []):
            parent = part.records[rid].get("supersedes_id")
            depth[rid] = depth.get(parent, -1) + 1 if parent in depth else 0
        layers: dict[int, list[dict[str, Any]]] = {}
        for row in new_rows:
            layers.setdefault(depth[row["id"]], []).append(row)
        batches = [layers[d] for d in sorted(layers)]
    else:
        batches = [new_rows]
    # New records need no change log before this laptop first publishes: the first publish
    # logs every record that has none (sync.engine.baseline). That halves a restore's import.
    if changed_rows:  # first: a record deleted by the bundle frees its identity for a new one
        session.execute(update(model), changed_rows)
    quiet = capture_suspended(session) if baseline_pending(session) else nullcontext()
    with quiet:
        for rows in batches:
            # Through the session (so the sync change capture sees it), as a Core insert of complete
            # rows: the ORM's bulk insert drops None values of columns with a default and then
            # batches only runs of rows with the same columns, which costs a third of the import.
            for chunk in range(0, len(rows), 50_000):
                session.execute(model.__table__.insert(), rows[chunk:chunk + 50_000])
    if model is NeedsAnalysis:
        _apply_need_courses(session, part, now)


def _apply_need_courses(session, part: _Parsed, now: datetime) -> None:
    wanted = {rid: v["course_ids"] for rid, v in part.records.items() if v.get("course_ids") is not None}
    if not wanted:
        return
    current: dict[tuple[str, str], tuple[str, datetime | None]] = {}
    need_ids = list(wanted)
    for chunk in range(0, len(need_ids), 900):
        for link_id, need_id, course_id, deleted_at in session.execute(
            select(NeedCourse.id, NeedCourse.need_id, NeedCourse.course_id, NeedCourse.deleted_at).where(
                NeedCourse.need_id.in_(need_ids[chunk:chunk + 900])
            )
        ):
            current[(need_id, course_id)] = (link_id, deleted_at)
    inserts, updates = [], []
    for need_id, course_ids in wanted.items():
        keep = set(course_ids)
        for course_id in sorted(keep):
            link = current.get((need_id, course_id))
            if link is None:
                inserts.append(
                    {"id": need_course_id(need_id, course_id), "need_id": need_id, "course_id": course_id,
                     "created_at": now, "updated_at": now, "deleted_at": None}
                )
            elif link[1] is not None:
                updates.append({"id": link[0], "deleted_at": None, "updated_at": now})
    for (need_id, course_id), (link_id, deleted_at) in current.items():
        if need_id in wanted and course_id not in set(wanted[need_id]) and deleted_at is None:
            updates.append({"id": link_id, "deleted_at": now, "updated_at": now})
    if inserts:
        session.execute(NeedCourse.__table__.insert(), inserts)
    if updates:
        session.execute(update(NeedCourse), updates)
