"""one identity, one live record

Live records that share an identity (a participant's personnummer, a company's organisation
number, an enrollment's course and participant, ...) are merged first, by the same rule sync uses
(app/sync/identity.py: the smaller id survives, references move, the loser is tombstoned); then
partial unique indexes keep one live participant per personnummer and one live company per
organisation number; small partial indexes over the tombstoned pair rows serve sync's identity
lookups.

Revision ID: 0003
Revises: 0002
"""
from contextlib import contextmanager
from typing import Sequence, Union

from alembic import op
from sqlalchemy.orm import Session

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (  # (table, index, column, SQLite condition, PostgreSQL condition), as app/models.py declares them
    ("companies", "uq_companies_org_number_live", "org_number",
     "deleted_at IS NULL AND org_number != ''", "deleted_at IS NULL AND org_number != ''"),
    ("participants", "uq_participants_personal_number_live", "personal_number",
     "deleted_at IS NULL AND personal_number != '' AND personal_number NOT GLOB '*[A-Za-z]*'",
     "deleted_at IS NULL AND personal_number != '' AND personal_number !~ '[A-Za-z]'"),
)

DELETED_PAIRS = (  # tombstoned pair rows, for sync's identity lookups (few rows: cheap)
    ("need_courses", ["need_id", "course_id"]),
    ("enrollments", ["course_id", "participant_id"]),
    ("attendance", ["session_id", "participant_id"]),
    ("originals_received", ["participant_id", "month"]),
)


@contextmanager
def _fields_of_this_schema(conn):
    """The merge reads and writes the fields sync knows today (app.sync.capture.FIELDS); while it
    runs here, only those this schema already has (later migrations add more columns)."""
    import sqlalchemy as sa

    from app.sync import capture

    saved = {t: capture.FIELDS[t] for t in capture.FIELDS}
    # and the columns' own defaults (0009's version, changed_by) only for columns already there
    defaults = {}
    insp = sa.inspect(conn)
    try:
        for t in saved:
            present = {c["name"] for c in insp.get_columns(t)} if insp.has_table(t) else set()
            capture.FIELDS[t] = tuple(f for f in saved[t] if f in present)
            capture.FIELDS_SET[t] = frozenset(capture.FIELDS[t])
            for column in capture.MODELS_BY_TABLE[t].__table__.columns:
                if column.name not in present and (column.default is not None or column.onupdate is not None):
                    defaults[column] = (column.default, column.onupdate)
                    column.default = column.onupdate = None
        yield
    finally:
        for t, f in saved.items():
            capture.FIELDS[t] = f
            capture.FIELDS_SET[t] = frozenset(f)
        for column, (default, onupdate) in defaults.items():
            column.default, column.onupdate = default, onupdate


def upgrade() -> None:
    import sqlalchemy as sa

    from app.sync.identity import merge_duplicates

    # statements compiled without today's later columns must not be cached for later use
    conn = op.get_bind().execution_options(compiled_cache=None)
    session = Session(bind=conn)
    with _fields_of_this_schema(conn):
        merge_duplicates(session)
        session.flush()
    for table, name, column, lite, pg in INDEXES:
        op.create_index(name, table, [column], unique=True, sqlite_where=sa.text(lite), postgresql_where=sa.text(pg))
    gone = sa.text("deleted_at IS NOT NULL")
    for table, cols in DELETED_PAIRS:
        op.create_index(f"ix_{table}_deleted", table, cols, sqlite_where=gone, postgresql_where=gone)


def downgrade() -> None:
    for table, _cols in DELETED_PAIRS:
        op.drop_index(f"ix_{table}_deleted", table)
    for table, name, _column, _lite, _pg in INDEXES:
        op.drop_index(name, table)
