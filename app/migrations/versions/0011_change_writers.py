"""who made each outgoing change

A change line now carries its writer (the laptop's user name, or the database role on a server),
so the partner that applies it records that person in `changed_by`, not the sync agent or its own
user. Changes captured before this revision have none ("").

Revision ID: 0011
Revises: 0010
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sync_changes") as batch:
        batch.add_column(sa.Column("changed_by", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("sync_changes") as batch:
        batch.drop_column("changed_by")
