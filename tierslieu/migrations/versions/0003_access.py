"""access: audit log of door and badge decisions, staff door overrides

Revision ID: 0003_access
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_access"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("access",)
depends_on: str | Sequence[str] | None = "0002_booking"

# The audit log is append-only: the database itself refuses to change or remove a line.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER access_event_no_update BEFORE UPDATE ON access_event "
    "BEGIN SELECT RAISE(ABORT, 'access_event is append-only'); END",
    "CREATE TRIGGER access_event_no_delete BEFORE DELETE ON access_event "
    "BEGIN SELECT RAISE(ABORT, 'access_event is append-only'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE FUNCTION access_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'access_event is append-only' USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE TRIGGER access_event_no_change BEFORE UPDATE OR DELETE ON access_event "
    "FOR EACH ROW EXECUTE FUNCTION access_event_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "access_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=120), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("badge_uid", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_event_at", "access_event", ["at"])
    op.create_index("ix_access_event_space_at", "access_event", ["space_id", "at"])
    op.create_index("ix_access_event_member_at", "access_event", ["member_id", "at"])
    op.create_index("ix_access_event_device_at", "access_event", ["device_id", "at"])
    op.create_table(
        "door_override",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_by"], ["member.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("device_id"),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRES_TRIGGERS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("door_override")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_event_no_change ON access_event")
        op.execute("DROP FUNCTION IF EXISTS access_event_append_only()")
    op.drop_index("ix_access_event_device_at", table_name="access_event")
    op.drop_index("ix_access_event_member_at", table_name="access_event")
    op.drop_index("ix_access_event_space_at", table_name="access_event")
    op.drop_index("ix_access_event_at", table_name="access_event")
    op.drop_table("access_event")
