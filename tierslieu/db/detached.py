"""Copies of rows that no session holds, for caches shared by every request of a process."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import SQLModel

__all__ = ["detached_copy"]

Row = TypeVar("Row", bound=SQLModel)


def detached_copy(row: Row) -> Row:
    """A copy marked as the persistent row it mirrors: ``session.merge(copy, load=False)`` then
    attaches an equal instance to a request's session without a query, and never the copy itself."""
    copy = type(row)(**row.model_dump())
    make_transient_to_detached(copy)
    return copy
