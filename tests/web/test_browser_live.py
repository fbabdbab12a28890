"""A staff member watches the occupancy page change, without reloading, when a presence sensor
publishes on the real Mosquitto broker (the full service runs: device hub, occupancy tracker)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD, create_user, make_settings
from tests.support.mosquitto import MosquittoServer
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tests.web.browser import DESKTOP, check_page, log_in
from tierslieu.api import create_app

pytest_plugins = ["tests.support.mosquitto"]
pytestmark = [pytest.mark.browser, pytest.mark.broker]


@pytest.fixture
def service(tmp_path: Path, sqlite_template: Path, mosquitto: MosquittoServer) -> Iterator[LiveServer]:
    shutil.copyfile(sqlite_template, tmp_path / "tierslieu.db")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'tierslieu.db'}",
        tmp_path,
        run_background=True,
        mqtt_url=mosquitto.url,
        mqtt_client_id="tierslieu-web-live",
        occupancy_debounce_seconds=0.05,
    )
    app = create_app(settings, migrate=False)
    # The site must exist before the device hub starts: load it into the copied database first.
    from tierslieu.runtime import Runtime

    seeding = Runtime.create(settings)
    load_trilport(seeding, always_open=None)
    create_user(seeding, "staff", email="sophie@trilport.test", name="Sophie Bernard")
    seeding.db.dispose()
    with live_server(app) as server:
        yield server


def _publish(url: str, topic: str, payload: dict[str, object]) -> None:
    host, port = re.match(r"mqtt://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="web-test-sensor")
    client.connect(host, int(port))
    client.loop_start()
    client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(timeout=5)
    client.loop_stop()
    client.disconnect()


def test_occupancy_updates_live_from_the_broker(
    service: LiveServer, browser: Browser, mosquitto: MosquittoServer
) -> None:
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP)
    page: Page = context.new_page()
    try:
        log_in(page, service.url, "sophie@trilport.test", PASSWORD)
        page.goto(f"{service.url}/occupation")
        fablab = page.locator("section.space-card", has=page.get_by_role("heading", name="FabLab", exact=True))
        expect(fablab).to_contain_text("vide")
        expect(page.locator("#etat-direct")).to_have_text("Mise à jour en direct activée.", timeout=10_000)
        check_page(page, "occupation-direct")
        page.evaluate("window.__notReloaded = true")

        _publish(mosquitto.url, "zigbee2mqtt/presence_fablab", {"occupancy": True, "battery": 90})

        expect(fablab).to_contain_text("occupé", timeout=15_000)
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        expect(page.locator("#annonces")).to_contain_text("FabLab")
    finally:
        context.close()
