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
    """May 2026: no case number and no unit cost in the project's settings, a company without
    organisation number, one without a type of organisation, 11 sessions of 23 h for one person
    (253 h), a person with a declared end date and no start date, Anna in two overlapping
    sessions of two courses, sessions on Första maj (Friday), Kristi himmelsfärd (Thursday 14)
    and Sunday 3, and a mark on a session after 'today'."""
    from dataclasses import replace

    from app.services.settings import get_project_settings, save_project_settings

    save_project_settings(db, replace(get_project_settings(db), case_number="", unit_cost=None))
    out = {}
    with db.write() as s:
        nameless = Company(name="Utan Nummer AB", org_number="", organisation_type="private")
        untyped = Company(name="Utan Typ AB", org_number="556036-0793")
        s.add_all([nameless, untyped])
        s.flush()
        olle = Participant(first_name="Olle", last_name="Öst", personal_number=luhn_pnr("19700505", "123"), company_id=nameless.id)
        greta = Participant(first_name="Greta", last_name="Gran", personal_number=luhn_pnr("19750606", "246"),
                            company_id=untyped.id, project_end=date(2026, 5, 8))
        marathon = Course(code="LÅNG-1", title="Lång kurs")
        overlap = Course(code="OVL-1", title="Krockar")
        s.add_all([olle, greta, marathon, overlap])
        s.flush()
        days = [date(2026, 5, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 18, 19, 20)]
        for day in days:
            ses = CourseSession(course_id=marathon.id, date=day, start_time=time(0, 30), end_time=time(23, 30))
            s.add(ses)
            s.flush()
            s.add(Attendance(id=attendance_id(ses.id, olle.id), session_id=ses.id, participant_id=olle.id, status="present"))
        s.add(Enrollment(id=enrollment_id(marathon.id, olle.id), course_id=marathon.id, participant_id=olle.id))
        s.add(Enrollment(id=enrollment_id(overlap.id, greta.id), course_id=overlap.id, participant_id=greta.id))
        sve_may = CourseSession(course_id=ids["sve"], date=date(2026, 5, 25), start_time=time(8), end_time=time(12))
        ovl_may = CourseSession(course_id=overlap.id, date=date(2026, 5, 25), start_time=time(11), end_time=time(13))
        first_may = CourseSession(course_id=overlap.id, date=date(2026, 5, 1), start_time=time(9), end_time=time(10))
        ascension = CourseSession(course_id=overlap.id, date=date(2026, 5, 14), start_time=time(9), end_time=time(10))
        sunday = CourseSession(course_id=overlap.id, date=date(2026, 5, 3), start_time=time(9), end_time=time(10))
        s.add_all([sve_may, ovl_may, first_may, ascension, sunday])
        s.flush()
        for ses in (sve_may, ovl_may):
            s.add(Attendance(id=attendance_id(ses.id, ids["anna"]), session_id=ses.id, participant_id=ids["anna"], status="present"))
        s.add(Attendance(id=attendance_id(first_may.id, greta.id), session_id=first_may.id, participant_id=greta.id, status="present"))
        out.update(olle=olle.id, greta=greta.id, untyped=untyped.id, nameless=nameless.id, first_may=first_may.id, ascension=ascension.id, sunday=sunday.id,
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
        ("missing-case-number", "esf.case_number"),
        ("missing-unit-cost", "esf.unit_cost"),
        ("company-without-org-number", planted["nameless"]),
        ("company-without-type", planted["untyped"]),
        ("end-without-start", planted["greta"]),
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
    assert text["missing-case-number"] == "The project's case number (ärende-id) is missing in Settings."
    assert text["missing-unit-cost"] == "The project's unit cost per hour is missing in Settings."
    assert text["company-without-org-number"] == "Utan Nummer AB: the organisation number is missing."
    assert text["company-without-type"] == "Utan Typ AB: the type of organisation is missing."
    assert text["end-without-start"] == "19750606-**** Greta Gran: a project end date without a start date."
    assert text["over-250-hours"] == "19700505-**** Olle Öst: 253.0 hours in May 2026, more than 250."
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
    # the fixture's three participants with hours in March
    assert {(f.code, f.record_id) for f in findings} == {
        ("no-signed-original", ids["anna"]), ("no-signed-original", ids["bertil"]), ("no-signed-original", ids["fatima"])}
    for who in ("anna", "bertil", "fatima"):
        mark_original_received(db, ids[who], "2026-03", date(2026, 4, 21))
    # closed, signed and past the deadline: nothing left
    assert control_report(db, "2026-03", today=date(2026, 6, 1)) == []


def test_a_missing_case_number_or_unit_cost_is_found(db):
    from dataclasses import replace
    from decimal import Decimal

    from app.services.settings import get_project_settings, save_project_settings

    build(db)
    i18n.set_language("en")
    settings = get_project_settings(db)
    save_project_settings(db, replace(settings, case_number=""))
    assert [f.code for f in control_report(db, "2026-03", today=TODAY)] == ["missing-case-number"]
    save_project_settings(db, replace(settings, unit_cost=None))
    assert [f.code for f in control_report(db, "2026-03", today=TODAY)] == ["missing-unit-cost"]
    save_project_settings(db, replace(settings, unit_cost=Decimal("291.47")))
    assert control_report(db, "2026-03", today=TODAY) == []
