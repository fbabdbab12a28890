"""Alembic environment: runs migrations on the URL given by tierslieu (never a global engine)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import tierslieu.models  # noqa: F401  (registers the tables)
from tierslieu.db.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _pragma(connection: Connection, pragma: str) -> None:
    """On the driver's connection, outside any transaction (where SQLite ignores these pragmas)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced the
                # drop of a referenced table fails. Alembic's documented recipe: off during the
                # migration (a PRAGMA outside the transaction), then checked once at the end.
                _pragma(connection, "foreign_keys=OFF")
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
            connection.commit()
            if sqlite:
                _pragma(connection, "foreign_keys=ON")
    finally:
        engine.dispose()


run_migrations()
