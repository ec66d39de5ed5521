"""The month status keeps its last computation of each month (month_checks) and computes a month
again only when a write bumped its change stamp (app/services/month_stamps.py). A stale check
would show a changed month as unchanged: after every path that changes what feeds a closed month,
the status must be what a status computed from nothing says. Erasure keeps a closed month's
totals and removes the person from the stored close."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, time
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update

from app.models import Attendance, Company, CourseSession, Enrollment, MonthCheck, Participant, enrollment_id
from app.services import month_close as mc
from app.services.attendance import clear_mark, mark_all_present, set_mark
from tests.fixtures.report_month import build

LATER = date(2026, 6, 1)


def _session(db, course_id: str, day: date) -> str:
    with db.read() as s:
        return s.execute(select(CourseSession.id).where(CourseSession.course_id == course_id, CourseSession.date == day)).scalar_one()


def _status(db) -> list[dict]:
    return [st.as_json() for st in mc.month_status(db, today=LATER)]


def _from_nothing(db) -> list[dict]:
    with db.write() as s:
        s.execute(delete(MonthCheck))
    return _status(db)


@pytest.fixture
def closed(db):
    """March and April closed, and a status computed (and kept) before the change."""
    ids = build(db)
    for month in ("2026-03", "2026-04"):
        mc.close_month(db, month, user="anna.k", today=LATER)
    assert [st["state"] for st in _status(db)] == ["closed", "closed"]
    return ids


def _counting(monkeypatch) -> list[list[str]]:
    """The months each computation of the status reads."""
    calls: list[list[str]] = []
    real = mc.current

    def counted(s, months, *args):
        calls.append([m.key for m in months])
        return real(s, months, *args)

    monkeypatch.setattr(mc, "current", counted)
    return calls


def test_the_status_computes_only_the_months_a_change_touches(db, closed, monkeypatch):
    ids = closed
    calls = _counting(monkeypatch)
    assert [st["state"] for st in _status(db)] == ["closed", "closed"]
    assert calls == []  # nothing changed: every month from the last computation
    set_mark(db, _session(db, ids["plc"], date(2026, 3, 23)), ids["bertil"], "absent")
    march, april = _status(db)
    assert calls == [["2026-03"]]  # Bertil has marks in March only
    assert (march["state"], april["state"]) == ("changed", "closed")
    assert [(d["hours_before"], d["hours_after"]) for d in march["differences"]] == [("4.00", "1.00")]
    _status(db)
    assert calls == [["2026-03"]]
    # Anna's first mark gone: her first hours are still in March
    set_mark(db, _session(db, ids["sve"], date(2026, 3, 2)), ids["anna"], "absent")
    _status(db)
    assert calls[-1] == ["2026-03"]
    # all her March hours gone: her start in the project moves to April, which shows it
    for course, day in (("sve", date(2026, 3, 16)), ("plc", date(2026, 3, 16))):
        set_mark(db, _session(db, ids[course], day), ids["anna"], "absent")
    clear_mark(db, _session(db, ids["sve"], date(2026, 3, 30)), ids["anna"])
    march, april = _status(db)
    assert calls[-1] == ["2026-03", "2026-04"]
    assert april["state"] == "changed" and april["differences"] == []
    [start] = april["figures_changed"]
    assert (start["before"][ids["anna"]]["start"], start["after"][ids["anna"]]["start"]) == (None, "2026-04-06")
    assert [march, april] == _from_nothing(db)


def _move_session(db, ids):
    from app.services.courses import SessionData, update_session

    update_session(db, _session(db, ids["plc"], date(2026, 3, 23)), SessionData(date=date(2026, 5, 4), start=time(9), end=time(12)))


def _all_present(db, ids):
    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383", company_id=ids["verk"])
        s.add(gus)
        s.flush()
        s.add(Enrollment(id=enrollment_id(ids["plc"], gus.id), course_id=ids["plc"], participant_id=gus.id))
    mark_all_present(db, _session(db, ids["plc"], date(2026, 3, 23)))


def _bundle(db, ids, tmp_path):
    from app.interchange.bundle import export_bundle, import_bundle

    path = tmp_path / "b.json"
    export_bundle(db, path)
    data = json.loads(path.read_text("utf-8"))
    plc4 = _session(db, ids["plc"], date(2026, 3, 23))
    for mark in data["attendance"]:
        if mark["session_id"] == plc4 and mark["participant_id"] == ids["bertil"]:
            mark["status"], mark["minutes"] = "late", 30
    path.write_text(json.dumps(data), "utf-8")
    import_bundle(db, path)


def _rounding(db, ids):
    from app.services.settings import get_settings, save_settings

    save_settings(db, replace(get_settings(db), hours_rounding="floor"))


def _unit_cost(db, ids):
    from app.services.settings import get_project_settings, save_project_settings

    save_project_settings(db, replace(get_project_settings(db), unit_cost=Decimal("300")))


def _company_type(db, ids):
    with db.write() as s:
        s.get(Company, ids["kommun"]).organisation_type = "state"


def _project_end(db, ids):
    with db.write() as s:
        s.get(Participant, ids["anna"]).project_end = date(2026, 3, 31)


def _bulk_update(db, ids):
    with db.write() as s:  # a Core UPDATE: which rows it changed is not known
        s.execute(update(Attendance).where(Attendance.participant_id == ids["fatima"]).values(status="absent"))


def _bulk_update_by_key(db, ids):
    with db.write() as s:  # the ORM's bulk UPDATE by primary key (a sync applying a mark): its rows are known
        mark = s.execute(select(Attendance.id).where(Attendance.participant_id == ids["fatima"])).scalars().first()
        s.execute(update(Attendance), [{"id": mark, "status": "absent"}])


def _rounding_by_key(db, ids):
    from app.models import Setting
    from app.services.settings import get_settings, save_settings

    save_settings(db, replace(get_settings(db), signatory_name="Karin Berg"))  # the row (no month changes)
    with db.write() as s:
        value = json.loads(s.get(Setting, "organisation").value)
        s.execute(update(Setting), [{"key": "organisation", "value": json.dumps({**value, "hours_rounding": "floor"})}])


def _cancel(db, ids):
    from app.services.courses import cancel_session

    cancel_session(db, _session(db, ids["sve"], date(2026, 3, 16)))


def _delete_course(db, ids):
    from app.services.courses import delete_course

    delete_course(db, ids["plc"])


def _delete_participant(db, ids):
    from app.services.participants import delete_participant

    delete_participant(db, ids["fatima"])


PATHS = {
    "register": lambda db, ids, tmp: set_mark(db, _session(db, ids["sve"], date(2026, 3, 30)), ids["fatima"], "present"),
    "mark removed": lambda db, ids, tmp: clear_mark(db, _session(db, ids["sve"], date(2026, 3, 2)), ids["fatima"]),
    "all present": lambda db, ids, tmp: _all_present(db, ids),
    "bundle import": lambda db, ids, tmp: _bundle(db, ids, tmp),
    "session moved to May": lambda db, ids, tmp: _move_session(db, ids),
    "session cancelled": lambda db, ids, tmp: _cancel(db, ids),
    "course deleted": lambda db, ids, tmp: _delete_course(db, ids),
    "participant deleted": lambda db, ids, tmp: _delete_participant(db, ids),
    "rounding rule": lambda db, ids, tmp: _rounding(db, ids),
    "unit cost": lambda db, ids, tmp: _unit_cost(db, ids),
    "company type": lambda db, ids, tmp: _company_type(db, ids),
    "project data": lambda db, ids, tmp: _project_end(db, ids),
    "bulk update": lambda db, ids, tmp: _bulk_update(db, ids),
    "bulk update by primary key": lambda db, ids, tmp: _bulk_update_by_key(db, ids),
    "rounding rule by primary key": lambda db, ids, tmp: _rounding_by_key(db, ids),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_after_every_path_the_kept_status_is_the_status_computed_from_nothing(db, closed, tmp_path, path):
    PATHS[path](db, closed, tmp_path)
    kept = _status(db)
    assert kept[0]["state"] == "changed"  # each of them alters March
    assert kept == _from_nothing(db)


def test_a_snapshot_loaded_whole_makes_every_month_computed_again(db, closed, monkeypatch):
    from app.services import month_stamps

    with db.read() as s:
        before = month_stamps.stamps(s).get(month_stamps.EVERY, 0)
    with db.bulk_load() as s:
        s.execute(text("UPDATE attendance SET status = 'absent' WHERE participant_id = :p"), {"p": closed["fatima"]})
    with db.read() as s:
        assert month_stamps.stamps(s)[month_stamps.EVERY] == before + 1
    calls = _counting(monkeypatch)
    assert _status(db)[0]["state"] == "changed"
    assert calls == [["2026-03", "2026-04"]]


def test_erasure_keeps_a_closed_months_totals_and_removes_the_person_from_the_close(db, closed):
    from app.gdpr import erasure

    ids = closed
    [before] = mc.versions(db, "2026-03")
    erasure.erase(db, ids["anna"], "request")
    [after] = mc.versions(db, "2026-03")
    # the totals as they were sent
    for key in ("hours", "participants", "women", "men", "organisations", "co_financing", "hours_by_organisation",
                "hours_by_organisation_type", "co_financing_by_organisation_type", "hours_per_participant"):
        assert after.figures[key] == before.figures[key], key
    assert Decimal(after.figures["hours"]) == Decimal("22.6") and after.figures["participants"] == 3
    # Anna's own entries are gone from every close and from the status's computations
    assert after.hours == {ids["bertil"]: Decimal("4"), ids["fatima"]: Decimal("7.5")}
    assert set(after.figures["participant_data"]) == {ids["bertil"], ids["fatima"]}
    assert after.figures[mc.ERASED] == {
        "participants": 1, "hours": "11.10", "women": 1, "men": 0,
        "hours_by_organisation": {"556016-0680": "11.10"}, "hours_by_organisation_type": {"private": "11.10"}}
    with db.read() as s:
        for table in ("month_closes", "month_checks"):
            assert s.execute(text(f"SELECT count(*) FROM {table} WHERE hours LIKE :p"), {"p": f"%{ids['anna']}%"}).scalar_one() == 0
    # the erasure is no correction: nothing to send again
    march, april = _status(db)
    assert (march["state"], march["differences"], march["figures_changed"]) == ("closed", [], [])
    assert april["state"] == "closed" and _status(db) == _from_nothing(db)
    # a later correction still shows, against the totals without her
    set_mark(db, _session(db, ids["plc"], date(2026, 3, 23)), ids["bertil"], "absent")
    march = _status(db)[0]
    assert march["state"] == "changed"
    assert [(d["hours_before"], d["hours_after"]) for d in march["differences"]] == [("4.00", "1.00")]
    changes = {c["figure"]: (c["before"], c["after"]) for c in march["figures_changed"]}
    assert changes["hours"] == ("11.50", "8.50")  # 22.6 sent, 11.1 of them Anna's


def test_a_session_moved_out_of_a_closed_month_leaves_it_changed(db, closed):
    """The old month of a moved session is known only before the flush (its participant has no
    other mark in March: the months of their marks no longer name March)."""
    from app.models import Course
    from app.services.courses import SessionData, update_session

    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383", company_id=closed["verk"])
        course = Course(code="TRU-01", title="Truck")
        s.add_all([gus, course])
        s.flush()
        one = CourseSession(course_id=course.id, date=date(2026, 3, 25), start_time=time(8), end_time=time(12))
        s.add_all([one, Enrollment(id=enrollment_id(course.id, gus.id), course_id=course.id, participant_id=gus.id)])
        s.flush()
        session_id, gus_id = one.id, gus.id
    set_mark(db, session_id, gus_id, "present")
    mc.close_month(db, "2026-03", today=LATER)
    assert _status(db)[0]["state"] == "closed"
    update_session(db, session_id, SessionData(date=date(2026, 5, 6), start=time(8), end=time(12)))
    march = _status(db)[0]
    assert march["state"] == "changed"
    assert [(d["hours_before"], d["hours_after"]) for d in march["differences"]] == [("4.00", "0.00")]
    assert _status(db) == _from_nothing(db)


def test_an_earlier_first_mark_changes_the_month_that_showed_the_start(db, closed, monkeypatch):
    """Gustav's first hours are in April (April's summary shows his start); a mark added in March
    makes March his first month: April changes too (found from his unchanged marks)."""
    ids = closed
    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383", company_id=ids["verk"])
        s.add(gus)
        s.flush()
        s.add(Enrollment(id=enrollment_id(ids["sve"], gus.id), course_id=ids["sve"], participant_id=gus.id))
        gus_id = gus.id
    set_mark(db, _session(db, ids["sve"], date(2026, 4, 6)), gus_id, "present")
    mc.close_month(db, "2026-04", today=LATER)
    assert [st["state"] for st in _status(db)] == ["closed", "closed"]
    calls = _counting(monkeypatch)
    set_mark(db, _session(db, ids["sve"], date(2026, 3, 30)), gus_id, "present")
    march, april = _status(db)
    assert calls == [["2026-03", "2026-04"]]
    assert march["state"] == "changed" and april["state"] == "changed"
    [start] = april["figures_changed"]
    assert (start["before"][gus_id]["start"], start["after"][gus_id]["start"]) == ("2026-04-06", None)
    assert [march, april] == _from_nothing(db)


def test_the_starts_from_known_months_are_the_starts_the_marks_give(db):
    """April alone: who started before it, from March's participants as a check keeps them, or
    asked of the marks; Gustav's first hours are in February, before any known month."""
    ids = build(db)
    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383", company_id=ids["verk"])
        s.add(gus)
        s.flush()
        s.add(Enrollment(id=enrollment_id(ids["sve"], gus.id), course_id=ids["sve"], participant_id=gus.id))
        s.add(CourseSession(course_id=ids["sve"], date=date(2026, 2, 23), start_time=time(8), end_time=time(12)))
        gus_id = gus.id
    for day in (date(2026, 2, 23), date(2026, 4, 6)):
        set_mark(db, _session(db, ids["sve"], day), gus_id, "present")
    march, april = mc.to_month("2026-03"), mc.to_month("2026-04")
    with db.read() as s:
        known: dict = {}
        mc.month_totals(s, [march], "exact", known)
        firsts: dict = {}
        mc.month_totals(s, [april], "exact", firsts)
        asked = mc.month_starts(s, firsts, [april])
        from_known = mc.month_starts(s, firsts, [april], {"2026-03": set(known["2026-03"])})
    assert from_known == asked
    assert gus_id in firsts["2026-04"] and gus_id not in asked["2026-04"]  # he started in February
    assert ids["anna"] not in asked["2026-04"]  # she started in March


