"""Snapshots and the shared folder that forgets (issue 14): a new laptop starts from a snapshot,
batches every laptop has acknowledged past a snapshot are removed by their writers, a laptop away
too long starts again from a snapshot keeping its own changes, an erasure leaves nothing on the share."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import Participant, Setting, SyncChange, utcnow
from app.sync import folder as share
from app.sync import snapshot, sync
from app.sync.capture import LOCAL_ONLY_FIELDS, state_of
from app.sync.crypto import read_key_file
from tests.sync.conftest import add_company, add_participant, dump, edit, fresh_db
from tests.sync.test_basics import sync_all


def batches(lab, db) -> list[int]:
    return sorted(share.list_folder(lab.share).batches.get(state_of(db).device, {}))


def snapshots(lab) -> dict[str, list[int]]:
    return {d: sorted(f) for d, f in share.list_folder(lab.share).snapshots.items() if f}


def phone(db, pid) -> str:
    return next(p["phone"] for p in dump(db)["participants"] if p["id"] == pid)


def request(db) -> None:
    with db.write() as s:
        snapshot.request_snapshot(s)


def test_batches_are_removed_once_every_laptop_has_acknowledged_a_snapshot(lab):
    a, b, c = lab.laptops
    pid = add_participant(a)
    add_participant(b, first="Maj", pnr="194402021234", email="maj@example.se")
    sync_all(lab)
    edit(a, Participant, pid, phone="070-1")
    request(a)
    sync(a, lab.share)  # publishes batch 2 and a snapshot covering it
    assert batches(lab, a) == [1, 2] and batches(lab, b) == [1]
    assert snapshots(lab) == {state_of(a).device: [1]}
    sync(b, lab.share)
    sync(a, lab.share)
    assert batches(lab, a) == [1, 2]  # c has not applied batch 2 yet: nothing is removed
    sync(c, lab.share)
    sync(a, lab.share)
    sync(b, lab.share)
    assert batches(lab, a) == [] and batches(lab, b) == []  # both covered, all acknowledged
    assert snapshots(lab) == {state_of(a).device: [1]}
    assert dump(a) == dump(b) == dump(c)
    edit(b, Participant, pid, phone="070-2")  # the history goes on after the snapshot
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c) and phone(c, pid) == "070-2"


def audit_events(db, event: str) -> list:
    from app.models import SyncAudit

    with db.read() as s:
        return list(s.scalars(select(SyncAudit).where(SyncAudit.event == event)))


def compacted_lab(lab):
    """Records on a and b, a snapshot by a, acknowledged by all, history removed."""
    a, b, c = lab.laptops
    cid = add_company(a)
    pid = add_participant(a, company_id=cid)
    add_participant(b, first="Maj", pnr="194402021234", email="maj@example.se")
    sync_all(lab)
    request(a)
    sync_all(lab)
    sync(a, lab.share)
    sync(b, lab.share)
    assert batches(lab, a) == [] and batches(lab, b) == []
    return pid


def test_a_new_laptop_starts_from_the_snapshot_and_the_batches_after_it(lab):
    a, b, c = lab.laptops
    pid = compacted_lab(lab)
    edit(b, Participant, pid, phone="070-9")  # after the snapshot: a batch of b
    sync(b, lab.share)
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    assert report.all_in and any("from snapshot 1 of laptop" in w for w in report.warnings)
    assert dump(d) == dump(b) and phone(d, pid) == "070-9"
    assert len(audit_events(d, "snapshot-loaded")) == 1 and len(audit_events(d, "applied")) == 1
    add_participant(d, first="Ny", pnr="199001011239", email="ny@example.se")
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c) == dump(d) and len(dump(a)["participants"]) == 3


def test_a_new_laptop_starts_from_a_snapshot_also_when_the_batches_are_still_there(lab):
    a, b, c = lab.laptops
    sync(b, lab.share)  # b is known (its acknowledgement), and has applied nothing
    add_participant(a)
    request(a)
    sync(a, lab.share)
    assert batches(lab, a) == [1] and snapshots(lab)  # b has not acknowledged it: every batch stays
    sync(b, lab.share)
    assert len(audit_events(b, "snapshot-loaded")) == 1 and not audit_events(b, "applied")
    assert dump(b) == dump(a)


def test_a_laptop_away_longer_than_the_history_starts_again_keeping_its_own_changes(lab, monkeypatch):
    a, b, c = lab.laptops
    cid = add_company(a)
    pid = add_participant(a, company_id=cid)
    sync_all(lab)
    # c goes away with changes it has not published: a new person and an edit
    new = add_participant(c, first="Tove", pnr="199203041238", email="tove@example.se", company_id=cid)
    edit(c, Participant, pid, email="c@example.se")
    later = utcnow() + timedelta(days=100)
    monkeypatch.setattr(snapshot, "now", lambda: later)
    edit(a, Participant, pid, phone="070-1")
    sync(a, lab.share)
    sync(b, lab.share)
    sync(a, lab.share)  # has seen b's acknowledgement of today, not c's
    assert [p.device for p in snapshot.inactive_partners(a)] == [state_of(c).device]
    request(a)
    for _ in range(2):
        sync(a, lab.share)
        sync(b, lab.share)
    assert batches(lab, a) == []  # c no longer holds the history back
    report = sync(c, lab.share)
    assert any("started again from snapshot" in w for w in report.warnings), report.lines()
    assert report.published  # its own changes
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    rows = {p["id"]: p for p in dump(a)["participants"]}
    assert rows[new]["first_name"] == "Tove" and rows[pid]["email"] == "c@example.se" and rows[pid]["phone"] == "070-1"
    assert snapshot.inactive_partners(a) == []  # it synced again


def test_the_snapshots_of_a_laptop_that_stopped_syncing_are_removed_once_a_newer_one_covers_them(lab, monkeypatch):
    a, b, c = lab.laptops
    pid = add_participant(c)
    sync_all(lab)
    request(c)
    sync(c, lab.share)  # c's snapshot holds the person; then c stops syncing
    assert snapshots(lab) == {state_of(c).device: [1]}
    edit(a, Participant, pid, phone="070-1")
    request(a)
    for _ in range(3):
        sync(a, lab.share)
        sync(b, lab.share)
    assert state_of(c).device in snapshots(lab)  # c is away, but not long enough to be passed over
    monkeypatch.setattr(snapshot, "now", lambda: utcnow() + timedelta(days=91))
    edit(a, Participant, pid, phone="070-2")
    request(a)
    for _ in range(3):
        sync(a, lab.share)
        sync(b, lab.share)
    assert [p.device for p in snapshot.inactive_partners(a)] == [state_of(c).device]
    assert snapshots(lab) == {state_of(a).device: [snapshots_numbers(lab, a)[-1]]}  # the newest usable one stays
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    sync(d, lab.share)
    assert phone(d, pid) == "070-2" and dump(d) == dump(a)


def snapshots_numbers(lab, db) -> list[int]:
    return snapshots(lab).get(state_of(db).device, [])


def test_a_request_for_a_removed_batch_is_answered_by_a_snapshot_not_by_a_heal(lab, monkeypatch):
    a, b, c = lab.laptops
    pid = add_participant(a)
    sync_all(lab)
    edit(a, Participant, pid, phone="070-1")
    monkeypatch.setattr(snapshot, "now", lambda: utcnow() + timedelta(days=100))
    sync(a, lab.share)
    request(a)
    sync(a, lab.share)
    sync(b, lab.share)
    sync(a, lab.share)  # c is inactive: a removes batches 1 and 2
    assert batches(lab, a) == []
    ((n, snap),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    data = bytearray(snap.read_bytes())
    data[-30] ^= 1  # the only snapshot is damaged: c cannot start from it, and asks for batch 2
    snap.write_bytes(bytes(data))
    report = sync(c, lab.share)
    assert any("damaged" in w for w in report.warnings) and not report.all_in
    sync(a, lab.share)  # answers with a new snapshot, not with a heal batch
    from app.models import SyncOutBatch

    with a.read() as s:
        assert s.scalar(select(SyncOutBatch.id).where(SyncOutBatch.source_id.is_not(None))) is None
    assert snapshots(lab)[state_of(a).device] == [n + 1]  # the damaged one is replaced
    report = sync(c, lab.share)
    assert report.all_in and dump(c) == dump(a)
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)


def test_a_damaged_snapshot_falls_back_to_an_older_one_or_to_the_batches(lab):
    a, b, c = lab.laptops
    add_participant(a)
    add_participant(b, first="Maj", pnr="194402021234", email="maj@example.se")
    sync_all(lab)
    request(a)
    request(b)
    sync(a, lab.share)
    sync(b, lab.share)  # two laptops write snapshots in the same round
    snaps = snapshot.list_snapshots(share.list_folder(lab.share), read_key_file(lab.key))[0]
    assert len(snaps) == 2
    newest = snaps[0].path
    newest.write_bytes(newest.read_bytes()[:-100])  # cut short
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    assert report.all_in and any("damaged" in w for w in report.warnings)
    assert dump(d) == dump(a)
    loaded = audit_events(d, "snapshot-loaded")
    assert [e.device_id for e in loaded] == [snaps[1].device]
    for s_ in snaps[1:]:
        s_.path.write_bytes(b"KURSDESK-SYNC-SNAPSHOT\n{}")
    e = fresh_db(lab.root / "laptop4.db")
    lab.laptops.append(e)
    report = sync(e, lab.share)  # every snapshot damaged and the batches removed: e asks for them ...
    assert not report.all_in and dump(e)["participants"] == []
    sync(a, lab.share)  # ... and a answers with a new snapshot
    sync(b, lab.share)
    report = sync(e, lab.share)
    assert report.all_in and dump(e) == dump(a)


def test_without_a_usable_snapshot_a_new_laptop_replays_the_batches(lab):
    a, b, _c = lab.laptops
    sync(b, lab.share)
    add_participant(a)
    request(a)
    sync(a, lab.share)  # b has not applied batch 1: it stays
    (snap,) = share.list_folder(lab.share).snapshots[state_of(a).device].values()
    snap.write_bytes(snap.read_bytes()[:-1])
    report = sync(b, lab.share)
    assert report.all_in and dump(b) == dump(a) and not audit_events(b, "snapshot-loaded")
    assert any("damaged" in w for w in report.warnings)


def test_a_snapshot_write_killed_half_way_leaves_no_snapshot_and_is_done_again(lab, monkeypatch):
    a, b, _c = lab.laptops
    add_participant(a)
    sync_all(lab)
    request(a)

    def killed():
        raise SystemExit("killed")

    monkeypatch.setitem(share.HOOKS, "mid_write", killed)
    with pytest.raises(SystemExit):
        sync(a, lab.share)
    monkeypatch.delitem(share.HOOKS, "mid_write")
    own = lab.share / "snapshots" / state_of(a).device
    assert [p.name.startswith(".") and p.name.endswith(".tmp") for p in own.iterdir()] == [True]
    assert snapshots(lab) == {}
    report = sync(b, lab.share)
    assert report.all_in and not report.ignored and not report.warnings
    sync(a, lab.share)
    assert [p.name for p in own.iterdir()] == ["00000001.snap"]
    sync_all(lab)
    assert batches(lab, a) == [] and dump(a) == dump(b)


def test_clocks_days_apart_change_nothing_of_what_is_kept(lab, monkeypatch):
    import time

    a, b, c = lab.laptops
    state_of(b).set_wall(lambda: int(time.time() * 1000) + 20 * 3600 * 1000)  # nearly a day ahead
    state_of(c).set_wall(lambda: int(time.time() * 1000) - 3 * 24 * 3600 * 1000)  # three days behind
    pid = add_participant(b)
    sync_all(lab)
    edit(c, Participant, pid, phone="070-3")  # c saw b's value: its edit wins despite its clock
    request(c)
    sync_all(lab, rounds=3)
    assert dump(a) == dump(b) == dump(c) and phone(a, pid) == "070-3"
    assert batches(lab, b) == [] and batches(lab, c) == []
    monkeypatch.setattr(snapshot, "now", lambda: utcnow() - timedelta(days=5))  # a laptop's clock jumps back
    sync_all(lab)
    assert snapshot.inactive_partners(a) == []
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    sync(d, lab.share)
    assert dump(d) == dump(a)


def decrypted_share(lab) -> list[tuple[str, bytes]]:
    """Every file on the share, decrypted with the programme key where it is encrypted."""
    key = read_key_file(lab.key)
    out = []
    for path in sorted(lab.share.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        name = path.relative_to(lab.share).as_posix()
        if path.suffix == ".batch":
            header, head, blob = share.read_header(data)
            data = head + zlib.decompress(key.decrypt(blob, head))
        elif path.suffix == ".ack":
            end = data.find(b"\n", len(share.ACK_MAGIC))
            data = data[: end + 1] + key.decrypt(data[end + 1 :], data[: end + 1])
        elif path.suffix == ".snap":
            header = snapshot.read_snapshot_header(path, key)
            data = json.dumps(header).encode() + snapshot_text(path, key, header)
        out.append((name, data))
    return out


def snapshot_text(path, key, header) -> bytes:
    """A snapshot's body as it is (the SQLite image's bytes, free pages included) and as SQL text
    (a value split over two pages is whole there); an older snapshot's JSON lines."""
    import sqlite3

    if header.get("format", 1) < 2:
        return b"".join(snapshot.read_snapshot_body(path, key, header))
    image = snapshot.read_snapshot_image(path, key, header)
    con = sqlite3.connect(":memory:")
    con.deserialize(image)
    text = "\n".join(con.iterdump()).encode("utf-8")
    con.close()
    return image + text


