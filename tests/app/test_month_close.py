"""Closing a month (issue 13): what a close records, the status after changes by the register, a
bundle import and the settings, versions, the warning before saving, and signed originals."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date, time
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import UserError
from app.models import CourseSession
from app.services import month_close as mc
from app.services.attendance import set_mark
from app.services.originals import mark_original_received, originals_checklist, signed_hours_differ
from app.services.reports import month_hours
from app.services.settings import get_settings, save_settings
from tests.fixtures.report_month import ANNA_PNR, TODAY, build

LATER = date(2026, 6, 1)  # March and April are over


def _session(db, course_id: str, day: date) -> str:
    with db.read() as s:
        return s.execute(select(CourseSession.id).where(CourseSession.course_id == course_id, CourseSession.date == day)).scalar_one()


def _status(db) -> dict[str, mc.MonthStatus]:
    return {st.month: st for st in mc.month_status(db, today=LATER)}


def _decimals(mapping: dict) -> dict:
    return {k: Decimal(v) for k, v in mapping.items()}


@pytest.mark.parametrize("rounding", ["exact", "floor"])
def test_month_totals_are_the_time_reports_hours(db, rounding):
    build(db)
    with db.read() as s:
        totals = mc.month_totals(s, [mc.to_month("2026-03"), mc.to_month("2026-04")], rounding)
    for month in ("2026-03", "2026-04"):
        expected = {r.participant_id: r.hours for r in month_hours(db, month, rounding=rounding, today=LATER)}
        assert totals[month] == expected and expected


def test_close_records_hours_figures_files_user_and_device(db, tmp_path):
    ids = build(db)
    summary = tmp_path / "s.xlsx"
    summary.write_bytes(b"the summary as sent")
    v = mc.close_month(db, "2026-03", files=[summary], user="anna.k", today=TODAY)
    assert (v.month, v.version, v.closed_by, v.rounding) == ("2026-03", 1, "anna.k", "exact")
    # the fixture's March by hand: Anna 4.0 + 1.6 + 3.0 + 2.5, Bertil 1.0 + 3.0, Fatima 4.0 + 3.5
    assert v.hours == {ids["anna"]: Decimal("11.1"), ids["bertil"]: Decimal("4"), ids["fatima"]: Decimal("7.5")}
    assert v.files == {"s.xlsx": hashlib.sha256(b"the summary as sent").hexdigest()}
    f = v.figures
    assert Decimal(f["hours"]) == Decimal("22.6") and f["participants"] == 3 and f["organisations"] == 3
    assert f["women"] == 2 and f["men"] == 1
    assert _decimals(f["hours_by_organisation"]) == {
        "556016-0680": Decimal("11.1"), "556677-8899": Decimal("4"), "212000-0845": Decimal("7.5")}
    # co-financing = hours x 291.47, in total and per type of organisation
    assert Decimal(f["unit_cost"]) == Decimal("291.47") and Decimal(f["co_financing"]) == Decimal("6587.222")
    assert _decimals(f["hours_by_organisation_type"])["private"] == Decimal("15.1")
    assert _decimals(f["hours_by_organisation_type"])["municipality"] == Decimal("7.5")
    assert _decimals(f["co_financing_by_organisation_type"])["private"] == Decimal("4401.197")
    assert _decimals(f["co_financing_by_organisation_type"])["municipality"] == Decimal("2186.025")
    assert Decimal(f["hours_per_participant"]) == Decimal("7.53") == Decimal(f["hours_per_organisation"])
    # what the summary shows of each person: Bertil ends in March (declared, with his exit data),
    # Anna and Fatima start in March, SCB's whole hours half up
    data = f["participant_data"]
    assert data[ids["bertil"]] == {
        "organisation": "556677-8899", "organisation_type": "private", "gender": "M", "age": 47, "scb_hours": 4,
        "start": None, "end": "2026-03-23", "exit_reason": 1, "formal_qualification": False, "exit_status": 1,
        "employment_terms": 1, "employment_extent": 2}
    assert (data[ids["anna"]]["start"], data[ids["anna"]]["scb_hours"], data[ids["anna"]]["age"]) == ("2026-03-02", 11, 41)
    assert (data[ids["fatima"]]["start"], data[ids["fatima"]]["scb_hours"], data[ids["fatima"]]["gender"]) == ("2026-03-02", 8, "K")
    assert v.device_id and v.closed_at
    st = _status(db)
    assert st["2026-03"].state == mc.CLOSED and not st["2026-03"].resend and st["2026-03"].closed_by == "anna.k"
    assert st["2026-04"].state == mc.OPEN and st["2026-04"].due == date(2026, 5, 28)
    assert st["2026-04"].overdue and not st["2026-03"].overdue  # open after its deadline (June 1)
    assert not mc.month_status(db, today=date(2026, 5, 28))[1].overdue
    assert st["2026-03"].due == date(2026, 4, 28)


def test_a_month_not_over_or_a_missing_file_cannot_be_closed(db, tmp_path):
    build(db)
    with pytest.raises(UserError):
        mc.close_month(db, "2026-04", today=TODAY)  # April is still running on the 15th
    with pytest.raises(UserError):
        mc.close_month(db, "2026-03", files=[tmp_path / "gone.pdf"], today=TODAY)
    assert mc.versions(db, "2026-03") == [] and mc.versions(db, "2026-04") == []


def test_a_changed_mark_makes_the_month_changed_and_it_and_later_closed_months_resent(db):
    ids = build(db)
    for month in ("2026-03", "2026-04"):
        mc.close_month(db, month, user="anna.k", today=LATER)
    sve1 = _session(db, ids["sve"], date(2026, 3, 2))
    set_mark(db, sve1, ids["anna"], "absent")  # the register: 4.0 h less in March, her first session now 03-16
    st = _status(db)
    march, april = st["2026-03"], st["2026-04"]
    assert march.state == mc.CHANGED and april.state == mc.CLOSED
    assert march.resend and april.resend
    assert [(d.masked_personal_number, d.before, d.after) for d in march.differences] == [
        (ANNA_PNR[:8] + "-****", Decimal("11.1"), Decimal("7.1"))]
    assert mc.months_to_resend(st.values()) == ["2026-03", "2026-04"]
    changes = {c.key: (c.before, c.after) for c in march.figure_changes}
    assert set(changes) >= {"hours", "hours_by_organisation", "co_financing", "participant_data"}
    assert (Decimal(changes["hours"][0]), Decimal(changes["hours"][1])) == (Decimal("22.6"), Decimal("18.6"))
    anna_before, anna_after = (changes["participant_data"][i][ids["anna"]] for i in (0, 1))
    assert (anna_before["start"], anna_after["start"]) == ("2026-03-02", "2026-03-16")
    data = march.as_json()
    assert data["state"] == "changed" and data["resend"] is True and data["closed_on"] == march.closed_at.date().isoformat()
    assert [(d["personal_number"], Decimal(d["hours_before"]), Decimal(d["hours_after"])) for d in data["differences"]] == [
        ("19850312-****", Decimal("11.1"), Decimal("7.1"))]

    # closing March again: a new version, the first one stays readable
    mc.close_month(db, "2026-03", user="bertil.b", today=LATER)
    v1, v2 = mc.versions(db, "2026-03")
    assert (v1.version, v1.hours[ids["anna"]], v1.closed_by) == (1, Decimal("11.1"), "anna.k")
    assert (v2.version, v2.hours[ids["anna"]], v2.closed_by) == (2, Decimal("7.1"), "bertil.b")
    st = _status(db)
    assert st["2026-03"].state == mc.CLOSED and st["2026-03"].versions == 2
    # April was closed before the correction and is not changed itself, but SCB needs it again only
    # while an earlier month is changed: now nothing is due
    assert not st["2026-03"].resend and not st["2026-04"].resend


def test_a_change_in_a_later_month_does_not_resend_earlier_ones(db):
    ids = build(db)
    for month in ("2026-03", "2026-04"):
        mc.close_month(db, month, today=LATER)
    set_mark(db, _session(db, ids["sve"], date(2026, 4, 6)), ids["anna"], "late", 60)
    st = _status(db)
    assert (st["2026-03"].state, st["2026-03"].resend) == (mc.CLOSED, False)
    assert (st["2026-04"].state, st["2026-04"].resend) == (mc.CHANGED, True)
    assert [(d.before, d.after) for d in st["2026-04"].differences] == [(Decimal("4"), Decimal("1"))]


def test_the_rounding_rule_and_a_change_of_employer_change_a_closed_month(db):
    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    impact = mc.impact_of_rounding(db, "floor")
    assert impact.closed == ("2026-03",)
    save_settings(db, replace(get_settings(db), hours_rounding="floor"))
    march = _status(db)["2026-03"]
    assert march.state == mc.CHANGED
    # whole hours per line: Anna 4 + 1 + 3 + 2, Bertil 1 + 3 (unchanged), Fatima 4 + 3
    assert {(d.before, d.after) for d in march.differences} == {(Decimal("11.1"), Decimal("10")), (Decimal("7.5"), Decimal("7"))}
    assert ("rounding", "exact", "floor") in [(c.key, c.before, c.after) for c in march.figure_changes]
    mc.close_month(db, "2026-03", today=LATER)
    assert _status(db)["2026-03"].state == mc.CLOSED
    # Bertil moves to Anna's employer: the hours per organisation of March change
    from app.models import Participant

    assert mc.impact_of_participant(db, ids["bertil"]).closed == ("2026-03",)
    with db.write() as s:
        s.get(Participant, ids["bertil"]).company_id = ids["verk"]
    march = _status(db)["2026-03"]
    assert march.state == mc.CHANGED and march.differences == ()
    # both employers are Privat aktör: the hours per type stay; 21 h over 2 organisations, not 3
    changes = {c.key: (c.before, c.after) for c in march.figure_changes}
    assert sorted(changes) == ["hours_by_organisation", "hours_per_organisation", "organisations", "participant_data"]
    assert changes["organisations"] == (3, 2)
    assert (Decimal(changes["hours_per_organisation"][0]), Decimal(changes["hours_per_organisation"][1])) == (Decimal("7"), Decimal("10.5"))
    assert mc.impact_of_company(db, ids["verk"]).closed == ("2026-03",)


def test_the_warning_before_saving_names_the_closed_month_and_the_months_to_resend(db):
    ids = build(db)
    for month in ("2026-03", "2026-04"):
        mc.close_month(db, month, today=LATER)
    sve1 = _session(db, ids["sve"], date(2026, 3, 2))
    impact = mc.impact_of_mark(db, sve1, ids["anna"], "absent", None)
    assert impact.closed == ("2026-03",) and impact.resend == ("2026-03", "2026-04")
    assert impact.message("sv") == (
        "mars 2026 är stängd och redovisad; ändringen gör att mars och april måste skickas om till SCB.")
    assert impact.message("en") == (
        "March 2026 is closed and reported; the change means that March and April must be sent to SCB again.")
    # a change that alters no hours warns of nothing: present with the whole session's minutes,
    # excused instead of absent, and any mark in an open month
    assert not mc.impact_of_mark(db, sve1, ids["anna"], "present", 240)
    plc2 = _session(db, ids["plc"], date(2026, 3, 23))
    assert not mc.impact_of_mark(db, plc2, ids["anna"], "absent", None)  # she was excused
    assert mc.impact_of_mark(db, plc2, ids["anna"], "present", None).closed == ("2026-03",)
    # a session moved from March to May touches March; its times changed touches March
    assert mc.impact_of_session(db, sve1, day=date(2026, 5, 4), start=time(8), end=time(12), cancelled=False).closed == ("2026-03",)
    assert mc.impact_of_session(db, sve1, day=date(2026, 3, 2), start=time(8), end=time(11), cancelled=False).closed == ("2026-03",)
    assert not mc.impact_of_session(db, sve1, day=date(2026, 3, 3), start=time(8), end=time(12), cancelled=False)
    assert mc.impact_of_session(db, sve1, day=date(2026, 3, 2), start=time(8), end=time(12), cancelled=True).resend == ("2026-03", "2026-04")


def test_signed_originals_keep_the_signed_hours_and_are_flagged_when_they_differ(db):
    ids = build(db)
    mark_original_received(db, ids["anna"], "2026-03", date(2026, 4, 10))
    row = {r.participant_id: r for r in originals_checklist(db, "2026-03", today=TODAY)}[ids["anna"]]
    assert row.signed_hours == Decimal("11.1") and not row.signed_hours_differ
    set_mark(db, _session(db, ids["sve"], date(2026, 3, 2)), ids["anna"], "absent")
    [flagged] = signed_hours_differ(db, "2026-03", today=TODAY)
    assert (flagged.participant_id, flagged.signed_hours, flagged.hours) == (ids["anna"], Decimal("11.1"), Decimal("7.1"))
    # every mark gone: she has no report any more, the signed original is still flagged
    for day, course in ((date(2026, 3, 16), "sve"), (date(2026, 3, 30), "sve"), (date(2026, 3, 16), "plc")):
        set_mark(db, _session(db, ids[course], day), ids["anna"], "absent")
    [flagged] = signed_hours_differ(db, "2026-03", today=TODAY)
    assert (flagged.signed_hours, flagged.hours) == (Decimal("11.1"), Decimal("0"))


def test_a_bundle_import_that_changes_a_mark_shows_in_the_status(db, tmp_path):
    from app.interchange.bundle import export_bundle, import_bundle

    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    path = tmp_path / "b.json"
    export_bundle(db, path)
    data = json.loads(path.read_text("utf-8"))
    [close] = data["month_closes"]
    assert _decimals(close["hours"]) == {ids["anna"]: Decimal("11.1"), ids["bertil"]: Decimal("4"), ids["fatima"]: Decimal("7.5")}
    assert Decimal(close["figures"]["hours"]) == Decimal("22.6")
    sve1 = _session(db, ids["sve"], date(2026, 3, 2))
    for mark in data["attendance"]:
        if mark["session_id"] == sve1 and mark["participant_id"] == ids["anna"]:
            mark["status"] = "absent"
    path.write_text(json.dumps(data), "utf-8")
    import_bundle(db, path)
    march = _status(db)["2026-03"]
    assert march.state == mc.CHANGED
    assert [(d.before, d.after) for d in march.differences] == [(Decimal("11.1"), Decimal("7.1"))]


def test_closes_travel_in_the_bundle_and_bad_ones_are_refused(db, tmp_path, migrated_template):
    from app.db import Database, copy_database_file
    from app.errors import ValidationError
    from app.interchange.bundle import export_bundle, import_bundle

    build(db)
    mc.close_month(db, "2026-03", files=[], today=LATER)
    path = tmp_path / "b.json"
    export_bundle(db, path)
    copy_database_file(migrated_template, tmp_path / "other.db")
    other = Database(tmp_path / "other.db")
    try:
        import_bundle(other, path)
        assert [v.hours for v in mc.versions(other, "2026-03")] == [v.hours for v in mc.versions(db, "2026-03")]
        assert _status(other)["2026-03"].state == mc.CLOSED
        data = json.loads(path.read_text("utf-8"))
        data["month_closes"][0]["hours"] = {"not-an-id": 3}
        data["month_closes"][0]["files"] = {"x.pdf": "abc"}
        path.write_text(json.dumps(data), "utf-8")
        with pytest.raises(ValidationError) as err:
            import_bundle(other, path)
        fields = {(p.record_type, p.field) for p in err.value.problems}
        assert {("month_closes", "hours"), ("month_closes", "files")} <= fields
    finally:
        other.dispose()


@pytest.mark.parametrize("scan_from", [0, 5000])  # every mark read in one pass, or by session
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_month_totals_agree_with_month_hours_on_random_registers(db, seed, scan_from, monkeypatch):
    """Random marks (every status, minutes beyond the session, two sessions of a course on one
    day, cancelled sessions, a deleted course and a deleted participant) in two months."""
    import random

    from app.models import Attendance, Course, Participant, attendance_id, utcnow
    from tests.app.attendance_builders import luhn_pnr

    monkeypatch.setattr(mc, "SCAN_FROM", scan_from)
    rnd = random.Random(seed)
    with db.write() as s:
        people = [Participant(first_name=f"P{i}", last_name="Test", personal_number=luhn_pnr("19800101", f"{i:03d}")) for i in range(12)]
        courses = [Course(code=f"C{i}", title="Kurs") for i in range(4)]
        s.add_all(people + courses)
        s.flush()
        for _ in range(40):
            day = date(2026, rnd.choice([3, 4]), rnd.randint(1, 28))
            start = rnd.randint(6, 14)
            ses = CourseSession(course_id=rnd.choice(courses).id, date=day, start_time=time(start, rnd.choice([0, 15, 30])),
                                end_time=time(start + rnd.randint(1, 4), rnd.choice([0, 10, 45])), cancelled=rnd.random() < 0.1)
            s.add(ses)
            s.flush()
            for p in rnd.sample(people, 6):
                status = rnd.choice(["present", "present", "late", "excused", "absent"])
                minutes = None if status == "present" and rnd.random() < 0.6 else rnd.randint(0, 300)
                s.add(Attendance(id=attendance_id(ses.id, p.id), session_id=ses.id, participant_id=p.id, status=status,
                                 minutes=minutes, deleted_at=utcnow() if rnd.random() < 0.05 else None))
        # February, before the months read: these people did not start in March (the summary's start)
        february = CourseSession(course_id=courses[1].id, date=date(2026, 2, 10), start_time=time(9), end_time=time(11))
        s.add(february)
        s.flush()
        for p in people[3:6]:
            s.add(Attendance(id=attendance_id(february.id, p.id), session_id=february.id, participant_id=p.id, status="present"))
        courses[0].deleted_at = utcnow()
        people[0].deleted_at = utcnow()
        people[1].project_start, people[2].project_end, people[2].exit_reason = date(2026, 3, 20), date(2026, 4, 10), 2
    from app.services.reports import month_figures
    from app.services.settings import get_project_settings

    for rounding in ("exact", "floor"):
        save_settings(db, replace(get_settings(db), hours_rounding=rounding))
        with db.read() as s:
            firsts: dict = {}
            totals = mc.month_totals(s, [mc.to_month("2026-03"), mc.to_month("2026-04")], rounding, firsts)
            figures = mc.figures_now(s, totals, get_project_settings(db), rounding, mc.month_starts(s, firsts, [mc.to_month("2026-03"), mc.to_month("2026-04")]))
        for month in ("2026-03", "2026-04"):
            expected = {r.participant_id: r.hours for r in month_hours(db, month, rounding=rounding, today=LATER)}
            assert totals[month] == expected and len(expected) > 5
            # the status's figures of many months at once are the workbook's (month_figures)
            assert figures[month] == mc.summary_figures(month_figures(db, month))


def test_a_cancelled_session_and_a_deleted_course_change_a_closed_month(db):
    from app.services.courses import cancel_session, delete_course

    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    cancel_session(db, _session(db, ids["plc"], date(2026, 3, 16)))  # Anna 3.0 h, Bertil 1.0 h
    march = _status(db)["2026-03"]
    assert march.state == mc.CHANGED
    assert {(d.participant_id, d.before, d.after) for d in march.differences} == {
        (ids["anna"], Decimal("11.1"), Decimal("8.1")), (ids["bertil"], Decimal("4"), Decimal("3"))}
    delete_course(db, ids["plc"])  # Bertil's only course: he is gone from March
    march = _status(db)["2026-03"]
    assert (ids["bertil"], Decimal("4"), Decimal("0")) in {(d.participant_id, d.before, d.after) for d in march.differences}


def test_project_data_a_company_type_and_the_unit_cost_change_a_closed_month(db):
    from app.models import Company, Participant
    from app.services.settings import get_project_settings, save_project_settings

    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    with db.write() as s:  # Anna declares her end in March: the summary shows it, SCB needs it
        s.get(Participant, ids["anna"]).project_end = date(2026, 3, 31)
    march = _status(db)["2026-03"]
    assert march.state == mc.CHANGED and march.differences == ()
    [change] = march.figure_changes
    assert change.key == "participant_data"
    assert (change.before[ids["anna"]]["end"], change.after[ids["anna"]]["end"]) == (None, "2026-03-31")
    mc.close_month(db, "2026-03", today=LATER)
    with db.write() as s:  # Västerviks kommun typed as Landstingskommunal by mistake
        s.get(Company, ids["kommun"]).organisation_type = "county_council"
    changes = {c.key: (c.before, c.after) for c in _status(db)["2026-03"].figure_changes}
    by_type = changes["hours_by_organisation_type"]
    assert (Decimal(by_type[0]["municipality"]), Decimal(by_type[1]["municipality"])) == (Decimal("7.5"), Decimal("0"))
    assert Decimal(by_type[1]["county_council"]) == Decimal("7.5")
    mc.close_month(db, "2026-03", today=LATER)
    save_project_settings(db, replace(get_project_settings(db), unit_cost=Decimal("300")))
    changes = {c.key: (c.before, c.after) for c in _status(db)["2026-03"].figure_changes}
    assert (Decimal(changes["co_financing"][0]), Decimal(changes["co_financing"][1])) == (Decimal("6587.222"), Decimal("6780"))


def test_the_forms_pending_values_warn_only_when_they_alter_what_was_reported(db):
    from app.services.companies import get_company
    from app.services.participants import get_participant

    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    anna = get_participant(db, ids["anna"]).data
    assert not mc.impact_of_participant(db, ids["anna"], replace(anna, email="anna@example.se", phone="070-123 45 67"))
    assert not mc.impact_of_participant(db, ids["anna"], replace(anna, gender="female"))  # the personal number says so
    assert mc.impact_of_participant(db, ids["anna"], replace(anna, company_id=ids["kommun"])).closed == ("2026-03",)
    assert mc.impact_of_participant(db, ids["anna"], replace(anna, project_end="2026-03-31")).closed == ("2026-03",)
    assert mc.impact_of_participant(db, ids["anna"], replace(anna, last_name="Berg")).closed == ("2026-03",)
    assert not mc.impact_of_participant(db, ids["anna"], replace(anna, project_end="31 mars"))  # refused when saved
    assert not mc.impact_of_participant(db, ids["david"], replace(get_participant(db, ids["david"]).data, company_id=ids["kommun"]))
    kommun = get_company(db, ids["kommun"]).data
    assert not mc.impact_of_company(db, ids["kommun"], replace(kommun, contact_name="Karin"))
    assert mc.impact_of_company(db, ids["kommun"], replace(kommun, organisation_type="state")).closed == ("2026-03",)


def test_all_present_alters_a_closed_month_only_when_someone_is_unmarked(db):
    from app.models import Enrollment, Participant, enrollment_id

    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    sve3 = _session(db, ids["sve"], date(2026, 3, 16))
    # SVE-01's active participants on 03-16: Anna (late) and Fatima (present) are marked; David is waitlisted
    assert not mc.impact_of_all_present(db, sve3)
    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383")
        s.add(gus)
        s.flush()
        s.add(Enrollment(id=enrollment_id(ids["sve"], gus.id), course_id=ids["sve"], participant_id=gus.id))
    assert mc.impact_of_all_present(db, sve3).closed == ("2026-03",)
    cancelled = _session(db, ids["sve"], date(2026, 3, 9))
    assert not mc.impact_of_all_present(db, cancelled)  # no hours on a cancelled session
