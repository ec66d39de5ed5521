"""One identity, one live record (issue 10, cases 4 and 6): two live records with one identity
from different laptops become the same survivor on every laptop (the smaller id), with references
moved, the loser tombstoned and later changes to the loser applied to the survivor."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select

from app.models import (
    Attendance,
    Company,
    Course,
    CourseSession,
    Enrollment,
    Participant,
    SyncAlias,
    SyncConflict,
    SyncParked,
    attendance_id,
    utcnow,
)
from app.sync import sync
from app.sync.capture import state_of
from app.sync.engine import _key, publish
from tests.sync.conftest import add_course_with_session, add_participant, dump, edit


def sync_all(lab, rounds=2, **kw):
    reports = []
    for _ in range(rounds):
        for db in lab.laptops:
            reports.append(sync(db, lab.share, **kw))
    return reports


def live(rows):
    return [r for r in rows if r["deleted_at"] is None]


def conflicts(db, kind):
    with db.read() as s:
        return s.scalars(select(SyncConflict).where(SyncConflict.kind == kind)).all()


def parked(db):
    with db.read() as s:
        return s.scalars(select(SyncParked)).all()


def test_one_enrollment_made_with_two_ids_becomes_one_and_the_stream_goes_on(lab):
    a, b, c = lab.laptops
    course, _ses = add_course_with_session(a)
    with a.write() as s:
        p = Participant(first_name="Åsa", last_name="Lind", personal_number="198507142386")
        s.add(p)
        s.flush()
        pid = p.id
    sync_all(lab)
    # both laptops enrol her offline, with different enrollment ids and statuses
    with a.write() as s:
        s.add(Enrollment(id="e2000000-0000-4000-8000-000000000000", course_id=course, participant_id=pid, status="enrolled"))
    with b.write() as s:
        s.add(Enrollment(id="e1000000-0000-4000-8000-000000000000", course_id=course, participant_id=pid, status="waitlisted"))
    reports = sync_all(lab)
    assert all(r.all_in for r in reports), [r.problems() for r in reports]
    assert dump(a) == dump(b) == dump(c)
    rows = dump(a)["enrollments"]
    assert [r["id"] for r in live(rows)] == ["e1000000-0000-4000-8000-000000000000"]
    assert len(rows) == 2  # the loser stays as a tombstone
    assert live(rows)[0]["status"] == "waitlisted"  # b wrote later: per field, the newest stamp wins
    for db in lab.laptops:
        found = conflicts(db, "duplicate")
        assert [(x.record_id, x.field, x.kept_value, x.other_value) for x in found] == [
            ("e1000000-0000-4000-8000-000000000000", "status", '"waitlisted"', '"enrolled"')]
        assert parked(db) == []
    # a later change of the same laptop arrives (the stream did not stop)
    edit(a, Participant, pid, phone="0480-1")
    edit(a, Enrollment, "e1000000-0000-4000-8000-000000000000", certificate_language="en")
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    assert dump(c)["participants"][0]["phone"] == "0480-1"
    assert live(dump(c)["enrollments"])[0]["certificate_language"] == "en"


def test_demo_on_one_laptop_and_its_bundle_on_another_then_sync(lab, tmp_path):
    """The README's own way to move records: `kursdesk demo` on A, A's bundle imported on B."""
    from app.demo import fill_demo
    from app.interchange.bundle import export_bundle, import_bundle

    a, b, c = lab.laptops
    fill_demo(a, today=date(2026, 3, 2))
    export_bundle(a, tmp_path / "a.json")
    import_bundle(b, tmp_path / "a.json")
    reports = sync_all(lab)
    assert all(r.all_in for r in reports), [r.problems() for r in reports]
    assert dump(a) == dump(b) == dump(c)
    for db in lab.laptops:
        assert parked(db) == []
    for table, key in (("need_courses", ("need_id", "course_id")), ("enrollments", ("course_id", "participant_id")),
                       ("attendance", ("session_id", "participant_id"))):
        keys = [tuple(r[k] for k in key) for r in live(dump(a)[table])]
        assert len(keys) == len(set(keys)), table
    # and the streams go on
    with a.read() as s:
        pid = s.scalars(select(Participant.id).order_by(Participant.id)).first()
    edit(b, Participant, pid, phone="0480-2")
    sync_all(lab)
    assert {dump(db)["participants"][0]["phone"] for db in lab.laptops} == {"0480-2"}


A_COMPANY, B_COMPANY = "c1000000-0000-4000-8000-000000000000", "c2000000-0000-4000-8000-000000000000"
A_PERSON, B_PERSON = "a1000000-0000-4000-8000-000000000000", "a2000000-0000-4000-8000-000000000000"


def _person_with_marks(db, company_id, person_id, course, ses, **values):
    with db.write() as s:
        s.add(Company(id=company_id, name=values.pop("company_name"), org_number="5560360793"))
        s.flush()
        s.add(Participant(id=person_id, first_name="Åsa", last_name="Lind", personal_number="198507142386",
                          company_id=company_id, **values))
        s.flush()
        s.add(Enrollment(course_id=course, participant_id=person_id))  # a random id: made on each laptop
        s.add(Attendance(id=attendance_id(ses, person_id), session_id=ses, participant_id=person_id, status="present"))


def test_one_person_and_one_company_made_on_two_laptops_become_one(lab):
    a, b, c = lab.laptops
    course, ses = add_course_with_session(c)
    with c.write() as s:
        other = Course(code="CNC-2", title="CNC")
        s.add(other)
        s.flush()
        other_id = other.id
        ses2 = CourseSession(course_id=other_id, date=date(2026, 3, 9), start_time=time(8), end_time=time(12))
        s.add(ses2)
        s.flush()
        ses2_id = ses2.id
    sync_all(lab)
    # offline: the same company list on two laptops
    _person_with_marks(a, A_COMPANY, A_PERSON, course, ses, company_name="Verkstad AB", email="asa@a.se")
    _person_with_marks(b, B_COMPANY, B_PERSON, course, ses, company_name="Verkstaden AB", phone="070-1")
    sync(a, lab.share)  # A publishes
    publish(b, lab.share, _key(None))  # B publishes without importing yet
    sync(c, lab.share)  # C has both: merges
    # B, still not knowing A's records, edits its own person and enrols her in another course
    edit(b, Participant, B_PERSON, email="asa@b.se")
    with b.write() as s:
        s.add(Enrollment(course_id=other_id, participant_id=B_PERSON))
        s.add(Attendance(id=attendance_id(ses2_id, B_PERSON), session_id=ses2_id, participant_id=B_PERSON, status="late", minutes=90))
    reports = sync_all(lab)
    assert all(r.all_in for r in reports), [r.problems() for r in reports]
    assert dump(a) == dump(b) == dump(c)
    d = dump(a)
    assert [r["id"] for r in live(d["participants"])] == [A_PERSON]
    assert [r["id"] for r in live(d["companies"])] == [A_COMPANY]
    person = live(d["participants"])[0]
    assert person["company_id"] == A_COMPANY and person["email"] == "asa@b.se" and person["phone"] == "070-1"
    assert live(d["companies"])[0]["name"] == "Verkstaden AB"  # B wrote later
    assert {r["participant_id"] for r in live(d["enrollments"])} == {A_PERSON}
    assert sorted(r["course_id"] for r in live(d["enrollments"])) == sorted([course, other_id])
    marks = live(d["attendance"])
    assert {r["participant_id"] for r in marks} == {A_PERSON} and len(marks) == 2
    # every reference moved, also on the tombstones
    assert all(r["participant_id"] == A_PERSON for r in d["attendance"] + d["enrollments"])
    loser = next(r for r in d["participants"] if r["id"] == B_PERSON)
    assert loser["deleted_at"] and loser["first_name"] == loser["email"] == "" and loser["company_id"] is None
    assert loser["personal_number"] == "198507142386"  # its identity stays; its values are the survivor's or conflicts
    for db in lab.laptops:
        with db.read() as s:
            aliases = {(x.table_name, x.loser_id, x.survivor_id) for x in s.scalars(select(SyncAlias))}
        assert ("participants", B_PERSON, A_PERSON) in aliases and ("companies", B_COMPANY, A_COMPANY) in aliases
        assert parked(db) == []
    assert any(x.field == "name" for x in conflicts(c, "duplicate"))
    # a later edit to the loser's id, made where the merge is not known yet, reaches the survivor everywhere
    lab.laptops.append(_late_laptop(lab, B_PERSON))
    sync_all(lab)
    assert {live(dump(db)["participants"])[0]["phone"] for db in lab.laptops} == {"0480-99"}
    assert dump(lab.laptops[0]) == dump(lab.laptops[1]) == dump(lab.laptops[2])


def _late_laptop(lab, loser):
    """A fourth laptop restored from B's state before the merge: it edits the loser's id."""
    from tests.sync.conftest import fresh_db

    d = fresh_db(lab.root / "late.db")
    # it learns the loser from the share (the oldest batches) only: B's first batch, nothing after
    from app.sync import folder as share
    from app.sync.crypto import remembered_key
    from app.sync.merge import Merger

    b_dev = state_of(lab.laptops[1]).device
    batch = share.decode_batch((lab.share / "devices" / b_dev / "00000001.batch").read_bytes(), remembered_key(),
                               device=b_dev, seq=1)
    with d.write() as s:
        from app.sync.capture import APPLYING

        s.info[APPLYING] = True
        Merger(s, state_of(d)).apply([ch for ch in batch.changes if ch["t"] in ("companies", "participants")])
    edit(d, Participant, loser, phone="0480-99")
    return d


def test_identity_ignores_empty_and_protected_numbers(lab):
    a, b, c = lab.laptops
    for db in (a, b):
        with db.write() as s:
            s.add(Participant(first_name="X", last_name="Y", personal_number="19800101TF29"))
            s.add(Participant(first_name="Z", last_name="W", personal_number=""))
            s.add(Company(name="Utan nummer", org_number=""))
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    assert len(live(dump(a)["participants"])) == 4 and len(live(dump(a)["companies"])) == 2


def test_migration_0003_merges_duplicates_already_there_and_then_refuses_new_ones(tmp_path):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app import db as dbmod
    from app.db import Database, current_revision

    db = Database(tmp_path / "old.db", migrate=False)
    dbmod.upgrade(db, "0002")
    with db.write() as s:
        s.add_all([Company(id=A_COMPANY, name="Verkstad AB", org_number="5560360793"),
                   Company(id=B_COMPANY, name="Verkstaden AB", org_number="5560360793"),
                   Company(name="Utan", org_number=""), Company(name="Utan heller", org_number="")])
        s.flush()
        s.add_all([Participant(id=B_PERSON, first_name="Åsa", last_name="Lind", personal_number="198507142386", company_id=B_COMPANY, phone="070-1"),
                   Participant(id=A_PERSON, first_name="Åsa", last_name="Lind", personal_number="198507142386", company_id=A_COMPANY),
                   Participant(first_name="X", last_name="Y", personal_number="19800101TF29"),
                   Participant(first_name="Z", last_name="W", personal_number="19800101TF29")])
        # the courses table as it was at 0002 (later migrations add columns the model has)
        import sqlalchemy as sa

        course_id = "00000000-0000-4000-8000-00000000c0de"
        s.execute(sa.table("courses", *(sa.column(c) for c in (
            "id", "code", "title", "description", "learning_outcomes", "location", "teacher", "min_attendance_percent",
            "certificate_language", "created_at", "updated_at"))).insert().values(
            id=course_id, code="SVE-1", title="Svets", description="", learning_outcomes="", location="", teacher="",
            min_attendance_percent=80, certificate_language="sv", created_at=datetime(2026, 1, 1), updated_at=datetime(2026, 1, 1)))
        ses = CourseSession(course_id=course_id, date=date(2026, 3, 2), start_time=time(8), end_time=time(12))
        s.add(ses)
        s.flush()
        for pid in (A_PERSON, B_PERSON):
            s.add(Enrollment(course_id=course_id, participant_id=pid))
            s.add(Attendance(id=attendance_id(ses.id, pid), session_id=ses.id, participant_id=pid, status="present"))
    dbmod.upgrade(db)
    assert current_revision(db) == dbmod.head_revision()
    d = dump(db)
    assert [r["id"] for r in live(d["participants"]) if r["personal_number"] == "198507142386"] == [A_PERSON]
    assert len([r for r in live(d["participants"]) if r["personal_number"] == "19800101TF29"]) == 2
    assert [r["id"] for r in live(d["companies"]) if r["org_number"]] == [A_COMPANY]
    assert len(live(d["companies"])) == 3
    survivor = next(r for r in d["participants"] if r["id"] == A_PERSON)
    assert survivor["company_id"] == A_COMPANY
    assert len(live(d["enrollments"])) == 1 and len(live(d["attendance"])) == 1
    assert all(r["participant_id"] == A_PERSON for r in d["enrollments"] + d["attendance"])
    with db.read() as s:
        assert {(x.table_name, x.loser_id) for x in s.scalars(select(SyncAlias))} >= {
            ("participants", B_PERSON), ("companies", B_COMPANY)}
    assert any(x.record_id == A_PERSON and x.field == "phone" for x in conflicts(db, "duplicate"))
    # from now on the database itself keeps one live record per identity
    with pytest.raises(IntegrityError):
        with db.write() as s:
            s.add(Participant(first_name="Ny", last_name="Dubblett", personal_number="198507142386"))
    with pytest.raises(IntegrityError):
        with db.write() as s:
            s.add(Company(name="Ny", org_number="5560360793"))
    with db.write() as s:  # a protected number and an empty one identify no one
        s.add(Participant(first_name="P", last_name="Q", personal_number="19800101TF29"))
        s.add(Company(name="Utan tre", org_number=""))
    db.dispose()


def test_a_deletion_that_crosses_the_duplicate_gives_the_same_result_everywhere(lab):
    """A deletes its person before it hears of B's; C hears of both first, then of the deletion.
    Whether a record was still live when the other arrived depends on the order, so deleted
    records merge too, the deletion merged like any field."""
    a, b, c = lab.laptops
    for db, pid, first in ((a, A_PERSON, "Åsa"), (b, B_PERSON, "Åsa B")):
        with db.write() as s:
            s.add(Participant(id=pid, first_name=first, last_name="Lind", personal_number="198507142386"))
    sync(a, lab.share)
    publish(b, lab.share, _key(None))
    sync(c, lab.share)  # both live here: merged
    edit(a, Participant, A_PERSON, deleted_at=utcnow())  # A has not seen B's record yet
    reports = sync_all(lab, rounds=3)
    assert all(r.all_in for r in reports), [r.problems() for r in reports]
    assert dump(a) == dump(b) == dump(c)
    assert len(live(dump(a)["participants"])) <= 1
    with a.read() as s:
        assert ("participants", B_PERSON, A_PERSON) in {(x.table_name, x.loser_id, x.survivor_id) for x in s.scalars(select(SyncAlias))}


# --- the laptop's own changes are settled as its partners settle them -------------------------------

def test_a_person_registered_again_after_a_deletion_is_one_person_everywhere(lab):
    from app.models import utcnow

    a, b, _c = lab.laptops
    old = add_participant(a, first="Åsa", pnr="198507142386")
    sync(a, lab.share)
    sync(b, lab.share)
    edit(a, Participant, old, deleted_at=utcnow())
    new = add_participant(a, first="Åsa-Maria", pnr="198507142386")  # the same person, registered again
    for _ in range(3):
        for db in lab.laptops:
            sync(db, lab.share)
    assert dump(a) == dump(b)
    survivor = min(old, new)
    rows = {p["id"]: p for p in dump(a)["participants"]}
    assert rows[survivor]["first_name"] == "Åsa-Maria" and rows[survivor]["deleted_at"] is None


def test_an_edit_of_a_merged_away_record_reaches_the_survivor_on_its_own_laptop_too(lab):
    a, b, _c = lab.laptops
    pa = add_participant(a, first="Same-A", pnr="198507142386")
    pb = add_participant(b, first="Same-B", pnr="198507142386")
    for _ in range(2):
        for db in lab.laptops:
            sync(db, lab.share)
    loser, survivor = max(pa, pb), min(pa, pb)
    owner = a if loser == pa else b
    edit(owner, Participant, loser, phone="070-stale-window")  # a window opened before the merge
    for _ in range(3):
        for db in lab.laptops:
            sync(db, lab.share)
    assert dump(a) == dump(b)
    rows = {p["id"]: p for p in dump(a)["participants"]}
    assert rows[survivor]["phone"] == "070-stale-window"