def test_only_a_change_of_the_rounding_rule_in_the_settings_touches_every_month(db, closed, monkeypatch):
    from app.services.settings import get_settings, save_settings

    calls = _counting(monkeypatch)
    save_settings(db, replace(get_settings(db), signatory_name="Karin Berg"))
    assert [st["state"] for st in _status(db)] == ["closed", "closed"] and calls == []
    save_settings(db, replace(get_settings(db), hours_rounding="floor"))
    assert [st["state"] for st in _status(db)] == ["changed", "changed"]
    assert calls == [["2026-03", "2026-04"]]


@pytest.mark.parametrize("move", ["session date", "mark to another session", "mark to another person"])
def test_a_bulk_update_by_primary_key_that_moves_a_session_or_a_mark_leaves_the_old_months_changed(db, closed, move):
    """A sync, a bundle import or a restore writes with the ORM's bulk UPDATE by primary key: the
    rows it names are known, and what they were before it too (the month a session leaves, the
    session and the person a mark leaves). Gustav's only March hours are on TRU-01 on 25 March, his
    next on 6 April: moving them out of March changes March, and his start moves to April."""
    from app.models import Course

    ids = closed
    with db.write() as s:
        gus = Participant(first_name="Gustav", last_name="Gran", personal_number="198001012383", company_id=ids["verk"])
        hans = Participant(first_name="Hans", last_name="Holm", personal_number="198202022396", company_id=ids["verk"])
        course = Course(code="TRU-01", title="Truck")
        s.add_all([gus, hans, course])
        s.flush()
        march = CourseSession(course_id=course.id, date=date(2026, 3, 25), start_time=time(8), end_time=time(12))
        may = CourseSession(course_id=course.id, date=date(2026, 5, 6), start_time=time(8), end_time=time(12))
        s.add_all([march, may] + [Enrollment(id=enrollment_id(c, p.id), course_id=c, participant_id=p.id)
                                  for c in (course.id, ids["sve"]) for p in (gus, hans)])
        s.flush()
        gus_id, hans_id, march_id, may_id = gus.id, hans.id, march.id, may.id
    set_mark(db, march_id, gus_id, "present")
    set_mark(db, _session(db, ids["sve"], date(2026, 4, 6)), gus_id, "present")
    for month in ("2026-03", "2026-04"):
        mc.close_month(db, month, today=LATER)
    assert [st["state"] for st in _status(db)] == ["closed", "closed", "open"]  # May: TRU-01's second session
    with db.read() as s:
        mark_id = s.execute(select(Attendance.id).where(Attendance.session_id == march_id)).scalar_one()
    row = {"session date": {"id": march_id, "date": date(2026, 5, 6)},
           "mark to another session": {"id": mark_id, "session_id": may_id},
           "mark to another person": {"id": mark_id, "participant_id": hans_id}}[move]
    with db.write() as s:
        s.execute(update(CourseSession if move == "session date" else Attendance), [row])
    kept = _status(db)
    assert [st["state"] for st in kept[:2]] == ["changed", "changed"]
    assert kept == _from_nothing(db)
