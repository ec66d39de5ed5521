"""Migration 0004 (ESF reporting) on a database with data at 0003: every row kept, the hourly wage
columns gone, the new columns with their defaults, the synced project settings table empty."""

from __future__ import annotations

from sqlalchemy import inspect, text

from app import db as dbmod
from app.db import Database, current_revision, head_revision, table_counts


def test_upgrade_from_0003_keeps_rows_and_drops_the_wages(tmp_path):
    db = Database(tmp_path / "old.db", migrate=False)
    dbmod.upgrade(db, "0003")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO companies (id, name, org_number, municipality, industry, contact_name, contact_email, "
            "contact_phone, hourly_wage_cost, created_at, updated_at) VALUES ('c1', 'Verkstad AB', '556016-0680', "
            "'Kalmar', '', '', '', '', 350.5, '2026-01-01', '2026-01-01')"
        ))
        conn.execute(text(
            "INSERT INTO participants (id, first_name, last_name, personal_number, gender, email, phone, company_id, "
            "hourly_wage_cost, created_at, updated_at) VALUES ('p1', 'Åsa', 'Öberg', '197004051129', 'female', '', '', "
            "'c1', 300, '2026-01-01', '2026-01-01')"
        ))
    before = table_counts(db)
    dbmod.upgrade(db)
    assert current_revision(db) == head_revision()
    after = table_counts(db)
    assert {k: v for k, v in after.items() if k in before and k != "alembic_version"} == {
        k: v for k, v in before.items() if k != "alembic_version"}
    assert after["project_settings"] == 0
    columns = {t: {c["name"] for c in inspect(db.engine).get_columns(t)} for t in ("companies", "participants")}
    assert "hourly_wage_cost" not in columns["companies"] | columns["participants"]
    assert "organisation_type" in columns["companies"]
    assert {"protected", "project_start", "project_end", "exit_reason", "exit_status", "employment_terms",
            "employment_extent", "formal_qualification"} <= columns["participants"]
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT organisation_type FROM companies")).scalar_one() == ""
        row = conn.execute(text("SELECT first_name, company_id, protected, exit_reason FROM participants")).one()
        assert tuple(row) == ("Åsa", "c1", 0, None)
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    db.dispose()
