"""Fault table (research/sync.md (c)): each fault ends with a clear message, no record lost, and
full convergence once the fault is gone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import UserError
from app.models import Participant
from app.sync import folder as share
from app.sync import setup_folder, sync
from app.sync.capture import state_of
from tests.sync.conftest import add_participant, dump, edit
from tests.sync.test_basics import scan_share_for_personal_data, sync_all

ROOT = Path(__file__).resolve().parents[2]


def batch_path(lab, db, seq):
    return lab.share / "devices" / state_of(db).device / share.batch_name(seq)


@pytest.mark.parametrize("damage", ["empty", "minus_one", "half", "bitflip", "header"])
def test_damaged_batch_stops_only_that_partner(lab, damage):
    a, b, c = lab.laptops
    add_participant(a)
    add_participant(c, first="Maj", pnr="194402021234")
    sync(a, lab.share)
    sync(c, lab.share)
    path = batch_path(lab, a, 1)
    good = path.read_bytes()
    bad = {
        "empty": b"",
        "minus_one": good[:-1],
        "half": good[: len(good) // 2],
        "bitflip": good[:-20] + bytes([good[-20] ^ 0x01]) + good[-19:],
        "header": good.replace(b'"seq":1', b'"seq":2'),
    }[damage]
    path.write_bytes(bad)
    report = sync(b, lab.share)
    stopped = [p for p in report.partners if p.state != "ok"]
    assert len(stopped) == 1 and stopped[0].device == state_of(a).device
    assert state_of(a).device[:8] in stopped[0].message and "1" in stopped[0].message
    assert len(dump(b)["participants"]) == 1  # c's record came in; nothing of a's batch did
    path.write_bytes(good)
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c) and len(dump(b)["participants"]) == 2


def test_gap_in_sequence_waits_then_applies_in_order(lab):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    edit(a, Participant, pid, phone="1")
    sync(a, lab.share)
    first = batch_path(lab, a, 1)
    held = lab.root / "held.batch"
    shutil.move(first, held)
    report = sync(b, lab.share)
    assert not report.all_in and "batch 1 is missing" in report.partners[0].message
    assert dump(b)["participants"] == []
    shutil.move(held, first)
    assert sync(b, lab.share).all_in
    assert dump(b) == dump(a)


def test_files_the_app_did_not_write_are_ignored_and_listed(lab):
    a, b, _c = lab.laptops
    add_participant(a)
    sync(a, lab.share)
    own = batch_path(lab, a, 1)
    shutil.copy(own, own.with_name("00000001 (conflicted copy).batch"))
    shutil.copy(own, own.with_name("00000001.sync-conflict-20260101-DESKTOP.batch"))
    (own.parent / ".00000002.batch.tmp").write_bytes(b"x")
    (lab.share / "desktop.ini").write_text("[.ShellClassInfo]")
    report = sync(b, lab.share)
    assert report.all_in and len(dump(b)["participants"]) == 1
    assert len(report.ignored) == 4 and "desktop.ini" in report.ignored


def test_vanished_or_unrecognised_folder_is_an_error_and_deletes_nothing(lab):
    a, b, _c = lab.laptops
    add_participant(a)
    sync_all(lab, rounds=1)
    before = dump(b)
    moved = lab.root / "elsewhere"
    lab.share.rename(moved)
    with pytest.raises(UserError, match="cannot be found"):
        sync(b, lab.share)
    lab.share.mkdir()  # the drive letter now points at an empty folder
    with pytest.raises(UserError, match="format.json"):
        sync(b, lab.share)
    assert dump(b) == before
    lab.share.rmdir()
    moved.rename(lab.share)
    assert sync(b, lab.share).all_in


def test_emptied_folder_deletes_nothing_and_is_published_again(lab):
    a, b, _c = lab.laptops
    add_participant(b)
    sync(b, lab.share)
    shutil.rmtree(lab.share / "devices")
    (lab.share / "devices").mkdir()
    report = sync(b, lab.share)
    assert len(dump(b)["participants"]) == 1  # nothing deleted locally
    assert report.published == [2]  # batch 1 carried again, as batch 2
    sync(a, lab.share)
    assert dump(a) == dump(b)


def test_read_only_folder_keeps_the_change_log_and_publishes_later(lab, monkeypatch):
    a, b, _c = lab.laptops
    add_participant(a)

    def denied(*_args, **_kw):
        raise PermissionError(13, "denied")

    with monkeypatch.context() as m:
        m.setattr(share.os, "rename", denied)
        with pytest.raises(UserError, match="permission denied"):
            sync(a, lab.share)
    from app.sync.status import overview

    assert overview(a).pending_changes == 1 and overview(a).published_seq == 0
    assert not list((lab.share / "devices").rglob("*.batch"))
    assert sync(a, lab.share).published == [1]
    sync(b, lab.share)
    assert dump(a) == dump(b)


def test_wrong_key_is_refused(lab, tmp_path):
    a, b, _c = lab.laptops
    other = tmp_path / "other"
    setup_folder(other, tmp_path / "other.key")  # remembers the other key
    with pytest.raises(UserError, match="does not belong"):
        sync(b, lab.share)
    add_participant(a)
    sync(a, other)  # a batch made with the other key, then copied into the programme's share
    dev = state_of(a).device
    (lab.share / "devices" / dev).mkdir()
    shutil.copy(other / "devices" / dev / "00000001.batch", lab.share / "devices" / dev / "00000001.batch")
    report = sync(b, lab.share, key_file=lab.key)
    assert "another programme key" in report.partners[0].message and dump(b)["participants"] == []


def test_batch_copied_into_another_laptops_folder_is_rejected(lab):
    a, b, c = lab.laptops
    add_participant(a)
    sync(a, lab.share)
    from app.device import device_id

    forged = lab.share / "devices" / device_id(c)
    forged.mkdir()
    shutil.copy(batch_path(lab, a, 1), forged / "00000001.batch")
    report = sync(b, lab.share)
    bad = [p for p in report.partners if p.device == device_id(c)][0]
    assert bad.state == "stopped" and "another laptop" in bad.message
    assert len(dump(b)["participants"]) == 1  # from a's own folder, once


def test_batch_from_a_newer_format_is_refused_and_kept(lab):
    a, b, _c = lab.laptops
    add_participant(a)
    sync(a, lab.share)
    path = batch_path(lab, a, 1)
    good = path.read_bytes()
    path.write_bytes(good.replace(b'"format":1', b'"format":2'))
    report = sync(b, lab.share)
    assert "newer Kursdesk" in report.partners[0].message and path.exists()
    path.write_bytes(good)
    assert sync(b, lab.share).all_in


def test_a_laptop_clock_two_hours_ahead(lab):
    import time

    a, b, c = lab.laptops
    pid = add_participant(a)
    sync_all(lab)
    state_of(b).set_wall(lambda: int(time.time() * 1000) + 2 * 3600 * 1000)
    edit(b, Participant, pid, email="b@example.se")
    edit(a, Participant, pid, phone="1")
    sync(b, lab.share)
    report = sync(a, lab.share)
    assert any("minutes ahead" in w for w in report.warnings)
    # a saw b's change: a's later edit wins although a's wall clock is behind b's
    edit(a, Participant, pid, email="a-later@example.se")
    sync_all(lab)
    assert dump(a) == dump(b) == dump(c)
    assert dump(c)["participants"][0]["email"] == "a-later@example.se"


DRIVER = (
    "import os, signal, sys\n"
    "from app.sync import folder\n"
    "point = sys.argv[1]\n"
    "folder.HOOKS[point] = lambda: os.kill(os.getpid(), signal.SIGKILL)\n"
    "from app.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def run_killed(point, db, lab, home):
    env = dict(os.environ, KURSDESK_HOME=str(home), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", DRIVER, point, "sync", "--db", str(db.path), "--folder", str(lab.share)],
                          env=env, cwd=ROOT, capture_output=True, timeout=60)
    return proc.returncode


@pytest.mark.parametrize("point", ["after_open", "mid_write", "before_rename", "after_rename", "before_mark"])
def test_killed_during_publish(lab, point, kursdesk_home):
    a, b, _c = lab.laptops
    for i in range(30):
        add_participant(a, first=f"P{i}", pnr=f"19900101{i:04d}")
    a.dispose()
    assert run_killed(point, a, lab, kursdesk_home) == -9
    finals = list((lab.share / "devices").rglob("*.batch"))
    for f in finals:  # a final name is never a partial file
        share.decode_batch(f.read_bytes(), __import__("app.sync.crypto", fromlist=["x"]).remembered_key(), device=f.parent.name, seq=1)
    report = sync(a, lab.share)
    assert report.published in ([1], [])
    sync(b, lab.share)
    assert dump(a) == dump(b) and len(dump(b)["participants"]) == 30
    assert sorted(p.name for p in (lab.share / "devices").rglob("*.batch")) == ["00000001.batch"]


@pytest.mark.parametrize("point", ["before_apply", "mid_apply"])
def test_killed_during_import(lab, point, kursdesk_home):
    a, b, _c = lab.laptops
    for i in range(30):
        add_participant(a, first=f"P{i}", pnr=f"19900101{i:04d}")
    sync(a, lab.share)
    before = dump(b)
    b.dispose()
    assert run_killed(point, b, lab, kursdesk_home) == -9
    assert dump(b) == before  # one transaction: nothing half-applied
    assert sync(b, lab.share).all_in
    assert dump(a) == dump(b)


def test_no_personal_data_on_the_share_after_faults(lab):
    a, b, c = lab.laptops
    add_participant(a, first="Birgitta", last="Öhman", pnr="196812249876", email="birgitta.ohman@verkstad.se")
    sync_all(lab)
    scan_share_for_personal_data(lab.share, ["Birgitta", "Öhman", "196812249876", "birgitta", "verkstad.se"])
