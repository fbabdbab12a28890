"""Issue 11, finding 8: unconfirmed upload previews expire and are cleaned by the maintenance
worker; each member holds only a few (count and bytes), past which the answer says so."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AppHarness, _harness, make_settings
from tests.support.site import load_trilport
from tests.web.support import csrf_of, login
from tierslieu.errors import Conflict
from tierslieu.printing.previews import PreviewQuota, PreviewStore
from tierslieu.privacy.maintenance import MaintenanceScheduler
from tierslieu.services import members as member_service

GCODE = b";TIME:600\nG28\nG1 X1\n"


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[AppHarness]:
    settings = make_settings(sqlite_url, tmp_path, print_preview_max_count=2, print_preview_expiry_minutes=60)
    for harness in _harness(settings):
        load_trilport(harness.runtime)
        with harness.runtime.db.session(write=True) as session:
            animator = member_service.get_member(session, harness.users["animator"].id)
            member_service.grant_training(session, animator, "impression-3d", expires_on=None, granted_by=None)
            session.commit()
        login(harness.client, harness.users["animator"].email)
        yield harness


def _preview(site: AppHarness, name: str, data: bytes) -> tuple[int, str]:
    page = site.client.get("/fablab")
    printer_id = re.search(r'<option value="(\d+)">Imprimante 1', page.text).group(1)  # type: ignore[union-attr]
    answer = site.client.post(
        "/fablab/apercu",
        data={"csrf_token": csrf_of(page.text), "printer_id": printer_id},
        files={"file": (name, data, "text/plain")},
    )
    return answer.status_code, answer.text


def _confirm(site: AppHarness, preview_html: str) -> int:
    ticket = re.search(r'name="ticket" value="([^"]+)"', preview_html).group(1)  # type: ignore[union-attr]
    data = {"csrf_token": csrf_of(preview_html), "ticket": ticket}
    status: int = site.client.post("/fablab/confirmer", data=data, follow_redirects=False).status_code
    return status


def _held(site: AppHarness) -> list[Path]:
    return PreviewStore(site.runtime.settings.upload_dir).held(site.users["animator"].id)


def test_a_confirmed_preview_leaves_the_preview_folder(site: AppHarness) -> None:
    status, html = _preview(site, "a.gcode", GCODE)
    assert status == 200 and len(_held(site)) == 1
    assert _confirm(site, html) == 303
    assert _held(site) == []


def test_previews_past_the_quota_are_refused_with_a_clear_message(site: AppHarness) -> None:
    for i in range(2):
        assert _preview(site, f"{i}.gcode", GCODE + f"; {i}\n".encode())[0] == 200
    status, html = _preview(site, "trop.gcode", GCODE + b"; 3\n")
    assert status == 409 and "trop d&#39;aperçus en attente" in html and 'role="alert"' in html
    assert len(_held(site)) == 2
    # The same file previewed again takes no more room.
    assert _preview(site, "0.gcode", GCODE + b"; 0\n")[0] == 200


def test_the_byte_quota_counts_too(tmp_path: Path) -> None:
    store = PreviewStore(tmp_path)
    quota = PreviewQuota(max_count=10, max_bytes=100)
    store.save(1, b"x" * 60, quota)
    with pytest.raises(Conflict) as refused:
        store.save(1, b"y" * 60, quota)
    assert refused.value.code == "preview_quota_exceeded"
    store.save(2, b"y" * 60, quota)  # another member's quota is their own


def test_expired_previews_are_cleaned_and_cannot_be_confirmed(site: AppHarness) -> None:
    _status, stale_html = _preview(site, "vieux.gcode", GCODE)
    _, fresh_html = _preview(site, "neuf.gcode", GCODE + b"; neuf\n")
    stale = next(p for p in _held(site) if p.read_bytes() == GCODE)
    hour_ago = time.time() - 61 * 60
    os.utime(stale, (hour_ago, hour_ago))
    removed = MaintenanceScheduler(site.runtime).clean_previews()
    assert removed == 1 and not stale.exists() and len(_held(site)) == 1
    page = site.client.post(
        "/fablab/confirmer",
        data={
            "csrf_token": csrf_of(stale_html),
            "ticket": re.search(r'name="ticket" value="([^"]+)"', stale_html).group(1),  # type: ignore[union-attr]
        },
    )
    assert page.status_code == 422 and "expiré" in page.text
    assert _confirm(site, fresh_html) == 303
