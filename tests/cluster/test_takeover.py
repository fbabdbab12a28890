"""Two controllers and two API processes, real PostgreSQL and Mosquitto, started with the real
command: one controller leads, the other takes over within one door pass when the leader is
killed with SIGKILL; every scan is decided once and opens the door once."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from tests.cli.test_cli import env as env  # the fixture
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tests.support.parallel import Alone
from tests.support.serve import tierslieu_command, tierslieu_process
from tests.support.site import TRILPORT
from tierslieu.models import AccessEvent, Badge, Device, Member
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.timeout(300)]

DOOR_PASS_SECONDS = 2.0
READER_TOPIC = "entree-lecteur/text_sensor/badge/state"
DOOR_TOPIC = "shellyplus1-entree/rpc"
UIDS = [f"CAFE{i:04d}" for i in range(200)]
LEADING = re.compile(r"controller: leading \(.*pid (\d+)\)")


def _log_has(log: Path, text: str) -> Callable[[str], bool]:
    return lambda url: text in log.read_text() and httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200


def _ready(url: str) -> Any:
    return httpx.get(f"{url}/api/v1/health/ready", timeout=5).json()


def _wait(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _prepare(env: dict[str, str], database_url: str) -> None:
    tierslieu_command(env, "site", "load", str(TRILPORT))
    tierslieu_command(
        env, "users", "create", "--email", "staff@trilport.fr", "--password", "motdepasse-staff", "--role", "staff"
    )
    runtime = Runtime.create(
        Settings(database_url=database_url, data_dir=Path(env["TIERSLIEU_DATA_DIR"]), run_background=False)
    )
    try:
        with runtime.db.session(write=True) as session:
            staff = session.exec(select(Member).where(Member.email == "staff@trilport.fr")).one()
            session.add_all([Badge(uid=uid, member_id=staff.id) for uid in UIDS])
            session.commit()
    finally:
        runtime.db.dispose()


def _granted(database_url: str, data_dir: Path) -> dict[str, int]:
    """Audit lines of granted scans, per badge."""
    runtime = Runtime.create(Settings(database_url=database_url, data_dir=data_dir, run_background=False))
    try:
        with runtime.db.session() as session:
            rows = session.exec(
                select(AccessEvent.badge_uid, func.count())
                .where(AccessEvent.decision == "granted", col(AccessEvent.badge_uid).is_not(None))
                .group_by(col(AccessEvent.badge_uid))
            ).all()
        return {uid: count for uid, count in rows if uid is not None}
    finally:
        runtime.db.dispose()


def _unlocks(inbox: Inbox) -> int:
    return sum(1 for _topic, payload, _retained in inbox.messages if b'"toggle_after"' in payload)


@pytest.fixture
def cluster_env(env: dict[str, str], pg_url: str, private_mosquitto: MosquittoServer) -> Iterator[dict[str, str]]:
    env = {
        **env,
        "TIERSLIEU_DATABASE_URL": pg_url,
        "TIERSLIEU_MQTT_URL": private_mosquitto.url,
        "TIERSLIEU_SECRET_KEY": "une-clef-de-test-assez-longue-pour-la-grappe-0123456789",
        "TIERSLIEU_DOOR_PASS_SECONDS": str(DOOR_PASS_SECONDS),
    }
    _prepare(env, pg_url)
    yield env


def test_the_standby_takes_over_a_killed_leader_and_every_scan_opens_the_door_once(
    cluster_env: dict[str, str], pg_url: str, private_mosquitto: MosquittoServer, tmp_path: Path, alone: Alone
) -> None:
    data_dir = Path(cluster_env["TIERSLIEU_DATA_DIR"])
    logs = {name: tmp_path / f"{name}.log" for name in ("controller-1", "controller-2", "api-1", "api-2")}
    observer = client(private_mosquitto.url, "observer")
    inbox = Inbox()
    observer.subscribe(DOOR_TOPIC, inbox, 1)
    observer.start()
    assert observer.wait_connected(10)
    with ExitStack() as stack:
        stack.callback(observer.stop, 2)

        def start(name: str, ready: Callable[[str], bool] | None) -> str:
            role = name.split("-")[0]
            url: str = stack.enter_context(
                tierslieu_process(cluster_env, "serve", "--role", role, log=logs[name], ready=ready)
            )
            return url

        first = start("controller-1", _log_has(logs["controller-1"], "controller: leading"))
        second = start("controller-2", _log_has(logs["controller-2"], "controller: standing by"))
        apis = [start(name, None) for name in ("api-1", "api-2")]
        assert _wait(lambda: all(_ready(url)["broker"] for url in [first, second, *apis]), 20)
        assert _ready(first)["controller"] == {"role": "controller", "leader": True}
        assert _ready(second)["controller"] == {"role": "controller", "leader": False}
        assert all(_ready(url)["controller"] == {"role": "api", "leader": False} for url in apis)
        leader = LEADING.search(logs["controller-1"].read_text())
        assert leader is not None

        # 100 scans with the first leader: exactly 100 unlock commands.
        for uid in UIDS[:100]:
            observer.publish(READER_TOPIC, uid.encode())
        assert _wait(lambda: _unlocks(inbox) >= 100, 60), _unlocks(inbox)
        assert _wait(lambda: len(_granted(pg_url, data_dir)) == 100, 20, step=0.3)

        # A takeover within DOOR_PASS_SECONDS: from here on alone on the machine
        # (tests/support/parallel.py); the processes above started beside other tests.
        stack.enter_context(alone())
        # The leader dies without a word; scans keep coming while nobody leads and after.
        os.kill(int(leader.group(1)), signal.SIGKILL)
        killed_at = time.monotonic()
        for uid in UIDS[100:150]:
            observer.publish(READER_TOPIC, uid.encode())
        assert _wait(lambda: _ready(second)["controller"]["leader"], 30)
        takeover = time.monotonic() - killed_at
        assert _wait(lambda: _unlocks(inbox) > 100, 30)
        doors_back = time.monotonic() - killed_at
        for uid in UIDS[150:]:
            observer.publish(READER_TOPIC, uid.encode())

        assert _wait(lambda: _unlocks(inbox) >= 200, 60), _unlocks(inbox)
        time.sleep(DOOR_PASS_SECONDS)  # room for a duplicate to show
        assert _unlocks(inbox) == 200
        assert _wait(lambda: len(_granted(pg_url, data_dir)) == 200, 20, step=0.3)
        granted = _granted(pg_url, data_dir)
        assert set(granted) == set(UIDS) and set(granted.values()) == {1}, "each scan decided once"
        assert takeover <= DOOR_PASS_SECONDS, f"takeover took {takeover:.2f} s"
        metrics = httpx.get(f"{second}/metrics", timeout=5).text
        assert 'tierslieu_controller_leader{role="controller"} 1.0' in metrics
        assert 'tierslieu_access_decisions_total{decision="granted",reason="granted_role"} 100.0' in metrics

    broker_log = private_mosquitto.log_text()
    assert "already connected" not in broker_log, "a client id was taken over"
    # The new leader took the persistent session's id; every other process had an id of its own.
    assert "as 'tierslieu'" in logs["controller-2"].read_text()
    assert "as 'tierslieu-controller-" in logs["controller-2"].read_text()
    assert all("as 'tierslieu-api-" in logs[name].read_text() for name in ("api-1", "api-2"))
    print(f"lock taken over in {takeover:.2f} s, first door opened {doors_back:.2f} s after the kill")


def test_a_scan_the_dead_leader_decided_and_the_broker_redelivers_opens_nothing_again(
    cluster_env: dict[str, str], pg_url: str, private_mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    """QoS 1 redelivers to the next leader a scan the dead one handled but never acknowledged:
    the audit log knows it was decided, so the new leader drops it."""
    data_dir = Path(cluster_env["TIERSLIEU_DATA_DIR"])
    runtime = Runtime.create(Settings(database_url=pg_url, data_dir=data_dir, run_background=False))
    try:
        with runtime.db.session(write=True) as session:
            reader = session.exec(select(Device).where(Device.address == "entree-lecteur")).one()
            session.add(
                AccessEvent(
                    device_id=reader.id, device_name=reader.name, space_id=reader.space_id,
                    badge_uid=UIDS[0], decision="granted", reason="granted_role",
                )
            )  # fmt: skip
            session.commit()
    finally:
        runtime.db.dispose()
    observer = client(private_mosquitto.url, "observer")
    inbox = Inbox()
    observer.subscribe(DOOR_TOPIC, inbox, 1)
    observer.start()
    assert observer.wait_connected(10)
    log = tmp_path / "controller.log"
    try:
        with tierslieu_process(
            cluster_env, "serve", "--role", "controller", log=log, ready=_log_has(log, "controller: leading")
        ):
            observer.publish(READER_TOPIC, UIDS[0].encode())  # the redelivery
            observer.publish(READER_TOPIC, UIDS[1].encode())  # a new scan, right behind it
            assert _wait(lambda: _unlocks(inbox) >= 1, 20)
            time.sleep(DOOR_PASS_SECONDS)
            assert _unlocks(inbox) == 1
            assert _granted(pg_url, data_dir) == {UIDS[0]: 1, UIDS[1]: 1}
    finally:
        observer.stop(2)
