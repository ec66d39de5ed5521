"""ESF reporting: organisation types, participants' project data, protected identity, synced project
settings; the hourly wage fields go

Co-financing is hours x the project's unit cost (ESF PO1, Lönegrupp 1), so an individual's wage is
personal data the funder's method does not need: participants.hourly_wage_cost and
companies.hourly_wage_cost are dropped. Self-contained (no ORM models): the lead re-chains it.

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PARTICIPANT_COLUMNS = (
    ("protected", sa.Boolean(), sa.false()),
    ("project_start", sa.Date(), None),
    ("project_end", sa.Date(), None),
    ("exit_reason", sa.Integer(), None),
    ("formal_qualification", sa.Boolean(), None),
    ("exit_status", sa.Integer(), None),
    ("employment_terms", sa.Integer(), None),
    ("employment_extent", sa.Integer(), None),
)


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("organisation_type", sa.String(20), nullable=False, server_default=""))
        batch.drop_column("hourly_wage_cost")
    with op.batch_alter_table("participants") as batch:
        for name, kind, default in PARTICIPANT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=default is None, server_default=default))
        batch.drop_column("hourly_wage_cost")
    op.create_table(
        "project_settings",
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_settings")),
    )


def downgrade() -> None:
    op.drop_table("project_settings")
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("hourly_wage_cost", sa.Numeric(10, 2), nullable=True))
        for name, _kind, _default in reversed(PARTICIPANT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("hourly_wage_cost", sa.Numeric(10, 2), nullable=True))
        batch.drop_column("organisation_type")
