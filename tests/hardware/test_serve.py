"""`tierslieu serve` for real, with no broker configured: the embedded (locked-down) broker
carries a badge scan from the reader's own account to the access controller and the door's
unlock command back out to the door's account."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from tests.cli.test_cli import env as env  # the fixture
from tests.support.mqtt import Inbox, client
from tests.support.serve import tierslieu_command, tierslieu_process
from tests.support.site import TRILPORT
from tierslieu.models import Badge, Member
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

STAFF_UID = "5AFF0001"


def _give_badge(data_dir: Path) -> None:
    runtime = Runtime.create(Settings(data_dir=data_dir, run_background=False))
    try:
        with runtime.db.session(write=True) as session:
            staff = session.exec(select(Member).where(Member.email == "staff@trilport.fr")).one()
            session.add(Badge(uid=STAFF_UID, member_id=staff.id))
            session.commit()
    finally:
        runtime.stop()


def _healthy(url: str) -> bool:
    return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200


def test_serve_with_embedded_broker_opens_the_entrance_for_staff(env: dict[str, str]) -> None:
    data_dir = Path(env["TIERSLIEU_DATA_DIR"])
    tierslieu_command(env, "site", "load", str(TRILPORT))
    tierslieu_command(
        env, "users", "create", "--email", "staff@trilport.fr", "--password", "motdepasse-staff", "--role", "staff"
    )
    _give_badge(data_dir)
    url_file = data_dir / "mqtt" / "url"
    with tierslieu_process(env, "serve", ready=lambda url: url_file.exists() and _healthy(url)):
        broker_url = url_file.read_text().strip()
        assert broker_url.startswith("mqtt://127.0.0.1:")
        passwords = json.loads((data_dir / "mqtt" / "credentials.json").read_text())

        def account(user: str) -> str:
            return broker_url.replace("mqtt://", f"mqtt://{user}:{quote(passwords[user], safe='')}@")

        door = client(account("shelly_gen2-shellyplus1-entree"), "door")
        inbox = Inbox()
        door.subscribe("shellyplus1-entree/rpc", inbox, 1)
        door.start()
        assert door.wait_connected(10)  # connected means our subscription is acknowledged
        reader = client(account("esphome-entree-lecteur"), "reader")
        reader.start()
        assert reader.wait_connected(10)
        reader.publish("entree-lecteur/text_sensor/badge/state", STAFF_UID.encode())
        assert inbox.wait_for(lambda messages: any(b'"toggle_after":5' in p for _, p, _ in messages), timeout=20)
        reader.stop(timeout=2)
        door.stop(timeout=2)
    assert not url_file.exists()  # the broker said goodbye
