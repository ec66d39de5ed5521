"""Migration 0010: the partial indexes the course list's counts read (course_overview), on both
back ends; a database at 0009 gets them, and going back to 0009 drops them."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from app.db import Database, alembic_config, current_revision

INDEXES = {
    "sessions": ("ix_sessions_course_live", ["course_id", "date"]),
    "enrollments": ("ix_enrollments_course_live", ["course_id", "status", "participant_id"]),
    "certificates": ("ix_certificates_course_live", ["course_id"]),
    "participants": ("ix_participants_deleted", ["id"]),
}


def _indexes(db: Database) -> dict[str, list[str]]:
    found = {}
    inspector = inspect(db.engine)
    for table, (name, _columns) in INDEXES.items():
        for index in inspector.get_indexes(table):
            if index["name"] == name:
                found[table] = index["column_names"]
    return found


def test_a_fresh_database_has_the_course_list_indexes(db):
    assert _indexes(db) == {table: columns for table, (_name, columns) in INDEXES.items()}


def test_0010_adds_them_to_a_database_at_0009_and_its_downgrade_drops_them(db):
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009")
    assert _indexes(db) == {}
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0010")
    assert current_revision(db) == "0010"
    assert set(_indexes(db)) == set(INDEXES)
