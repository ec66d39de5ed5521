"""Regression of the trust property (tests/sync/test_property_trust.py): a copied laptop that kept
a partner's records out for ever.

The original laptop's batch 1 was lost from the shared folder, so its copy (same identity) wrote
its own batch 1 under that number; the original went on with batch 2. The copy forked after its
own batch 1, took the original's batch 2 for a broken chain and ended that stream: the original's
batch 1 never reached it, and the laptops disagreed without a word. The copy now forks where the
two chains part (before its batch 1).

The saved Hypothesis example is replayed with seeded UUIDs, as in test_heal_regressions.py."""

from __future__ import annotations

import shutil

import pytest

from app.sync import sync
from app.sync.capture import open_app_database, state_of
from app.sync.engine import _current_device
from tests.sync.conftest import add_company, add_participant, dump
from tests.sync.test_heal_regressions import replay

SAVED_EXAMPLE = [
    ("clone", 2), ("sync", 2), ("write_during_sync", 0, 56, "v"), ("delete_file", 36), ("mark", 3, 0, "present"),
    ("damage", 27), ("clone", 1), ("replay", 44), ("create", 2), ("mark", 3, 57, "late"), ("sync", 2),
    ("reregister", 1, 58), ("same_company", 1, 3), ("delete_file", 38), ("sync", 3), ("mark", 0, 43, "absent"),
    ("damage", 13), ("sync", 0), ("mark", 3, 32, "present"), ("killed_sync", 0, "after_open"),
]


@pytest.mark.parametrize("seed", ["0", "1"])
def test_saved_example_converges(seed, monkeypatch):
    replay(SAVED_EXAMPLE, seed, monkeypatch)


def test_copy_that_wrote_a_lost_batch_number_again_still_gets_the_originals_batches(lab):
    a, b, _c = lab.laptops
    sync(a, lab.share)
    a.dispose()
    shutil.copyfile(a.path, lab.root / "copy.db")
    copy = open_app_database(lab.root / "copy.db")
    lab.laptops.append(copy)
    own = lab.share / "devices" / state_of(a).device
    add_participant(a, first="Mira")
    sync(a, lab.share)
    (own / "00000001.batch").unlink()  # lost from the folder
    add_company(copy)
    sync(copy, lab.share)  # writes its own batch 1 under the same number, unaware of a
    data = bytearray((own / "00000001.batch").read_bytes())
    data[len(data) // 2] ^= 0x5A  # and that one is damaged: b asks for it again
    (own / "00000001.batch").write_bytes(bytes(data))

    for _round in range(4):
        reports = [sync(db, lab.share) for db in (b, a, copy)]
    assert all(r.problems() == [] for r in reports), [r.problems() for r in reports]
    assert dump(copy) == dump(a) == dump(b)
    assert [p["first_name"] for p in dump(copy)["participants"]] == ["Mira"] and len(dump(copy)["companies"]) == 1


def test_partner_that_applied_the_copys_batch_takes_the_originals_again(lab):
    """The copy's batch 1 is not damaged: a partner applies it as the original's. The original, at
    its next sync, finds its batch 1 file holding the copy's batch and forks; the partner ends with
    the original's records all the same (before, the stream just ended there)."""
    a, b, _c = lab.laptops
    sync(a, lab.share)
    a.dispose()
    shutil.copyfile(a.path, lab.root / "copy.db")
    copy = open_app_database(lab.root / "copy.db")
    lab.laptops.append(copy)
    own = lab.share / "devices" / state_of(a).device
    add_participant(a, first="Mira")
    sync(a, lab.share)
    (own / "00000001.batch").unlink()
    add_company(copy)
    sync(copy, lab.share)
    sync(b, lab.share)  # applies the copy's batch 1 as the original's
    add_participant(a, first="Nils", pnr="199001011239")

    sync(copy, lab.share)  # finds the original's batch 2 and forks before its own batch 1
    before = _current_device(a)
    sync(a, lab.share)
    # the original's batch 1 file holds the copy's batch: it goes on as a new identity and
    # publishes its records there (test_overwritten_batch_regressions.py); b takes them from it
    assert _current_device(a) != before
    sync(b, lab.share)
    for _round in range(3):
        reports = [sync(db, lab.share) for db in (a, b, copy)]
    assert all(r.problems() == [] for r in reports), [r.problems() for r in reports]
    assert dump(copy) == dump(a) == dump(b)
    assert sorted(p["first_name"] for p in dump(b)["participants"]) == ["Mira", "Nils"] and len(dump(b)["companies"]) == 1
