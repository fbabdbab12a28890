"""The browser is shared by every browser test module of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.web.browser import launch_browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    yield from launch_browser()
