"""Courses and sessions: validation, unique codes, soft delete, sessions, series that skip
Swedish public holidays, course status and the overview counts."""

import json
from datetime import date, time, timedelta

import pytest

from app import i18n
from app.errors import NotFound, ValidationError
from app.models import Certificate
from app.services.courses import (
    CourseData,
    SeriesPlan,
    SessionData,
    add_series,
    add_session,
    cancel_session,
    course_overview,
    course_status,
    create_course,
    delete_course,
    delete_session,
    get_course,
    get_course_by_code,
    get_session,
    list_sessions,
    plan_series,
    restore_course,
    restore_session,
    update_course,
    update_session,
)
from app.services.enrollments import enroll, list_enrollments, set_enrollment_status
from app.services.participants import ParticipantData, create_participant, delete_participant
from app.services.providers import create_provider, delete_provider
from tests.app.test_services_participants import pnr12

# --- courses ----------------------------------------------------------------------------------


def test_create_and_get(db):
    prov = create_provider(db, "Campus Västervik")
    cid = create_course(
        db,
        CourseData(
            code=" SV-101 ",
            title="Svetsning grund",
            description="Rad ett\nRad två",
            provider_id=prov,
            location="Verkstaden",
            teacher="Per Ek",
            min_attendance_percent="75 %",
            certificate_language="en",
            capacity="12",
        ),
    )
    d = get_course(db, cid)
    assert d.data.code == "SV-101"
    assert d.data.description == "Rad ett\nRad två"
    assert d.data.min_attendance_percent == 75
    assert d.data.certificate_language == "en"
    assert d.data.capacity == 12
    assert d.provider_name == "Campus Västervik"
    assert d.sessions == []
    delete_provider(db, prov)
    assert get_course(db, cid).provider_name == ""


def test_defaults(db):
    d = get_course(db, create_course(db, CourseData("LEAN-1", "Lean produktion")))
    assert (d.data.min_attendance_percent, d.data.certificate_language, d.data.capacity) == (80, "sv", None)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": " "}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"title": ""}, "title"),
        ({"min_attendance_percent": 101}, "min_attendance_percent"),
        ({"min_attendance_percent": -1}, "min_attendance_percent"),
        ({"min_attendance_percent": "åttio"}, "min_attendance_percent"),
        ({"certificate_language": "de"}, "certificate_language"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": "tolv"}, "capacity"),
        ({"provider_id": "no-such-provider"}, "provider_id"),
    ],
)
def test_each_rule_names_its_field(db, changes, field):
    values = {"code": "K-1", "title": "Kurs"} | changes
    with pytest.raises(ValidationError) as err:
        create_course(db, CourseData(**values))
    assert list(err.value.by_field) == [field]
    assert err.value.by_field[field]
    assert course_overview(db) == []


def test_all_problems_in_one_error(db):
    with pytest.raises(ValidationError) as err:
        create_course(db, CourseData("", "", min_attendance_percent=120, certificate_language="fi", capacity=-3))
    assert set(err.value.by_field) == {"code", "title", "min_attendance_percent", "certificate_language", "capacity"}
    assert err.value.by_field["certificate_language"] == "Intygets språk måste vara svenska (sv) eller engelska (en)."


def test_capacity_zero_is_allowed_and_empty_means_no_limit(db):
    assert get_course(db, create_course(db, CourseData("A", "A", capacity=0))).data.capacity == 0
    assert get_course(db, create_course(db, CourseData("B", "B", capacity=""))).data.capacity is None


def test_code_is_unique_whatever_the_case(db):
    create_course(db, CourseData("SV-101", "Svetsning"))
    with pytest.raises(ValidationError) as err:
        create_course(db, CourseData("sv-101", "Annan"))
    assert err.value.by_field["code"] == "Kurskoden SV-101 används redan."
    assert len(course_overview(db)) == 1


