"""Signed originals received per participant and month."""

from __future__ import annotations

from datetime import date

import pytest

from app.errors import NotFound, UserError
from app.services.originals import mark_original_received, missing_originals, originals_checklist, unmark
from tests.fixtures.report_month import TODAY, build


def test_missing_until_marked_and_again_after_unmark(db):
    ids = build(db)
    assert {r.participant_id for r in missing_originals(db, "2026-03", today=TODAY)} == {
        ids["anna"], ids["bertil"], ids["fatima"]}
    mark_original_received(db, ids["anna"], "2026-03", date(2026, 4, 10))
    mark_original_received(db, ids["fatima"], "2026-03", date(2026, 4, 10))
    missing = missing_originals(db, "2026-03", today=TODAY)
    assert [r.participant_id for r in missing] == [ids["bertil"]]
    assert missing[0].masked_personal_number == "19790101-****"  # masked in the window
    checklist = {r.participant_id: r for r in originals_checklist(db, "2026-03", today=TODAY)}
    assert checklist[ids["anna"]].received_on == date(2026, 4, 10)
    # marking again updates the date, never a second row; April is a different month
    mark_original_received(db, ids["anna"], "2026-03", date(2026, 4, 12))
    assert {r.participant_id: r.received_on for r in originals_checklist(db, "2026-03", today=TODAY)}[ids["anna"]] == date(2026, 4, 12)
    assert [r.participant_id for r in missing_originals(db, "2026-04", today=TODAY)] == [ids["anna"]]
    unmark(db, ids["anna"], "2026-03")
    assert len(missing_originals(db, "2026-03", today=TODAY)) == 2  # Anna and Bertil
    mark_original_received(db, ids["anna"], "2026-03", date(2026, 4, 13))  # the tombstoned row comes back
    assert len(missing_originals(db, "2026-03", today=TODAY)) == 1


def test_unknown_participant_and_bad_month(db):
    with pytest.raises(NotFound):
        mark_original_received(db, "no-such-id", "2026-03")
    with pytest.raises(UserError):
        missing_originals(db, "2026-3x")
