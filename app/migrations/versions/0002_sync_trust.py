"""sync you can leave running, safe on one laptop

Reserved batches (sync_out_batches; sync_changes.batch_seq becomes batch_id), forks, parked
changes, identity aliases, partners' acknowledgement state; the pair records' unique
constraints become partial unique indexes over live rows, with checks on their statuses.

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LIVE = sa.text("deleted_at IS NULL")
PAIRS = (  # table, old unique constraint, new index, columns
    ("need_courses", "uq_need_courses_need_id", "uq_need_courses_live", ["need_id", "course_id"]),
    ("enrollments", "uq_enrollments_course_id", "uq_enrollments_live", ["course_id", "participant_id"]),
    ("attendance", "uq_attendance_session_id", "uq_attendance_live", ["session_id", "participant_id"]),
    ("originals_received", "uq_originals_received_participant_id", "uq_originals_received_live", ["participant_id", "month"]),
)
CHECKS = {
    "enrollments": [("status", "status IN ('enrolled', 'waitlisted', 'completed', 'withdrawn')")],
    "attendance": [("status", "status IN ('present', 'late', 'excused', 'absent')"),
                   ("minutes", "minutes IS NULL OR minutes BETWEEN 0 AND 1440")],
}


def upgrade() -> None:
    op.create_table(
        "sync_out_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("body", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("reserved_at", sa.DateTime(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_out_batches")),
        sa.UniqueConstraint("device_id", "seq", name=op.f("uq_sync_out_batches_device_id")),
    )
    op.create_table(
        "sync_forks",
        sa.Column("old_device", sa.String(length=36), nullable=False),
        sa.Column("new_device", sa.String(length=36), nullable=False),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("upto_chain", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("old_device", "new_device", name=op.f("pk_sync_forks")),
    )
    op.create_table(
        "sync_parked",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("batch_seq", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.DateTime(), nullable=False),
        sa.Column("retried_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_parked")),
    )
    op.create_index(op.f("ix_sync_parked_record_id"), "sync_parked", ["record_id"])
    op.create_table(
        "sync_aliases",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("loser_id", sa.String(length=36), nullable=False),
        sa.Column("survivor_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "loser_id", name=op.f("pk_sync_aliases")),
    )
    op.create_index(op.f("ix_sync_aliases_survivor_id"), "sync_aliases", ["survivor_id"])
    with op.batch_alter_table("sync_peers") as b:
        b.add_column(sa.Column("head_seq", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("want", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("ended_by", sa.String(length=36), nullable=False, server_default=""))

    # batches published before this version: one reserved-and-written row each (the chain is
    # known only for the last one, from the settings it was kept in)
    conn = op.get_bind()
    device = conn.execute(sa.text("SELECT value FROM settings WHERE key = 'device_id'")).scalar()
    last_hash = conn.execute(sa.text("SELECT value FROM settings WHERE key = 'sync_prev_hash'")).scalar() or ""
    last_seq = int(conn.execute(sa.text("SELECT value FROM settings WHERE key = 'sync_seq'")).scalar() or 0)
    if device and last_seq:
        counts = dict(conn.execute(sa.text(
            "SELECT batch_seq, COUNT(*) FROM sync_changes WHERE batch_seq IS NOT NULL GROUP BY batch_seq")).all())
        for seq in range(1, last_seq + 1):
            conn.execute(sa.text(
                "INSERT INTO sync_out_batches (id, device_id, seq, header, body, chain, count, reserved_at, written_at) "
                "VALUES (:id, :d, :s, '{}', '', :c, :n, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": seq, "d": device, "s": seq, "c": last_hash if seq == last_seq else "", "n": counts.get(seq, 0)})
    op.drop_index("ix_sync_changes_batch_seq", "sync_changes")
    op.execute("ALTER TABLE sync_changes RENAME COLUMN batch_seq TO batch_id")  # SQLite 3.25+, PostgreSQL
    op.create_index(op.f("ix_sync_changes_batch_id"), "sync_changes", ["batch_id"])

    for table, old, new, cols in PAIRS:
        with op.batch_alter_table(table) as b:
            b.drop_constraint(old, type_="unique")
            for name, sql in CHECKS.get(table, ()):
                b.create_check_constraint(name, sa.text(sql))
        op.create_index(new, table, cols, unique=True, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    for table, old, new, cols in PAIRS:
        op.drop_index(new, table)
        with op.batch_alter_table(table) as b:
            for name, _sql in CHECKS.get(table, ()):
                b.drop_constraint(f"ck_{table}_{name}", type_="check")
            b.create_unique_constraint(old, cols)
    op.drop_index("ix_sync_changes_batch_id", "sync_changes")
    op.execute("ALTER TABLE sync_changes RENAME COLUMN batch_id TO batch_seq")
    op.create_index("ix_sync_changes_batch_seq", "sync_changes", ["batch_seq"])
    with op.batch_alter_table("sync_peers") as b:
        b.drop_column("ended_by")
        b.drop_column("want")
        b.drop_column("head_seq")
    op.drop_table("sync_aliases")
    op.drop_table("sync_parked")
    op.drop_table("sync_forks")
    op.drop_table("sync_out_batches")
