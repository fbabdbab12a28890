"""G-code files stored by content: ``<upload_dir>/gcode/<ab>/<sha256>.gcode``.

The same file queued twice is stored once. Files are written to a temporary name and renamed,
so a crash never leaves a half-written file under its final name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tierslieu.printing.gcode import content_address

__all__ = ["GcodeStore"]


class GcodeStore:
    def __init__(self, upload_dir: Path) -> None:
        self.root = upload_dir / "gcode"

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.gcode"

    def save(self, data: bytes) -> str:
        """Store ``data`` (already validated) and return its address."""
        sha256 = content_address(data)
        target = self.path_of(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def read(self, sha256: str) -> bytes | None:
        try:
            return self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            return None
