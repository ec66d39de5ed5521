"""A closed month is known on every laptop after sync; a change arriving by sync shows in the
status; two laptops closing the same month offline keep both versions (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select

from app.models import CourseSession, MonthCheck
from app.services import month_close as mc
from app.services.attendance import set_mark
from app.sync import sync
from tests.fixtures.report_month import build
from tests.sync.conftest import dump

LATER = date(2026, 6, 1)


def _sync(lab, *laptops):
    for db in laptops or lab.laptops:
        sync(db, lab.share, key_file=lab.key)


def _state(db, month="2026-03"):
    return {st.month: st for st in mc.month_status(db, today=LATER)}[month]


def test_a_close_reaches_every_laptop_and_a_change_by_sync_shows(lab):
    a, b, c = lab.laptops
    ids = build(a)
    _sync(lab)
    _sync(lab)
    mc.close_month(a, "2026-03", user="anna.k", today=LATER)
    mc.close_month(a, "2026-04", user="anna.k", today=LATER)
    _sync(lab, a, b, c)
    for db in (b, c):
        st = _state(db)
        assert (st.state, st.closed_by, st.versions) == (mc.CLOSED, "anna.k", 1)
        assert mc.versions(db, "2026-03")[0].hours == mc.versions(a, "2026-03")[0].hours

    # Bertil's laptop corrects Anna's mark of 2 March (present, 4.0 h -> absent) and syncs
    with b.read() as s:
        sve1 = s.execute(select(CourseSession.id).where(CourseSession.date == date(2026, 3, 2))).scalar_one()
    set_mark(b, sve1, ids["anna"], "absent")
    _sync(lab, b, a, c)
    for db in (a, b, c):
        march, april = _state(db), _state(db, "2026-04")
        assert march.state == mc.CHANGED and april.state == mc.CLOSED
        assert [(d.participant_id, d.before, d.after) for d in march.differences] == [(ids["anna"], Decimal("11.1"), Decimal("7.1"))]
        assert mc.months_to_resend(mc.month_status(db, today=LATER)) == ["2026-03", "2026-04"]
        # what each laptop's status kept from before the sync is not what it shows now
        kept = [st.as_json() for st in mc.month_status(db, today=LATER)]
        with db.write() as s:
            s.execute(delete(MonthCheck))
        assert kept == [st.as_json() for st in mc.month_status(db, today=LATER)]


def test_two_laptops_closing_the_same_month_offline_keep_both_versions(lab):
    a, b, c = lab.laptops
    ids = build(a)
    _sync(lab)
    _sync(lab)
    mc.close_month(a, "2026-03", user="anna.k", today=LATER)
    _sync(lab)
    with b.read() as s:
        sve1 = s.execute(select(CourseSession.id).where(CourseSession.date == date(2026, 3, 2))).scalar_one()
    # offline: A closes March again as it stands; B corrects a mark and closes March again
    mc.close_month(a, "2026-03", user="anna.k", today=LATER)
    set_mark(b, sve1, ids["anna"], "absent")
    mc.close_month(b, "2026-03", user="bertil.b", today=LATER)
    _sync(lab)
    _sync(lab)
    assert dump(a) == dump(b) == dump(c)
    seen = [[(v.version, v.closed_by, v.hours[ids["anna"]]) for v in mc.versions(db, "2026-03")] for db in (a, b, c)]
    assert seen[0] == seen[1] == seen[2]
    assert sorted(seen[0], key=lambda v: v[0]) == seen[0] and [v[0] for v in seen[0]] == [1, 2, 3]
    assert sorted((who, h) for _n, who, h in seen[0]) == [
        ("anna.k", Decimal("11.1")), ("anna.k", Decimal("11.1")), ("bertil.b", Decimal("7.1"))]
    # the status compares with the latest version (the same one on every laptop)
    states = {_state(db).state for db in (a, b, c)}
    assert len(states) == 1
    latest = mc.versions(a, "2026-03")[-1]
    assert states == {mc.CLOSED if latest.closed_by == "bertil.b" else mc.CHANGED}
