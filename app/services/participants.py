"""Deltagare: the employees who take part in courses.

A person is registered once (one personnummer, one participant). Rows and lists show the
personnummer masked; only ParticipantDetail.data carries the full number, for the edit form.
"""

from __future__ import annotations

import gc
import operator
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import repeat

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.concurrency import check_version
from app.db import Database
from app.errors import NotFound, UserError
from app.i18n import _
from app.limits import check_into
from app.models import Company, Participant, utcnow
from app.services import project_data
from app.services._checks import Checker, alive, identity_net, sort_key
from app.services.enrollments import EnrollmentRow, participant_enrollments
from app.validation import (
    FieldError,
    birth_date_from_personal_number,
    gender_from_personal_number,
    is_protected_number,
    mask_personal_number,
    normalize_email,
    normalize_gender,
    normalize_personal_number,
    normalize_phone,
)


@dataclass(frozen=True)
class ParticipantData:
    first_name: str
    last_name: str
    personal_number: str
    gender: str = ""
    email: str = ""
    phone: str = ""
    company_id: str | None = None
    protected: bool = False  # skyddade personuppgifter
    # the project data SCB asks for (codes: app/services/project_data.py)
    project_start: date | str | None = None
    project_end: date | str | None = None
    exit_reason: int | str | None = None
    formal_qualification: bool | None = None
    exit_status: int | str | None = None
    employment_terms: int | str | None = None
    employment_extent: int | str | None = None


PROJECT_FIELDS = (
    "project_start", "project_end", "exit_reason", "formal_qualification", "exit_status", "employment_terms",
    "employment_extent",
)


@dataclass(frozen=True)
class ParticipantRow:
    id: str
    first_name: str
    last_name: str
    full_name: str
    masked_personal_number: str
    birth_date: date
    company_id: str | None
    company_name: str
    email: str


@dataclass(frozen=True)
class ParticipantDetail:
    id: str
    data: ParticipantData
    company_name: str
    masked_personal_number: str
    birth_date: date
    enrollments: list[EnrollmentRow]
    version: int = 0  # what a form opened (update_participant's `version`)


_COLUMNS = (
    Participant.id,
    Participant.first_name,
    Participant.last_name,
    Participant.personal_number,
    Participant.company_id,
    func.coalesce(Company.name, ""),
    Participant.email,
)


def _row(r) -> ParticipantRow:
    return _rows([r])[0]


def _rows(found) -> list[ParticipantRow]:
    """The rows of _COLUMNS' tuples, for lists of 20,000: a stored number is 12 characters, so the
    mask and the birth date are read off it by slicing (the validation functions for anything
    else, and for a samordningsnummer's day + 60)."""
    new, cls, set_dict, from_iso = object.__new__, ParticipantRow, object.__setattr__, date.fromisoformat
    rows = []
    append = rows.append
    for pid, first, last, pnr, company_id, company_name, email in found:
        try:
            if len(pnr) != 12 or pnr[6] >= "6" or not pnr[:8].isdigit():
                raise ValueError(pnr)
            born = from_iso(pnr[:8])  # YYYYMMDD
        except ValueError:
            born = birth_date_from_personal_number(pnr)
        row = new(cls)  # frozen_row, inlined
        set_dict(row, "__dict__", {
            "id": pid, "first_name": first, "last_name": last, "full_name": f"{first} {last}",
            "masked_personal_number": pnr[:8] + "-****" if len(pnr) == 12 else mask_personal_number(pnr),
            "birth_date": born, "company_id": company_id, "company_name": company_name, "email": email,
        })
        append(row)
    return rows


