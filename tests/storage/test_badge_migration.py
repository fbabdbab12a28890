"""0009_field: badges stored before issue 14 keep opening once stored in the canonical form."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from tierslieu.migrations import upgrade_database
from tierslieu.models import AccessEvent, Badge, Device


def _heads_but_field(url: str) -> None:
    for head in ("0002_booking", "0003_access", "0005_occupancy", "0006_printer_mqtt"):
        upgrade_database(url, head)


def test_stored_badges_become_canonical_and_keep_their_readers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _heads_but_field(url)
    engine = sa.create_engine(url)
    with Session(engine) as session:
        # The rows as the schema of the time had them (today's models have columns added since).
        insert_space = "INSERT INTO space (name, kind, description, rules) VALUES ('Bâtiment', 'building', '', '{}')"
        space_id = session.execute(sa.text(insert_space + " RETURNING id")).scalar_one()
        member_ids = [
            session.execute(
                sa.text(
                    "INSERT INTO member (name, email, roles, active, language, calendar_salt, created_at) "
                    "VALUES (:name, :email, '[\"member\"]', 1, 'fr', '', CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"name": f"m{n}", "email": f"m{n}@t.test"},
            ).scalar_one()
            for n in (1, 2)
        ]
        readers = {
            bridge: Device(name=bridge, kind="badge_reader", bridge=bridge, address=bridge, space_id=space_id)
            for bridge in ("tasmota", "esphome", "zigbee2mqtt")
        }
        session.add_all(readers.values())
        session.flush()
        badges = [
            ("008EC793", 0, None),  # hex from Tasmota's RDM6300 driver
            ("7748328", 0, "tasmota"),  # Tasmota Wiegand, decimal (odd count of digits)
            ("12345678", 1, "esphome"),  # ESPHome digits: ambiguous
            ("4242", 1, "zigbee2mqtt"),  # a Zigbee keypad PIN
            ("74103794", 1, None),  # never read, written by hand: hex
        ]
        for uid, owner, reader in badges:
            session.add(Badge(uid=uid, member_id=member_ids[owner], label="b"))
            if reader is not None:
                session.add(
                    AccessEvent(
                        device_id=readers[reader].id,
                        device_name=reader,
                        badge_uid=uid,
                        decision="granted",
                        reason="granted_role",
                    )
                )
        session.commit()
        ids = member_ids
    upgrade_database(url)
    with engine.connect() as db:
        stored = {uid: member for uid, member in db.execute(sa.text("SELECT uid, member_id FROM badge"))}
    engine.dispose()
    first, second = ids
    assert stored == {
        "8EC793": first,
        "763AE8": first,  # 7748328 as the reader now reports it
        "12345678": second,
        "BC614E": second,  # ...and its decimal reading, kept beside it
        "PIN:4242": second,
        "74103794": second,
    }
