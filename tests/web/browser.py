"""Driving the Debian Chromium with Playwright: one browser per test session, axe-core checks
and screenshots at phone and desktop sizes into ``test-output/screenshots/``."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.conftest import make_settings
from tests.support.server import LiveServer, live_server
from tierslieu.api import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1920, "height": 1080}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def launch_browser() -> Iterator[Browser]:
    """One Chromium for a module (see the ``browser`` fixture in conftest.py)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package `chromium` (scripts/install-test-programs)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def fresh_server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, name: str) -> Iterator[LiveServer]:
    """The real app under uvicorn on its own copy of the migrated SQLite template."""
    folder = tmp_path_factory.mktemp(name)
    shutil.copyfile(sqlite_template, folder / "tierslieu.db")
    settings = make_settings(f"sqlite:///{folder / 'tierslieu.db'}", folder)
    with live_server(create_app(settings, migrate=False)) as server:
        yield server


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations: list[dict[str, Any]] = result.response["violations"]
    return violations


WIDTHS: tuple[tuple[str, ViewportSize], ...] = (("telephone", PHONE), ("bureau", DESKTOP))


def axe_at_both_widths(page: Page) -> dict[str, list[dict[str, Any]]]:
    """axe-core's WCAG 2.1 A/AA violations at phone width (390 px) and at desktop width, by width
    label; the viewport is put back as it was."""
    original = page.viewport_size
    found = {}
    for label, size in WIDTHS:
        page.set_viewport_size(size)
        found[label] = axe_violations(page)
    if original:
        page.set_viewport_size(original)
    return found


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in violations
    )


def screenshot(page: Page, name: str) -> list[Path]:
    """The page at phone size and at desktop size (full height), named after the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    for label, size in WIDTHS:
        page.set_viewport_size(size)
        path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if original:
        page.set_viewport_size(original)
    return paths


def log_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r".*/reserver.*"))


AXE_RESULTS = SCREENSHOTS.parent / "axe"


def check_page(page: Page, name: str) -> None:
    """axe-core at 390 px and at desktop width (0 WCAG 2.1 A/AA violations at each), screenshots,
    and one line per page and width in ``test-output/axe/`` (the figures of the report)."""
    by_width = axe_at_both_widths(page)
    screenshot(page, name)
    AXE_RESULTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    (AXE_RESULTS / f"{slug}.txt").write_text(
        "".join(f"{name}\t{label}\t{len(found)}\n" for label, found in by_width.items()), encoding="utf-8"
    )
    failures = {label: describe(found) for label, found in by_width.items() if found}
    assert not failures, f"{name}: {failures}"