def test_code_of_a_deleted_course_asks_for_a_restore(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    delete_course(db, cid)
    with pytest.raises(ValidationError) as err:
        create_course(db, CourseData("SV-101", "Svetsning"))
    assert "återställ" in err.value.by_field["code"]
    restore_course(db, cid)
    assert [r.id for r in course_overview(db)] == [cid]


def test_update_and_keep_own_code(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    other = create_course(db, CourseData("LEAN", "Lean"))
    update_course(db, cid, CourseData("sv-101", "Svetsning MIG/MAG", teacher="Per"))
    d = get_course(db, cid)
    assert (d.data.code, d.data.title, d.data.teacher) == ("sv-101", "Svetsning MIG/MAG", "Per")
    with pytest.raises(ValidationError):
        update_course(db, other, CourseData("SV-101", "Lean"))
    assert get_course(db, other).data.code == "LEAN"
    with pytest.raises(NotFound):
        update_course(db, "no-such-id", CourseData("Z", "Z"))


def test_get_by_code_ignores_case_and_names_a_missing_code(db):
    cid = create_course(db, CourseData("ÅK-1", "Åkeri"))
    assert get_course_by_code(db, "åk-1").id == cid
    assert get_course_by_code(db, " ÅK-1 ").id == cid
    with pytest.raises(NotFound) as err:
        get_course_by_code(db, "XYZ-9")
    assert str(err.value) == "Kursen XYZ-9 hittades inte."
    i18n.set_language("en")
    with pytest.raises(NotFound) as err:
        get_course_by_code(db, "XYZ-9")
    assert str(err.value) == "Course XYZ-9 not found."


def test_deleted_course_is_gone_until_restored(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    delete_course(db, cid)
    assert course_overview(db) == []
    with pytest.raises(NotFound):
        get_course(db, cid)
    with pytest.raises(NotFound):
        get_course_by_code(db, "SV-101")
    restore_course(db, cid)
    assert get_course_by_code(db, "SV-101").id == cid


# --- sessions ---------------------------------------------------------------------------------


def test_sessions_are_added_listed_in_order_and_edited(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    later = add_session(db, cid, SessionData("2026-03-10", "13:00", "16:30", location="Hall B", teacher="Per"))
    earlier = add_session(db, cid, SessionData(date(2026, 3, 3), time(8, 0), time(12, 0)))
    rows = list_sessions(db, cid)
    assert [r.id for r in rows] == [earlier, later]
    assert (rows[1].date, rows[1].start, rows[1].end, rows[1].minutes) == (date(2026, 3, 10), time(13), time(16, 30), 210)
    assert (rows[1].location, rows[1].teacher, rows[1].cancelled) == ("Hall B", "Per", False)
    assert [s.id for s in get_course(db, cid).sessions] == [earlier, later]
    update_session(db, later, SessionData("2026-03-11", "13.00", "1500"))
    assert (get_session(db, later).date, get_session(db, later).minutes) == (date(2026, 3, 11), 120)


@pytest.mark.parametrize(
    "data, fields",
    [
        (SessionData("2026-03-10", "13:00", "12:00"), {"end"}),
        (SessionData("2026-03-10", "13:00", "13:00"), {"end"}),
        (SessionData("10/3", "13:00", "15:00"), {"date"}),
        (SessionData("2026-02-30", "25:00", "x"), {"date", "start", "end"}),
    ],
)
def test_session_validation(db, data, fields):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    with pytest.raises(ValidationError) as err:
        add_session(db, cid, data)
    assert set(err.value.by_field) == fields
    assert list_sessions(db, cid) == []


def test_session_end_before_start_message(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    sid = add_session(db, cid, SessionData("2026-03-10", "09:00", "12:00"))
    with pytest.raises(ValidationError) as err:
        update_session(db, sid, SessionData("2026-03-10", "12:00", "09:00"))
    assert err.value.by_field == {"end": i18n._("The end time must be after the start time.")}
    assert get_session(db, sid).end == time(12)


def test_session_for_a_missing_course(db):
    with pytest.raises(NotFound):
        add_session(db, "no-such-course", SessionData("2026-03-10", "09:00", "12:00"))


def test_cancel_reinstate_delete_restore(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    sid = add_session(db, cid, SessionData("2026-03-10", "09:00", "12:00"))
    cancel_session(db, sid)
    assert list_sessions(db, cid)[0].cancelled is True
    cancel_session(db, sid, cancelled=False)
    assert list_sessions(db, cid)[0].cancelled is False
    delete_session(db, sid)
    assert list_sessions(db, cid) == []
    with pytest.raises(NotFound):
        cancel_session(db, sid)
    restore_session(db, sid)
    assert [s.id for s in list_sessions(db, cid)] == [sid]


# --- series -----------------------------------------------------------------------------------


def test_thursday_series_skips_ascension_day_2026():
    plan = plan_series(3, "09:00", "12:00", "2026-05-01", "2026-05-31")
    assert plan.dates == (date(2026, 5, 7), date(2026, 5, 21), date(2026, 5, 28))
    assert plan.skipped == ((date(2026, 5, 14), "Kristi himmelsfärdsdag"),)
    assert date(2026, 5, 14).weekday() == 3


def test_midsummer_eve_and_national_day_are_skipped():
    fridays = plan_series(4, "09:00", "12:00", "2026-06-01", "2026-06-30")
    assert dict(fridays.skipped) == {date(2026, 6, 19): "Midsommarafton"}
    saturdays = plan_series(5, "09:00", "12:00", "2026-06-01", "2026-06-30")
    assert dict(saturdays.skipped) == {date(2026, 6, 6): "Nationaldagen", date(2026, 6, 20): "Midsommardagen"}


def test_ordinary_sundays_are_not_holidays():
    plan = plan_series(6, "10:00", "12:00", "2026-03-01", "2026-03-31")
    assert plan.dates == tuple(date(2026, 3, d) for d in (1, 8, 15, 22, 29))
    assert plan.skipped == ()
    # Easter Sunday is a holiday, and a Sunday
    easter = plan_series(6, "10:00", "12:00", "2026-04-01", "2026-04-12")
    assert easter.skipped == ((date(2026, 4, 5), "Påskdagen"),)


def test_holiday_names_follow_the_language():
    i18n.set_language("en")
    plan = plan_series(3, "09:00", "12:00", "2026-05-14", "2026-05-14")
    assert plan.dates == ()
    assert plan.skipped[0][0] == date(2026, 5, 14)
    assert "Ascension" in plan.skipped[0][1]


def test_series_first_and_last_day_are_included():
    plan = plan_series(0, "09:00", "12:00", date(2026, 9, 7), date(2026, 9, 21))
    assert plan.dates == (date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21))


@pytest.mark.parametrize(
    "args, fields",
    [
        ((7, "09:00", "12:00", "2026-05-01", "2026-05-31"), {"weekday"}),
        ((1, "12:00", "09:00", "2026-05-01", "2026-05-31"), {"end"}),
        ((1, "09:00", "12:00", "2026-05-31", "2026-05-01"), {"last"}),
        ((1, "09:00", "12:00", "2026-05-01", "2040-05-01"), {"last"}),
        ((1, "x", "12:00", "maj", "2026-05-01"), {"start", "first"}),
    ],
)
def test_series_validation(args, fields):
    with pytest.raises(ValidationError) as err:
        plan_series(*args)
    assert set(err.value.by_field) == fields


def test_add_series_creates_the_planned_sessions(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    plan = plan_series(3, "09:00", "12:00", "2026-05-01", "2026-05-31")
    ids = add_series(db, cid, plan, "09:00", "12:00", location="Hall A", teacher="Per")
    rows = list_sessions(db, cid)
    assert [r.id for r in rows] == ids
    assert [r.date for r in rows] == list(plan.dates)
    assert {(r.start, r.end, r.location, r.teacher) for r in rows} == {(time(9), time(12), "Hall A", "Per")}


def test_add_series_refuses_bad_input_and_writes_nothing(db):
    cid = create_course(db, CourseData("SV-101", "Svetsning"))
    with pytest.raises(ValidationError):
        add_series(db, cid, SeriesPlan((), ()), "09:00", "12:00")
    plan = plan_series(3, "09:00", "12:00", "2026-05-01", "2026-05-31")
    with pytest.raises(ValidationError):
        add_series(db, cid, plan, "12:00", "09:00")
    with pytest.raises(NotFound):
        add_series(db, "no-such-course", plan, "09:00", "12:00")
    assert list_sessions(db, cid) == []


# --- status and overview ----------------------------------------------------------------------


def test_course_status_boundaries():
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    assert course_status(None, None, date(2026, 1, 1)) == "planned"
    assert course_status(first, last, date(2026, 2, 28)) == "planned"
    assert course_status(first, last, first) == "running"
    assert course_status(first, last, last) == "running"
    assert course_status(first, last, date(2026, 4, 1)) == "finished"


def _person(db, n: int) -> str:
    return create_participant(db, ParticipantData(f"P{n}", "Test", pnr12(f"198001{n + 1:02d}", "123")))


def test_overview_counts_on_a_hand_built_programme(db):
    prov = create_provider(db, "Nova")
    weld = create_course(db, CourseData("SV-1", "Svetsning", provider_id=prov, location="Västervik", capacity=3))
    create_course(db, CourseData("EX-1", "Excel"))
    gone = create_course(db, CourseData("ZZ-1", "Borttagen"))
    delete_course(db, gone)

    s1 = add_session(db, weld, SessionData("2026-03-02", "09:00", "12:00"))
    add_session(db, weld, SessionData("2026-03-09", "09:00", "12:00"))
    cancelled = add_session(db, weld, SessionData("2026-02-23", "09:00", "12:00"))  # would be first
    cancel_session(db, cancelled)
    deleted = add_session(db, weld, SessionData("2026-04-20", "09:00", "12:00"))  # would be last
    delete_session(db, deleted)
    assert s1

    people = [_person(db, n) for n in range(6)]
    result = enroll(db, weld, people)  # 3 enrolled, 3 waitlisted
    assert len(result.enrolled) == 3 and len(result.waitlisted) == 3
    rows = {e.participant_id: e for e in list_enrollments(db, weld)}
    set_enrollment_status(db, rows[people[0]].id, "completed")  # still a participant, place kept
    set_enrollment_status(db, rows[people[1]].id, "withdrawn")  # frees a place: people[3] moves up
    delete_participant(db, people[5])  # a waitlisted person deleted: not counted

    with db.write() as s:
        for n, (revoked, tomb) in enumerate(((None, None), (date(2026, 4, 1), None), (None, date(2026, 4, 2)))):
            s.add(
                Certificate(
                    number=f"C-{n}",
                    verification_code=f"V-{n}",
                    course_id=weld,
                    participant_id=people[n],
                    issued_on=date(2026, 3, 31),
                    revoked_on=revoked,
                    deleted_at=tomb,
                )
            )

    rows = course_overview(db, today=date(2026, 3, 5))
    assert [r.code for r in rows] == ["EX-1", "SV-1"]
    ex, sv = rows
    assert (ex.status, ex.first_date, ex.last_date, ex.sessions, ex.participants) == ("planned", None, None, 0, 0)
    assert (ex.provider_name, ex.capacity, ex.certificates) == ("", None, 0)
    assert sv.first_date == date(2026, 3, 2) and sv.last_date == date(2026, 3, 9)
    assert sv.status == "running"
    assert (sv.sessions, sv.enrolled, sv.waitlisted, sv.participants, sv.certificates) == (2, 2, 1, 3, 1)
    assert (sv.provider_name, sv.location, sv.capacity) == ("Nova", "Västervik", 3)
    assert course_overview(db, today=date(2026, 3, 10))[1].status == "finished"
    assert course_overview(db, today=date(2026, 3, 1))[1].status == "planned"


def test_as_json_is_json_safe(db):
    cid = create_course(db, CourseData("SV-1", "Svetsning"))
    add_session(db, cid, SessionData("2026-03-02", "09:00", "12:00"))
    create_course(db, CourseData("EX-1", "Excel"))
    out = [r.as_json() for r in course_overview(db, today=date(2026, 1, 1))]
    text = json.dumps(out)
    again = json.loads(text)
    assert again[1]["first_date"] == "2026-03-02" and again[1]["last_date"] == "2026-03-02"
    assert again[0]["first_date"] is None
    assert set(again[0]) == {
        "id", "code", "title", "status", "first_date", "last_date", "provider_name", "location",
        "enrolled", "waitlisted", "capacity", "sessions", "participants", "certificates",
    }


def test_status_follows_the_sessions_against_today(db):
    cid = create_course(db, CourseData("SV-1", "Svetsning"))
    today = date.today()
    add_session(db, cid, SessionData(today - timedelta(days=7), "09:00", "12:00"))
    add_session(db, cid, SessionData(today + timedelta(days=7), "09:00", "12:00"))
    assert course_overview(db)[0].status == "running"


def test_validate_without_saving(db):
    from app.services.courses import validate_course, validate_session

    create_course(db, CourseData("SV-1", "Svetsning"))
    validate_course(db, CourseData("SV-2", "Svetsning 2"))
    with pytest.raises(ValidationError) as err:
        validate_course(db, CourseData("sv-1", ""))
    assert set(err.value.by_field) == {"code", "title"}
    with pytest.raises(ValidationError):
        validate_session(SessionData("2026-01-01", "10:00", "09:00"))
    assert len(course_overview(db)) == 1


def test_overlapping_sessions_are_refused(db):
    cid = create_course(db, CourseData("SV-1", "Svetsning"))
    other = create_course(db, CourseData("EX-1", "Excel"))
    first = add_session(db, cid, SessionData("2026-03-02", "09:00", "12:00"))
    with pytest.raises(ValidationError) as err:
        add_session(db, cid, SessionData("2026-03-02", "11:00", "13:00"))
    assert err.value.by_field == {"date": "Kursen har redan ett kurstillfälle vid den tiden den 2026-03-02."}
    add_session(db, cid, SessionData("2026-03-02", "12:00", "15:00"))  # back to back is fine
    add_session(db, other, SessionData("2026-03-02", "09:00", "12:00"))  # another course is fine
    update_session(db, first, SessionData("2026-03-02", "08:00", "12:00"))  # itself is no clash
    cancel_session(db, first)
    replacement = add_session(db, cid, SessionData("2026-03-02", "09:00", "12:00"))
    assert len(list_sessions(db, cid)) == 3 and replacement


def test_the_same_series_twice_is_refused(db):
    cid = create_course(db, CourseData("SV-1", "Svetsning"))
    plan = plan_series(3, "09:00", "12:00", "2026-05-01", "2026-05-31")
    add_series(db, cid, plan, "09:00", "12:00")
    with pytest.raises(ValidationError) as err:
        add_series(db, cid, plan, "10:00", "11:00")
    assert "2026-05-07, 2026-05-21, 2026-05-28" in err.value.by_field["date"]
    assert len(list_sessions(db, cid)) == 3


def test_texts_must_fit_their_columns(db):
    with pytest.raises(ValidationError) as err:
        create_course(db, CourseData("K", "T" * 301, location="L" * 201, teacher="P" * 201))
    assert set(err.value.by_field) == {"title", "location", "teacher"}
    assert err.value.by_field["title"] == "Använd högst 300 tecken."
    cid = create_course(db, CourseData("K", "T" * 300))
    with pytest.raises(ValidationError) as err:
        add_session(db, cid, SessionData("2026-03-02", "09:00", "12:00", location="L" * 201))
    assert set(err.value.by_field) == {"location"}


def test_holiday_names_fall_back_to_swedish_without_the_packages_catalogs(monkeypatch):
    import gettext

    from app.services.courses import swedish_holidays

    def missing_catalogs(domain, localedir=None, languages=None, fallback=False, **kw):
        if not fallback:
            raise FileNotFoundError(domain)
        return gettext.NullTranslations()

    monkeypatch.setattr("holidays.holiday_base.translation", missing_catalogs)
    i18n.set_language("en")
    assert swedish_holidays(date(2026, 5, 14), date(2026, 5, 14)) == {date(2026, 5, 14): "Kristi himmelsfärdsdag"}