def erase(db, pid: str) -> None:
    """Stands in for the erasure of branch gdpr: the rows and their change log go, then a snapshot."""
    from sqlalchemy import delete

    from app.models import Attendance, Enrollment, SyncClock
    from app.sync.capture import capture_suspended

    with db.write() as s, capture_suspended(s):
        for model in (Attendance, Enrollment):
            s.execute(delete(model).where(model.participant_id == pid))
        s.execute(delete(Participant).where(Participant.id == pid))
        s.execute(delete(SyncChange).where(SyncChange.record_id == pid))
        s.execute(delete(SyncClock).where(SyncClock.record_id == pid))
        snapshot.request_snapshot(s)


def test_after_an_erasure_no_file_on_the_share_holds_the_person(lab):
    a, b, c = lab.laptops
    person = {"pnr": "198507142386", "first": "Åsa", "last": "Lindqvist", "email": "asa.lindqvist@example.se"}
    cid = add_company(a)
    pid = add_participant(a, company_id=cid, **person)
    keep = add_participant(b, first="Maj", last="Berg", pnr="194402021234", email="maj@example.se")
    sync_all(lab)
    edit(b, Participant, pid, phone="070-123 45 67", email="asa.l@example.se")  # b's batch holds her too
    request(b)  # and b writes a snapshot that holds her
    sync_all(lab)
    assert any(b"198507142386" in data for name, data in decrypted_share(lab) if name.endswith(".snap"))
    for db in lab.laptops:
        erase(db, pid)
    for _ in range(3):
        sync_all(lab, rounds=1)
    files = decrypted_share(lab)
    assert any(name.endswith(".snap") for name, _d in files)
    for name, data in files:
        for word in ("198507142386", "19850714-2386", "850714-2386", "Lindqvist", "asa.lindqvist@example.se",
                     "asa.l@example.se", "070-123 45 67"):
            assert word.encode("utf-8") not in data, (name, word)
    assert b"194402021234" in b"".join(d for n, d in files if n.endswith(".snap"))  # the others are still there
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    sync(d, lab.share)
    assert dump(d) == dump(a) == dump(b) == dump(c)
    assert [p["id"] for p in dump(d)["participants"]] == [keep]


