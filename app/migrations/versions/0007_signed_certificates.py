"""signed certificates: English course texts, certificates of participation

courses.title_en, description_en, learning_outcomes_en (empty: not translated); certificates.kind
('course' for a kursintyg, 'participation' for a deltagarintyg; every certificate issued before
is a kursintyg).

Revision ID: 0007
Revises: 0006
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild): the rows and their foreign keys stay as they are
    op.add_column("courses", sa.Column("title_en", sa.String(length=300), nullable=False, server_default=""))
    op.add_column("courses", sa.Column("description_en", sa.Text(), nullable=False, server_default=""))
    op.add_column("courses", sa.Column("learning_outcomes_en", sa.Text(), nullable=False, server_default=""))
    op.add_column("certificates", sa.Column("kind", sa.String(length=20), nullable=False, server_default="course"))


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("courses") as batch:
        for column in ("learning_outcomes_en", "description_en", "title_en"):
            batch.drop_column(column)
