"""Three laptops, one shared folder: capture, publish, import, merge rules."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import insert, select, update

from app.models import Attendance, Certificate, Company, Course, Participant, SyncChange, SyncConflict, attendance_id, utcnow
from app.sync import sync
from app.sync.capture import state_of
from app.sync.clock import HLC
from app.sync.status import list_conflicts, partner_states, use_other_value
from tests.sync.conftest import add_company, add_course_with_session, add_participant, dump, edit


def sync_all(lab, rounds=2, **kw):
    reports = []
    for _ in range(rounds):
        for db in lab.laptops:
            reports.append(sync(db, lab.share, **kw))
    return reports


def test_hlc_is_monotonic_when_the_wall_clock_jumps_back():
    wall = [1_000_000]
    clock = HLC("dev-a", wall=lambda: wall[0])
    first = clock.now()
    wall[0] -= 3_600_000
    second = clock.now()
    assert second > first
    clock.observe(HLC("dev-b", wall=lambda: 5_000_000).now())
    assert clock.now() > "0000000005000000"
    assert HLC("dev-a", clock.last, wall=lambda: 0).now() > clock.last


def test_capture_logs_unit_of_work_and_bulk_statements(db):
    cid = add_company(db)
    edit(db, Company, cid, industry="Verkstad")
    with db.write() as s:
        s.execute(insert(Course), [{"code": "A1", "title": "A"}, {"code": "A2", "title": "B"}])
        s.execute(update(Course).where(Course.code == "A1").values(location="Kalmar"))
        a2 = s.scalar(select(Course.id).where(Course.code == "A2"))
        s.execute(update(Course), [{"id": a2, "teacher": "Eva"}])
    with db.read() as s:
        rows = s.scalars(select(SyncChange).order_by(SyncChange.seq)).all()
    got = [(r.table_name, r.op, sorted(json.loads(r.fields))) for r in rows]
    assert got[0][0] == "companies" and "name" in got[0][2]
    assert got[1] == ("companies", "upsert", ["industry"])
    assert [g[0] for g in got[2:4]] == ["courses", "courses"] and "id" in got[2][2]
    assert got[4] == ("courses", "upsert", ["location"])
    assert got[5] == ("courses", "upsert", ["teacher"])
    assert all(r.device_id == state_of(db).device for r in rows)
    assert len({r.hlc for r in rows}) == 5  # one stamp per flush or statement


def test_three_laptops_converge_and_the_share_holds_no_personal_data(lab):
    a, b, c = lab.laptops
    sync(a, lab.share, key_file=lab.key)
    cid = add_company(a)
    pid = add_participant(a, company_id=cid)
    add_participant(b, first="Örjan", last="Ståhl", pnr="197203051234", email="orjan@example.se")
    add_course_with_session(c)
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    assert dump(a)["participants"][0]["id"] in (pid, dump(a)["participants"][0]["id"])
    # second round changes nothing
    before = dump(a)
    reports = sync_all(lab, rounds=1)
    assert all(r.published == [] for r in reports) and dump(a) == before
    states = partner_states(a)
    assert len(states) == 2 and all(p.seq >= 1 for p in states)
    scan_share_for_personal_data(lab.share, ["Åsa", "Lindqvist", "Örjan", "Ståhl", "198507142386", "8507142386", "asa.lindqvist", "example.se", "Verkstad"])


def scan_share_for_personal_data(share, words):
    import re

    pnr = re.compile(rb"\d{6,8}[-+]?\d{4}")
    email = re.compile(rb"[\w.+-]+@[\w-]+\.[\w.]+")
    for path in share.rglob("*"):
        name = path.relative_to(share).as_posix()
        for w in words:
            assert w.lower() not in name.lower()
        assert not email.search(name.encode())
        if path.is_file():
            data = path.read_bytes()
            for w in words:
                assert w.encode("utf-8") not in data, (name, w)
            if path.suffix == ".batch":  # the plain header: uuids, hashes and numbers only
                header = data.split(b"\n")[1]
                assert not email.search(header)
                stripped = re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"", header)
                stripped = re.sub(rb"\"(prev|body|key_id|hlc_max|replaces_chain|chain)\":\"[^\"]*\"", b"", stripped)
                assert not pnr.search(stripped), header


def test_same_field_edited_on_two_laptops_keeps_the_loser_as_a_conflict(lab):
    a, b, c = lab.laptops
    pid = add_participant(a)
    sync_all(lab)
    edit(a, Participant, pid, email="a@example.se")
    edit(b, Participant, pid, email="b@example.se", phone="070-1")  # phone: a different field, merges silently
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    row = dump(a)["participants"][0]
    assert row["phone"] == "070-1" and row["email"] == "b@example.se"  # b wrote later
    for db in (a, b):
        conflicts = list_conflicts(db)
        assert [(x.field, x.kept_value, x.other_value) for x in conflicts] == [("email", "b@example.se", "a@example.se")]
    # choosing the other value is a normal change that syncs
    use_other_value(a, list_conflicts(a)[0].id)
    sync_all(lab)
    assert {dump(d)["participants"][0]["email"] for d in lab.laptops} == {"a@example.se"}
    assert list_conflicts(a) == []


def test_an_edit_beats_a_concurrent_deletion_and_a_plain_deletion_travels(lab):
    a, b, c = lab.laptops
    keep = add_participant(a, first="Kim")
    gone = add_participant(a, first="Lo", pnr="199001011239")
    sync_all(lab)
    edit(a, Participant, keep, deleted_at=utcnow())
    edit(a, Participant, gone, deleted_at=utcnow())
    edit(b, Participant, keep, phone="0480-123")  # b has not seen the deletion
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    rows = {r["id"]: r for r in dump(c)["participants"]}
    assert rows[keep]["deleted_at"] is None and rows[keep]["phone"] == "0480-123"
    assert rows[gone]["deleted_at"] is not None
    assert any(x.kind == "deletion" for x in list_conflicts(a))


def test_two_laptops_creating_the_same_course_code_keep_both_records(lab):
    a, b, c = lab.laptops
    add_course_with_session(a, code="CNC-1")
    add_course_with_session(b, code="CNC-1")
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    codes = sorted(r["code"] for r in dump(a)["courses"])
    assert codes[0] == "CNC-1" and codes[1].startswith("CNC-1~") and len(codes) == 2
    assert any(x.kind == "unique" for x in list_conflicts(a)) or any(x.kind == "unique" for x in list_conflicts(b))


def test_concurrent_attendance_marks_merge_field_by_field(lab):
    a, b, c = lab.laptops
    _course, ses = add_course_with_session(a)
    pid = add_participant(a)
    sync_all(lab)
    mark = attendance_id(ses, pid)
    with a.write() as s:
        s.add(Attendance(id=mark, session_id=ses, participant_id=pid, status="present"))
    with b.write() as s:
        s.add(Attendance(id=mark, session_id=ses, participant_id=pid, status="late", minutes=30, note="buss"))
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    rows = dump(a)["attendance"]
    assert len(rows) == 1 and rows[0]["status"] == "late"
    assert any(x.field == "status" for x in list_conflicts(a) + list_conflicts(b))


def test_certificates_are_never_deleted_through_sync(lab):
    a, b, c = lab.laptops
    course, _ses = add_course_with_session(a)
    pid = add_participant(a)
    with a.write() as s:
        s.add(Certificate(id="c0000000-0000-4000-8000-000000000001", number="7F3A-1", verification_code="X1",
                          course_id=course, participant_id=pid, issued_on=date(2026, 3, 2)))
    sync_all(lab)
    edit(a, Certificate, "c0000000-0000-4000-8000-000000000001", deleted_at=utcnow())
    edit(b, Certificate, "c0000000-0000-4000-8000-000000000001", revoked_on=date(2026, 4, 1), revoke_reason="fel")
    sync_all(lab)
    for db in (b, c):
        with db.read() as s:
            cert = s.get(Certificate, "c0000000-0000-4000-8000-000000000001")
            assert cert.deleted_at is None
    assert dump(a)["certificates"][0]["revoked_on"] == "2026-04-01"


def test_mass_deletion_waits_for_confirmation(lab):
    a, b, c = lab.laptops
    ids = [add_company(a, name=f"F{i}", org="") for i in range(20)]
    sync_all(lab)
    with a.write() as s:
        s.execute(update(Company).where(Company.id.in_(ids[:12])).values(deleted_at=utcnow()))
    sync(a, lab.share)
    report = sync(b, lab.share)
    assert report.waiting_confirmation and "companies 12" in report.waiting_confirmation[0]
    assert sum(r["deleted_at"] is None for r in dump(b)["companies"]) == 20
    report = sync(b, lab.share, confirm_mass_delete=True)
    assert report.all_in and sum(r["deleted_at"] is None for r in dump(b)["companies"]) == 8


def test_applying_the_same_batch_twice_changes_nothing(lab):
    from app.sync import folder as share
    from app.sync.crypto import remembered_key
    from app.sync.engine import _apply

    a, b, _c = lab.laptops
    add_participant(a)
    sync(a, lab.share)
    sync(b, lab.share)
    before = dump(b)
    dev = state_of(a).device
    batch = share.decode_batch((lab.share / "devices" / dev / "00000001.batch").read_bytes(), remembered_key(), device=dev, seq=1)
    _apply(b, state_of(b), dev, 1, batch, batch.chain)
    assert dump(b) == before
    with b.read() as s:
        assert s.scalars(select(SyncConflict)).all() == []