@contextmanager
def _collector_paused():
    """Python's garbage collector would walk every object of the process many times over while
    20,000 rows (and their 200,000 values) pile up; none of them can form a cycle."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _sorted(rows: list[ParticipantRow]) -> list[ParticipantRow]:
    """By last name, first name (the Swedish way), then birth date: two stable sorts on one key
    each (the birth date, then the names), cheaper than one on tuples. A name's key joined to the
    next with NUL, which no name holds and which sorts before every character, orders as the pair."""
    if not rows:
        return rows
    lasts = list(map(sort_key, [r.last_name for r in rows]))
    sep = b"\0" if isinstance(lasts[0], bytes) else "\0"
    names = list(map(operator.add, map(operator.add, lasts, repeat(sep)), map(sort_key, [r.first_name for r in rows])))
    births = [r.birth_date for r in rows]
    order = sorted(range(len(rows)), key=births.__getitem__)
    order.sort(key=names.__getitem__)
    return [rows[i] for i in order]


def _base_query():
    return (
        select(*_COLUMNS)
        .outerjoin(Company, (Company.id == Participant.company_id) & alive(Company))
        .where(alive(Participant))
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_terms(search: str):
    """One condition per word: each word must match a name, the employer or the birth date."""
    conditions = []
    for word in search.split():
        try:
            # a whole personnummer typed in: match exactly that person
            conditions.append(Participant.personal_number == normalize_personal_number(word))
            continue
        except FieldError:
            pass
        pattern = _like(word.lower())
        alternatives = [
            func.lower(Participant.first_name).like(pattern, escape="\\"),
            func.lower(Participant.last_name).like(pattern, escape="\\"),
            func.lower(Company.name).like(pattern, escape="\\"),
        ]
        digits = re.sub(r"[-\s]", "", word)
        if digits.isdigit():
            # the birth-date part only (YYYYMMDD); never search the last four digits
            alternatives.append(func.substr(Participant.personal_number, 1, 8).like(f"%{digits}%"))
        conditions.append(or_(*alternatives))
    return conditions


def list_participants(db: Database, search: str = "", company_id: str | None = None) -> list[ParticipantRow]:
    """Participants sorted by last and first name; `search` matches every word against first
    name, last name, employer and birth date (e.g. '1985', '19850312'); lower/upper case alike.
    SQLite's lower() only folds ASCII, so words with å/ä/ö are matched in Python."""
    q = _base_query()
    if company_id is not None:
        q = q.where(Participant.company_id == company_id)
    words = search.split()
    sql_words = [word for word in words if word.isascii()]
    other_words = [word for word in words if not word.isascii()]
    if sql_words:
        q = q.where(*_search_terms(" ".join(sql_words)))
    for word in other_words:
        # narrow down in SQL by the word's longest plain-ASCII part ('berg' of 'öberg')
        part = max(re.findall(r"[\x00-\x7f]+", word), key=len, default="")
        if len(part) >= 2:
            pattern = _like(part.lower())
            q = q.where(
                or_(
                    *(
                        func.lower(col).like(pattern, escape="\\")
                        for col in (Participant.first_name, Participant.last_name, Company.name)
                    )
                )
            )
    with _collector_paused():
        with db.read() as s:
            result = s.connection().execute(q)
            # the driver's own tuples (every column a plain value: nothing for SQLAlchemy to convert)
            found = result.cursor.fetchall()
            result.close()
        rows = _rows(found)
        if other_words:
            rows = [row for row in rows if _matches(row, other_words)]
        return _sorted(rows)


def _matches(row: ParticipantRow, words: list[str]) -> bool:
    haystack = " ".join((row.first_name, row.last_name, row.company_name)).casefold()
    born = row.birth_date.strftime("%Y%m%d")
    for word in words:
        folded = word.casefold()
        digits = re.sub(r"[-\s]", "", word)
        if folded in haystack or (digits.isdigit() and digits in born):
            continue
        return False
    return True


def get_participant(db: Database, participant_id: str) -> ParticipantDetail:
    with db.read() as s:
        p = s.get(Participant, participant_id)
        if p is None or p.deleted_at is not None:
            raise NotFound(_("The participant was not found."))
        company = s.get(Company, p.company_id) if p.company_id else None
        company_name = company.name if company is not None and company.deleted_at is None else ""
        data = ParticipantData(
            first_name=p.first_name,
            last_name=p.last_name,
            personal_number=p.personal_number,
            gender=p.gender,
            email=p.email,
            phone=p.phone,
            company_id=p.company_id,
            protected=bool(p.protected),
            **{name: getattr(p, name) for name in PROJECT_FIELDS},
        )
        version = p.version
    return ParticipantDetail(
        id=participant_id,
        data=data,
        company_name=company_name,
        masked_personal_number=mask_personal_number(data.personal_number),
        birth_date=birth_date_from_personal_number(data.personal_number),
        enrollments=participant_enrollments(db, participant_id),
        version=version,
    )


def find_by_personal_number(db: Database, personal_number: str) -> ParticipantRow | None:
    """The (not deleted) participant with this personnummer in any written form, or None.
    An invalid number raises ValidationError."""
    check = Checker("participant")
    pnr = check.run(normalize_personal_number, personal_number)
    check.done()
    with db.read() as s:
        found = s.execute(_base_query().where(Participant.personal_number == pnr)).first()
    return _row(found) if found is not None else None


def _same_person(s: Session, pnr: str, participant_id: str = "") -> Participant | None:
    """Another participant with this personnummer, a live one first (read inside the save's
    write transaction, so that no other process can register the person before it commits)."""
    return s.execute(
        select(Participant)
        .where(Participant.personal_number == pnr, Participant.id != participant_id)
        .order_by(Participant.deleted_at.is_not(None))  # an active one first
    ).scalars().first()


