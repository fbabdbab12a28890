"""Alembic migrations, shipped inside the package so ``tierslieu db upgrade`` works when installed.

Revisions form branches off ``0001_foundation`` (booking, access, printing); ``upgrade heads``
applies them all.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent
_lock = threading.Lock()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "heads") -> None:
    with _lock:
        command.upgrade(alembic_config(url), revision)


def current_revisions(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from tierslieu.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
