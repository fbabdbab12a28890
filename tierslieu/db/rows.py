"""One new row inserted without the unit of work, for the busiest write paths.

``session.add(row); session.flush()`` walks SQLAlchemy's unit of work: sorting, cascades, history,
events, then the INSERT. For one new row that nothing else in the flush depends on, that
machinery costs more CPU than the statement itself (a booking: ~0.5 ms of ~1.3 ms on
PostgreSQL). :func:`insert_row` sends the same ``INSERT … RETURNING id`` directly, then attaches
the object to the session as the persistent row it now is: later changes to it flush as
UPDATEs, ``session.get`` finds it without a query, and the change feed hears of it at commit
exactly as after a flush.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

from tierslieu.db.changes import record_insert
from tierslieu.db.driver import DriverResult, DriverStatement
from tierslieu.db.engine import begin_before_writing

__all__ = ["attach_row", "columns_of", "execute_write", "insert_row", "new_row"]

M = TypeVar("M", bound=SQLModel)


@cache
def _shape(model: type[SQLModel]) -> tuple[sa.Table, tuple[tuple[str, sa.Column[Any]], ...]]:
    """The model's table and its (attribute, column) pairs but the id."""
    mapper = sa.inspect(model)
    table = mapper.local_table
    assert isinstance(table, sa.Table)
    columns = tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs if prop.key != "id")
    return table, columns


@cache
def _insert_statement(model: type[SQLModel], keys: frozenset[str]) -> DriverStatement:
    """``INSERT … RETURNING id`` of the columns ``keys`` (the others take the database's default)."""
    table, columns = _shape(model)
    values = {column.key: sa.bindparam(column.key, type_=column.type) for _a, column in columns if column.key in keys}
    return DriverStatement(sa.insert(table).values(values).returning(table.c.id))


@cache
def columns_of(model: type[SQLModel]) -> tuple[tuple[str, sa.Column[Any]], ...]:
    """The model's (attribute, column) pairs, id first: what a Core read selects to
    :func:`attach_row` what it found."""
    return (("id", sa.inspect(model).local_table.c.id), *_shape(model)[1])


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    """The model's fields' plain defaults, and its default factories, read once."""
    plain: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            factories.append((name, info.default_factory))  # type: ignore[arg-type]  # no argument taken
        elif not info.is_required():
            plain[name] = info.default
    return plain, tuple(factories)


def new_row(model: type[M], **values: Any) -> M:
    """``model(**values)`` for a table model, built as the ORM builds a row it loads: the values
    go straight into the instance, defaults filled in. SQLModel's constructor sets each field
    through pydantic and SQLAlchemy's instrumentation: 0.42 ms for a booking against 0.03 ms here
    (measured). Values are not validated — as with the constructor of a table model."""
    plain, factories = _defaults(model)
    row: M = sa.inspect(model).class_manager.new_instance()
    state = row.__dict__
    state.update(plain)
    for name, factory in factories:
        if name not in values:
            state[name] = factory()
    state.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


def attach_row(session: Session, model: type[M], values: Sequence[Any]) -> M:
    """The row a Core read found (``values`` in :func:`columns_of` order) as the persistent
    instance the ORM would have loaded into ``session``: ``session.get`` then finds it without a
    query, and a change to it flushes as an UPDATE, without the ORM's loading machinery. When the
    session already holds the row, that instance is returned, as the ORM would (its values kept)."""
    existing = session.identity_map.get(session.identity_key(model, values[0]))
    if existing is not None:
        found: M = existing
        return found
    keys = (key for key, _column in columns_of(model))
    row = new_row(model, **dict(zip(keys, values, strict=True)))
    make_transient_to_detached(row)
    session.add(row)
    return row


def execute_write(session: Session, statement: DriverStatement, values: Mapping[str, Any]) -> DriverResult:
    """Run a Core write (a statement on tables, not on mapped classes) in the session's
    transaction, opened first if the session had none. On the driver's cursor, not through
    ``session.execute``: the ORM's statement handling has nothing to do for it, and costs a
    tenth of a millisecond a statement. The caller tells the change feed what it wrote
    (:func:`tierslieu.db.changes.record_insert` / ``record_update``)."""
    begin_before_writing(session)
    return statement.run(session, values)


def insert_row(session: Session, row: SQLModel) -> int:
    """Insert ``row`` (new, not added to any session) in the session's transaction and return
    its id; the row is then persistent in ``session``. Raises what the flush would (an
    ``IntegrityError`` for a constraint)."""
    table, columns = _shape(type(row))
    values: dict[str, Any] = {}
    for attribute, column in columns:
        value = getattr(row, attribute)
        if value is None and column.server_default is not None:
            continue  # as the ORM does: the database's default
        values[column.key] = value
    new_id: int = execute_write(session, _insert_statement(type(row), frozenset(values)), values).first_value()
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    record_insert(session, str(table.name), new_id)
    return new_id
