"""The register extract (GDPR Art. 15) for one person: everything Kursdesk holds about them, and
what it is for, who receives it, where it came from, how long it is kept and their rights.

`register_extract()` gathers it (every stored field of the participant, read from the table's
columns so new fields are never left out; every enrollment, mark, certificate and original);
`write_extract()` writes the PDF (app/documents/register_extract.py) in the person's language and
the same data as JSON beside it, both atomically, and records the export in the audit log.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.db import Database
from app.errors import NotFound, UserError
from app.gdpr import audit
from app.gdpr.settings import get_gdpr_settings
from app.i18n import N_, _, translate_in
from app.interchange.files import atomic_file
from app.models import (
    Attendance,
    Certificate,
    Company,
    Course,
    CourseSession,
    Enrollment,
    OriginalReceived,
    Participant,
    utcnow,
)
from app.services.settings import get_settings

FORMAT = "kursdesk-register-extract"

# labels of the stored fields (a field without one is shown by its name)
FIELD_LABELS = {
    "id": N_("Record id"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "personal_number": N_("Personal identity number"),
    "gender": N_("Gender"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "company_id": N_("Employer"),
    "protected": N_("Protected personal data"),
    "project_start": N_("Start in the project"),
    "project_end": N_("End in the project"),
    "exit_reason": N_("Exit reason"),
    "exit_status": N_("Status at exit"),
    "employment_terms": N_("Employment terms"),
    "employment_extent": N_("Extent of employment"),
    "formal_qualification": N_("Formal qualification"),
    "informed_on": N_("Informed about data protection on"),
    "created_at": N_("Registered"),
    "updated_at": N_("Last changed"),
    "deleted_at": N_("Deleted"),
}
# never in an extract: the frozen PDF itself is described by its hash, the drawing data repeats fields
_LEFT_OUT = {"pdf", "document"}

PURPOSES = (
    N_("To plan and run the courses of the programme, and to issue course certificates."),
    N_("To report participants and their hours to the funder, the European Social Fund (ESF-rådet), which requires it for the project's co-financing."),
    N_("To report statistics on participants to Statistics Sweden (SCB) on the funder's behalf."),
    N_("To let the funder and auditors check the project until the end of the retention period."),
)
RECIPIENTS = (
    N_("The Swedish ESF Council (Svenska ESF-rådet), the funder."),
    N_("Statistics Sweden (SCB), for the funder's follow-up."),
    N_("Your employer (its contact person receives sign-in sheets, time reports and certificates)."),
)
SOURCE = N_("Your employer's list of participants, sent to the course coordinator, or the course coordinator who registered you; attendance is recorded by the coordinator and the teacher.")
RIGHTS = (
    N_("You may ask for this extract free of charge; the answer comes within one month."),
    N_("You may have wrong data corrected."),
    N_("You may ask for erasure; the records the funder may audit are kept until the retention date, and erased then."),
    N_("You may object to the processing or ask for it to be restricted."),
    N_("You may complain to the Swedish Authority for Privacy Protection (Integritetsskyddsmyndigheten, IMY), www.imy.se."),
)
RETENTION_UNSET = N_("Until the end of the retention period set in the project's grant decision (not yet entered).")
RETENTION_UNTIL = N_("Until {date} (the end of the retention period in the project's grant decision); then erased.")
NEVER_TOOK_PART = N_("As you have not taken part in a course, your data is erased {months} months after the last change.")


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(microsecond=0).isoformat()
    if isinstance(v, (date, time)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _columns(obj, skip=()) -> dict[str, Any]:
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns
            if c.key not in _LEFT_OUT and c.key not in skip}


@dataclass
class Extract:
    """The extract as data (`as_json()` is the JSON file)."""

    language: str
    generated_at: str
    controller: str
    organisation: str
    programme: str
    person: dict[str, Any]
    employer: dict[str, Any]
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    attendance: list[dict[str, Any]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    originals_received: list[dict[str, Any]] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    source: str = ""
    retention_until: str | None = None
    retention: str = ""
    rights: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = {"format": FORMAT, "version": 1}
        out.update(self.__dict__)
        return out


def person_language(db: Database, participant_id: str, default: str) -> str:
    """The person's language: the certificate language of their latest enrollment, else `default`."""
    with db.read() as s:
        row = s.execute(select(Enrollment.certificate_language, Course.certificate_language)
                        .join(Course, Course.id == Enrollment.course_id)
                        .where(Enrollment.participant_id == participant_id)
                        .order_by(Enrollment.created_at.desc()).limit(1)).first()
    if row is None:
        return default
    return row[0] or row[1] or default


