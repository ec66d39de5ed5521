"""month status: change stamps per month and the status's last computation of each month

month_stamps (month or "*", n) and month_checks (month, the stamps it was computed at, the latest
close it was compared with, today's hours and participants, the differences): both local to the laptop; an
empty month_checks only means the next status computes every month once.

Revision ID: 0008
Revises: 0007
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "month_stamps",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_month_stamps")),
    )
    op.create_table(
        "month_checks",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("stamp", sa.Integer(), nullable=False),
        sa.Column("every", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("close_id", sa.String(length=36), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("attended", sa.Text(), nullable=False),
        sa.Column("differences", sa.Text(), nullable=False),
        sa.Column("figure_changes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_month_checks")),
    )


def downgrade() -> None:
    op.drop_table("month_checks")
    op.drop_table("month_stamps")