def raw_rows(db) -> dict:
    """Every synced table and the clocks as SQLite stores them (updated_at, version and changed_by
    are each laptop's own)."""
    import sqlite3

    from app.models import SYNCED_MODELS
    from app.sync.capture import LOCAL_ONLY_FIELDS

    con = sqlite3.connect(db.path)
    out = {}
    for model in SYNCED_MODELS:
        cols = [c.key for c in model.__table__.columns if c.key not in LOCAL_ONLY_FIELDS]
        out[model.__tablename__] = con.execute(f"SELECT {', '.join(cols)} FROM {model.__tablename__} ORDER BY id").fetchall()
    out["sync_clocks"] = con.execute("SELECT * FROM sync_clocks ORDER BY table_name, record_id").fetchall()
    con.close()
    return out


def test_a_snapshot_loads_every_value_exactly_as_the_writer_stores_it(lab, monkeypatch):
    from datetime import date
    from datetime import time as dtime

    from app.models import Attendance, Certificate, CourseSession, Enrollment
    from tests.sync.conftest import add_course_with_session

    a, b, c = lab.laptops
    cid = add_company(a)
    pid = add_participant(a, company_id=cid)
    course, ses = add_course_with_session(a)
    with a.write() as s:
        s.add(CourseSession(course_id=course, date=date(2026, 3, 9), start_time=dtime(8, 15, 30), end_time=dtime(12, 0),
                            cancelled=True))
        s.add(Enrollment(course_id=course, participant_id=pid, status="completed"))
        s.add(Attendance(session_id=ses, participant_id=pid, status="late", minutes=95, note="Tåget"))
        first = Certificate(number="2026-AAAAAA-0001", verification_code="K7QM-2XHD-9FTA", course_id=course,
                            participant_id=pid, issued_on=date(2026, 3, 10), pdf=b"%PDF-1.4 \x00\xff", revoked_on=date(2026, 3, 11))
        s.add(first)
        s.flush()
        s.add(Certificate(number="2026-AAAAAA-0002", verification_code="K7QM-2XHD-9FTB", course_id=course,
                          participant_id=pid, issued_on=date(2026, 3, 11), supersedes_id=first.id))
    edit(a, Participant, pid, deleted_at=utcnow())  # a tombstone with its clock
    monkeypatch.setattr(snapshot, "ROWS_PER_LINE", 1)  # every record in a line of its own
    request(a)
    sync(a, lab.share)
    sync(b, lab.share)  # SQLite copies the rows from the attached image
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    monkeypatch.setattr(snapshot, "_empty", lambda db: False)
    sync(d, lab.share)  # SQLite copies the rows by INSERT ... SELECT (a laptop that is not empty)
    monkeypatch.setattr(type(c), "attach_image", lambda *args, **kw: None)
    sync(c, lab.share)  # the path for any database: read in Python, inserted through SQLAlchemy
    (whole,), (copied,), (generic,) = (audit_events(x, "snapshot-loaded") for x in (b, d, c))
    assert "whole database" in whole.detail and "records with clocks" in copied.detail and " records," in generic.detail
    assert raw_rows(a) == raw_rows(b) == raw_rows(c) == raw_rows(d)
    assert dump(a) == dump(b) == dump(c) == dump(d)


