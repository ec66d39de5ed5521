"""Migration 0009 (record versions and writers): a database from before keeps its records, each
at version 1 with no writer known; the first save afterwards moves the version on and names its
writer."""

from __future__ import annotations

import getpass

from sqlalchemy import text

from app import db as dbmod
from app.db import Database, current_revision, head_revision
from app.services.companies import CompanyData, get_company, update_company


def test_0007_to_0009_keeps_the_records_at_version_1(tmp_path):
    db = Database(tmp_path / "old.db", migrate=False)
    try:
        dbmod.upgrade(db, "0007")
        cid = "c1000000-0000-4000-8000-000000000000"
        with db.engine.begin() as conn:  # the table as 0007 has it (no ORM: it knows 0009)
            conn.execute(text("INSERT INTO companies (id, created_at, updated_at, name, org_number, municipality, industry, "
                              "contact_name, contact_email, contact_phone, organisation_type) VALUES (:id, '2026-03-01', "
                              "'2026-03-01', 'Verkstad AB', '5560360793', '', '', '', '', '', '')"), {"id": cid})
        dbmod.upgrade(db)
        assert current_revision(db) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, version, changed_by FROM companies")).all() == [("Verkstad AB", 1, "")]
        update_company(db, cid, CompanyData(name="Verkstad Nord AB", org_number="556036-0793"), version=1)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, version, changed_by FROM companies")).all() == [
                ("Verkstad Nord AB", 2, getpass.getuser())]
        assert get_company(db, cid).version == 2
    finally:
        db.dispose()
