"""Enrollment: capacity, waitlist in order, move-up when a place frees, re-enrolment."""

import pytest

from app.errors import NotFound, ValidationError
from app.models import Enrollment, enrollment_id
from app.services.courses import CourseData, create_course, delete_course, get_course, update_course
from app.services.enrollments import enroll, get_enrollment, list_enrollments, set_enrollment_status, withdraw
from app.services.participants import ParticipantData, create_participant, delete_participant
from tests.app.test_services_participants import pnr12


def people(db, n: int) -> list[str]:
    return [
        create_participant(db, ParticipantData(f"Person{i}", f"Efternamn{i:02d}", pnr12(f"198002{i + 1:02d}", "456")))
        for i in range(n)
    ]


def statuses(db, course_id) -> dict[str, str]:
    return {e.participant_id: e.status for e in list_enrollments(db, course_id)}


def test_enrol_within_capacity_with_derived_ids(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=5))
    a, b = people(db, 2)
    result = enroll(db, course, [a, b])
    assert (result.enrolled, result.waitlisted, result.already) == ((a, b), (), ())
    rows = list_enrollments(db, course)
    assert {r.id for r in rows} == {enrollment_id(course, a), enrollment_id(course, b)}
    row = get_enrollment(db, enrollment_id(course, a))
    assert (row.course_code, row.course_title, row.full_name, row.status) == ("K", "Kurs", "Person0 Efternamn00", "enrolled")
    assert row.masked_personal_number == "19800201-****"


def test_beyond_capacity_participants_are_waitlisted_in_order(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=2))
    ps = people(db, 5)
    result = enroll(db, course, ps)
    assert result.enrolled == tuple(ps[:2])
    assert result.waitlisted == tuple(ps[2:])
    rows = list_enrollments(db, course)
    assert [r.status for r in rows] == ["enrolled", "enrolled", "waitlisted", "waitlisted", "waitlisted"]
    assert [r.participant_id for r in rows[2:]] == ps[2:]  # queue order


def test_already_enrolled_and_duplicates_in_one_call(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b = people(db, 2)
    enroll(db, course, [a, b])
    result = enroll(db, course, [a, b, a])
    assert (result.enrolled, result.waitlisted, result.already) == ((), (), (a, b))
    with db.read() as s:
        assert s.query(Enrollment).count() == 2


def test_no_capacity_means_no_limit_and_zero_means_waitlist(db):
    open_course = create_course(db, CourseData("OPEN", "Öppen"))
    closed = create_course(db, CourseData("CLOSED", "Stängd", capacity=0))
    ps = people(db, 3)
    assert enroll(db, open_course, ps).enrolled == tuple(ps)
    assert enroll(db, closed, ps).waitlisted == tuple(ps)


def test_withdraw_moves_the_first_waitlisted_up(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=2))
    a, b, c, d = people(db, 4)
    enroll(db, course, [a, b])
    enroll(db, course, [c])
    enroll(db, course, [d])
    moved = withdraw(db, enrollment_id(course, a))
    assert moved == (enrollment_id(course, c),)
    assert statuses(db, course) == {a: "withdrawn", b: "enrolled", c: "enrolled", d: "waitlisted"}
    assert withdraw(db, enrollment_id(course, d)) == ()  # a waitlisted one leaving frees no place
    assert statuses(db, course)[d] == "withdrawn"


def test_reenrolling_a_withdrawn_participant_reactivates_the_same_row(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b, c = people(db, 3)
    enroll(db, course, [a, b, c])  # a enrolled; b, c waitlisted
    withdraw(db, enrollment_id(course, a))  # b moves up
    result = enroll(db, course, [a])
    assert result.waitlisted == (a,)  # full again: a joins the back of the queue
    with db.read() as s:
        assert s.query(Enrollment).filter_by(participant_id=a).count() == 1
    withdraw(db, enrollment_id(course, b))
    assert statuses(db, course) == {a: "waitlisted", b: "withdrawn", c: "enrolled"}


def test_completed_keeps_its_place_and_status_is_checked(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b = people(db, 2)
    enroll(db, course, [a, b])
    assert set_enrollment_status(db, enrollment_id(course, a), "completed") == ()
    assert statuses(db, course) == {a: "completed", b: "waitlisted"}
    with pytest.raises(ValidationError) as err:
        set_enrollment_status(db, enrollment_id(course, a), "done")
    assert "done" in err.value.by_field["status"]
    with pytest.raises(NotFound):
        withdraw(db, "no-such-enrollment")


def test_a_larger_capacity_moves_the_waitlist_up(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b, c = people(db, 3)
    enroll(db, course, [a, b, c])
    moved = update_course(db, course, CourseData("K", "Kurs", capacity=2))
    assert moved == (enrollment_id(course, b),)
    assert statuses(db, course) == {a: "enrolled", b: "enrolled", c: "waitlisted"}
    assert get_course(db, course).data.capacity == 2


def test_unknown_participants_are_refused_and_nothing_written(db):
    course = create_course(db, CourseData("K", "Kurs"))
    (a,) = people(db, 1)
    with pytest.raises(ValidationError) as err:
        enroll(db, course, [a, "ghost"])
    assert err.value.problems[0].record_id == "ghost"
    assert list_enrollments(db, course) == []


def test_deleted_course_or_participant(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b = people(db, 2)
    enroll(db, course, [a, b])
    delete_participant(db, a)  # a deleted participant's place is free: b moves up on the next change
    assert [r.participant_id for r in list_enrollments(db, course)] == [b]
    (c,) = [create_participant(db, ParticipantData("Cia", "Ny", pnr12("19800303", "789")))]
    result = enroll(db, course, [c])
    assert result.waitlisted == (c,)
    assert statuses(db, course) == {b: "enrolled", c: "waitlisted"}
    delete_course(db, course)
    with pytest.raises(NotFound):
        enroll(db, course, [c])
    assert list_enrollments(db, course) == []


def test_undoing_a_waitlisted_withdrawal_restores_the_queue_place(db):
    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    a, b, c = people(db, 3)
    enroll(db, course, [a, b, c])  # b then c waiting
    withdraw(db, enrollment_id(course, b))
    set_enrollment_status(db, enrollment_id(course, b), "waitlisted")  # undo
    assert withdraw(db, enrollment_id(course, a)) == (enrollment_id(course, b),)


def test_enroll_inside_a_callers_transaction(db):
    from app.models import Participant
    from app.services.enrollments import enroll_in_session

    course = create_course(db, CourseData("K", "Kurs", capacity=1))
    (a,) = people(db, 1)
    with db.write() as s:
        new = Participant(first_name="Ny", last_name="Person", personal_number=pnr12("19800505", "321"))
        s.add(new)
        s.flush()
        result = enroll_in_session(s, course, [a, new.id])
    assert (result.enrolled, result.waitlisted) == ((a,), (new.id,))
    with pytest.raises(ValidationError):
        with db.write() as s:
            other = Participant(first_name="Bo", last_name="Tre", personal_number=pnr12("19800606", "321"))
            s.add(other)
            s.flush()
            enroll_in_session(s, course, [other.id, "ghost"])
    assert len(list_enrollments(db, course)) == 2  # the failed transaction left nothing behind
