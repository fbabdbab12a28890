"""Exactly one controller leads: a lock that says who, and a gate that starts the device side
only while this process holds it.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection with TCP keep-alives. The lock lives exactly as long as that connection: a leader
  killed with ``kill -9`` loses it when the server sees the socket close, and a leader that
  loses its connection loses the lock, so it stops leading at once.
- SQLite: one controller per data folder; a second one refuses to start (an exclusive
  ``flock`` on ``<data_dir>/controller.lock``, released by the kernel when the process dies).

The lock key is a hash of ``TIERSLIEU_CONTROLLER_GROUP``: one leader per group of sites is a
setting, not a rewrite.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from tierslieu.runtime import Component

__all__ = [
    "ControllerAlreadyRunning",
    "LeaderGate",
    "LeaderLock",
    "PostgresAdvisoryLock",
    "SqliteControllerLock",
    "advisory_key",
    "leader_lock_for",
]

log = logging.getLogger(__name__)


class ControllerAlreadyRunning(RuntimeError):
    """A second controller on a database that allows only one (SQLite)."""


class LeaderLock(Protocol):
    description: str

    def try_acquire(self) -> bool:
        """Take the lock if free; False when another process holds it (or the database is away)."""

    def still_held(self) -> bool:
        """True while the lock is certainly ours."""

    def release(self) -> None: ...


def advisory_key(group: str) -> int:
    """The signed 64-bit advisory lock key of a controller group."""
    digest = hashlib.blake2b(f"tierslieu-controller:{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SqliteControllerLock:
    """One controller per data folder; a second one is refused, not put on standby (SQLite has
    no server that could tell a standby when the first one died)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"verrou de fichier {path}"
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ControllerAlreadyRunning(
                f"un contrôleur tierslieu tourne déjà sur ce dossier de données (processus {holder}, "
                f"verrou {self.path}). Avec SQLite un seul contrôleur est possible : arrêtez l'autre, "
                "ou passez à PostgreSQL pour un contrôleur de secours."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None


class PostgresAdvisoryLock:
    """A session-level advisory lock on a connection of its own (never one from the pool: a
    pooled connection would carry the lock to whatever request borrows it next)."""

    def __init__(self, database_url: str, key: int, *, timeout_s: float = 2.0) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self.key = key
        self.description = f"verrou consultatif PostgreSQL {key}"
        self._timeout_s = timeout_s
        self._conn: object | None = None

    def _connect(self) -> object:
        import psycopg

        # Keep-alives: a half-open connection (leader host gone) is noticed in seconds.
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=max(1, int(self._timeout_s)),
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
            application_name="tierslieu-controller-lock",
        )

    def try_acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            assert isinstance(conn, psycopg.Connection)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            log.warning("leader lock: database unreachable (%s)", error)
            self._drop()
            return False
        return bool(row and row[0])

    def still_held(self) -> bool:
        import psycopg

        conn = self._conn
        if conn is None:
            return False
        assert isinstance(conn, psycopg.Connection)
        # A session-level lock lives exactly as long as its session: a live connection is a held lock.
        try:
            row = conn.execute("SELECT 1").fetchone()
        except psycopg.Error as error:
            log.error("leader lock: connection lost (%s)", error)
            self._drop()
            return False
        return bool(row and row[0])

    def release(self) -> None:
        self._drop()  # closing the session releases its advisory locks

    def _drop(self) -> None:
        import psycopg

        conn, self._conn = self._conn, None
        if isinstance(conn, psycopg.Connection):
            with contextlib.suppress(psycopg.Error):
                conn.close()


def leader_lock_for(database_url: str, data_dir: Path, group: str) -> LeaderLock:
    if make_url(database_url).get_backend_name() == "sqlite":
        return SqliteControllerLock(data_dir / "controller.lock")
    return PostgresAdvisoryLock(database_url, advisory_key(group))


def _exit_process() -> None:
    # A fresh process starts clean (its supervisor restarts it as a standby): simpler and
    # safer than rebuilding every component in place.
    import signal

    os.kill(os.getpid(), signal.SIGTERM)


class LeaderGate:
    """A ``Component`` that starts the controller components only while it holds the lock.

    At start it tries once (a free lock is taken at once, as a single process always did);
    otherwise a thread polls every ``poll_s`` and takes over when the leader is gone. While
    leading, the same thread checks the lock is still held; when it is not, the components
    are stopped at once and ``on_lost`` runs (by default the process exits so that its
    supervisor restarts it as a standby)."""

    name = "controller-leadership"

    def __init__(
        self,
        lock: LeaderLock,
        build: Callable[[], list[Component]],
        *,
        poll_s: float,
        on_lost: Callable[[], None] = _exit_process,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._lock = lock
        self._build = build
        self._poll_s = poll_s
        self._on_lost = on_lost
        self._on_change = on_change
        self._components: list[Component] = []
        self._leading = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self.led_since: float | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        if self._lock.try_acquire():  # ControllerAlreadyRunning goes up: the process must not start
            self._lead()
        else:
            log.info("controller: standing by (%s held by another process)", self._lock.description)
            self._set(False)
        # Its own thread, not a worker on the runtime's scheduler: it must notice a lost lock
        # (and stop driving the doors) even when every thread of the scheduler's pool is stuck
        # on the very database that went away, and a takeover must not queue behind them.
        self._thread = threading.Thread(target=self._watch, name="controller-leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._step_down()
        self._lock.release()

    def _watch(self) -> None:
        while not self._stopping.wait(self._poll_s):
            if self._leading:
                if not self._lock.still_held():
                    log.critical("controller: leadership lost (%s): stopping the device side", self._lock.description)
                    self._step_down()
                    self._on_lost()
                    return
            elif self._lock.try_acquire() and not self._stopping.is_set():
                self._lead()

    def _lead(self) -> None:
        # Leader from the moment the lock is ours (what the probes report); the device side
        # starts first (see build_controller_components), so doors answer before the rest is up.
        self._set(True)
        with self._guard:
            started = time.monotonic()
            self._leading = True
            self.led_since = time.time()
            self._components = self._build()
            for component in self._components:
                log.info("starting %s", component.name)
                component.start()
            log.info(
                "controller: leading (%s, pid %d), started in %.2f s",
                self._lock.description,
                os.getpid(),
                time.monotonic() - started,
            )

    def _step_down(self) -> None:
        with self._guard:
            was_leading, self._leading = self._leading, False
            components, self._components = self._components, []
            for component in reversed(components):
                try:
                    component.stop()
                except Exception:  # a failing stop must not keep the others running
                    log.exception("stopping %s failed", component.name)
        if was_leading:
            self._set(False)

    def _set(self, leading: bool) -> None:
        if self._on_change is not None:
            self._on_change(leading)
