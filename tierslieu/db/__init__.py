"""Storage: engine creation and the column types shared by every table."""

from tierslieu.db.engine import Database, PoolSizing, make_engine
from tierslieu.db.types import UTCDateTime, utcnow

__all__ = ["Database", "PoolSizing", "UTCDateTime", "make_engine", "utcnow"]