def _net(db: Database, data: ParticipantData, participant_id: str = ""):
    def recheck() -> None:
        with db.read() as s:
            _validated(s, data, participant_id)

    return identity_net(recheck, "personal_number", "participant", participant_id)


def _validated(s: Session, data: ParticipantData, participant_id: str = "") -> dict:
    check = Checker("participant", participant_id)
    values: dict = {
        "first_name": check.limit(
            "first_name", check.required("first_name", data.first_name, _("Enter the first name.")), 100
        ),
        "last_name": check.limit(
            "last_name", check.required("last_name", data.last_name, _("Enter the last name.")), 100
        ),
    }
    pnr = check.run(normalize_personal_number, data.personal_number)
    gender = check.run(normalize_gender, data.gender)
    if gender == "" and pnr:
        gender = gender_from_personal_number(pnr)
    values["personal_number"] = pnr
    values["gender"] = gender or ""
    values["email"] = check.limit("email", check.run(normalize_email, data.email) or "", 200)
    values["phone"] = check.limit("phone", check.run(normalize_phone, data.phone) or "", 50)
    values["protected"] = bool(data.protected)
    values.update(_project_values(check, data))
    company_id = data.company_id or None
    values["company_id"] = company_id
    if company_id is not None:
        company = s.get(Company, company_id)
        if company is None or company.deleted_at is not None:
            check.add("company_id", _("The chosen company does not exist."))
    if pnr and not is_protected_number(pnr):  # ESF's protected form is shared by many people
        other = _same_person(s, pnr, participant_id)
        if other is not None:
            masked = mask_personal_number(pnr)
            if other.deleted_at is None:
                check.add(
                    "personal_number",
                    _("{number} is already registered as {name}. A person is registered only once.").format(
                        number=masked, name=f"{other.first_name} {other.last_name}"
                    ),
                )
            else:
                check.add(
                    "personal_number",
                    _("{number} belongs to a deleted participant. Restore that participant instead.").format(
                        number=masked
                    ),
                )
    check_into(check, "participants", values)  # lengths, characters, amounts as on every way in
    check.done()
    return values


def _project_values(check: Checker, data: ParticipantData) -> dict:
    values = {
        "project_start": check.run(project_data.optional_date, "project_start", data.project_start),
        "project_end": check.run(project_data.optional_date, "project_end", data.project_end),
        "formal_qualification": None if data.formal_qualification is None else bool(data.formal_qualification),
    }
    for name in project_data.CODES:
        values[name] = check.run(project_data.code, name, getattr(data, name))
    start, end = values["project_start"], values["project_end"]
    if start and end and end < start:
        check.add("project_end", _("The end date is before the start date."))
    return values


def validate_participant(db: Database, data: ParticipantData, participant_id: str = "") -> None:
    """Check without saving (for a form): raises the ValidationError a save would raise."""
    with db.read() as s:
        _validated(s, data, participant_id)


def create_participant(db: Database, data: ParticipantData) -> str:
    with _net(db, data), db.write() as s:
        values = _validated(s, data)
        p = Participant(**values)
        s.add(p)
        s.flush()
        return p.id


def update_participant(db: Database, participant_id: str, data: ParticipantData, version: int | None = None) -> int:
    """Save the form's values; `version` (ParticipantDetail.version): StaleEdit when a colleague
    saved other values since. Returns the version now saved (the form's next save starts from it)."""
    with _net(db, data, participant_id), db.write() as s:
        values = _validated(s, data, participant_id)
        p = s.get(Participant, participant_id)
        if p is None or p.deleted_at is not None:
            raise NotFound(_("The participant was not found."))
        check_version(p, version, values, "participant")
        for key, value in values.items():
            if getattr(p, key) != value:
                setattr(p, key, value)
        s.flush()
        return p.version


def delete_participant(db: Database, participant_id: str) -> None:
    _set_deleted(db, participant_id, True)


def restore_participant(db: Database, participant_id: str) -> None:
    _set_deleted(db, participant_id, False)


def _set_deleted(db: Database, participant_id: str, deleted: bool) -> None:
    with db.write() as s:
        p = s.get(Participant, participant_id)
        if p is None:
            raise NotFound(_("The participant was not found."))
        if not deleted and p.deleted_at is not None:
            clash = s.execute(
                select(Participant.id).where(
                    Participant.personal_number == p.personal_number, alive(Participant), Participant.id != p.id
                )
            ).first()
            if clash is not None:
                raise UserError(
                    _("{number} is registered again as another participant; this one cannot be restored.").format(
                        number=mask_personal_number(p.personal_number)
                    )
                )
        p.deleted_at = utcnow() if deleted else None
