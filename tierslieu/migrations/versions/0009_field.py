"""field: stored badge ids in the one canonical form (issue 14)

A tag is now stored as its number in hex over the fewest whole bytes (``008EC793`` ->
``8EC793``) and a keypad PIN as ``PIN:<digits>``. Before, readers' spellings were stored as
they came: hex from most drivers, but decimal digits from Tasmota's Wiegand driver and
ESPHome's RDM6300, and PINs from Zigbee keypads. Each stored id is converted with what the
access log says about the readers that read it, so every badge keeps opening:
- read by a Zigbee2MQTT keypad: a PIN;
- all digits, an odd count, read by a Tasmota or ESPHome reader: decimal (hex drivers print
  whole bytes);
- all digits, an even count, read by a Tasmota or ESPHome reader: ambiguous — kept as hex, and
  the decimal reading added as a second id of the same member (label says so);
- anything else: hex.
A converted id that another member already holds is left as it was (logged).

Revision ID: 0009_field
Revises: 0003_access
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_field"
down_revision: str | Sequence[str] | None = "0003_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_HEX_DIGITS = set("0123456789ABCDEF")
_DECIMAL_READERS = ("tasmota", "esphome")


def _from_number(number: int) -> str:
    digits = f"{number:X}"
    return digits.zfill(len(digits) + len(digits) % 2)


def _hex(uid: str) -> str | None:
    text = uid.strip().upper()
    if not text or len(text) > 32 or set(text) - _HEX_DIGITS:
        return None
    return _from_number(int(text, 16))


def _converted(uid: str, bridges: set[str]) -> tuple[str | None, str | None]:
    """(the canonical id, a second id to add) for one stored id."""
    if uid.startswith("PIN:"):
        return uid, None
    digits = uid.isdigit()
    if digits and "zigbee2mqtt" in bridges and len(uid) <= 12:
        return "PIN:" + uid, None
    if digits and bridges & set(_DECIMAL_READERS):
        decimal = _from_number(int(uid))
        if len(uid) % 2:
            return decimal, None
        return _hex(uid), decimal
    return _hex(uid), None


def upgrade() -> None:
    connection = op.get_bind()
    badge = sa.table(
        "badge",
        sa.column("id", sa.Integer),
        sa.column("uid", sa.String),
        sa.column("member_id", sa.Integer),
        sa.column("label", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    event = sa.table("access_event", sa.column("badge_uid", sa.String), sa.column("device_id", sa.Integer))
    device = sa.table("device", sa.column("id", sa.Integer), sa.column("bridge", sa.String))
    seen: dict[str, set[str]] = {}
    readers = sa.select(event.c.badge_uid, device.c.bridge).distinct().join(device, device.c.id == event.c.device_id)
    for uid, bridge in connection.execute(readers.where(event.c.badge_uid.is_not(None))):
        seen.setdefault(uid, set()).add(bridge)
    rows = list(connection.execute(sa.select(badge).order_by(badge.c.id)))
    holders = {row.uid: row.member_id for row in rows}
    for row in rows:
        canonical, alias = _converted(row.uid, seen.get(row.uid, set()))
        if canonical is None:
            log.warning("badge %s: not a badge id, left as it is", row.id)
            continue
        if canonical != row.uid:
            if canonical in holders and holders[canonical] != row.member_id:
                log.warning("badge %s: %s is another member's badge, left as it is", row.id, canonical)
                continue
            if canonical in holders:  # the same member already has it in canonical form
                connection.execute(sa.delete(badge).where(badge.c.id == row.id))
            else:
                connection.execute(sa.update(badge).where(badge.c.id == row.id).values(uid=canonical))
            holders.pop(row.uid, None)
            holders[canonical] = row.member_id
        if alias is not None and alias not in holders:
            connection.execute(
                sa.insert(badge).values(
                    uid=alias,
                    member_id=row.member_id,
                    label=f"{row.label} (lu en décimal)"[:120],
                    created_at=row.created_at,
                    revoked_at=row.revoked_at,
                )
            )
            holders[alias] = row.member_id


def downgrade() -> None:
    # The old spellings were the readers' own: nothing to convert back to.
    pass
