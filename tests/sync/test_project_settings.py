"""The ESF project's settings decide the funder's figures, so they travel with sync: one record per
setting (its id from its key), the newest value wins, a concurrent edit is kept in the conflict list."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from app.services.settings import get_project_settings, get_settings, save_project_settings, set_setting
from app.sync import sync
from app.sync.status import list_conflicts
from tests.sync.conftest import dump


def test_project_settings_reach_every_laptop_and_a_concurrent_edit_is_a_conflict(lab):
    a, b, c = lab.laptops
    for db in lab.laptops:
        sync(db, lab.share, key_file=lab.key)
    set_setting(a, "esf.unit_cost", "291,47")
    set_setting(a, "esf.case_number", "2020/00123")
    set_setting(a, "report.rounding", "floor")  # the organisation's own setting stays on its laptop
    for db in (a, b, c):
        sync(db, lab.share)
    for db in (b, c):
        assert get_project_settings(db).unit_cost == Decimal("291.47")
        assert get_project_settings(db).case_number == "2020/00123"
        assert get_settings(db).hours_rounding == "exact"
    # offline, two laptops change the unit cost: one value on every laptop, the other in the conflict list
    save_project_settings(b, replace(get_project_settings(b), unit_cost=Decimal("300.00")))
    save_project_settings(c, replace(get_project_settings(c), unit_cost=Decimal("310.00")))
    for _ in range(2):
        for db in (a, b, c):
            sync(db, lab.share)
    values = {get_project_settings(db).unit_cost for db in (a, b, c)}
    assert len(values) == 1 and values <= {Decimal("300.00"), Decimal("310.00")}
    assert dump(a)["project_settings"] == dump(b)["project_settings"] == dump(c)["project_settings"]
    conflicts = [x for x in list_conflicts(a) if x.table == "project_settings"]
    assert len(conflicts) == 1
