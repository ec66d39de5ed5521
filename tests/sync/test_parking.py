"""No stream stops on one change: a change that cannot be applied is parked (which record, why,
from which laptop and batch), the rest goes on, and it is applied once what it needed arrives."""

from __future__ import annotations

from sqlalchemy import select, text

from app.models import Company, Enrollment, Participant, SyncParked
from app.sync import sync
from app.sync.capture import APPLYING, FIELDS, record_local, state_of
from app.sync.identity import parked_changes
from app.sync.merge import Merger
from tests.sync.conftest import add_company, add_course_with_session, dump, edit


def _parked(db):
    with db.read() as s:
        return parked_changes(s)


def _hidden_participant(db, pid):
    """A participant written past change capture (raw SQL): its partners never hear of it."""
    with db.write() as s:
        s.execute(text(
            "INSERT INTO participants (id, first_name, last_name, personal_number, gender, email, phone, created_at, updated_at)"
            " VALUES (:id, 'Kim', 'Berg', '199001011239', '', '', '', '2026-03-01 08:00:00', '2026-03-01 08:00:00')"), {"id": pid})


def test_a_change_whose_record_is_missing_is_parked_and_applied_once_it_arrives(lab):
    a, b, _c = lab.laptops
    course, _ses = add_course_with_session(a)
    sync(a, lab.share)
    sync(b, lab.share)
    pid = "b0000000-0000-4000-8000-000000000001"
    _hidden_participant(a, pid)
    with a.write() as s:
        s.add(Enrollment(id="e0000000-0000-4000-8000-000000000001", course_id=course, participant_id=pid))
    cid = add_company(a, name="Efter AB", org="5560000001")  # later in the same batch
    sync(a, lab.share)
    report = sync(b, lab.share)
    assert report.all_in, report.problems()
    parked = _parked(b)
    assert [(p.table, p.record_id, p.reason) for p in parked] == [("enrollments", "e0000000-0000-4000-8000-000000000001", "missing-reference")]
    assert parked[0].device == state_of(a).device and parked[0].batch_seq == 2
    assert parked[0].reason_text and pid in parked[0].detail and "participant_id" in parked[0].detail
    assert [r["id"] for r in dump(b)["companies"]] == [cid]
    # a later change of the parked record waits behind it; a later batch goes on
    edit(a, Enrollment, "e0000000-0000-4000-8000-000000000001", status="completed")
    edit(a, Company, cid, industry="Verkstad")
    sync(a, lab.share)
    assert sync(b, lab.share).all_in
    assert [p.reason for p in _parked(b)] == ["missing-reference", "waiting"]
    assert dump(b)["companies"][0]["industry"] == "Verkstad" and dump(b)["enrollments"] == []
    # the participant arrives: the parked changes apply, in their order
    with a.write() as s:
        person = s.get(Participant, pid)
        record_local(s.connection(), state_of(a), "participants", [(pid, {k: getattr(person, k) for k in FIELDS["participants"]}, True)])
    sync(a, lab.share)
    assert sync(b, lab.share).all_in
    assert _parked(b) == []
    assert dump(b) == dump(a)
    assert dump(b)["enrollments"][0]["status"] == "completed"


def test_invalid_values_are_parked_and_the_rest_applies(lab):
    a, b, _c = lab.laptops
    sync(a, lab.share)
    with a.write() as s:
        s.add(Participant(id="d0000000-0000-4000-8000-000000000001", first_name="x" * 2_000_000, last_name="Lång",
                          personal_number="199001011239"))
        s.add(Participant(id="d0000000-0000-4000-8000-000000000002", first_name="Å\x00sa", last_name="Nul",
                          personal_number="198507142386"))
        s.add(Participant(id="d0000000-0000-4000-8000-000000000003", first_name="Eva", last_name="Bra",
                          personal_number="197203051234"))
    sync(a, lab.share)
    report = sync(b, lab.share)
    assert report.all_in, report.problems()
    parked = _parked(b)
    assert [(p.record_id, p.reason, p.detail) for p in parked] == [
        ("d0000000-0000-4000-8000-000000000001", "invalid", "first_name"),
        ("d0000000-0000-4000-8000-000000000002", "invalid", "first_name"),
    ]
    assert [r["id"] for r in dump(b)["participants"]] == ["d0000000-0000-4000-8000-000000000003"]
    # no value in what the Sync page shows
    assert all("x" * 20 not in (p.detail + p.reason_text) and "Å" not in p.detail for p in parked)
    # parked changes are retried after every batch, and stay while they are still invalid
    edit(a, Participant, "d0000000-0000-4000-8000-000000000003", phone="1")
    sync(a, lab.share)
    assert sync(b, lab.share).all_in and len(_parked(b)) == 2
    with b.read() as s:
        assert all(r.retried_at is not None for r in s.scalars(select(SyncParked)))


def _change(table, rid, h, **fields):
    return {"t": table, "id": rid, "op": "upsert", "h": h, "f": {"id": rid, **fields}, "b": {}}


def test_a_change_the_database_refuses_is_parked_one_by_one_and_the_others_apply(db):
    """The safety net: a rule only the database knows (a CHECK) fails the bulk write of a table;
    that table's changes go one at a time and only the refused one is parked."""
    course, ses = add_course_with_session(db)
    with db.write() as s:
        p = Participant(first_name="Eva", last_name="Bra", personal_number="197203051234")
        s.add(p)
        s.flush()
        pid = p.id
    h = "0000001800000000000-0000-x"
    changes = [
        _change("sessions", "50000000-0000-4000-8000-000000000001", h, course_id=course, date="2026-03-03",
                start_time="12:00", end_time="08:00", location="", teacher="", cancelled=False,
                created_at="2026-03-01T08:00:00", deleted_at=None),
        _change("sessions", "50000000-0000-4000-8000-000000000002", h, course_id=course, date="2026-03-04",
                start_time="08:00", end_time="12:00", location="", teacher="", cancelled=False,
                created_at="2026-03-01T08:00:00", deleted_at=None),
        _change("attendance", "a0000000-0000-4000-8000-000000000001", h, session_id=ses, participant_id=pid,
                status="bogus", minutes=None, note="", created_at="2026-03-01T08:00:00", deleted_at=None),
    ]
    with db.write() as s:
        s.info[APPLYING] = True
        merger = Merger(s, state_of(db))
        merger.apply(changes, device="dev-x", seq=7)
    with db.read() as s:
        parked = parked_changes(s)
        assert [(p.table, p.record_id, p.reason, p.device, p.batch_seq) for p in parked] == [
            ("sessions", "50000000-0000-4000-8000-000000000001", "check", "dev-x", 7),
            ("attendance", "a0000000-0000-4000-8000-000000000001", "check", "dev-x", 7),
        ]
        from app.models import CourseSession

        assert s.get(CourseSession, "50000000-0000-4000-8000-000000000002") is not None
        assert s.get(CourseSession, "50000000-0000-4000-8000-000000000001") is None
