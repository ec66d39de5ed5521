"""indexes for the course list's counts

course_overview counts each course's sessions, enrollments and certificates over every row of
those tables; these partial indexes over the live rows hold what it reads (the course, the date,
the status), so a server reads them in order without visiting the rows, and the anti-join on
deleted participants reads the few tombstones only.

Revision ID: 0010
Revises: 0009
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LIVE = "deleted_at IS NULL"
# name, table, columns, where (SQLite), where (PostgreSQL)
INDEXES = (
    ("ix_sessions_course_live", "sessions", ["course_id", "date"],
     f"{LIVE} AND cancelled IS 0", f"{LIVE} AND cancelled IS false"),
    ("ix_enrollments_course_live", "enrollments", ["course_id", "status", "participant_id"], LIVE, LIVE),
    ("ix_certificates_course_live", "certificates", ["course_id"], f"{LIVE} AND revoked_on IS NULL",
     f"{LIVE} AND revoked_on IS NULL"),
    ("ix_participants_deleted", "participants", ["id"], "deleted_at IS NOT NULL", "deleted_at IS NOT NULL"),
)


def upgrade() -> None:
    for name, table, columns, lite, pg in INDEXES:
        op.create_index(name, table, columns, sqlite_where=sa.text(lite), postgresql_where=sa.text(pg))


def downgrade() -> None:
    for name, table, _columns, _lite, _pg in INDEXES:
        op.drop_index(name, table_name=table)
