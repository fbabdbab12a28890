"""Alembic environment: runs migrations on the URL given by tierslieu (never a global engine)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import tierslieu.models  # noqa: F401  (registers the tables)
from tierslieu.db.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


run_migrations()
