"""Attendance services: every rule (via app.rules) and every validation of a mark."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from app.errors import NotFound, ValidationError
from app.models import Attendance, Certificate, CourseSession, attendance_id
from app.services import attendance as A
from tests.app.attendance_builders import build_course, enrol

TODAY = date(2026, 3, 10)
# four sessions: 4 h, 2 h, 4 h (cancelled), 3 h (in the future) -> scheduled 9 h = 540 min
SESSIONS = (
    (date(2026, 3, 2), time(8, 0), time(12, 0), False),
    (date(2026, 3, 4), time(13, 0), time(15, 0), False),
    (date(2026, 3, 6), time(8, 0), time(12, 0), True),
    (date(2026, 3, 16), time(9, 0), time(12, 0), False),
)
PEOPLE = [("Åsa", "Öberg", "Kalmar Verkstad AB"), ("Bo", "Ek", ""), ("Cecilia", "Ahl", "Nybro Plåt AB")]


@pytest.fixture
def course(db):
    return build_course(db, people=PEOPLE, sessions=SESSIONS, min_percent=80)


def _summary(db, built, today=TODAY):
    return {p.participant_id: p for p in A.course_attendance_summary(db, built.course_id, today=today)}


def test_no_marks_counts_nothing_and_cancelled_sessions_are_not_scheduled(db, course):
    rows = A.course_attendance_summary(db, course.course_id, today=TODAY)
    assert [r.last_name for r in rows] == ["Ahl", "Ek", "Öberg"]  # Swedish order: Ö last
    for r in rows:
        assert r.scheduled_minutes == 540
        assert r.attended_minutes == 0
        assert r.remaining_minutes == 180  # only the session of 16 March is still ahead
        assert r.percent == 0.0
        assert not r.eligible
        assert not r.can_still_reach  # 180/540 = 33 % < 80 %


def test_summary_fields(db, course):
    row = _summary(db, course)[course.participant_ids[0]]
    assert row.full_name == "Åsa Öberg"
    assert row.company_name == "Kalmar Verkstad AB"
    assert row.enrollment_status == "enrolled"
    pnr = course.personal_numbers[0]
    assert row.masked_personal_number == f"{pnr[:8]}-****"
    assert row.birth_date == date(int(pnr[:4]), int(pnr[4:6]), int(pnr[6:8]))
    assert row.enrollment_id
    assert _summary(db, course)[course.participant_ids[1]].company_name == ""


def test_present_counts_the_whole_session_unless_fewer_minutes(db, course):
    s1, s2, _cancelled, _future = course.session_ids
    pid = course.participant_ids[0]
    A.set_mark(db, s1, pid, "present")
    A.set_mark(db, s2, pid, "present", 90)  # left 30 minutes early
    row = _summary(db, course)[pid]
    assert row.attended_minutes == 240 + 90
    assert row.percent == pytest.approx(100 * 330 / 540)


def test_late_counts_its_minutes_excused_and_absent_count_zero(db, course):
    s1, s2, _cancelled, _future = course.session_ids
    a, b, c = course.participant_ids
    A.set_mark(db, s1, a, "late", 200)
    A.set_mark(db, s1, b, "excused")
    A.set_mark(db, s1, c, "absent")
    rows = _summary(db, course)
    assert rows[a].attended_minutes == 200
    assert rows[b].attended_minutes == 0
    assert rows[c].attended_minutes == 0


def test_eligible_exactly_at_the_minimum_integer_arithmetic(db):
    # 10 sessions of 60 min; 80 % = 480 minutes exactly
    sessions = [(date(2026, 1, d), time(8), time(9), False) for d in range(1, 11)]
    built = build_course(db, people=[("Ann", "Alm", "")], sessions=sessions, min_percent=80)
    pid = built.participant_ids[0]
    for sid in built.session_ids[:8]:
        A.set_mark(db, sid, pid, "present")
    row = _summary(db, built)[pid]
    assert row.attended_minutes == 480 and row.eligible
    A.set_mark(db, built.session_ids[7], pid, "present", 59)
    row = _summary(db, built)[pid]
    assert row.attended_minutes == 479 and not row.eligible


def test_can_still_reach_uses_unmarked_sessions_from_today(db, course):
    s1, s2, _cancelled, future = course.session_ids
    pid = course.participant_ids[0]
    A.set_mark(db, s1, pid, "present")
    A.set_mark(db, s2, pid, "late", 60)
    row = _summary(db, course)[pid]
    # attended 300, remaining 180 -> at most 480/540 = 89 % >= 80 %
    assert (row.attended_minutes, row.remaining_minutes, row.can_still_reach) == (300, 180, True)
    A.set_mark(db, s2, pid, "absent")
    row = _summary(db, course)[pid]
    # attended 240 + 180 possible = 420/540 = 78 % < 80 %
    assert (row.attended_minutes, row.remaining_minutes, row.can_still_reach) == (240, 180, False)
    # a known absence in the future is no longer "remaining"
    A.set_mark(db, s2, pid, "present")
    A.set_mark(db, future, pid, "excused")
    row = _summary(db, course)[pid]
    assert (row.remaining_minutes, row.can_still_reach) == (0, False)
    # the day of the session itself still counts as ahead
    row = _summary(db, course, today=date(2026, 3, 4))[course.participant_ids[1]]
    assert row.remaining_minutes == 120 + 180


def test_only_enrolled_and_completed_participants(db, course):
    enrol(db, course.course_id, "Wera", "Väntelista", "waitlisted")
    enrol(db, course.course_id, "Wilma", "Avhopp", "withdrawn")
    done = enrol(db, course.course_id, "Klara", "Klar", "completed")
    rows = A.course_attendance_summary(db, course.course_id, today=TODAY)
    names = [r.last_name for r in rows]
    assert "Väntelista" not in names and "Avhopp" not in names
    assert done in {r.participant_id for r in rows}


def test_participant_course_summaries(db, course):
    other = build_course(db, code="EL-2", title="El", people=[], sessions=[(date(2026, 2, 1), time(8), time(10), False)])
    pid = course.participant_ids[0]
    from app.models import Enrollment, enrollment_id

    with db.write() as s:
        s.add(Enrollment(id=enrollment_id(other.course_id, pid), course_id=other.course_id, participant_id=pid,
                         status="completed"))
        for number, revoked in (("1", None), ("2", date(2026, 3, 1))):
            s.add(Certificate(number=f"N{number}", verification_code=f"V{number}", course_id=other.course_id,
                              participant_id=pid, issued_on=date(2026, 2, 2), revoked_on=revoked))
    A.set_mark(db, other.session_ids[0], pid, "present")
    A.set_mark(db, course.session_ids[0], pid, "present")
    rows = A.participant_course_summaries(db, pid)
    assert [r.code for r in rows] == ["EL-2", "SVETS-1"]
    el, svets = rows
    assert (el.scheduled_minutes, el.attended_minutes, el.percent, el.eligible, el.certificates) == (120, 120, 100.0, True, 1)
    assert el.enrollment_status == "completed"
    assert (svets.scheduled_minutes, svets.attended_minutes, svets.eligible, svets.certificates) == (540, 240, False, 0)
    assert A.participant_course_summaries(db, "no-such-participant") == []


def test_register_holds_sessions_participants_and_marks(db, course):
    s1, s2, cancelled, future = course.session_ids
    a = course.participant_ids[0]
    A.set_mark(db, s1, a, "late", 30, note="Buss <sen> & regn")
    reg = A.register(db, course.course_id, today=TODAY)
    assert reg.course.code == "SVETS-1" and reg.course.min_attendance_percent == 80
    assert [x.id for x in reg.sessions] == [s1, s2, cancelled, future]
    assert [x.minutes for x in reg.sessions] == [240, 120, 240, 180]
    assert [x.cancelled for x in reg.sessions] == [False, False, True, False]
    assert reg.marks == {(s1, a): A.Mark("late", 30, "Buss <sen> & regn")}
    assert len(reg.participants) == 3


def test_unknown_course(db):
    with pytest.raises(NotFound):
        A.register(db, "missing")
    with pytest.raises(NotFound, match="NOPE"):
        A.course_id_by_code(db, "NOPE")


def test_set_mark_uses_the_deterministic_id_and_corrects_in_place(db, course):
    s1 = course.session_ids[0]
    pid = course.participant_ids[0]
    A.set_mark(db, s1, pid, "present")
    A.set_mark(db, s1, pid, "late", 100, "Tåget")
    with db.read() as s:
        rows = s.execute(select(Attendance)).scalars().all()
    assert len(rows) == 1
    assert rows[0].id == attendance_id(s1, pid)
    assert (rows[0].status, rows[0].minutes, rows[0].note) == ("late", 100, "Tåget")


@pytest.mark.parametrize(
    ("status", "minutes", "field"),
    [
        ("late", None, "minutes"),
        ("present", 241, "minutes"),
        ("late", -1, "minutes"),
        ("sick", None, "status"),
    ],
)
def test_set_mark_validation(db, course, status, minutes, field):
    with pytest.raises(ValidationError) as info:
        A.set_mark(db, course.session_ids[0], course.participant_ids[0], status, minutes)
    assert field in info.value.by_field
    with db.read() as s:
        assert s.execute(select(Attendance)).first() is None


def test_minutes_bounds_are_inclusive(db, course):
    s1 = course.session_ids[0]
    A.set_mark(db, s1, course.participant_ids[0], "late", 0)
    A.set_mark(db, s1, course.participant_ids[1], "present", 240)
    rows = _summary(db, course)
    assert rows[course.participant_ids[0]].attended_minutes == 0
    assert rows[course.participant_ids[1]].attended_minutes == 240


def test_no_marks_on_a_cancelled_session(db, course):
    with pytest.raises(ValidationError) as info:
        A.set_mark(db, course.session_ids[2], course.participant_ids[0], "present")
    assert "session" in info.value.by_field
    with pytest.raises(ValidationError):
        A.mark_all_present(db, course.session_ids[2])


def test_participant_must_be_enrolled(db, course):
    waiting = enrol(db, course.course_id, "Wera", "Väntelista", "waitlisted")
    with pytest.raises(ValidationError) as info:
        A.set_mark(db, course.session_ids[0], waiting, "present")
    assert "participant" in info.value.by_field
    with pytest.raises(NotFound):
        A.set_mark(db, "no-such-session", course.participant_ids[0], "present")


def test_excused_and_absent_keep_no_minutes(db, course):
    mark = A.set_mark(db, course.session_ids[0], course.participant_ids[0], "excused", 30, "  Sjuk  ")
    assert mark == A.Mark("excused", None, "Sjuk")


def test_clear_mark_is_a_tombstone_and_can_be_marked_again(db, course):
    s1, pid = course.session_ids[0], course.participant_ids[0]
    A.set_mark(db, s1, pid, "present")
    assert A.clear_mark(db, s1, pid) is True
    assert A.clear_mark(db, s1, pid) is False
    assert A.register(db, course.course_id).marks == {}
    with db.read() as s:
        row = s.get(Attendance, attendance_id(s1, pid))
    assert row is not None and row.deleted_at is not None
    A.set_mark(db, s1, pid, "absent")
    assert A.register(db, course.course_id).marks == {(s1, pid): A.Mark("absent")}


def test_mark_all_present_only_marks_participants_without_a_mark(db, course):
    s1 = course.session_ids[0]
    a, b, c = course.participant_ids
    A.set_mark(db, s1, a, "late", 45)
    A.set_mark(db, s1, b, "present")
    A.clear_mark(db, s1, b)  # a tombstone: b has no mark now
    waiting = enrol(db, course.course_id, "Wera", "Väntelista", "waitlisted")
    marked = A.mark_all_present(db, s1)
    assert sorted(marked) == sorted([b, c])
    marks = A.register(db, course.course_id).marks
    assert marks[(s1, a)] == A.Mark("late", 45)
    assert marks[(s1, b)] == A.Mark("present")
    assert marks[(s1, c)] == A.Mark("present")
    assert (s1, waiting) not in marks
    with db.read() as s:
        ids = {r.id for r in s.execute(select(Attendance)).scalars()}
    assert attendance_id(s1, c) in ids
    assert A.mark_all_present(db, s1) == []


def test_deleted_session_is_ignored(db, course):
    from app.models import utcnow

    with db.write() as s:
        s.get(CourseSession, course.session_ids[3]).deleted_at = utcnow()
    row = A.course_attendance_summary(db, course.course_id, today=TODAY)[0]
    assert row.scheduled_minutes == 360


def test_name_key_orders_swedish_letters_last_and_ignores_other_accents():
    names = ["Öberg", "Åberg", "Ärlig", "Zäta", "Çelik", "Świątek", "Ánh", "Andersson"]
    assert sorted(names, key=A.name_key) == ["Andersson", "Ánh", "Çelik", "Świątek", "Zäta", "Åberg", "Ärlig", "Öberg"]
