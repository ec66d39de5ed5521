"""record versions and writers

Every synced record gets `version` (1 when created, moved on by every UPDATE: a form that opened
version n and finds another refuses to overwrite, app/concurrency.py) and `changed_by` (who wrote
it last: the database role on PostgreSQL, the laptop's user name on SQLite; '' = before 0009, or
loaded from a sync snapshot). Both stay on this database: sync does not carry them.

Revision ID: 0009
Revises: 0007
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# the synced record tables of 0007 (app.models.SYNCED_MODELS then; not read from the models)
TABLES = (
    "providers", "companies", "participants", "courses", "needs", "need_courses", "sessions", "enrollments",
    "attendance", "certificates", "originals_received", "project_settings", "month_closes", "erasures",
)


def upgrade() -> None:
    # plain ADD COLUMN with a constant default: no table rebuild, instant on PostgreSQL
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
        op.add_column(table, sa.Column("changed_by", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("changed_by")
            batch.drop_column("version")
