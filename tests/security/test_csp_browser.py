"""The Content-Security-Policy blocks nothing of the web app's own (Chromium reports every
violation on the console): the pages of each role load without one (finding 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage

from tests.conftest import PASSWORD, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tests.web.browser import DESKTOP, launch_browser, log_in
from tierslieu.api import create_app
from tierslieu.runtime import Runtime

PAGES = ["/reserver", "/mes-reservations", "/fablab", "/occupation", "/admin", "/admin/membres", "/admin/espaces",
         "/admin/appareils", "/admin/validations", "/admin/rapports"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture
def service(sqlite_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(sqlite_url, tmp_path)
    seeding = Runtime.create(settings)
    load_trilport(seeding)
    create_user(seeding, "staff", email="sophie@trilport.test", name="Sophie Bernard")
    seeding.db.dispose()
    with live_server(create_app(settings, migrate=False)) as server:
        yield server


def test_no_page_trips_the_content_security_policy(service: LiveServer, browser: Browser) -> None:
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP)
    page = context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    try:
        log_in(page, service.url, "sophie@trilport.test", PASSWORD)
        for path in PAGES:
            answer = page.goto(f"{service.url}{path}")
            assert answer is not None and answer.status == 200, path
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            page.wait_for_load_state("networkidle") if path != "/occupation" else page.wait_for_timeout(1500)
        # A page inlining a script would be caught: the check itself works.
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.ran=1\">')")
        page.wait_for_timeout(300)
        assert page.evaluate("window.ran === undefined")
    finally:
        context.close()
    assert [b for b in blocked if "onerror" not in b and "inline event handler" not in b] == []
