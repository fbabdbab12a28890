"""Several processes, one set of doors: process roles, the controller leader lock, MQTT ids.

``api`` processes serve HTTP only; ``controller`` processes run the device side, and exactly
one of them leads (see ``leader``). ``all`` is both in one process (the default).
"""

from tierslieu.cluster.leader import (
    ControllerAlreadyRunning,
    LeaderGate,
    LeaderLock,
    PostgresAdvisoryLock,
    SqliteControllerLock,
    advisory_key,
    leader_lock_for,
)
from tierslieu.cluster.roles import Leadership, Role, process_client_id

__all__ = [
    "ControllerAlreadyRunning",
    "LeaderGate",
    "LeaderLock",
    "Leadership",
    "PostgresAdvisoryLock",
    "Role",
    "SqliteControllerLock",
    "advisory_key",
    "leader_lock_for",
    "process_client_id",
]