def edited_image(image: bytes, sql: str) -> bytes:
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.deserialize(image)
    con.execute(sql)
    con.commit()
    out = con.serialize()
    con.close()
    return out


def test_a_snapshot_whose_records_refer_to_missing_ones_changes_nothing(lab):
    """Well encrypted but inconsistent (a writer's defect): refused as a whole, the batches serve."""
    import hashlib

    from tests.sync.conftest import add_course_with_session

    a, b, _c = lab.laptops
    sync(b, lab.share)  # known: a's batches stay
    key = read_key_file(lab.key)
    course, ses = add_course_with_session(a)
    pid = add_participant(a)
    from app.models import Attendance

    with a.write() as s:
        s.add(Attendance(session_id=ses, participant_id=pid, status="present"))
    request(a)
    sync(a, lab.share)
    ((n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    header = snapshot.read_snapshot_header(path, key)
    image = edited_image(snapshot.read_snapshot_image(path, key, header), "DELETE FROM sessions")  # its mark stays
    header.update(n=n + 1, body=hashlib.sha256(image).hexdigest())
    path.unlink()
    data = snapshot.encode_snapshot(header, [zlib.compress(image)], key)
    (path.parent / snapshot.snapshot_name(n + 1)).write_bytes(data)
    report = sync(b, lab.share)
    assert any("refer to records it does not hold" in w for w in report.warnings), report.warnings
    assert report.all_in and dump(b) == dump(a) and not audit_events(b, "snapshot-loaded")


def test_after_a_refused_load_the_database_checks_its_foreign_keys_again(lab):
    from sqlalchemy.exc import IntegrityError

    from app.db import ForeignKeyViolation
    from app.models import Enrollment

    a = lab.laptops[0]
    with pytest.raises(ForeignKeyViolation):
        with a.bulk_load() as s:
            s.add(Enrollment(course_id="no-such-course", participant_id="no-such-person"))
    assert dump(a)["enrollments"] == []
    with pytest.raises(IntegrityError):
        with a.write() as s:
            s.add(Enrollment(course_id="no-such-course", participant_id="no-such-person"))


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_a_snapshot_with_a_damaged_byte_is_refused_before_anything_is_written(lab, where):
    a, b, _c = lab.laptops
    sync(b, lab.share)  # known: a's batches stay
    add_participant(a)
    request(a)
    sync(a, lab.share)
    (path,) = share.list_folder(lab.share).snapshots[state_of(a).device].values()
    data = bytearray(path.read_bytes())
    at = {"header": len(snapshot.MAGIC) + 5, "middle": len(data) // 2, "end": len(data) - 1}[where]
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    assert any("damaged" in w or "altered" in w for w in report.warnings), report.warnings
    assert not audit_events(d, "snapshot-loaded") and report.all_in and dump(d) == dump(a)  # from the batches


KILLS = {
    # the rows copied by INSERT ... SELECT (a laptop that is not empty, or of another schema)
    "insert": """
        snapshot._empty = lambda db: False
        fill = snapshot._fill_from_image
        def fill_and_die(*args):
            fill(*args)
            os._exit(9)
        snapshot._fill_from_image = fill_and_die
    """,
    # the whole database put in place by the backup API, stopped half-way through its pages
    "copy": """
        from app.sync import snapshot_db
        snapshot_db.BACKUP_PAGES = 2
        snapshot_db.HOOKS["backup_progress"] = lambda status, remaining, total: remaining <= total // 2 and os._exit(9)
    """,
}


@pytest.mark.parametrize("path", sorted(KILLS))
def test_a_join_killed_half_way_leaves_no_records_and_the_next_sync_joins(lab, path):
    """The process dies (no clean-up) after every row of the snapshot was copied, before the commit;
    or after the backup API wrote the first pages of the whole database."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    a = lab.laptops[0]
    add_participant(a)
    request(a)
    sync(a, lab.share)
    d = fresh_db(lab.root / "laptop3.db")
    with d.write() as s:
        state_of(d).ensure(s.connection())
        device = state_of(d).device
    d.dispose()
    script = textwrap.dedent(f"""
        import os
        from app.db import Database
        from app.sync import snapshot, sync
        {textwrap.dedent(KILLS[path]).strip().replace(chr(10), chr(10) + " " * 8)}
        sync(Database({str(d.path)!r}), {str(lab.share)!r})
    """)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    from app.db import Database

    d = Database(d.path)
    lab.laptops.append(d)
    assert all(rows == [] for rows in dump(d).values()) and not audit_events(d, "snapshot-loaded")
    with d.read() as s:
        assert s.get(Setting, "device_id").value == device  # its identity is the one it had
    report = sync(d, lab.share)
    assert report.all_in and dump(d) == dump(a) and len(audit_events(d, "snapshot-loaded")) == 1
    with d.read() as s:
        assert s.get(Setting, "device_id").value == device


def _format1_snapshot(db, key, n: int) -> bytes:
    """A snapshot as Kursdesk wrote it before format 2: JSON lines, a line naming a table and its
    fields, then a line of its rows in the change lines' JSON form with each record's clocks last."""
    import hashlib

    from sqlalchemy import and_

    from app.models import SYNCED_MODELS, Setting, SyncClock
    from app.sync.capture import FIELDS, KINDS, encode

    clk = SyncClock.__table__
    lines = []
    with db.read() as s:
        device = state_of(db).device
        for model in SYNCED_MODELS:
            t, name = model.__table__, model.__tablename__
            q = (select(*[t.c[f] for f in FIELDS[name]], clk.c.data)
                 .select_from(t.outerjoin(clk, and_(clk.c.table_name == name, clk.c.record_id == t.c.id))).order_by(t.c.id))
            rows = [[encode(KINDS[name][f], v) for f, v in zip(FIELDS[name], r)] + [r[-1]] for r in s.execute(q)]
            if rows:
                lines += [{"t": name, "f": list(FIELDS[name]), "n": len(rows)}, rows]
        covers = snapshot._covers(s, device)
        hlc = s.get(Setting, "sync_hlc").value
    body = b"".join(json.dumps(x, ensure_ascii=False).encode("utf-8") + b"\n" for x in lines)
    header = {"format": 1, "schema": share.SCHEMA_VERSION, "device": device, "n": n, "key_id": key.key_id,
              "covers": covers, "hlc_max": hlc, "body": hashlib.sha256(body).hexdigest(), "lines": len(lines)}
    return snapshot.encode_snapshot(header, [zlib.compress(body)], key)


def test_a_snapshot_of_the_older_format_on_the_share_still_serves_a_new_laptop(lab):
    from app.models import Attendance
    from tests.sync.conftest import add_course_with_session

    a = lab.laptops[0]
    course, ses = add_course_with_session(a)
    pid = add_participant(a, company_id=add_company(a))
    with a.write() as s:
        s.add(Attendance(session_id=ses, participant_id=pid, status="late", minutes=20))
    request(a)
    sync(a, lab.share)
    assert batches(lab, a) == []  # nobody else known: a new laptop needs the snapshot
    key = read_key_file(lab.key)
    ((n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    assert snapshot.read_snapshot_header(path, key)["format"] == snapshot.FORMAT
    (path.parent / snapshot.snapshot_name(n + 1)).write_bytes(_format1_snapshot(a, key, n + 1))
    path.unlink()
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    assert report.all_in and dump(d) == dump(a)
    (loaded,) = audit_events(d, "snapshot-loaded")
    assert loaded.seq == n + 1 and "lines" in loaded.detail


def test_a_table_the_snapshot_does_not_hold_is_empty_and_an_unknown_column_is_refused(lab):
    """A writer without a newer synced table leaves it out (it loads empty); a column this laptop
    does not know is never dropped silently: the snapshot is refused and the batches serve."""
    import hashlib

    a, b, _c = lab.laptops
    sync(b, lab.share)  # known: a's batches stay
    add_participant(a)
    request(a)
    sync(a, lab.share)
    key = read_key_file(lab.key)
    ((n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    header = snapshot.read_snapshot_header(path, key)
    original = snapshot.read_snapshot_image(path, key, header)
    for i, (sql, loads) in enumerate([("DROP TABLE erasures", True),
                                      ("ALTER TABLE participants ADD COLUMN shoe_size", False)]):
        image = edited_image(original, sql)
        header.update(n=n + 1 + i, body=hashlib.sha256(image).hexdigest())
        for old in path.parent.iterdir():
            old.unlink()
        (path.parent / snapshot.snapshot_name(n + 1 + i)).write_bytes(snapshot.encode_snapshot(header, [zlib.compress(image)], key))
        d = fresh_db(lab.root / f"join{i}.db")
        lab.laptops.append(d)
        report = sync(d, lab.share)
        assert report.all_in and dump(d) == dump(a)
        assert bool(audit_events(d, "snapshot-loaded")) == loads, report.warnings
        assert loads or any("damaged snapshot" in w for w in report.warnings)


def test_an_empty_laptop_takes_the_whole_database_keeping_its_own_identity_and_settings(lab):
    """Format 3: the writer's tables and indexes ready-made, none of the writer's own data in them
    (not even in free pages); the joiner keeps its device id and settings and stays in WAL mode."""
    import sqlite3

    from app.sync.capture import FIELDS

    a = lab.laptops[0]
    add_participant(a, company_id=add_company(a))
    with a.write() as s:
        s.add(Setting(key="probe", value="WRITER-LOCAL-4711"))
    request(a)
    sync(a, lab.share)
    key = read_key_file(lab.key)
    ((_n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    header = snapshot.read_snapshot_header(path, key)
    image = snapshot.read_snapshot_image(path, key, header)
    assert header["format"] == 3 and b"WRITER-LOCAL-4711" not in image
    con = sqlite3.connect(":memory:")
    con.deserialize(image)
    assert con.execute("PRAGMA freelist_count").fetchone() == (0,)
    for table in ("settings", "sync_changes", "sync_out_batches", "sync_audit", "sync_peers", "gdpr_audit"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    writer = sqlite3.connect(a.path)
    assert indexes == {r[0] for r in writer.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    local = [c.key for c in Participant.__table__.columns if c.key not in FIELDS["participants"] and c.key not in LOCAL_ONLY_FIELDS]
    for col in local:  # the columns a laptop keeps to itself are empty
        assert con.execute(f"SELECT count(*) FROM participants WHERE {col} IS NOT NULL").fetchone() == (0,)
    # the record's version and last writer are each laptop's own: they start again (app/concurrency.py)
    assert con.execute("SELECT DISTINCT version, changed_by FROM participants").fetchall() == [(1, "")]
    con.close()
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    with d.write() as s:
        s.add(Setting(key="probe", value="JOINER-LOCAL"))
        state_of(d).ensure(s.connection())
    device = state_of(d).device
    report = sync(d, lab.share)
    assert report.all_in and dump(d) == dump(a) and raw_rows(d) == raw_rows(a)
    (loaded,) = audit_events(d, "snapshot-loaded")
    assert "whole database" in loaded.detail
    with d.read() as s:
        assert s.get(Setting, "device_id").value == device and s.get(Setting, "probe").value == "JOINER-LOCAL"
    con = sqlite3.connect(d.path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    add_participant(d, first="Ny", pnr="199001011239", email="ny@example.se")  # and it goes on syncing
    sync(d, lab.share)
    sync(a, lab.share)
    assert dump(a) == dump(d) and len(dump(a)["participants"]) == 2


def test_a_laptop_with_records_of_its_own_copies_the_rows_of_a_whole_database_snapshot(lab):
    a, b, _c = lab.laptops
    sync(b, lab.share)
    pid = add_participant(a)
    request(a)
    sync(a, lab.share)
    mine = add_participant(b, first="Maj", pnr="194402021234", email="maj@example.se")  # not published yet
    report = sync(b, lab.share)
    (loaded,) = audit_events(b, "snapshot-loaded")
    assert report.all_in and "records with clocks" in loaded.detail and "1 own changes kept" in loaded.detail
    sync(a, lab.share)
    assert dump(a) == dump(b) and {p["id"] for p in dump(a)["participants"]} == {pid, mine}


def test_a_snapshot_of_the_format_a_laptop_on_another_database_writes_serves_a_new_laptop(lab, monkeypatch):
    """A writer on PostgreSQL (any database but SQLite) writes format 2: the synced fields only."""
    a = lab.laptops[0]
    pid = add_participant(a, company_id=add_company(a))
    real = snapshot._read_state

    def as_elsewhere(db, device):
        monkeypatch.setattr(db, "is_sqlite", False)
        try:
            return real(db, device)
        finally:
            monkeypatch.setattr(db, "is_sqlite", True)

    monkeypatch.setattr(snapshot, "_read_state", as_elsewhere)
    request(a)
    sync(a, lab.share)
    key = read_key_file(lab.key)
    ((_n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    assert snapshot.read_snapshot_header(path, key)["format"] == 2
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    (loaded,) = audit_events(d, "snapshot-loaded")
    assert report.all_in and dump(d) == dump(a) and "records with clocks" in loaded.detail
    assert [p["id"] for p in dump(d)["participants"]] == [pid]


def test_a_whole_database_snapshot_cut_short_by_its_writer_is_refused_and_the_batches_serve(lab):
    """Its hash matches (the writer's defect, not damage on the way): SQLite finds it malformed."""
    import hashlib

    a, b, _c = lab.laptops
    sync(b, lab.share)  # known: a's batches stay
    add_participant(a)
    request(a)
    sync(a, lab.share)
    key = read_key_file(lab.key)
    ((n, path),) = share.list_folder(lab.share).snapshots[state_of(a).device].items()
    header = snapshot.read_snapshot_header(path, key)
    image = snapshot.read_snapshot_image(path, key, header)
    image = image[: len(image) // 8192 * 4096]  # the first half of its pages
    header.update(n=n + 1, body=hashlib.sha256(image).hexdigest())
    path.unlink()
    (path.parent / snapshot.snapshot_name(n + 1)).write_bytes(snapshot.encode_snapshot(header, [zlib.compress(image)], key))
    d = fresh_db(lab.root / "laptop3.db")
    lab.laptops.append(d)
    report = sync(d, lab.share)
    assert any("damaged snapshot" in w for w in report.warnings), report.warnings
    assert report.all_in and dump(d) == dump(a) and not audit_events(d, "snapshot-loaded")
