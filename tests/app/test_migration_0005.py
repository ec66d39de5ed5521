"""Migration 0005 (closed months): a database from before keeps its marks and originals; the
originals' signed hours are unknown (null), the closes' table and the marks' hours index exist."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, text

from app import db as dbmod
from app.db import Database, current_revision, head_revision


def test_0003_to_0005_keeps_rows_and_adds_the_close(tmp_path):
    db = Database(tmp_path / "old.db", migrate=False)
    try:
        dbmod.upgrade(db, "0003")
        pid = "a1000000-0000-4000-8000-000000000000"
        with db.engine.begin() as conn:  # the tables as 0003 has them (no ORM: it knows 0005)
            conn.execute(text("INSERT INTO participants (id, created_at, updated_at, first_name, last_name, personal_number, "
                              "gender, email, phone) VALUES (:id, '2026-03-01', '2026-03-01', 'Åsa', 'Lind', '198507142386', '', '', '')"),
                         {"id": pid})
            conn.execute(text("INSERT INTO originals_received (id, created_at, updated_at, participant_id, month, received_on) "
                              "VALUES ('o1', '2026-04-01', '2026-04-01', :id, '2026-03', '2026-04-01')"), {"id": pid})
        dbmod.upgrade(db)
        assert current_revision(db) == head_revision()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT participant_id, month, received_on, signed_hours FROM originals_received")).all()
            assert rows == [(pid, "2026-03", date(2026, 4, 1).isoformat(), None)]
            assert conn.execute(text("SELECT count(*) FROM month_closes")).scalar_one() == 0
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("attendance")}
        assert "ix_attendance_hours" in indexes
    finally:
        db.dispose()
