"""Issue "Sync you can leave running": a laptop is never locked out, laptops never disagree in
silence. Each test reproduces a failure found from outside (cases 1, 2, 3 and 5 of the issue)."""

from __future__ import annotations

import shutil
import threading

import pytest

from app.models import Participant
from app.sync import folder as share
from app.sync import sync
from app.sync.capture import open_app_database, state_of
from tests.sync.conftest import add_participant, dump, edit


def batch_path(lab, db, seq):
    return lab.share / "devices" / state_of(db).device / share.batch_name(seq)


def sync_until_quiet(lab, laptops=None, rounds=4):
    for _ in range(rounds):
        for db in laptops or lab.laptops:
            sync(db, lab.share)


class Stop(Exception):
    pass


def _crash(*_a):
    raise Stop()


# --- case 1: publishing cannot strand its laptop -----------------------------------------------------

def test_a_run_stopped_between_writing_and_marking_is_adopted(lab):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    edit(a, Participant, pid, phone="070-1")
    share.HOOKS["before_mark"] = _crash  # the run stops after batch 2 is on the share
    try:
        with pytest.raises(Stop):
            sync(a, lab.share)
    finally:
        share.HOOKS.clear()
    assert batch_path(lab, a, 2).exists()
    edit(a, Participant, pid, email="ny@example.se")  # one more local edit
    report = sync(a, lab.share)
    assert report.published == [2, 3] and not report.forked
    sync(b, lab.share)
    assert dump(a) == dump(b)
    assert dump(b)["participants"][0]["phone"] == "070-1"


@pytest.mark.parametrize("foreign", ["placeholder", "replayed", "other-device", "damaged"])
def test_a_foreign_file_under_the_next_number_makes_the_laptop_fork(lab, foreign):
    a, b, c = lab.laptops
    pid = add_participant(a)
    add_participant(b, first="Örjan", pnr="197203051234")
    sync_until_quiet(lab, rounds=1)
    own_dir = batch_path(lab, a, 1).parent
    target = own_dir / share.batch_name(2)
    if foreign == "placeholder":  # what a sync client leaves while it downloads
        target.write_bytes(b"")
    elif foreign == "replayed":  # an old batch of this laptop copied over the next number
        shutil.copyfile(batch_path(lab, a, 1), target)
    elif foreign == "other-device":  # another laptop's folder copied over this one
        shutil.copyfile(batch_path(lab, b, 1), target)
    else:
        target.write_bytes(batch_path(lab, a, 1).read_bytes()[:-7])
    edit(a, Participant, pid, phone="070-2")
    report = sync(a, lab.share)
    assert report.forked and report.published == [1]
    assert any("new identity" in w for w in report.warnings)
    assert not any("new identity" in w for w in sync(a, lab.share).warnings)  # shown once
    sync_until_quiet(lab)
    assert dump(a) == dump(b) == dump(c)
    assert {p["phone"] for p in dump(c)["participants"] if p["id"] == pid} == {"070-2"}
    for db in lab.laptops:  # nobody is left with an error
        assert sync(db, lab.share).problems() == []


def test_a_database_copied_to_a_second_laptop_forks_the_first_time_both_publish(lab, tmp_path):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync_until_quiet(lab, rounds=1)
    a.dispose()
    shutil.copyfile(a.path, tmp_path / "copy.db")
    a = lab.laptops[0] = open_app_database(a.path)
    d = open_app_database(tmp_path / "copy.db")
    lab.laptops.append(d)
    edit(a, Participant, pid, phone="from-a")
    edit(d, Participant, pid, email="from-d@example.se")
    first, second = sync(a, lab.share), sync(d, lab.share)
    assert bool(first.forked) != bool(second.forked)  # exactly one of them moves on
    sync_until_quiet(lab)
    assert dump(a) == dump(b) == dump(d)
    row = next(p for p in dump(b)["participants"] if p["id"] == pid)
    assert row["phone"] == "from-a" and row["email"] == "from-d@example.se"
    assert state_of(a).device != state_of(d).device
    assert all(sync(db, lab.share).problems() == [] for db in lab.laptops)


# --- case 2: a local write during an import ---------------------------------------------------------

def test_a_write_from_another_process_during_an_import_is_not_overwritten(lab, monkeypatch):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync_until_quiet(lab, rounds=1)
    edit(b, Participant, pid, phone="from-b")
    sync(b, lab.share)
    window = open_app_database(a.path)  # the window, open beside a scheduled sync on the same database
    edit(window, Participant, pid, email="before@example.se")
    import app.sync.merge as merge

    real = merge.load_clocks
    writer: list[threading.Thread] = []

    def load_then_let_the_window_write(*args, **kw):
        out = real(*args, **kw)
        if not writer:
            t = threading.Thread(target=edit, args=(window, Participant, pid), kwargs={"phone": "from-window"})
            writer.append(t)
            t.start()
            t.join(1.0)  # with the lock held by the import, the window's write waits for it
        return out

    monkeypatch.setattr(merge, "load_clocks", load_then_let_the_window_write)
    sync(a, lab.share)
    writer[0].join(30)
    monkeypatch.setattr(merge, "load_clocks", real)
    window.dispose()
    sync_until_quiet(lab)
    assert dump(a) == dump(b)
    assert next(p for p in dump(b)["participants"] if p["id"] == pid)["phone"] == "from-window"


