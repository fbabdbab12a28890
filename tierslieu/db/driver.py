"""Core statements run straight on the driver's cursor, for the busiest request paths.

SQLAlchemy's execution of a compiled, cached statement (execution context, events, result
object) costs more CPU than the driver's own work on PostgreSQL: a booking's two statements paid
~0.3 ms of the request thread's ~1.6 ms in it (sampled by py-spy). A :class:`DriverStatement`
is compiled once per dialect and keeps, from SQLAlchemy's public type API, the conversions
SQLAlchemy would apply to each parameter and each result column; running it is then a cursor
``execute`` and those conversions. Errors come out as SQLAlchemy's exceptions (``IntegrityError``
and its ``orig.sqlstate``…), and a connection the server dropped is invalidated, as SQLAlchemy
does. SQLite, where no round trip is saved and the driver's conversions differ, keeps
SQLAlchemy's execution. Statements sent this way are not echoed by ``echo=True``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from tierslieu.db.engine import send_pending_begin

__all__ = ["DriverResult", "DriverStatement"]

Processor = Callable[[Any], Any] | None
_REQUIRED = object()  # a parameter without a value of its own: ``values`` must give it


@dataclass(frozen=True, slots=True)
class DriverResult:
    rows: list[tuple[Any, ...]]
    rowcount: int

    def first_value(self) -> Any:
        return self.rows[0][0] if self.rows else None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # (placeholder, key in ``values``, the statement's own value or _REQUIRED, processor)
    binds: tuple[tuple[str, str, Any, Processor], ...]
    results: tuple[Processor, ...]


class DriverStatement:
    """``statement`` (a Core select, insert, update…, parameters as ``bindparam``), runnable on
    the driver's cursor of a session's connection, in its transaction."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def run(self, session: Session, values: Mapping[str, Any]) -> DriverResult:
        """The statement's rows (converted as SQLAlchemy converts them) and row count."""
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            result = conn.execute(self.statement, values)
            rows = [tuple(row) for row in result] if result.returns_rows else []
            return DriverResult(rows, result.rowcount)
        return self._run_on_driver(conn, values)

    def _run_on_driver(self, conn: Connection, values: Mapping[str, Any]) -> DriverResult:
        dialect = conn.dialect
        compiled = self._compiled_for(dialect)
        params = {}
        for placeholder, key, default, processor in compiled.binds:
            value = values.get(key, default)
            if value is _REQUIRED:
                raise sa.exc.InvalidRequestError(f"A value is required for bind parameter {key!r}")  # as SQLAlchemy
            params[placeholder] = value if processor is None or value is None else processor(value)
        driver = conn.connection.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            send_pending_begin(conn, cursor)
            cursor.execute(compiled.sql, params)
            raw_rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        except dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn, compiled.sql, params, exc, cursor) from exc
        finally:
            cursor.close()
        if any(compiled.results):
            rows = [_converted(row, compiled.results) for row in raw_rows]
        else:
            rows = [tuple(row) for row in raw_rows]
        return DriverResult(rows, rowcount)

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            with self._lock:
                found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found


def _compile(statement: sa.Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if compiled.positiontup is not None:  # a driver with positional parameters: not written for it
        raise NotImplementedError(f"{dialect.name}: positional parameters")
    # The dialect's own implementation of each type (psycopg's JSON, say), as SQLAlchemy uses.
    binds = tuple(
        (
            compiled.bind_names[bind],
            bind.key,
            _REQUIRED if bind.required else bind.effective_value,
            _bind_processor(bind.type, dialect),
        )
        for bind in compiled.binds.values()
    )
    columns: Sequence[Any] = getattr(statement, "exported_columns", ())
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return _Compiled(str(compiled), binds, results)


def _bind_processor(type_: Any, dialect: Dialect) -> Processor:
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _converted(row: Sequence[Any], processors: tuple[Processor, ...]) -> tuple[Any, ...]:
    return tuple(
        value if processor is None or value is None else processor(value)
        for value, processor in zip(row, processors, strict=True)
    )


def _as_sqlalchemy_error(
    conn: Connection, sql: str, params: Mapping[str, Any], exc: Any, cursor: Any
) -> sa.exc.StatementError:
    """The exception SQLAlchemy would raise; a connection the server dropped is invalidated
    first, so that the pool replaces it."""
    dialect = conn.dialect
    dropped = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if dropped:
        conn.invalidate(exc)
    error: sa.exc.StatementError = sa.exc.DBAPIError.instance(
        sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=dropped, dialect=dialect
    )
    return error
