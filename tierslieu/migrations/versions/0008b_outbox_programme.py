"""outbox (programme): visits kept as counts when attendance is purged, last purged visit per person

Revision ID: 0008b_outbox_programme
Revises: 0008_outbox
Depends on: 0007_programme
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008b_outbox_programme"
down_revision: str | Sequence[str] | None = "0008_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0007_programme"


def upgrade() -> None:
    op.create_table(
        "session_visits",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("previous_visits", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "visit_trace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=24), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("who"),
    )


def downgrade() -> None:
    op.drop_table("visit_trace")
    op.drop_table("session_visits")
