"""data protection: informed date, erasures (synced), erased record ids, audit log

Revision ID: 0006
Revises: 0005
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("informed_on", sa.Date(), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("participant_id", sa.String(36), nullable=False),
        sa.Column("erased_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("device", sa.String(36), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
    )
    op.create_index("ix_erasures_participant_id", "erasures", ["participant_id"])
    op.create_table(
        "gdpr_erased",
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("erasure_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "record_id", name="pk_gdpr_erased"),
    )
    op.create_table(
        "gdpr_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("device", sa.String(36), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gdpr_audit"),
    )


def downgrade() -> None:
    op.drop_table("gdpr_audit")
    op.drop_table("gdpr_erased")
    op.drop_index("ix_erasures_participant_id", "erasures")
    op.drop_table("erasures")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("informed_on")
