"""The browser is shared by the tests of a browser test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.web.browser import DESKTOP, launch_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Stopped after its module: while Playwright's sync API runs, an asyncio loop is running in
    the thread, and a later test of the same worker calling asyncio.run() would fail."""
    yield from launch_browser()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A French desktop tab of its own (a module may define its own ``page``)."""
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP)
    tab = context.new_page()
    yield tab
    context.close()
