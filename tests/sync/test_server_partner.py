"""A PostgreSQL database as a partner of the folder sync: a laptop's SQLite keeps a value longer
than its column (SQLite ignores VARCHAR(n)); the server refuses it. That one record is parked,
the rest of the batch goes in, and the stream goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import Database
from app.models import Company
from app.sync import sync
from app.sync.identity import parked_changes
from tests.sync.conftest import add_company

pytestmark = pytest.mark.postgresql_only


def test_a_too_long_value_from_a_laptop_is_parked_and_the_rest_goes_into_the_server(lab, pg_database_url):
    laptop = lab.laptops[0]
    # written past the services' validation (as an older version could have it): SQLite keeps it
    with laptop.write() as s:
        row = Company(name="Lång AB", org_number="5560000001", contact_phone="0" * 80)
        s.add(row)
        s.flush()
        long_id = row.id
    add_company(laptop, name="Kort AB", org="5560000019")
    sync(laptop, lab.share)

    server = Database(pg_database_url)
    try:
        report = sync(server, lab.share)
        with server.read() as s:
            names = set(s.execute(select(Company.name)).scalars())
            parked = parked_changes(s)
        assert "Kort AB" in names
        assert "Lång AB" not in names
        assert any(p.record_id == long_id for p in parked)
        assert not [p for p in report.partners if p.state == "stopped"]
        # the next sync does not stop either
        sync(server, lab.share)
    finally:
        server.dispose()


def test_a_value_the_server_refuses_past_validation_is_parked_not_a_stopped_stream(lab, pg_database_url, monkeypatch):
    """The database's own refusal (DataError) is the last line: with the merge's validation out of
    the way, the server's VARCHAR(n) refuses the value, and the engine parks that record as it
    does a unique or foreign-key refusal."""
    import app.sync.merge as merge

    laptop = lab.laptops[0]
    with laptop.write() as s:
        row = Company(name="Lång AB", org_number="5560000001", contact_phone="0" * 80)
        s.add(row)
        s.flush()
        long_id = row.id
    add_company(laptop, name="Kort AB", org="5560000019")
    sync(laptop, lab.share)

    monkeypatch.setattr(merge, "_invalid_fields", lambda table, fields, checked: [])
    server = Database(pg_database_url)
    try:
        report = sync(server, lab.share)
        with server.read() as s:
            names = set(s.execute(select(Company.name)).scalars())
            parked = {p.record_id: p for p in parked_changes(s)}
        assert names == {"Kort AB"}
        assert long_id in parked
        assert not [p for p in report.partners if p.state == "stopped"]
    finally:
        server.dispose()
