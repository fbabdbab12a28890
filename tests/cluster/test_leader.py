"""The leader lock's pieces, and a second controller on SQLite refused by the real command."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_cli import env as env  # the fixture
from tests.cli.test_cli import run
from tests.support.serve import tierslieu_process
from tierslieu.cluster import (
    ControllerAlreadyRunning,
    LeaderGate,
    SqliteControllerLock,
    advisory_key,
    process_client_id,
)


def test_the_lock_key_is_a_stable_signed_64_bit_hash_of_the_group() -> None:
    assert advisory_key("default") == advisory_key("default")
    assert advisory_key("default") != advisory_key("meaux")
    assert -(2**63) <= advisory_key("meaux") < 2**63


def test_every_process_but_the_leader_has_a_client_id_of_its_own() -> None:
    mine = process_client_id("tierslieu", "api")
    assert mine.startswith("tierslieu-api-") and mine.endswith(f"-{os.getpid()}")
    assert mine != "tierslieu"


def test_a_second_sqlite_lock_on_one_folder_is_refused_until_the_first_is_released(tmp_path: Path) -> None:
    first = SqliteControllerLock(tmp_path / "controller.lock")
    assert first.try_acquire()
    with pytest.raises(ControllerAlreadyRunning, match="un contrôleur tierslieu tourne déjà"):
        SqliteControllerLock(tmp_path / "controller.lock").try_acquire()
    first.release()
    again = SqliteControllerLock(tmp_path / "controller.lock")
    assert again.try_acquire()
    again.release()


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_a_second_controller_on_sqlite_refuses_to_start(env: dict[str, str]) -> None:
    with tierslieu_process(env, "serve", "--role", "controller"):
        second = run(env, "serve", "--role", "controller", "--port", "9")
        assert second.returncode == 2
        assert "un contrôleur tierslieu tourne déjà sur ce dossier de données" in second.stderr
        assert "PostgreSQL" in second.stderr  # the way out is named
        # An API process on the same folder is welcome.
        with tierslieu_process(env, "serve", "--role", "api"):
            pass


class _Lock:
    """A lock whose holder the test decides."""

    description = "verrou de test"

    def __init__(self, free: bool) -> None:
        self.free = free
        self.held = False

    def try_acquire(self) -> bool:
        if self.free:
            self.held = True
        return self.held

    def still_held(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


class _Component:
    def __init__(self, name: str, journal: list[str]) -> None:
        self.name = name
        self._journal = journal

    def start(self) -> None:
        self._journal.append(f"start {self.name}")

    def stop(self) -> None:
        self._journal.append(f"stop {self.name}")


def _wait_until(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.01)
    return predicate()


def test_a_standby_starts_the_device_side_once_the_lock_is_free_and_stops_it_when_the_lock_is_lost() -> None:
    journal: list[str] = []
    lost = threading.Event()
    states: list[bool] = []
    lock = _Lock(free=False)
    gate = LeaderGate(
        lock,
        lambda: [_Component("hub", journal), _Component("doors", journal)],
        poll_s=0.02,
        on_lost=lost.set,
        on_change=states.append,
    )
    gate.start()
    try:
        assert not gate.leading and journal == [] and states == [False]
        lock.free = True  # the leader died
        assert _wait_until(lambda: gate.leading)
        assert journal == ["start hub", "start doors"] and states == [False, True]
        lock.held = False  # our connection to the database is gone
        assert lost.wait(5)
        assert not gate.leading
        assert journal == ["start hub", "start doors", "stop doors", "stop hub"] and states == [False, True, False]
    finally:
        gate.stop()
