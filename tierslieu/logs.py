"""Log output of ``tierslieu serve``: readable text (default) or one JSON object per line
(``TIERSLIEU_LOG_FORMAT=json``) for journald, Docker and log collectors."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def __init__(self, role: str) -> None:
        super().__init__()
        self._role = role
        self._pid = os.getpid()

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "role": self._role,
            "pid": self._pid,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str, role: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(role) if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every run of every job at INFO: two lines every few seconds, forever.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
