"""What is due (the overview page's data), counted against a hand-made programme."""

from __future__ import annotations

from datetime import date, time

from app.services import attendance as A
from app.services import certificates as C
from app.services.overview import due, next_scb_deadline, previous_months
from tests.app.attendance_builders import build_course

TODAY = date(2026, 3, 10)
PEOPLE = [("Åsa", "Öberg", "Kalmar Verkstad AB"), ("Bo", "Ek", ""), ("Cecilia", "Ahl", "Nybro Plåt AB")]


def test_scb_deadline_is_four_weeks_after_the_month():
    assert next_scb_deadline(date(2026, 3, 10)) == ("2026-02", date(2026, 3, 28))
    assert next_scb_deadline(date(2026, 3, 28)) == ("2026-02", date(2026, 3, 28))
    assert next_scb_deadline(date(2026, 3, 29)) == ("2026-03", date(2026, 4, 28))
    assert next_scb_deadline(date(2026, 1, 5)) == ("2025-12", date(2026, 1, 28))
    assert previous_months(date(2026, 2, 1), 3) == ["2026-01", "2025-12", "2025-11"]


def test_upcoming_unmarked_and_uncertified(db):
    # a course next week, one with an unmarked past session, one finished with eligible people
    soon = build_course(db, code="SOON", people=PEOPLE[:2],
                        sessions=((date(2026, 3, 12), time(8, 0), time(12, 0), False),
                                  (date(2026, 3, 18), time(8, 0), time(12, 0), False),  # beyond 7 days
                                  (date(2026, 3, 13), time(8, 0), time(12, 0), True)))  # cancelled
    open_ = build_course(db, code="OPEN", people=PEOPLE,
                         sessions=((date(2026, 3, 2), time(8, 0), time(12, 0), False),
                                   (date(2026, 3, 4), time(8, 0), time(12, 0), False)))
    A.set_mark(db, open_.session_ids[0], open_.participant_ids[0], "present")
    done = build_course(db, code="DONE", people=PEOPLE,
                        sessions=((date(2026, 2, 2), time(8, 0), time(12, 0), False),))
    for pid in done.participant_ids[:2]:
        A.set_mark(db, done.session_ids[0], pid, "present")
    A.set_mark(db, done.session_ids[0], done.participant_ids[2], "absent")
    C.issue_certificates(db, done.course_id, [done.participant_ids[0]], today=date(2026, 2, 3))

    overview = due(db, TODAY)
    assert [(s.code, s.date, s.participants) for s in overview.upcoming] == [("SOON", date(2026, 3, 12), 2)]
    # the unmarked session of OPEN (4 March); 2 March has a mark, DONE's only session too
    assert [(s.code, s.date) for s in overview.unmarked] == [("OPEN", date(2026, 3, 4))]
    assert overview.unmarked_total == 1
    # DONE: two present, one certified already, one absent: one eligible without a certificate
    assert [(c.code, c.eligible_without_certificate) for c in overview.uncertified] == [("DONE", 1)]
    assert (overview.scb_month, overview.scb_deadline) == ("2026-02", date(2026, 3, 28))
    assert overview.sync is not None and not overview.sync.set_up and overview.sync.duplicates == 0
    assert soon.course_id  # built


def test_missing_originals_per_month_are_those_the_checklist_misses(db):
    from app.services.originals import mark_original_received, missing_originals

    feb = build_course(db, code="FEB", people=PEOPLE,
                       sessions=((date(2026, 2, 2), time(8, 0), time(12, 0), False),
                                 (date(2026, 1, 26), time(8, 0), time(12, 0), False)))
    for pid in feb.participant_ids[:2]:
        A.set_mark(db, feb.session_ids[0], pid, "present")
    A.set_mark(db, feb.session_ids[0], feb.participant_ids[2], "absent")  # no hours: no time report
    A.set_mark(db, feb.session_ids[1], feb.participant_ids[2], "late", minutes=30)
    mark_original_received(db, feb.participant_ids[0], "2026-02", date(2026, 3, 3))

    overview = due(db, TODAY)
    assert [(o.month, o.missing) for o in overview.originals] == [("2026-02", 1), ("2026-01", 1)]
    for o in overview.originals:
        assert o.missing == len(missing_originals(db, o.month, today=TODAY))
    mark_original_received(db, feb.participant_ids[2], "2026-01", date(2026, 3, 3))
    assert [(o.month, o.missing) for o in due(db, TODAY).originals] == [("2026-02", 1)]
