"""Restore points and "Undo last sync" (research/sync.md T25)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import UserError
from app.models import Course, Participant, SyncAudit, SyncRestorePoint, SyncRestoreRow, utcnow
from app.sync import restore as restore_mod
from app.sync import sync
from app.sync.restore import last_restore_point, restore_before_last_sync
from tests.sync.conftest import add_company, add_course_with_session, add_participant, dump, edit


def live(d: dict) -> dict:
    """The records the app shows (tombstones left out)."""
    return {t: [r for r in rows if r.get("deleted_at") is None] for t, rows in d.items()}


def _two(lab):
    a, b, _c = lab.laptops
    sync(a, lab.share, key_file=lab.key)
    return a, b


def _shared_start(lab):
    """a and b share a company and two participants; b's first import (a full copy) is behind them."""
    a, b = _two(lab)
    cid = add_company(a)
    p1 = add_participant(a, company_id=cid)
    p2 = add_participant(a, first="Örjan", last="Ståhl", pnr="197203051234", email="orjan@example.se")
    add_course_with_session(b, code="B-1")  # b's own data
    for db in (a, b, a, b):
        sync(db, lab.share)
    assert dump(a) == dump(b)
    return a, b, p1, p2


def test_undo_of_a_bad_batch_returns_to_the_pre_import_state_and_propagates(lab):
    a, b, p1, p2 = _shared_start(lab)
    before = dump(b)
    # a's bad batch: an edit, a deletion, a new record (with a child)
    edit(a, Participant, p1, email="fel@example.se", phone="000")
    edit(a, Participant, p2, deleted_at=utcnow())
    p3 = add_participant(a, first="Ny", last="Person", pnr="200001011234", email="ny@example.se")
    add_course_with_session(a, code="BAD-1")
    sync(a, lab.share)
    report = sync(b, lab.share)
    assert report.partners[0].applied == 1
    point = last_restore_point(b)
    assert point is not None and not point.full_copy and point.batches == 1 and not point.restored
    rows = {r["id"]: r for r in dump(b)["participants"]}
    assert rows[p1]["email"] == "fel@example.se" and rows[p2]["deleted_at"] is not None and p3 in rows

    result = restore_before_last_sync(b)

    assert not result.full_copy and result.skipped == 0 and result.records >= 5
    assert live(dump(b)) == live(before)  # every record and field as before the import
    assert {r["id"] for r in dump(b)["participants"] if r["deleted_at"] is not None} == {p3}
    assert last_restore_point(b).restored
    with b.read() as s:
        assert [e.event for e in s.scalars(select(SyncAudit).where(SyncAudit.event == "undone"))] == ["undone"]
    with pytest.raises(UserError, match="already been undone"):
        restore_before_last_sync(b)
    # the undo is a local change of b: after the next round every laptop is back to the old state
    for db in (b, a, b):
        sync(db, lab.share)
    assert dump(a) == dump(b)
    assert live(dump(a)) == live(before)


def test_undo_leaves_a_field_edited_again_after_the_sync(lab):
    a, b, p1, _p2 = _shared_start(lab)
    edit(a, Participant, p1, email="fel@example.se", phone="000")
    sync(a, lab.share)
    sync(b, lab.share)
    edit(b, Participant, p1, email="ratt@example.se")  # the user already corrected this field
    result = restore_before_last_sync(b)
    assert result.skipped == 1 and result.records == 1
    row = {r["id"]: r for r in dump(b)["participants"]}[p1]
    assert row["email"] == "ratt@example.se" and row["phone"] != "000"


def test_first_sync_takes_a_full_copy_and_undo_puts_it_back(lab):
    a, b = _two(lab)
    for i in range(3):
        add_participant(a, first=f"P{i}", pnr=f"19900101{i:04d}")
    add_course_with_session(b, code="B-1")
    sync(a, lab.share)
    before = dump(b)
    sync(b, lab.share)
    point = last_restore_point(b)
    assert point.full_copy  # b's first import
    with b.read() as s:
        assert s.scalar(select(SyncRestoreRow.seq).limit(1)) is None  # no row-level states for a full copy
    result = restore_before_last_sync(b)
    assert result.full_copy
    assert dump(b) == before  # exactly the state before the run (local only) ...
    sync(b, lab.share)  # ... and the next sync imports the partner's batches again
    sync(a, lab.share)
    assert dump(a) == dump(b)


def test_full_copy_undo_is_refused_once_this_laptop_published_again(lab):
    a, b = _two(lab)
    add_participant(a)
    sync(a, lab.share)
    sync(b, lab.share)
    add_company(b)
    report = sync(b, lab.share)
    assert report.published and not report.restore_point  # nothing imported: no new restore point
    with pytest.raises(UserError, match="published changes since"):
        restore_before_last_sync(b)


def test_nothing_to_undo_and_only_the_last_points_are_kept(lab, monkeypatch):
    a, b = _two(lab)
    with pytest.raises(UserError, match="no sync to undo"):
        restore_before_last_sync(b)
    monkeypatch.setattr(restore_mod, "KEEP_POINTS", 2)
    cid, _sid = add_course_with_session(a, code="K-1")
    for i in range(4):
        edit(a, Course, cid, title=f"Titel {i}")
        sync(a, lab.share)
        sync(b, lab.share)
    with b.read() as s:
        points = s.scalars(select(SyncRestorePoint.id)).all()
        kept_rows = set(s.scalars(select(SyncRestoreRow.point_id)).all())
    assert len(points) == 2 and kept_rows <= set(points)
