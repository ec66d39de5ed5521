"""The demo data set: a believable year of the programme around the given day, valid throughout."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from app.db import table_counts
from app.demo import fill_demo, fill_demo_if_empty
from app.errors import UserError
from app.models import (
    Attendance,
    Company,
    Course,
    CourseSession,
    Enrollment,
    NeedCourse,
    NeedsAnalysis,
    Participant,
    Provider,
)
from app.services.settings import get_settings
from app.validation import (
    MUNICIPALITIES,
    birth_date_from_personal_number,
    gender_from_personal_number,
    is_coordination_number,
    normalize_email,
    normalize_org_number,
    normalize_personal_number,
)

TODAY = date(2026, 3, 18)


@pytest.fixture
def demo(db):
    counts = fill_demo(db, today=TODAY)
    return db, counts


def test_counts_are_those_of_a_year_of_the_programme(demo):
    db, counts = demo
    assert counts["providers"] == 3
    assert 14 <= counts["companies"] <= 16
    assert counts["participants"] == 120
    assert counts["courses"] == 12
    with db.read() as s:
        assert s.query(Participant).count() == 120
        assert {p.name for p in s.query(Provider)} == {"Campus Västervik", "Nova Oskarshamn", "IUC Kalmar län"}


def test_companies_have_valid_org_numbers_municipalities_and_contacts(demo):
    db, _ = demo
    with db.read() as s:
        companies = s.query(Company).all()
    assert len({c.org_number for c in companies}) == len(companies)
    for c in companies:
        assert normalize_org_number(c.org_number) == c.org_number
        assert c.municipality in MUNICIPALITIES
        assert c.contact_name and normalize_email(c.contact_email) == c.contact_email
    assert len({c.municipality for c in companies}) >= 10


def test_participants_have_valid_plausible_numbers_and_varied_names(demo):
    db, _ = demo
    with db.read() as s:
        people = s.query(Participant).all()
    numbers = [p.personal_number for p in people]
    assert len(set(numbers)) == len(numbers)
    for p in people:
        assert normalize_personal_number(p.personal_number, today=TODAY) == p.personal_number
        assert 1965 <= birth_date_from_personal_number(p.personal_number).year <= 2002
        assert p.gender == gender_from_personal_number(p.personal_number)
        assert p.company_id
        if p.email:
            assert normalize_email(p.email) == p.email
    assert sum(is_coordination_number(n) for n in numbers) >= 3
    names = {f"{p.first_name} {p.last_name}" for p in people}
    assert {"Łukasz Świątek", "Nguyễn Thị Ánh", "Şükrü Çelik", "Aleksandra Nowak", "Mohammed Al-Hassan"} <= names
    assert any(ch in "".join(names) for ch in "åäö")


def test_courses_sessions_and_attendance_around_today(demo):
    db, _ = demo
    with db.read() as s:
        courses = s.query(Course).all()
        sessions = s.query(CourseSession).all()
        marks = s.query(Attendance).all()
        enrollments = s.query(Enrollment).all()
    titles = {c.title for c in courses}
    assert {"MIG/MAG-svetsning", "Lean produktion", "Truckkort A+B", "Svenska för industrin",
            "Arbetsmiljö (BAM)", "Excel för produktionsplanering"} <= titles
    assert all(c.description and c.learning_outcomes and c.provider_id for c in courses)
    assert len({c.code for c in courses}) == 12
    assert any(x.date < TODAY for x in sessions) and any(x.date > TODAY for x in sessions)
    assert all(x.end_time > x.start_time and x.date.weekday() < 5 for x in sessions)
    by_id = {x.id: x for x in sessions}
    assert marks and all(by_id[m.session_id].date < TODAY and not by_id[m.session_id].cancelled for m in marks)
    statuses = Counter(m.status for m in marks)
    assert set(statuses) == {"present", "late", "excused", "absent"}
    assert statuses["present"] > len(marks) / 2
    assert all(m.minutes and 0 < m.minutes < by_id[m.session_id].minutes for m in marks if m.status == "late")
    enrolled = Counter(e.status for e in enrollments)
    assert enrolled["waitlisted"] and enrolled["withdrawn"] and enrolled["enrolled"] and enrolled["completed"]
    pairs = {(e.course_id, e.participant_id) for e in enrollments}
    course_of = {x.id: x.course_id for x in sessions}
    assert all((course_of[m.session_id], m.participant_id) in pairs for m in marks)


def test_needs_analyses_link_courses(demo):
    db, _ = demo
    with db.read() as s:
        needs = s.query(NeedsAnalysis).all()
        links = s.query(NeedCourse).all()
    assert len({n.company_id for n in needs}) >= 5
    assert all(n.description and n.target_groups and n.date < TODAY for n in needs)
    assert {l.need_id for l in links} == {n.id for n in needs}


def test_settings_name_the_organisation_and_signatory(demo):
    db, _ = demo
    settings = get_settings(db)
    assert settings.organisation_name == "Campus Västervik"
    assert settings.signatory_name and settings.signatory_title


def test_a_database_with_data_is_refused_and_left_alone(demo):
    db, _ = demo
    before = table_counts(db)
    with pytest.raises(UserError):
        fill_demo(db, today=TODAY)
    assert fill_demo_if_empty(db) is None
    assert table_counts(db) == before


def test_fill_if_empty_fills_an_empty_database(db):
    counts = fill_demo_if_empty(db)
    assert counts is not None and counts["participants"] == 120


def test_the_same_day_gives_the_same_demo(db, tmp_path):
    from app.db import Database

    other = Database(tmp_path / "other.db")
    try:
        fill_demo(db, today=TODAY)
        fill_demo(other, today=TODAY)

        def content(database):
            with database.read() as s:
                return (
                    sorted((p.id, p.personal_number, p.first_name, p.last_name) for p in s.query(Participant)),
                    sorted((m.id, m.status, m.minutes) for m in s.query(Attendance)),
                    sorted((e.id, e.status) for e in s.query(Enrollment)),
                )

        assert content(db) == content(other)
    finally:
        other.dispose()
