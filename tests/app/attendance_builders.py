"""Builders for attendance tests (services, sign-in sheets, the register page, the CLI):
a course with sessions and enrolled participants, written through the ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from app.models import Company, Course, CourseSession, Enrollment, Participant, enrollment_id

NAMES = [
    ("Åsa", "Öberg", "Kalmar Verkstad AB"),
    ("Łukasz", "Świątek", "Västerviks Mekaniska AB"),
    ("Nguyễn Thị", "Ánh", "Nybro Plåt & Svets AB"),
    ("Şükrü", "Çelik", "Oskarshamn Gjuteri AB"),
    ("Kalle <Kula>", "Karlsson & Son", "AT&T <Sverige> AB"),
    ("Anna", "Andersson", ""),
]


def luhn_pnr(yyyymmdd: str, serial: str) -> str:
    """A 12-digit personnummer with a correct check digit (serial: 3 digits)."""
    digits = yyyymmdd[2:] + serial
    total = 0
    for i, ch in enumerate(digits):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return yyyymmdd + serial + str((10 - total % 10) % 10)


def free_pnr(s, yyyymmdd: str, serial: int) -> str:
    """A personnummer no live participant holds yet (one personnummer is one live participant):
    the serial counts on while the number is taken, e.g. by a course built before."""
    from sqlalchemy import select

    for n in range(serial, serial + 1000):
        pnr = luhn_pnr(yyyymmdd, f"{n % 1000:03d}")
        taken = s.scalar(select(Participant.id).where(Participant.personal_number == pnr, Participant.deleted_at.is_(None)))
        if taken is None:
            return pnr
    raise AssertionError("no free personnummer left on that day")


@dataclass
class Built:
    course_id: str
    code: str
    participant_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    personal_numbers: list[str] = field(default_factory=list)


def build_course(
    db,
    *,
    code: str = "SVETS-1",
    title: str = "Svetsning MIG/MAG – grund",
    min_percent: int = 80,
    people=NAMES,
    sessions=((date(2026, 3, 2), time(8, 0), time(12, 0), False),),
    location: str = "Campus Västervik, sal 3",
    teacher: str = "Eva Lind",
    status: str = "enrolled",
) -> Built:
    built = Built(course_id="", code=code)
    with db.write() as s:
        course = Course(code=code, title=title, min_attendance_percent=min_percent, location=location, teacher=teacher)
        s.add(course)
        s.flush()
        built.course_id = course.id
        companies: dict[str, Company] = {}
        for i, (first, last, company_name) in enumerate(people):
            company = None
            if company_name:
                company = companies.get(company_name)
                if company is None:
                    company = companies[company_name] = Company(name=company_name)
                    s.add(company)
                    s.flush()
            pnr = free_pnr(s, f"19{70 + i % 30:02d}{1 + i % 12:02d}{1 + i % 28:02d}", (i * 7) % 1000)
            p = Participant(first_name=first, last_name=last, personal_number=pnr,
                            company_id=company.id if company else None)
            s.add(p)
            s.flush()
            s.add(Enrollment(id=enrollment_id(course.id, p.id), course_id=course.id, participant_id=p.id, status=status))
            built.participant_ids.append(p.id)
            built.personal_numbers.append(pnr)
        for day, start, end, cancelled in sessions:
            session = CourseSession(course_id=course.id, date=day, start_time=start, end_time=end, cancelled=cancelled)
            s.add(session)
            s.flush()
            built.session_ids.append(session.id)
    return built


def enrol(db, course_id: str, first: str, last: str, status: str, pnr: str = "") -> str:
    with db.write() as s:
        p = Participant(first_name=first, last_name=last, personal_number=pnr or free_pnr(s, "19850505", 123))
        s.add(p)
        s.flush()
        s.add(Enrollment(id=enrollment_id(course_id, p.id), course_id=course_id, participant_id=p.id, status=status))
        return p.id
