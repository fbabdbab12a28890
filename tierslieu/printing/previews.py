"""Unconfirmed upload previews: ``<upload_dir>/previews/<member id>/<sha256>.gcode``.

The web app's two-step upload stores the checked file here at the preview; confirming moves
it into the print queue's :class:`~tierslieu.printing.storage.GcodeStore` and deletes the
preview. A preview nobody confirms is deleted after ``print_preview_expiry_minutes`` by the
maintenance scheduler, and each member may hold only a few (count and bytes): abandoned
uploads neither stay forever nor fill the disk.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tierslieu.errors import Conflict
from tierslieu.printing.gcode import content_address

__all__ = ["PreviewQuota", "PreviewStore"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PreviewQuota:
    max_count: int
    max_bytes: int


class PreviewStore:
    def __init__(self, upload_dir: Path) -> None:
        self.root = upload_dir / "previews"

    def _folder(self, member_id: int) -> Path:
        return self.root / str(member_id)

    def path_of(self, member_id: int, sha256: str) -> Path:
        return self._folder(member_id) / f"{sha256}.gcode"

    def held(self, member_id: int) -> list[Path]:
        folder = self._folder(member_id)
        return sorted(folder.glob("*.gcode")) if folder.is_dir() else []

    def save(self, member_id: int, data: bytes, quota: PreviewQuota) -> str:
        """Store ``data`` (already validated) as one of the member's previews; its address.
        ``Conflict("preview_quota_exceeded")`` when it would pass the member's quota."""
        sha256 = content_address(data)
        target = self.path_of(member_id, sha256)
        if target.exists():
            os.utime(target)  # previewed again: its expiry starts again
            return sha256
        others = self.held(member_id)
        held_bytes = sum(p.stat().st_size for p in others)
        if len(others) + 1 > quota.max_count or held_bytes + len(data) > quota.max_bytes:
            raise Conflict("preview_quota_exceeded", count=quota.max_count, megabytes=round(quota.max_bytes / MIB))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def read(self, member_id: int, sha256: str) -> bytes | None:
        try:
            return self.path_of(member_id, sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def discard(self, member_id: int, sha256: str) -> None:
        self.path_of(member_id, sha256).unlink(missing_ok=True)

    def clean(self, max_age_s: float, now: float | None = None) -> int:
        """Delete previews (and half-written temporaries) older than ``max_age_s``; how many."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - max_age_s
        removed = 0
        for path in self.root.glob("*/*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # confirmed meanwhile
        return removed
