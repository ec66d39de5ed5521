"""closed months and signed hours

A closed month's versions (month_closes); on each original received, the hours of the report that
was signed (originals_received.signed_hours); an index that covers the reading of a month's hours
from the live marks (ix_attendance_hours).

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "month_closes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by", sa.String(200), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("rounding", sa.String(10), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_closes")),
    )
    with op.batch_alter_table("month_closes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_month_closes_month"), ["month"], unique=False)
    with op.batch_alter_table("originals_received", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_hours", sa.Numeric(10, 2), nullable=True))
    live = sa.text("deleted_at IS NULL")
    op.create_index("ix_attendance_hours", "attendance", ["session_id", "status", "minutes", "participant_id"],
                    sqlite_where=live, postgresql_where=live)


def downgrade() -> None:
    op.drop_index("ix_attendance_hours", "attendance")
    with op.batch_alter_table("originals_received", schema=None) as batch_op:
        batch_op.drop_column("signed_hours")
    with op.batch_alter_table("month_closes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_month_closes_month"))
    op.drop_table("month_closes")
