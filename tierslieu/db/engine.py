"""Engine and session factory, owned by the application's lifespan (no module-level engine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from tierslieu.extras import require

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _normalize_url(url: str) -> str:
    # Accept the plain "postgresql://" form installers write; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass(frozen=True, slots=True)
class PoolSizing:
    """Connections kept open, extra ones opened under load, and the longest wait for one
    (SQLAlchemy then raises ``TimeoutError``, answered 503): nobody waits forever."""

    size: int = 16
    overflow: int = 16
    timeout_s: float = 10.0


def make_engine(url: str, *, echo: bool = False, pool: PoolSizing | None = None) -> Engine:
    url = _normalize_url(url)
    pool = pool or PoolSizing()
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        require("psycopg", "postgres", "PostgreSQL")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Pooled: closing SQLite's last connection checkpoints and deletes the WAL (~2 ms).
            pool_size=pool.size,
            max_overflow=pool.overflow,
            pool_timeout=pool.timeout_s,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout_s,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN so that we can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


class Database:
    """The engine plus session helpers; created once by the app and passed to whoever needs it."""

    def __init__(self, url: str, *, echo: bool = False, pool: PoolSizing | None = None) -> None:
        self.url = _normalize_url(url)
        self.engine = make_engine(self.url, echo=echo, pool=pool)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self, *, write: bool = False) -> Session:
        """A session; ``write=True`` serializes writers on SQLite.

        SQLite in WAL mode cannot upgrade a stale read transaction to a write one (it fails at
        once with "database is locked"), so a session that will write takes the write lock at
        its first statement (``BEGIN IMMEDIATE``) and waits for it up to the busy timeout.
        PostgreSQL needs nothing here: its constraints and row locks do that job.
        """
        bind = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE") if write else self.engine
        return Session(bind, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()