# --- case 3: one clock for the database ---------------------------------------------------------------

def test_a_long_running_process_sees_the_stamps_another_process_observed(lab):
    import time

    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync_until_quiet(lab, rounds=1)
    window = open_app_database(a.path)
    edit(window, Participant, pid, email="w@example.se")  # the window's clock is in use
    state_of(b).set_wall(lambda: int(time.time() * 1000) + 3600 * 1000)  # a partner one hour ahead
    edit(b, Participant, pid, first_name="Bengt")
    sync(b, lab.share)
    sync(a, lab.share)  # the scheduled sync (another process) imports the partner's stamp
    edit(window, Participant, pid, first_name="Wilma")  # made after seeing the partner's value
    window.dispose()
    sync_until_quiet(lab)
    assert dump(a) == dump(b)
    assert next(p for p in dump(b)["participants"] if p["id"] == pid)["first_name"] == "Wilma"


# --- case 5: damaged and lost batches are healed --------------------------------------------------------

def test_a_damaged_batch_is_republished_and_everyone_converges(lab):
    a, b, c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    edit(a, Participant, pid, phone="2")
    sync(a, lab.share)
    path = batch_path(lab, a, 1)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = sync(b, lab.share)
    assert "batch 1" in report.partners[0].message and "asked for again" in report.partners[0].message
    sync_until_quiet(lab)
    assert dump(a) == dump(b) == dump(c) and len(dump(b)["participants"]) == 1
    assert all(sync(db, lab.share).problems() == [] for db in lab.laptops)


def test_a_deleted_last_batch_is_reported_and_republished(lab):
    a, b, c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    sync(b, lab.share)
    edit(a, Participant, pid, phone="2")
    sync(a, lab.share)
    batch_path(lab, a, 2).unlink()
    report = sync(b, lab.share)
    assert "last batch 2 is missing" in report.partners[0].message
    sync_until_quiet(lab)
    assert dump(a) == dump(b) == dump(c)
    assert dump(c)["participants"][0]["phone"] == "2"


def test_a_deleted_batch_in_the_middle_is_republished(lab):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    for phone in ("2", "3"):
        edit(a, Participant, pid, phone=phone)
        sync(a, lab.share)
    batch_path(lab, a, 2).unlink()
    sync_until_quiet(lab)
    assert dump(a) == dump(b)
    assert all(sync(db, lab.share).problems() == [] for db in lab.laptops)


# --- issue "Safe on one laptop": sync --setup writes nothing before it has checked -------------------

def test_setup_refuses_a_key_inside_the_shared_folder_and_leaves_nothing(tmp_path):
    from app.errors import UserError
    from app.sync import setup_folder

    folder = tmp_path / "share"
    with pytest.raises(UserError, match="must not be inside"):
        setup_folder(folder, folder / "programme.key")
    assert not folder.exists()


def test_a_failed_setup_leaves_neither_folder_files_nor_key(tmp_path, monkeypatch):
    from app.errors import UserError
    from app.sync import engine, setup_folder

    folder = tmp_path / "share"

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "write_key_file", full)
    with pytest.raises(UserError, match="could not be set up"):
        setup_folder(folder, tmp_path / "programme.key")
    assert not folder.exists() and not (tmp_path / "programme.key").exists()
    with pytest.raises(UserError, match="could not be set up"):
        setup_folder(tmp_path / "new" / "deep" / "share", tmp_path / "k2.key")
    assert not (tmp_path / "new").exists()  # the folders it made are gone too


def test_a_clone_that_wrote_further_than_this_laptop_reserved_does_not_strand_its_reservation(lab, tmp_path):
    """The copy published batches 2 and 3 while this laptop had reserved (not written) its own 2."""
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync_until_quiet(lab, rounds=1)
    a.dispose()
    shutil.copyfile(a.path, tmp_path / "copy.db")
    a = lab.laptops[0] = open_app_database(a.path)
    d = open_app_database(tmp_path / "copy.db")
    lab.laptops.append(d)
    edit(a, Participant, pid, phone="reserved-on-a")
    share.HOOKS["after_open"] = _crash  # a reserves batch 2 and stops before writing it
    try:
        with pytest.raises(Stop):
            sync(a, lab.share)
    finally:
        share.HOOKS.clear()
    for value in ("d-1", "d-2"):
        edit(d, Participant, pid, email=f"{value}@example.se")
        sync(d, lab.share)
    report = sync(a, lab.share)
    assert report.forked
    sync_until_quiet(lab)
    assert dump(a) == dump(b) == dump(d)
    row = next(p for p in dump(b)["participants"] if p["id"] == pid)
    assert row["phone"] == "reserved-on-a" and row["email"] == "d-2@example.se"


def test_a_lost_heal_batch_is_healed_for_everyone_it_stood_in_for(lab):
    a, b, _c = lab.laptops
    pid = add_participant(a)
    sync(a, lab.share)
    for phone in ("2", "3"):
        edit(a, Participant, pid, phone=phone)
        sync(a, lab.share)
    batch_path(lab, a, 2).unlink()
    sync(a, lab.share)  # heals 2 as batch 4
    batch_path(lab, a, 4).unlink()  # and that one is lost too, before b ever read it
    sync_until_quiet(lab)
    assert dump(a) == dump(b)
    assert all(sync(db, lab.share).problems() == [] for db in lab.laptops)
