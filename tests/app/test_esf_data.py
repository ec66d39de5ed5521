"""Issue 12: the data ESF and SCB need, on every way in: ESF's protected identity form, the
participants' project data and the companies' type of organisation (forms and bundle), the hourly
wage fields that went (a bundle carrying them imports with one notice), and no hours in the future."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest

from app.errors import ValidationError
from app.interchange.bundle import export_bundle, import_bundle
from app.models import Attendance, Company, Participant, new_id
from app.services import attendance as attendance_service
from app.services.companies import CompanyData, create_company, get_company
from app.services.participants import ParticipantData, create_participant, get_participant, update_participant
from app.services.project_data import ProposedDates, proposed_dates
from app.validation import FieldError, gender_from_personal_number, is_protected_number, normalize_personal_number
from tests.app.test_bundle import company, load, minimal, participant, write
from tests.fixtures.report_month import TODAY, build


@pytest.mark.parametrize(
    "typed, stored, gender",
    [
        ("19800101-Tf29", "19800101TF29", "female"),
        ("19800101tf29", "19800101TF29", "female"),
        ("19800101-TF19", "19800101TF19", "male"),
        (" 19800101Tf19 ", "19800101TF19", "male"),
    ],
)
def test_esf_protected_form_in_any_case_with_or_without_hyphen(typed, stored, gender):
    assert normalize_personal_number(typed) == stored
    assert gender_from_personal_number(stored) == gender
    assert is_protected_number(stored)


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("19801301-Tf29", "19801301-****: datumet finns inte"),
        ("29990101-Tf29", "29990101-****: födelsedatumet ligger i framtiden"),
        ("19800101-Tf39", "ska skrivas som ÅÅÅÅMMDD-NNNN"),
        ("19800101-Tx29", "ska skrivas som ÅÅÅÅMMDD-NNNN"),
    ],
)
def test_a_wrong_protected_form_is_refused_with_the_reason(typed, reason):
    with pytest.raises(FieldError) as info:
        normalize_personal_number(typed, today=date(2026, 12, 1))
    assert reason in info.value.message


def test_two_people_may_share_the_protected_form(db):
    first = create_participant(db, ParticipantData("Anna", "A", "19800101-Tf29", protected=True))
    second = create_participant(db, ParticipantData("Berit", "B", "19800101tf29"))
    assert get_participant(db, first).data.personal_number == get_participant(db, second).data.personal_number == "19800101TF29"
    assert get_participant(db, first).data.gender == "female" and get_participant(db, first).data.protected
    assert get_participant(db, first).masked_personal_number == "19800101-****"


def test_project_data_is_validated_and_stored(db):
    pid = create_participant(db, ParticipantData("Anna", "A", "198503120027"))
    update_participant(
        db, pid,
        ParticipantData("Anna", "A", "198503120027", project_start="2026-03-02", project_end="2026-03-31",
                        exit_reason="2", formal_qualification=True, exit_status=1, employment_terms=2,
                        employment_extent=1),
    )
    data = get_participant(db, pid).data
    assert (data.project_start, data.project_end) == (date(2026, 3, 2), date(2026, 3, 31))
    assert (data.exit_reason, data.formal_qualification, data.exit_status, data.employment_terms,
            data.employment_extent) == (2, True, 1, 2, 1)
    with pytest.raises(ValidationError) as info:
        update_participant(
            db, pid,
            ParticipantData("Anna", "A", "198503120027", project_start="2026-03-02", project_end="2026-03-01",
                            exit_reason=6, exit_status="x", employment_terms=0),
        )
    by_field = {p.field: p.message for p in info.value.problems}
    assert set(by_field) == {"project_end", "exit_reason", "exit_status", "employment_terms"}
    assert "1 till 5" in by_field["exit_reason"] and "1 till 7" in by_field["exit_status"]
    assert get_participant(db, pid).data.exit_reason == 2  # nothing saved


def test_organisation_type_on_companies(db):
    cid = create_company(db, CompanyData("Västerviks kommun", "212000-0845", organisation_type="municipality"))
    assert get_company(db, cid).data.organisation_type == "municipality"
    with pytest.raises(ValidationError) as info:
        create_company(db, CompanyData("Kalmar kommun", "212000-0746", organisation_type="kommun"))
    assert [p.field for p in info.value.problems] == ["organisation_type"]


def test_proposed_dates_first_attended_and_end_of_the_last_course(db):
    ids = build(db)
    anna = proposed_dates(db, ids["anna"], today=TODAY)
    assert anna.start == date(2026, 3, 2) and anna.end == date(2026, 4, 6)  # SVE-01 ends in April
    assert proposed_dates(db, ids["anna"], today=date(2026, 3, 31)).end is None  # a course still runs
    assert proposed_dates(db, ids["erik"], today=TODAY) == ProposedDates(None, None)  # withdrawn, never attended
    assert proposed_dates(db, ids["david"], today=TODAY) == ProposedDates(None, None)  # waitlisted


def test_proposed_end_on_withdrawal_is_the_last_attended_session(db):
    from app.models import Enrollment

    ids = build(db)
    with db.write() as s:
        for e in s.query(Enrollment).filter(Enrollment.participant_id == ids["fatima"]):
            e.status = "withdrawn"
    assert proposed_dates(db, ids["fatima"], today=TODAY) == ProposedDates(date(2026, 3, 2), date(2026, 3, 16))


# --- the bundle ---------------------------------------------------------------------------------


def test_bundle_round_trips_the_new_fields(db, tmp_path):
    c = company(organisation_type="county_council")
    p = participant(company_id=c["id"], personal_number="19800101-tf19", protected=True, project_start="2026-03-02",
                    project_end="2026-04-30", exit_reason=4, exit_status=6, employment_terms=3,
                    employment_extent=2, formal_qualification=False)
    import_bundle(db, write(tmp_path, minimal(companies=[c], participants=[p])))
    export_bundle(db, tmp_path / "out.json")
    out = load(tmp_path / "out.json")
    assert out["companies"][0]["organisation_type"] == "county_council"
    got = out["participants"][0]
    assert {k: got[k] for k in ("personal_number", "gender", "protected", "project_start", "project_end", "exit_reason",
                                "exit_status", "employment_terms", "employment_extent", "formal_qualification")} == {
        "personal_number": "19800101TF19", "gender": "male", "protected": True, "project_start": "2026-03-02",
        "project_end": "2026-04-30", "exit_reason": 4, "exit_status": 6, "employment_terms": 3,
        "employment_extent": 2, "formal_qualification": False,
    }


def test_bundle_refuses_bad_codes_where_they_are(db, tmp_path):
    c = company(organisation_type="kommun")
    p = participant(company_id=c["id"], exit_reason=9, formal_qualification="ja", project_end="31/3")
    path = write(tmp_path, minimal(companies=[c], participants=[p]))
    with pytest.raises(ValidationError) as info:
        import_bundle(db, path)
    assert sorted((x.record_type, x.field) for x in info.value.problems) == [
        ("companies", "organisation_type"), ("participants", "exit_reason"),
        ("participants", "formal_qualification"), ("participants", "project_end"),
    ]
    with db.read() as s:
        assert s.query(Company).count() == 0


def test_a_bundle_with_hourly_wages_imports_them_ignored_with_one_notice(db, tmp_path):
    c = company(hourly_wage_cost=412.5)
    p = participant(company_id=c["id"], hourly_wage_cost=300)
    notices: list[str] = []
    counts = import_bundle(db, write(tmp_path, minimal(companies=[c], participants=[p])), notices=notices)
    assert counts["companies"] == 1 and counts["participants"] == 1
    assert notices == ["Filens timlönekostnader lästes inte in: Kursdesk sparar dem inte längre (medfinansieringen är timmar × projektets enhetskostnad)."]
    export_bundle(db, tmp_path / "out.json")
    assert "hourly_wage_cost" not in json.dumps(load(tmp_path / "out.json"))
    again: list[str] = []
    import_bundle(db, tmp_path / "out.json", notices=again)
    assert again == []


def _marks_bundle(status: str):
    course = {"id": new_id(), "code": "K-1", "title": "Kurs"}
    sess = {"id": new_id(), "course_id": course["id"], "date": "2026-12-01", "start": "13:00", "end": "16:00"}
    p = participant()
    enrol = {"id": new_id(), "course_id": course["id"], "participant_id": p["id"], "status": "enrolled"}
    mark = {"id": new_id(), "session_id": sess["id"], "participant_id": p["id"], "status": status,
            "minutes": 30 if status == "late" else None}
    return minimal(participants=[p], courses=[course], sessions=[sess], enrollments=[enrol], attendance=[mark]), mark


@pytest.mark.parametrize("status", ["present", "late"])
def test_bundle_refuses_hours_on_a_session_that_has_not_started(db, tmp_path, status):
    data, mark = _marks_bundle(status)
    with pytest.raises(ValidationError) as info:
        import_bundle(db, write(tmp_path, data), now=datetime(2026, 12, 1, 12, 59))
    assert [(p.record_type, p.record_id, p.field) for p in info.value.problems] == [("attendance", mark["id"], "status")]
    assert "Kurstillfället 2026-12-01 kl. 13:00 har inte börjat än" in info.value.problems[0].message
    with db.read() as s:
        assert s.query(Participant).count() == 0


def test_bundle_takes_excused_ahead_and_hours_once_started(db, tmp_path):
    data, _mark = _marks_bundle("excused")
    import_bundle(db, write(tmp_path, data), now=datetime(2026, 11, 1))
    data, _mark = _marks_bundle("present")
    data["courses"][0]["code"] = "K-2"
    data["participants"][0]["personal_number"] = "197004051129"
    import_bundle(db, write(tmp_path, data), now=datetime(2026, 12, 1, 13, 0))
    with db.read() as s:
        assert sorted(a.status for a in s.query(Attendance)) == ["excused", "present"]


# --- the register and "all present" --------------------------------------------------------------


def _future_session(db):
    from app.models import Course, CourseSession, Enrollment, enrollment_id

    pid = create_participant(db, ParticipantData("Anna", "A", "198503120027"))
    with db.write() as s:
        course = Course(code="K-1", title="Kurs")
        s.add(course)
        s.flush()
        sess = CourseSession(course_id=course.id, date=date(2026, 12, 1), start_time=time(13), end_time=time(16))
        s.add(sess)
        s.add(Enrollment(id=enrollment_id(course.id, pid), course_id=course.id, participant_id=pid))
        s.flush()
        return sess.id, pid


def test_register_refuses_present_or_late_before_the_start_and_takes_excused(db):
    sid, pid = _future_session(db)
    before = datetime(2026, 12, 1, 12, 30)
    for status, minutes in (("present", None), ("late", 30)):
        with pytest.raises(ValidationError) as info:
            attendance_service.set_mark(db, sid, pid, status, minutes, now=before)
        assert [p.field for p in info.value.problems] == ["status"]
    assert attendance_service.set_mark(db, sid, pid, "excused", now=before).status == "excused"
    assert attendance_service.set_mark(db, sid, pid, "present", now=datetime(2026, 12, 1, 13)).status == "present"


def test_all_present_refuses_a_session_that_has_not_started(db):
    sid, pid = _future_session(db)
    with pytest.raises(ValidationError) as info:
        attendance_service.mark_all_present(db, sid, now=datetime(2026, 11, 30, 9))
    assert "har inte börjat än" in info.value.problems[0].message
    with db.read() as s:
        assert s.query(Attendance).count() == 0
    assert attendance_service.mark_all_present(db, sid, now=datetime(2026, 12, 1, 14)) == [pid]


def test_a_list_with_protected_forms_registers_each_person(db, tmp_path):
    """ESF's protected form identifies no one: two rows with it are two people, and neither is
    matched to someone already registered with the same form."""
    from app.interchange.participant_list import apply_import, preview_import
    from app.models import Course

    create_participant(db, ParticipantData("Karin", "Redan", "19800101-Tf29"))
    with db.write() as s:
        course = Course(code="SVE-01", title="Svetsning")
        s.add(course)
        s.flush()
        cid = course.id
    listing = tmp_path / "lista.csv"
    listing.write_text("Förnamn;Efternamn;Personnummer\nAnna;Ek;19800101-Tf29\nBerit;Ek;19800101tf29\n", encoding="utf-8")
    preview = preview_import(db, listing, cid)
    assert not preview.invalid and [r.participant_id for r in preview.rows] == [None, None]
    assert apply_import(db, preview).created == 2
    with db.read() as s:
        names = sorted(p.first_name for p in s.query(Participant).filter(Participant.personal_number == "19800101TF29"))
    assert names == ["Anna", "Berit", "Karin"]


def test_bundle_carries_the_project_settings_and_keeps_one_record_per_setting(db, tmp_path):
    from decimal import Decimal

    from app.models import project_setting_id
    from app.services.settings import get_project_settings

    good = {"id": project_setting_id("esf.unit_cost"), "key": "esf.unit_cost", "value": "291.47"}
    import_bundle(db, write(tmp_path, minimal(project_settings=[good])))
    assert get_project_settings(db).unit_cost == Decimal("291.47")
    export_bundle(db, tmp_path / "out.json")
    assert [(r["key"], r["value"]) for r in load(tmp_path / "out.json")["project_settings"]] == [("esf.unit_cost", "291.47")]
    other = {"id": new_id(), "key": "esf.case_number", "value": "2020/00123"}
    with pytest.raises(ValidationError) as info:
        import_bundle(db, write(tmp_path, minimal(project_settings=[other])))
    assert [(p.record_type, p.field) for p in info.value.problems] == [("project_settings", "id")]


def test_sign_in_sheet_shows_a_protected_person_by_name_only(db, tmp_path):
    import subprocess

    from app.services.signin_sheets import write_signin_sheet

    ids = build(db)
    out = write_signin_sheet(db, ids["sve"], tmp_path / "sheet.pdf", [ids["sve1"]], lang="sv")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True).stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "1 Anna Andersson Verkstad AB 1985-03-12" in lines  # others as before
    assert "2 Fatima Protected" in lines  # the name only: no employer, no birth date
    assert "Västerviks kommun" not in text and "1990-04-15" not in text
