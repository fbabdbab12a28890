"""Running the suite on several pytest-xdist workers (scripts/test: ``-n 4 --dist loadgroup``).

Each worker is a pytest process of its own, with its own session fixtures (PostgreSQL cluster,
Mosquitto, OctoPrint, Chromium), each on free ports and in the worker's own temporary folder.
This plugin (registered in tests/conftest.py) decides what is kept together or run alone:

- Groups (``xdist_group``, each run by one worker under ``--dist loadgroup``): the tests of a
  module-scoped fixture (a server started for the module) share its one start; the other
  ``exclusive`` tests run one after the other; the tests of the session's OctoPrint server share
  one server; the other browser tests share a worker (a Chromium per module: tests/web/conftest.py).
- Exclusive tests (``@pytest.mark.exclusive``): a test that bounds a latency or a duration
  measures our code only if nothing else competes for the machine's two cores, and the other
  workers' tests would. So each test holds a lock shared by the whole run while it runs (setup,
  call, teardown): shared for ordinary tests, exclusive for marked ones. A marked test waits until
  the tests running on the other workers are done, and they start nothing new until it is done;
  the next marked test on the worker keeps the lock rather than draining the others again.
- Exclusive sections (the ``alone`` fixture, ``with alone(): ...``): for a test whose bound is in
  one part only, after a set-up that bounds nothing (starting servers, loading a site). The test
  runs beside the others until then, and only that part waits for, and keeps out, the others: a
  whole-test mark would idle the other workers through the set-up too.

Without xdist (``-n 0``) tests run one at a time anyway: no lock. xdist tells tests apart by
node id alone, so two tests with one id would silently run once; and with pytest 9.2, xdist 3.8
stops applying the groups (pytest-xdist issue #1386) while schemathesis's tests all get one id.
Both are checked at collection, so that such an upgrade fails loudly (pyproject.toml pins pytest).
"""

from __future__ import annotations

import fcntl
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

import pytest

__all__ = ["EXCLUSIVE", "Alone", "alone"]

EXCLUSIVE = "exclusive"


def _is_exclusive(item: pytest.Item) -> bool:
    return item.get_closest_marker(EXCLUSIVE) is not None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# Groups ---------------------------------------------------------------------------------


def _group(item: pytest.Item) -> str | None:
    if isinstance(item, pytest.Function):
        # First: an exclusive test of such a module then finds the module's server already started
        # by an ordinary test, rather than starting another one while the others wait.
        definitions = item._fixtureinfo.name2fixturedefs.values()
        if any(definition.scope in ("module", "class") for defs in definitions for definition in defs):
            return item.nodeid.split("::")[0]
    if _is_exclusive(item):
        return EXCLUSIVE
    fixtures = getattr(item, "fixturenames", ())
    if "octoprint" in fixtures:
        return "octoprint"
    if "browser" in fixtures:
        return "browser"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = _group(item)
        if group and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(trylast=True)  # after xdist's hook, which appends "@group" to the node ids
def pytest_collection_finish(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        return
    repeated = [nodeid for nodeid, count in Counter(item.nodeid for item in session.items).items() if count > 1]
    if repeated:
        raise pytest.UsageError(f"several tests have the node id {repeated[0]!r}: xdist would run one of them")
    if session.config.getvalue("loadgroup"):
        for item in session.items:
            names = sorted({str(mark.args[0]) for mark in item.iter_markers("xdist_group") if mark.args})
            if names and not item.nodeid.endswith("@" + "_".join(names)):
                raise pytest.UsageError(f"xdist did not group {item.nodeid!r} (pytest-xdist issue #1386)")


# The run-wide lock ----------------------------------------------------------------------


class _RunLock:
    """A readers-writer lock between the worker processes of one run (flock on two files).

    The gate is taken before the lock itself, and a writer holds it while it waits: new readers
    queue behind the writer, which waits for the running tests only, not for a stream of them."""

    def __init__(self, folder: Path) -> None:
        self._gate = folder / "exclusive-gate.lock"
        self._lock = folder / "exclusive-tests.lock"
        self._held: IO[bytes] | None = None
        self.exclusive = False

    @property
    def held(self) -> bool:
        return self._held is not None

    def acquire(self, exclusive: bool) -> None:
        with self._gate.open("ab") as gate:
            fcntl.flock(gate, fcntl.LOCK_EX)
            held = self._lock.open("ab")
            fcntl.flock(held, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        self._held, self.exclusive = held, exclusive

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()  # drops the flock


_run_lock: _RunLock | None = None

Alone = Callable[[], AbstractContextManager[None]]


def _lock_for(config: pytest.Config) -> _RunLock | None:
    global _run_lock
    if not _is_worker(config):
        return None  # the only process
    if _run_lock is None:
        # A worker's basetemp is <the run's basetemp>/popen-gwN: the parent belongs to this run.
        _run_lock = _RunLock(Path(config.option.basetemp).parent)
    return _run_lock


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: waiting for the lock is not the test's time
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    lock = _lock_for(item.config)
    if lock is None:
        return (yield)
    exclusive = _is_exclusive(item)
    if lock.held and lock.exclusive != exclusive:
        lock.release()
    if not lock.held:
        lock.acquire(exclusive)
    try:
        return (yield)
    finally:
        if not (exclusive and nextitem is not None and _is_exclusive(nextitem)):
            lock.release()


@pytest.fixture
def alone(pytestconfig: pytest.Config) -> Alone:
    """``with alone(): ...``: that part of the test runs while no other worker's test does."""

    @contextmanager
    def section() -> Iterator[None]:
        lock = _lock_for(pytestconfig)
        if lock is None or lock.exclusive:
            yield  # one process, or the whole test is exclusive already
            return
        # From shared to exclusive: released first, so that two workers asking at once do not
        # wait for each other; the gate then holds back the other workers' next tests.
        lock.release()
        lock.acquire(exclusive=True)
        try:
            yield
        finally:
            lock.release()
            lock.acquire(exclusive=False)

    return section
