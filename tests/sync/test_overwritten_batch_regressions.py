"""Regression of the trust property (tests/sync/test_property_trust.py): a copy's batch overwritten
under the identity it shares with the original.

A laptop was copied (same identity). The copy published its batch 2; the file was lost from the
share, and the original wrote its own batch 2 into the free number. The copy never looked at its
written file again (a written batch was healed only when its number was missing), so it neither
forked nor republished: its records never reached anyone, it never got the original's, and
nothing was reported. A laptop now checks that its newest written batch still holds its own
content, and forks when another laptop's batch is there (a damaged file is healed as before).

The saved Hypothesis example is replayed with seeded UUIDs, as in test_heal_regressions.py (every
seed failed before the fix)."""

from __future__ import annotations

import pytest

from tests.sync.test_heal_regressions import replay

SAVED_EXAMPLE = [
    ("clone", 0), ("sync", 3), ("mark", 0, 37, "present"), ("same_company", 3, 0), ("sync", 3), ("clone", 2),
    ("edit", 1, 50, "email", "y"), ("mark", 1, 11, "absent"), ("clone", 1), ("delete_file", 59),
    ("same_company", 2, 1), ("reregister", 1, 38),
]


@pytest.mark.parametrize("seed", ["0", "1"])
def test_saved_example_converges(seed, monkeypatch):
    replay(SAVED_EXAMPLE, seed, monkeypatch)
