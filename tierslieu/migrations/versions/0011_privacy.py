"""privacy: access-log retention (daily counts, purge marker recognised by the append-only triggers)

Revision ID: 0011_privacy
Revises: 0003_access

Why a marker row rather than a session variable or a ``SECURITY DEFINER`` function: it is the
one mechanism that works the same on SQLite (no variables, no functions) and PostgreSQL. The
purge inserts ``access_event_purge(cutoff)``, deletes, and removes the marker in one
transaction; an uncommitted row is invisible to every other transaction on both databases, so
no other writer can ever delete a line, and even the purge can delete only lines older than
its cutoff. UPDATE stays refused for everyone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_privacy"
down_revision: str | Sequence[str] | None = "0003_access"
branch_labels: str | Sequence[str] | None = ("privacy",)
depends_on: str | Sequence[str] | None = None

_REFUSE = "SELECT RAISE(ABORT, 'access_event is append-only')"
_SQLITE_UP = [
    "DROP TRIGGER access_event_no_delete",
    "CREATE TRIGGER access_event_no_delete BEFORE DELETE ON access_event "
    "WHEN NOT EXISTS (SELECT 1 FROM access_event_purge WHERE OLD.at < access_event_purge.cutoff) "
    f"BEGIN {_REFUSE}; END",
]
_SQLITE_DOWN = [
    "DROP TRIGGER access_event_no_delete",
    f"CREATE TRIGGER access_event_no_delete BEFORE DELETE ON access_event BEGIN {_REFUSE}; END",
]
_POSTGRES_UP = [
    "CREATE OR REPLACE FUNCTION access_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM access_event_purge p WHERE OLD.at < p.cutoff) THEN "
    "RETURN OLD; END IF; "
    "RAISE EXCEPTION 'access_event is append-only' USING ERRCODE = 'restrict_violation'; END $$",
]
_POSTGRES_DOWN = [
    "CREATE OR REPLACE FUNCTION access_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'access_event is append-only' USING ERRCODE = 'restrict_violation'; END $$",
]


def _run(sqlite: list[str], postgres: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    for statement in sqlite if dialect == "sqlite" else postgres if dialect == "postgresql" else []:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "access_daily_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=120), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_daily_count_day", "access_daily_count", ["day"])
    op.create_table(
        "access_event_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _run(_SQLITE_UP, _POSTGRES_UP)


def downgrade() -> None:
    _run(_SQLITE_DOWN, _POSTGRES_DOWN)
    op.drop_table("access_event_purge")
    op.drop_index("ix_access_daily_count_day", table_name="access_daily_count")
    op.drop_table("access_daily_count")
