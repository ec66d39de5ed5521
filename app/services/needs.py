"""Behovsanalys: a company's identified competence needs, target groups and the courses that
answer them (links in models.NeedCourse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.concurrency import check_version
from app.db import Database
from app.errors import NotFound
from app.i18n import _
from app.limits import check_into
from app.models import Company, Course, NeedCourse, NeedsAnalysis, need_course_id, utcnow
from app.services._checks import Checker, alive, clean
from app.validation import parse_date


@dataclass(frozen=True)
class NeedData:
    company_id: str
    date: date | str
    description: str
    target_groups: str = ""
    course_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedRow:
    id: str
    company_id: str
    date: date
    description: str
    target_groups: str
    course_ids: tuple[str, ...]
    course_codes: tuple[str, ...]
    version: int = 0  # what a form opened (update_need's `version`)


def list_needs(db: Database, company_id: str) -> list[NeedRow]:
    """A company's needs analyses, newest first."""
    with db.read() as s:
        needs = s.execute(
            select(NeedsAnalysis)
            .where(NeedsAnalysis.company_id == company_id, alive(NeedsAnalysis))
            .order_by(NeedsAnalysis.date.desc(), NeedsAnalysis.created_at.desc())
        ).scalars().all()
        links = s.execute(
            select(NeedCourse.need_id, Course.id, Course.code)
            .join(Course, Course.id == NeedCourse.course_id)
            .where(NeedCourse.need_id.in_([n.id for n in needs]), alive(NeedCourse), alive(Course))
            .order_by(Course.code)
        ).all()
    by_need: dict[str, list[tuple[str, str]]] = {}
    for need_id, course_id, code in links:
        by_need.setdefault(need_id, []).append((course_id, code))
    return [
        NeedRow(
            id=n.id,
            company_id=n.company_id,
            date=n.date,
            description=n.description,
            target_groups=n.target_groups,
            course_ids=tuple(c for c, _code in by_need.get(n.id, ())),
            course_codes=tuple(code for _c, code in by_need.get(n.id, ())),
            version=n.version,
        )
        for n in needs
    ]


def get_need(db: Database, need_id: str) -> NeedRow:
    with db.read() as s:
        need = s.get(NeedsAnalysis, need_id)
        if need is None or need.deleted_at is not None:
            raise NotFound(_("The needs analysis was not found."))
        company_id = need.company_id
    for row in list_needs(db, company_id):
        if row.id == need_id:
            return row
    raise NotFound(_("The needs analysis was not found."))


def _validated(s: Session, data: NeedData, need_id: str = "") -> dict:
    check = Checker("need", need_id)
    when = check.run(parse_date, data.date, "date")
    description = check.required("description", data.description, _("Describe the identified needs."))
    course_ids = tuple(dict.fromkeys(data.course_ids or ()))
    company = s.get(Company, data.company_id) if data.company_id else None
    if company is None or company.deleted_at is not None:
        check.add("company_id", _("The chosen company does not exist."))
    if course_ids:
        known = set(
            s.execute(select(Course.id).where(Course.id.in_(course_ids), alive(Course))).scalars()
        )
        if any(cid not in known for cid in course_ids):
            check.add("course_ids", _("A linked course does not exist."))
    check_into(check, "needs", {"date": when, "description": clean(data.description), "target_groups": clean(data.target_groups)})
    check.done()
    return {
        "company_id": data.company_id,
        "date": when,
        "description": clean(data.description) if description else "",
        "target_groups": clean(data.target_groups),
        "course_ids": course_ids,
    }


def _link(s, need_id: str, course_ids: tuple[str, ...]) -> None:
    links = s.execute(select(NeedCourse).where(NeedCourse.need_id == need_id)).scalars()
    existing = {link.course_id: link for link in links}
    for course_id, link in existing.items():
        if course_id not in course_ids and link.deleted_at is None:
            link.deleted_at = utcnow()
    for course_id in course_ids:
        link = existing.get(course_id)
        if link is None:
            s.add(NeedCourse(id=need_course_id(need_id, course_id), need_id=need_id, course_id=course_id))
        elif link.deleted_at is not None:
            link.deleted_at = None


def create_need(db: Database, data: NeedData) -> str:
    with db.write() as s:
        values = _validated(s, data)
        course_ids = values.pop("course_ids")
        need = NeedsAnalysis(**values)
        s.add(need)
        s.flush()
        _link(s, need.id, course_ids)
        return need.id


def update_need(db: Database, need_id: str, data: NeedData, version: int | None = None) -> None:
    """`version` (NeedRow.version): StaleEdit when a colleague saved other values since (the
    linked courses are records of their own and not compared)."""
    with db.write() as s:
        values = _validated(s, data, need_id)
        course_ids = values.pop("course_ids")
        need = s.get(NeedsAnalysis, need_id)
        if need is None or need.deleted_at is not None:
            raise NotFound(_("The needs analysis was not found."))
        check_version(need, version, values, "need")
        for key, value in values.items():
            if getattr(need, key) != value:
                setattr(need, key, value)
        _link(s, need.id, course_ids)


def delete_need(db: Database, need_id: str) -> None:
    _set_deleted(db, need_id, True)


def restore_need(db: Database, need_id: str) -> None:
    _set_deleted(db, need_id, False)


def _set_deleted(db: Database, need_id: str, deleted: bool) -> None:
    with db.write() as s:
        need = s.get(NeedsAnalysis, need_id)
        if need is None:
            raise NotFound(_("The needs analysis was not found."))
        need.deleted_at = utcnow() if deleted else None
