"""Företag: the companies whose employees take part, with their contact person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from app.concurrency import check_version
from app.db import Database
from app.errors import NotFound, UserError
from app.i18n import _
from app.limits import check_into
from app.models import Company, Course, Enrollment, Participant, utcnow
from app.services import project_data
from app.services._checks import Checker, alive, identity_net, one_line, sort_key
from app.services.needs import NeedRow, list_needs
from app.services.participants import ParticipantRow, list_participants
from app.validation import normalize_email, normalize_municipality, normalize_org_number, normalize_phone


@dataclass(frozen=True)
class CompanyData:
    name: str
    org_number: str
    municipality: str = ""
    industry: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    organisation_type: str = ""  # ESF's type (app.models.ORGANISATION_TYPES), '' = not set


@dataclass(frozen=True)
class CompanyRow:
    id: str
    name: str
    org_number: str
    municipality: str
    industry: str
    participants: int
    courses: int


@dataclass(frozen=True)
class CompanyDetail:
    id: str
    data: CompanyData
    participants: list[ParticipantRow]
    needs: list[NeedRow]
    version: int = 0  # what a form opened (update_company's `version`)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def company_choices(db: Database) -> list[tuple[str, str]]:
    """(id, name) of every company in Swedish order: for pickers, without list_companies' counts."""
    with db.read() as s:
        rows = s.execute(select(Company.id, Company.name).where(Company.deleted_at.is_(None))).all()
    return sorted(((r.id, r.name) for r in rows), key=lambda r: sort_key(r[1]))


def list_companies(db: Database, search: str = "") -> list[CompanyRow]:
    """Companies by name with their number of participants and of courses their staff take
    part in (enrolled or completed). `search` matches every word against name, org number,
    municipality and industry."""
    people = (
        select(Participant.company_id, func.count().label("n"))
        .where(alive(Participant))
        .group_by(Participant.company_id)
        .subquery()
    )
    courses = (
        select(Participant.company_id, func.count(distinct(Enrollment.course_id)).label("n"))
        .join(Enrollment, Enrollment.participant_id == Participant.id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            alive(Participant),
            alive(Enrollment),
            alive(Course),
            Enrollment.status.in_(("enrolled", "completed")),
        )
        .group_by(Participant.company_id)
        .subquery()
    )
    q = (
        select(
            Company.id,
            Company.name,
            Company.org_number,
            Company.municipality,
            Company.industry,
            func.coalesce(people.c.n, 0),
            func.coalesce(courses.c.n, 0),
        )
        .outerjoin(people, people.c.company_id == Company.id)
        .outerjoin(courses, courses.c.company_id == Company.id)
        .where(alive(Company))
    )
    words = search.split()
    for word in (w for w in words if w.isascii()):
        pattern = _like(word.lower())
        q = q.where(
            or_(
                *(
                    func.lower(col).like(pattern, escape="\\")
                    for col in (Company.name, Company.org_number, Company.municipality, Company.industry)
                )
            )
        )
    with db.read() as s:
        rows = [CompanyRow(*r) for r in s.execute(q).all()]
    others = [w.casefold() for w in words if not w.isascii()]
    if others:
        rows = [
            r
            for r in rows
            if all(w in " ".join((r.name, r.org_number, r.municipality, r.industry)).casefold() for w in others)
        ]
    rows.sort(key=lambda r: (sort_key(r.name), r.org_number))
    return rows


def get_company(db: Database, company_id: str) -> CompanyDetail:
    with db.read() as s:
        c = s.get(Company, company_id)
        if c is None or c.deleted_at is not None:
            raise NotFound(_("The company was not found."))
        data = CompanyData(
            name=c.name,
            org_number=c.org_number,
            municipality=c.municipality,
            industry=c.industry,
            contact_name=c.contact_name,
            contact_email=c.contact_email,
            contact_phone=c.contact_phone,
            organisation_type=c.organisation_type,
        )
        version = c.version
    return CompanyDetail(
        id=company_id,
        data=data,
        participants=list_participants(db, company_id=company_id),
        needs=list_needs(db, company_id),
        version=version,
    )


