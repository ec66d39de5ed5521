"""Migrations: a fresh database reaches head; a database with data keeps every row, even when
a migration recreates a parent table (the Alembic batch + foreign-key cascade trap)."""

import shutil
from datetime import date, time

import pytest
from sqlalchemy import inspect

from app import db as dbmod
from app.db import Database, alembic_config, current_revision, head_revision, table_counts
from app.models import Attendance, Company, Course, CourseSession, Enrollment, Participant


def test_fresh_database_is_at_head(db):
    assert current_revision(db) == head_revision()
    assert {"companies", "participants", "courses", "sessions", "attendance"} <= set(inspect(db.engine).get_table_names())


def test_the_known_head_is_the_scripts_head():
    from app.migrations import HEAD

    assert HEAD == head_revision()


@pytest.mark.sqlite_only  # SQLite's own settings
def test_sqlite_pragmas(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _fill(db: Database):
    with db.write() as s:
        company = Company(name="Verkstad AB", org_number="556036-0793")
        p = Participant(first_name="Åsa", last_name="Öberg", personal_number="198112189876", company=company)
        course = Course(code="SVETS1", title="Svets")
        sess = CourseSession(course=course, date=date(2026, 3, 2), start_time=time(8), end_time=time(12))
        s.add_all([company, p, course, sess])
        s.flush()
        s.add(Enrollment(course_id=course.id, participant_id=p.id))
        s.add(Attendance(session_id=sess.id, participant_id=p.id, status="present"))


BATCH_MIGRATION = '''
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    # recreates the parent table "courses": with foreign keys on, this would cascade
    with op.batch_alter_table("courses", recreate="always") as batch:
        batch.add_column(sa.Column("extra", sa.String(10), nullable=True))


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("extra")
'''


@pytest.mark.sqlite_only  # SQLite's batch mode recreates tables; PostgreSQL alters them in place
def test_migration_that_recreates_a_parent_table_keeps_every_row(tmp_path, db):
    _fill(db)
    before = table_counts(db)
    # a script folder with the real migrations plus one that recreates a parent table
    scripts = tmp_path / "migrations"
    shutil.copytree(dbmod.config.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_recreate_courses.py").write_text(BATCH_MIGRATION.format(head=head_revision()))
    cfg = alembic_config()
    cfg.set_main_option("script_location", str(scripts))
    dbmod.upgrade(db, cfg=cfg)
    assert current_revision(db) == "9999"
    after = table_counts(db)
    assert {k: v for k, v in after.items() if k != "alembic_version"} == {
        k: v for k, v in before.items() if k != "alembic_version"
    }
    assert after["attendance"] == 1 and after["enrollments"] == 1
    with db.engine.connect() as conn:
        assert "extra" in [c["name"] for c in inspect(conn).get_columns("courses")]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # a backup was taken before migrating
    backups = list(dbmod.config.backup_dir().glob("*before-migration-9999.db"))
    assert len(backups) == 1
    import sqlite3

    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("select count(*) from attendance").fetchone()[0] == 1


def test_reopening_a_migrated_database_changes_nothing(tmp_path):
    path = tmp_path / "a.db"
    first = Database(path)
    _fill(first)
    first.dispose()
    again = Database(path)
    assert table_counts(again)["participants"] == 1
    assert list(dbmod.config.backup_dir().glob("*.db")) == []


def test_0007_keeps_every_certificate_a_course_certificate(tmp_path):
    """A database at 0003 with a course and a certificate: after 0007 the certificate is a
    kursintyg and the course has empty English texts; nothing else changes."""
    import sqlalchemy as sa

    db = Database(tmp_path / "old.db", migrate=False)
    dbmod.upgrade(db, "0003")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO courses (id, code, title, description, learning_outcomes, location, teacher,"
            " min_attendance_percent, certificate_language, created_at, updated_at)"
            " VALUES ('c1', 'SVETS1', 'Svets', '', '', '', '', 80, 'sv', '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO participants (id, first_name, last_name, personal_number, gender, email, phone,"
            " created_at, updated_at) VALUES ('p1', 'Åsa', 'Öberg', '198112189876', '', '', '', '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO certificates (id, number, verification_code, course_id, participant_id, issued_on, language,"
            " revoke_reason, pdf_sha256, document, created_at, updated_at) VALUES ('x1', '2026-AAAA-0001',"
            " 'ABCD-EFGH-JKMN', 'c1', 'p1', '2026-03-01', 'sv', '', '', '', '2026-01-01', '2026-01-01')"))
    before = table_counts(db)
    dbmod.upgrade(db)
    assert current_revision(db) == head_revision()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind FROM certificates")).scalar_one() == "course"
        assert conn.execute(sa.text("SELECT title_en || description_en || learning_outcomes_en FROM courses")).scalar_one() == ""
    assert {k: v for k, v in table_counts(db).items() if k in before and k != "alembic_version"} == {
        k: v for k, v in before.items() if k != "alembic_version"}
    db.dispose()
