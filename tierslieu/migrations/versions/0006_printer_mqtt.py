"""printer mqtt: the OctoPrint-MQTT plugin's base topic, per printer (optional)

Revision ID: 0006_printer_mqtt
Revises: 0004_printing
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_printer_mqtt"
down_revision: str | Sequence[str] | None = "0004_printing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: a plain ALTER TABLE ADD COLUMN on SQLite and PostgreSQL alike.
    op.add_column("printer", sa.Column("mqtt_base_topic", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("printer") as batch_op:  # SQLite before 3.35 cannot drop columns
        batch_op.drop_column("mqtt_base_topic")
