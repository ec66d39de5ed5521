"""Snapshots and the shared folder that forgets (issue 14): a new laptop starts from a snapshot,
batches every laptop has acknowledged past a snapshot are removed by their writers, a laptop away
too long starts again from a snapshot keeping its own changes, an erasure leaves nothing on the share."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import Participant, Setting, SyncChange
from app.sync import folder as share
from app.sync import snapshot, sync
from app.sync.capture import state_of
from app.sync.crypto import read_key_file
from app.models import utcnow
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
