"""The control report (issue 13): each planted problem is found, a clean month has none."""

from __future__ import annotations

from datetime import date, time

from app import i18n
from app.models import Attendance, Company, Course, CourseSession, Enrollment, Participant, attendance_id, enrollment_id
from app.services import month_close as mc
from app.services.control_report import control_report
from app.services.originals import mark_original_received
from tests.app.attendance_builders import luhn_pnr
from tests.fixtures.report_month import TODAY, build


def test_a_clean_month_has_no_findings(db):
    build(db)
    assert control_report(db, "2026-03", today=TODAY) == []


def _plant_may(db, ids) -> dict[str, str]:
    """May 2026: a company without organisation number, 11 sessions of 23 h for one person
    (253 h), Anna in two overlapping sessions of two courses, sessions on Första maj (Friday),
    Kristi himmelsfärd (Thursday 14) and Sunday 3, and a mark on a session after 'today'."""
    out = {}
    with db.write() as s:
        nameless = Company(name="Utan Nummer AB", org_number="")
        s.add(nameless)
        s.flush()
        olle = Participant(first_name="Olle", last_name="Öst", personal_number=luhn_pnr("19700505", "123"), company_id=nameless.id)
        marathon = Course(code="LÅNG-1", title="Lång kurs")
        overlap = Course(code="OVL-1", title="Krockar")
        s.add_all([olle, marathon, overlap])
        s.flush()
        days = [date(2026, 5, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 18, 19, 20)]
        for day in days:
            ses = CourseSession(course_id=marathon.id, date=day, start_time=time(0, 30), end_time=time(23, 30))
            s.add(ses)
            s.flush()
            s.add(Attendance(id=attendance_id(ses.id, olle.id), session_id=ses.id, participant_id=olle.id, status="present"))
        s.add(Enrollment(id=enrollment_id(marathon.id, olle.id), course_id=marathon.id, participant_id=olle.id))
        sve_may = CourseSession(course_id=ids["sve"], date=date(2026, 5, 25), start_time=time(8), end_time=time(12))
        ovl_may = CourseSession(course_id=overlap.id, date=date(2026, 5, 25), start_time=time(11), end_time=time(13))
        first_may = CourseSession(course_id=overlap.id, date=date(2026, 5, 1), start_time=time(9), end_time=time(10))
        ascension = CourseSession(course_id=overlap.id, date=date(2026, 5, 14), start_time=time(9), end_time=time(10))
        sunday = CourseSession(course_id=overlap.id, date=date(2026, 5, 3), start_time=time(9), end_time=time(10))
        s.add_all([sve_may, ovl_may, first_may, ascension, sunday])
        s.flush()
        for ses in (sve_may, ovl_may):
            s.add(Attendance(id=attendance_id(ses.id, ids["anna"]), session_id=ses.id, participant_id=ids["anna"], status="present"))
        out.update(olle=olle.id, nameless=nameless.id, first_may=first_may.id, ascension=ascension.id, sunday=sunday.id,
                   sve_may=sve_may.id, ovl_may=ovl_may.id)
    return out


def test_each_planted_problem_is_found(db):
    ids = build(db)
    planted = _plant_may(db, ids)
    i18n.set_language("en")
    # the 22nd: the sessions of the 25th are in the future, March is past SCB's deadline (April 28)
    findings = control_report(db, "2026-05", today=date(2026, 5, 22))
    got = {(f.code, f.record_id) for f in findings}
    assert got == {
        ("company-without-org-number", planted["nameless"]),
        ("over-250-hours", planted["olle"]),
        ("double-reporting", ids["anna"]),
        ("holiday-session", planted["first_may"]),
        ("holiday-session", planted["ascension"]),
        ("holiday-session", planted["sunday"]),
        ("future-marks", planted["sve_may"]),
        ("future-marks", planted["ovl_may"]),
        ("past-deadline", "2026-03"),
    }
    text = {f.code: f.text for f in findings}
    assert text["over-250-hours"] == "19700505-**** Olle Öst: 253.00 hours in May 2026, more than 250."
    assert "SVE-01" in text["double-reporting"] and "OVL-1" in text["double-reporting"] and "-****" in text["double-reporting"]
    holidays = sorted(f.text for f in findings if f.code == "holiday-session")
    assert holidays == [
        "OVL-1 01/05/2026 09:00: a session on a public holiday (May Day).",
        "OVL-1 03/05/2026 09:00: a session on a Sunday.",
        "OVL-1 14/05/2026 09:00: a session on a public holiday (Ascension Day).",
    ]
    assert all("\n" not in f.text for f in findings)


def test_a_closed_month_needs_every_signed_original(db):
    ids = build(db)
    mc.close_month(db, "2026-03", today=date(2026, 4, 20))
    findings = control_report(db, "2026-03", today=date(2026, 4, 20))
    assert {(f.code, f.record_id) for f in findings} == {("no-signed-original", ids["anna"]), ("no-signed-original", ids["bertil"])}
    for who in ("anna", "bertil"):
        mark_original_received(db, ids[who], "2026-03", date(2026, 4, 21))
    # closed, signed and past the deadline: nothing left
    assert control_report(db, "2026-03", today=date(2026, 6, 1)) == []


def test_missing_esf_settings_are_found_where_the_project_has_them(db, monkeypatch):
    """Issue 12 brings the ESF project's settings (get_project_settings); without them the check
    is skipped (the clean month above), with them an empty case number or unit cost is found."""
    from types import SimpleNamespace

    from app.services import settings as settings_service

    build(db)
    monkeypatch.setattr(settings_service, "get_project_settings",
                        lambda _db: SimpleNamespace(case_number="", unit_cost=None, project_start=None, project_end=None),
                        raising=False)
    i18n.set_language("en")
    assert [(f.code, f.text) for f in control_report(db, "2026-03", today=TODAY)] == [
        ("missing-case-number", "The project's case number (ärende-id) is missing in Settings."),
        ("missing-unit-cost", "The project's unit cost per hour is missing in Settings."),
    ]
    monkeypatch.setattr(settings_service, "get_project_settings",
                        lambda _db: SimpleNamespace(case_number="2020/00123", unit_cost=291, project_start=None, project_end=None))
    assert control_report(db, "2026-03", today=TODAY) == []