def _same_org(s: Session, org: str, company_id: str = "") -> list:
    """(name, deleted_at) of the other companies with this organisation number (read inside the
    save's write transaction, so that no other process can register it before it commits)."""
    return s.execute(
        select(Company.name, Company.deleted_at).where(Company.org_number == org, Company.id != company_id)
    ).all()


def _validated(s: Session, data: CompanyData, company_id: str = "") -> dict:
    check = Checker("company", company_id)
    values: dict = {"name": check.limit("name", check.required("name", data.name, _("Enter the company's name.")), 200)}
    org = check.run(normalize_org_number, data.org_number)
    values["org_number"] = org or ""
    values["municipality"] = (
        check.run(normalize_municipality, data.municipality) or "" if one_line(data.municipality) else ""
    )
    values["industry"] = check.limit("industry", one_line(data.industry), 200)
    values["contact_name"] = check.limit("contact_name", one_line(data.contact_name), 200)
    email = check.run(normalize_email, data.contact_email, field="contact_email") or ""
    values["contact_email"] = check.limit("contact_email", email, 200)
    phone = check.run(normalize_phone, data.contact_phone, field="contact_phone") or ""
    values["contact_phone"] = check.limit("contact_phone", phone, 50)
    values["organisation_type"] = check.run(project_data.organisation_type, data.organisation_type) or ""
    if org:
        others = _same_org(s, org, company_id)
        active = [name for name, deleted in others if deleted is None]
        if active:
            check.add(
                "org_number",
                _("{number} is already registered for {name}.").format(number=org, name=active[0]),
            )
        elif others:
            check.add(
                "org_number",
                _("{number} belongs to the deleted company {name}: restore it instead.").format(
                    number=org, name=others[0][0]
                ),
            )
    check_into(check, "companies", values)  # lengths, characters, amounts as on every way in
    check.done()
    return values


def validate_company(db: Database, data: CompanyData, company_id: str = "") -> None:
    """Check without saving (for a form): raises the ValidationError a save would raise."""
    with db.read() as s:
        _validated(s, data, company_id)


def _net(db: Database, data: CompanyData, company_id: str = ""):
    def recheck() -> None:
        with db.read() as s:
            _validated(s, data, company_id)

    return identity_net(recheck, "org_number", "company", company_id)


def create_company(db: Database, data: CompanyData) -> str:
    """Create the company; the organisation number is checked inside the write transaction."""
    with _net(db, data), db.write() as s:
        values = _validated(s, data)
        company = Company(**values)
        s.add(company)
        s.flush()
        return company.id


def update_company(db: Database, company_id: str, data: CompanyData, version: int | None = None) -> None:
    """Save the form's values; `version` (CompanyDetail.version): StaleEdit when a colleague
    saved other values since."""
    with _net(db, data, company_id), db.write() as s:
        values = _validated(s, data, company_id)
        company = s.get(Company, company_id)
        if company is None or company.deleted_at is not None:
            raise NotFound(_("The company was not found."))
        check_version(company, version, values, "company")
        for key, value in values.items():
            if getattr(company, key) != value:
                setattr(company, key, value)
        s.flush()


def delete_company(db: Database, company_id: str) -> None:
    """Soft delete; its participants stay (shown without employer until it is restored)."""
    _set_deleted(db, company_id, True)


def restore_company(db: Database, company_id: str) -> None:
    _set_deleted(db, company_id, False)


def _set_deleted(db: Database, company_id: str, deleted: bool) -> None:
    with db.write() as s:
        company = s.get(Company, company_id)
        if company is None:
            raise NotFound(_("The company was not found."))
        if not deleted and company.deleted_at is not None and company.org_number:
            clash = s.execute(
                select(Company.name).where(
                    Company.org_number == company.org_number, alive(Company), Company.id != company.id
                )
            ).first()
            if clash is not None:
                raise UserError(
                    _("{number} is registered again as {name}; this company cannot be restored.").format(
                        number=company.org_number, name=clash.name
                    )
                )
        company.deleted_at = utcnow() if deleted else None
