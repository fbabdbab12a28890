"""`tierslieu serve` for real, with no broker configured: the embedded broker carries a badge
scan to the access controller and the door's unlock command back out."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from tests.cli.test_cli import ROOT, TRILPORT, run
from tests.cli.test_cli import env as env  # the fixture
from tests.hardware.fakes import Inbox, client
from tests.support.postgres import free_port
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
        runtime.db.dispose()


def test_serve_with_embedded_broker_opens_the_entrance_for_staff(env: dict[str, str]) -> None:
    data_dir = Path(env["TIERSLIEU_DATA_DIR"])
    assert run(env, "site", "load", str(TRILPORT)).returncode == 0
    created = run(
        env, "users", "create", "--email", "staff@trilport.fr", "--password", "motdepasse-staff", "--role", "staff"
    )
    assert created.returncode == 0, created.stderr
    _give_badge(data_dir)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tierslieu", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url_file = data_dir / "mqtt" / "url"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if url_file.exists() and httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        broker_url = url_file.read_text().strip()
        assert broker_url.startswith("mqtt://127.0.0.1:")
        observer = client(broker_url, "observer")
        inbox = Inbox()
        observer.add_handler(inbox)
        observer.subscribe("shellyplus1-entree/rpc", 1)
        observer.start()
        assert observer.wait_connected(10)
        time.sleep(0.5)  # the subscription is in place
        observer.publish("entree-lecteur/text_sensor/badge/state", STAFF_UID.encode())
        assert inbox.wait_for(lambda messages: any(b'"toggle_after":5' in p for _, p in messages), timeout=20)
        observer.stop(timeout=2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert not url_file.exists()  # the broker said goodbye
