"""The browser is shared by every browser test module of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.web.browser import DESKTOP, launch_browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A French desktop tab of its own (a module may define its own ``page``)."""
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP)
    tab = context.new_page()
    yield tab
    context.close()