def register_extract(db: Database, participant_id: str, lang: str) -> Extract:
    from app.gdpr.retention import took_part

    t = lambda m: translate_in(lang, m)  # noqa: E731
    org = get_settings(db)
    gdpr = get_gdpr_settings(db)
    with db.read() as s:
        p = s.get(Participant, participant_id)
        if p is None:
            raise NotFound(_("The participant was not found."))
        company = s.get(Company, p.company_id) if p.company_id else None
        person = _columns(p)
        employer = {"name": company.name, "org_number": company.org_number} if company is not None else {}
        courses = {c.id: c for c in s.scalars(select(Course).where(Course.id.in_(
            select(Enrollment.course_id).where(Enrollment.participant_id == participant_id).union(
                select(CourseSession.course_id).join(Attendance, Attendance.session_id == CourseSession.id)
                .where(Attendance.participant_id == participant_id),
                select(Certificate.course_id).where(Certificate.participant_id == participant_id)))))}

        def course(cid: str) -> dict[str, str]:
            c = courses.get(cid)
            return {"course_code": c.code, "course_title": c.title} if c is not None else {"course_code": "", "course_title": ""}

        enrollments = [{**course(e.course_id), **_columns(e, ("participant_id",))} for e in s.scalars(
            select(Enrollment).where(Enrollment.participant_id == participant_id).order_by(Enrollment.created_at))]
        marks = s.execute(select(Attendance, CourseSession).join(CourseSession, CourseSession.id == Attendance.session_id)
                          .where(Attendance.participant_id == participant_id)
                          .order_by(CourseSession.date, CourseSession.start_time)).all()
        attendance = [{**course(ses.course_id), "date": ses.date.isoformat(),
                       "start": ses.start_time.strftime("%H:%M"), "end": ses.end_time.strftime("%H:%M"),
                       **_columns(a, ("participant_id", "session_id"))} for a, ses in marks]
        certificates = [{**course(c.course_id), **_columns(c, ("participant_id",))} for c in s.scalars(
            select(Certificate).where(Certificate.participant_id == participant_id).order_by(Certificate.issued_on))]
        originals = [_columns(o, ("participant_id",)) for o in s.scalars(
            select(OriginalReceived).where(OriginalReceived.participant_id == participant_id).order_by(OriginalReceived.month))]
    if gdpr.retention_until is not None:
        retention = t(RETENTION_UNTIL).format(date=gdpr.retention_until.isoformat())
    else:
        retention = t(RETENTION_UNSET)
    if not took_part(db, participant_id):
        retention += " " + t(NEVER_TOOK_PART).format(months=gdpr.nonparticipant_months)
    return Extract(
        language=lang,
        generated_at=utcnow().replace(microsecond=0).isoformat() + "Z",
        controller=gdpr.controller or org.organisation_name,
        organisation=org.organisation_name,
        programme=org.programme_name,
        person=person,
        employer=employer,
        enrollments=enrollments,
        attendance=attendance,
        certificates=certificates,
        originals_received=originals,
        purposes=[t(m) for m in PURPOSES],
        recipients=[t(m) for m in RECIPIENTS],
        source=t(SOURCE),
        retention_until=gdpr.retention_until.isoformat() if gdpr.retention_until else None,
        retention=retention,
        rights=[t(m) for m in RIGHTS],
    )


def write_extract(db: Database, participant_id: str, out_pdf: str | Path, lang: str | None = None) -> tuple[Path, Path]:
    """The extract as a PDF at `out_pdf` and as JSON beside it (same name, .json); both or neither.
    `lang` None: the person's language. Returns the two paths."""
    from app.documents.register_extract import draw_extract
    from app.i18n import current_language

    pdf = Path(out_pdf)
    if pdf.suffix.lower() != ".pdf":
        raise UserError(_("Write the register extract to a .pdf file, not {file}.").format(file=pdf.name))
    lang = lang or person_language(db, participant_id, current_language())
    data = register_extract(db, participant_id, lang)
    js = pdf.with_suffix(".json")
    with atomic_file(js, "extract") as tmp_js, atomic_file(pdf, "extract") as tmp_pdf:
        with open(tmp_js, "w", encoding="utf-8") as handle:
            json.dump(data.as_json(), handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        draw_extract(data, tmp_pdf)
    audit.record(db, "extract", 1, lang)
    return pdf, js
