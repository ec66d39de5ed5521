"""Four processes on one database at the same moment: what a write decides on (an identity, free
places, the next certificate number) is decided inside its transaction, so they never both win.
On PostgreSQL (KURSDESK_TEST_PG_URL) this is what Database.write()'s advisory lock gives; on
SQLite, BEGIN IMMEDIATE."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from stdnum import luhn

from app import i18n
from app.db import Database
from app.models import Certificate, Company, Enrollment
from app.services.attendance import set_mark
from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, SessionData, add_session, create_course
from app.services.enrollments import enroll
from app.services.participants import ParticipantData, create_participant
from tests.concurrency.racing import race

CLIENTS = 4
ROUNDS = 3


def org_number(i: int) -> str:
    body = f"556{i:06d}"
    return body + luhn.calc_check_digit(body)


def personal_number(i: int) -> str:
    body = f"{70 + i // 2800 % 30:02d}{i // 280 % 12 + 1:02d}{i // 10 % 28 + 1:02d}{i % 10:02d}1"
    return "19" + body + luhn.calc_check_digit(body)


# --- what each client process does (module level: spawned processes import them) ---------------

def client_create_company(url: str, org: str, tag: str) -> str:
    i18n.set_language("en")
    db = Database(url)
    try:
        return create_company(db, CompanyData(name=f"Samma AB {tag}", org_number=org))
    finally:
        db.dispose()


def client_enroll(url: str, course_id: str, people: list[str]) -> tuple:
    i18n.set_language("en")
    db = Database(url)
    try:
        return enroll(db, course_id, people).enrolled
    finally:
        db.dispose()


def client_issue(url: str, course_id: str) -> list[str]:
    from app.services.certificates import issue_certificates

    i18n.set_language("en")
    db = Database(url)
    try:
        return [c.number for c in issue_certificates(db, course_id, workers=0, confirm=True)]
    finally:
        db.dispose()


def _no_unexpected(results):
    assert [v for k, v in results if k == "unexpected"] == []


def test_one_organisation_number_registered_at_once_by_four_clients_is_one_company(database_url):
    for r in range(ROUNDS):
        org = org_number(1000 + r)
        results = race(client_create_company, [(database_url, org, f"{r}{c}") for c in range(CLIENTS)])
        _no_unexpected(results)
        assert sum(1 for k, _v in results if k == "ok") == 1, results
        refused = [v for k, v in results if k == "user"]
        assert len(refused) == CLIENTS - 1 and all("org_number" in v for v in refused), refused
    db = Database(database_url)
    try:
        with db.read() as s:
            twice = s.execute(select(Company.org_number).group_by(Company.org_number).having(func.count() > 1)).all()
    finally:
        db.dispose()
    assert twice == []


def test_four_clients_enrolling_into_few_places_never_overbook(database_url):
    db = Database(database_url)
    try:
        course = create_course(db, CourseData(code="FEW-1", title="Few places", capacity=3))
        people = [create_participant(db, ParticipantData("P", f"N{i}", personal_number(i))) for i in range(CLIENTS * 2)]
    finally:
        db.dispose()
    results = race(client_enroll, [(database_url, course, people[2 * c: 2 * c + 2]) for c in range(CLIENTS)])
    _no_unexpected(results)
    assert sum(len(v) for _k, v in results) == 3
    db = Database(database_url)
    try:
        with db.read() as s:
            enrolled = s.execute(select(func.count()).select_from(Enrollment).where(
                Enrollment.course_id == course, Enrollment.status == "enrolled", Enrollment.deleted_at.is_(None))).scalar()
            waiting = s.execute(select(func.count()).select_from(Enrollment).where(
                Enrollment.course_id == course, Enrollment.status == "waitlisted")).scalar()
    finally:
        db.dispose()
    assert (enrolled, waiting) == (3, CLIENTS * 2 - 3)


def test_four_clients_issuing_certificates_at_once_never_share_a_number(database_url):
    db = Database(database_url)
    try:
        courses = []
        for c in range(CLIENTS):
            course = create_course(db, CourseData(code=f"CERT-{c}", title="Certificates", min_attendance_percent=50))
            session = add_session(db, course, SessionData(date.today() - timedelta(days=1), "09:00", "12:00"))
            people = [create_participant(db, ParticipantData("C", f"N{c}{i}", personal_number(100 + 10 * c + i))) for i in range(5)]
            enroll(db, course, people)
            for p in people:
                set_mark(db, session, p, "present")
            courses.append(course)
    finally:
        db.dispose()
    results = race(client_issue, [(database_url, course) for course in courses])
    _no_unexpected(results)
    numbers = [n for _k, v in results for n in v]
    assert len(numbers) == CLIENTS * 5
    assert len(set(numbers)) == len(numbers)
    db = Database(database_url)
    try:
        with db.read() as s:
            stored = s.execute(select(Certificate.number)).scalars().all()
    finally:
        db.dispose()
    assert sorted(stored) == sorted(numbers)


def test_a_unique_constraint_refusing_a_write_is_one_clear_line_on_the_command_line(monkeypatch, capsys):
    """Should a constraint still refuse a write no rule caught (a record that arrived some other
    way at the same moment), the command line says so in one line and exits 2."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from app import cli

    def refused(_args):
        raise IntegrityError("INSERT ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed: certificates.number"))

    monkeypatch.setitem(cli.HANDLERS, "courses", refused)
    assert cli.main(["--lang", "en", "courses"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "kursdesk: Another Kursdesk window or job saved a record with the same identity at the same moment; "
        "nothing was saved. Check the list and try again."]


@pytest.mark.postgresql_only
def test_a_write_waiting_longer_than_the_busy_timeout_for_the_write_lock_is_database_busy(db, monkeypatch):
    from app import db as dbmod
    from app.concurrency import WRITE_LOCK_KEY
    from app.db import DatabaseBusy

    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 300)
    other = Database(db.url)
    try:
        with other.engine.begin() as holder:  # another client in the middle of a long write
            holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
            with pytest.raises(DatabaseBusy):
                create_company(db, CompanyData(name="Väntar AB", org_number=org_number(7)))
        create_company(db, CompanyData(name="Väntar AB", org_number=org_number(7)))  # free again
    finally:
        other.dispose()
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Company)).scalar() == 1
