"""Process roles and the MQTT client id each process uses."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Literal

__all__ = ["Leadership", "Role", "process_client_id"]

Role = Literal["all", "api", "controller"]


def process_client_id(base: str, role: str) -> str:
    """A client id of this process's own, for every connection but the leader's.

    The leader keeps ``base`` (its persistent session holds the QoS 1 events queued while no
    leader ran); any other process taking ``base`` would knock the leader off the broker."""
    host = socket.gethostname().split(".")[0][:20] or "host"
    return f"{base}-{role}-{host}-{os.getpid()}"


@dataclass
class Leadership:
    """What this process is and whether it leads now (read by the health and metrics routes)."""

    role: Role = "all"
    leader: bool = False
