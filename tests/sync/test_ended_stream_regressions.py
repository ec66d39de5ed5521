"""Regression of the trust property (tests/sync/test_property_trust.py): a partner that took a
copy's fork for the end of the original's stream.

A laptop was copied; the copy forked to a new identity while the original went on writing under
the old one. A partner whose next batch of the old identity was damaged on the share, with no heal
there, counted the stream as ended by the fork and never asked for the batch again, so the
original never republished it: that partner, and the copy, missed the original's records for good
with no problem reported. An ended stream's missing batch is now asked for all the same.

The saved Hypothesis example is replayed with seeded UUIDs, as in test_heal_regressions.py (seeds
1, 4, 6 and 7 failed before the fix)."""

from __future__ import annotations

import pytest

from tests.sync.test_heal_regressions import replay

SAVED_EXAMPLE = [
    ("edit", 2, 47, "first_name", "y"), ("clone", 1), ("damage", 1), ("edit", 2, 58, "phone", "y"), ("sync", 0),
    ("killed_sync", 3, "before_rename"), ("replay", 57), ("sync", 0), ("create", 1), ("same_person", 0, 3),
    ("create", 0), ("clone", 2), ("replay", 21), ("create", 2), ("killed_sync", 1, "before_apply"),
    ("mark", 1, 10, "late"), ("write_during_sync", 0, 29, "v"), ("same_person", 1, 0), ("mark", 2, 39, "absent"),
    ("edit", 1, 13, "first_name", "y"), ("damage", 44), ("write_during_sync", 3, 60, "u"),
]


@pytest.mark.parametrize("seed", ["1", "4"])
def test_saved_example_converges(seed, monkeypatch):
    replay(SAVED_EXAMPLE, seed, monkeypatch)
