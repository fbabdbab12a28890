"""The personal-data pages in a real browser: 0 axe-core WCAG 2.1 A/AA violations at 390 px and
at desktop width (privacy notice, Mes données, the admin's erasure confirmation)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tests.web.browser import DESKTOP, PHONE, axe_violations, describe, log_in, screenshot
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
from tierslieu.models import AccessEvent

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[LiveServer, int]]:
    folder = tmp_path_factory.mktemp("browser-privacy")
    shutil.copyfile(sqlite_template, folder / "tierslieu.db")
    settings = make_settings(f"sqlite:///{folder / 'tierslieu.db'}", folder)
    with live_server(create_app(settings, migrate=False)) as live:
        load_trilport(live.runtime, always_open=None)
        member = create_user(live.runtime, "member", email="marie@trilport.test", name="Marie Dupont")
        create_user(live.runtime, "admin", email="admin@trilport.test", name="Anne Admin")
        with live.runtime.db.session(write=True) as session:
            for hours, decision in ((2, "granted"), (30, "denied")):
                session.add(
                    AccessEvent(
                        at=utcnow() - timedelta(hours=hours),
                        device_name="Porte principale",
                        member_id=member.id,
                        decision=decision,
                        reason="booking",
                    )
                )
            session.commit()
        yield live, member.id


def _check_both_widths(page: Page, name: str) -> None:
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert violations == [], f"{name} at {size['width']} px: {describe(violations)}"
    screenshot(page, name)


def test_privacy_pages_have_no_axe_violations(server: tuple[LiveServer, int], page: Page) -> None:
    live, member_id = server
    page.goto(f"{live.url}/confidentialite")
    _check_both_widths(page, "confidentialite")
    log_in(page, live.url, "marie@trilport.test", PASSWORD)
    page.goto(f"{live.url}/mes-donnees")
    log = page.get_by_role("table")
    expect(log).to_contain_text("Accordé")
    expect(log).to_contain_text("Refusé")
    _check_both_widths(page, "mes-donnees")
    page.context.clear_cookies()
    log_in(page, live.url, "admin@trilport.test", PASSWORD)
    page.goto(f"{live.url}/admin/membres/{member_id}/effacer")
    _check_both_widths(page, "admin-effacer")
    page.get_by_role("button", name="Effacer les données personnelles").click()  # unticked: the browser refuses
    page.get_by_label("Je confirme l'effacement des données personnelles de ce membre").check()
    page.get_by_role("button", name="Effacer les données personnelles").click()
    page.wait_for_url(f"**/admin/membres/{member_id}?message=efface")
    _check_both_widths(page, "admin-membre-efface")
