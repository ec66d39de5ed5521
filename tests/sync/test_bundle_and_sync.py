"""A JSON bundle loaded on a laptop reaches its partners: before the laptop's first publish the
new records are logged once by the baseline (not record by record during the import); after it,
the import itself logs them."""

from __future__ import annotations

from sqlalchemy import func, select

from app.interchange.bundle import export_bundle, import_bundle
from app.models import SyncChange
from app.sync import sync
from tests.sync.conftest import add_company, add_participant, dump, fresh_db


def _changes(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(SyncChange)).scalar_one()


def _bundle_with_people(tmp_path, name, pnrs):
    source = fresh_db(tmp_path / f"{name}.db")
    # each bundle its own company: a second company with the same organisation number is refused
    org = {"Ek": "5560360793"}.get(name, "5560160680")
    company = add_company(source, name=f"{name} AB", org=org)
    for pnr in pnrs:
        add_participant(source, first="Åsa", last=name, pnr=pnr, email="", company_id=company)
    export_bundle(source, tmp_path / f"{name}.json")
    source.dispose()
    return tmp_path / f"{name}.json"


def test_a_bundle_loaded_before_and_after_the_first_publish_reaches_the_partner(lab, tmp_path):
    a, b = lab.laptops[0], lab.laptops[1]
    first = _bundle_with_people(tmp_path, "Ek", ["198112189876", "196709199530"])
    import_bundle(a, first)
    assert _changes(a) == 0  # left to the baseline of the first publish
    sync(a, lab.share)
    sync(b, lab.share)
    assert dump(b)["participants"] == dump(a)["participants"] and len(dump(b)["participants"]) == 2

    second = _bundle_with_people(tmp_path, "Ask", ["190001019801"])
    import_bundle(a, second)
    assert _changes(a) > 0  # after the first publish, the import logs what it adds
    sync(a, lab.share)
    sync(b, lab.share)
    assert dump(b) == dump(a)
    assert len(dump(b)["participants"]) == 3 and len(dump(b)["companies"]) == 2
