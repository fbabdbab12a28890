"""Storage: engine creation and the column types shared by every table."""

from tierslieu.db.changes import ChangeFeed, Changes
from tierslieu.db.engine import Database, PoolSizing, make_engine, transaction_open
from tierslieu.db.types import UTCDateTime, utcnow

__all__ = [
    "ChangeFeed",
    "Changes",
    "Database",
    "PoolSizing",
    "UTCDateTime",
    "make_engine",
    "transaction_open",
    "utcnow",
]
