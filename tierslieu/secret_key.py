"""The per-install secret key: given by ``TIERSLIEU_SECRET_KEY``, or generated once and kept.

No key ships with tierslieu. Outside production, a first start without ``TIERSLIEU_SECRET_KEY``
generates one into ``<data_dir>/secret_key`` (owner-only, like Gitea's or Synapse's generated
secrets), and every later start reads it back. Two processes starting together agree on one
key: each writes a private temporary file and *links* it into place, which fails for the
second one (``link`` never overwrites), who then reads the winner's key.

Production refuses to start without an explicit key: there, a data folder may be ephemeral
(a container's layer) or not shared between processes, and a key generated anew on each deploy
would silently log everyone out and make the stored printer API keys undecryptable. An operator
keeps a production key with the other secrets they back up.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

__all__ = ["KEY_FILE", "KNOWN_DEFAULT_KEYS", "MIN_KEY_LENGTH", "is_known_default", "load_or_create_key"]

log = logging.getLogger(__name__)

KEY_FILE = "secret_key"
MIN_KEY_LENGTH = 32
# Values that were shipped or documented somewhere: with any of them, anyone can forge reset
# links and calendar URLs. Refused in every environment.
KNOWN_DEFAULT_KEYS = frozenset(
    {
        "change-me-tierslieu-development-only",  # shipped as the default before 0.2
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "dev",
        "development",
        "tierslieu",
    }
)


def is_known_default(key: str) -> bool:
    return key.strip().lower() in KNOWN_DEFAULT_KEYS


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): restricted to its owner", path, mode)
        path.chmod(0o600)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_LENGTH or is_known_default(key):
        raise ValueError(f"{path}: secret key too short or a known default; delete the file to generate a new one")
    return key


def load_or_create_key(data_dir: Path) -> str:
    """The key kept in ``data_dir``, generated on first use (atomically, mode 0600)."""
    path = data_dir / KEY_FILE
    if path.exists():
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret_key-", dir=data_dir)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
            log.warning("generated a new secret key in %s (keep it with your backups)", path)
        except FileExistsError:
            pass  # another process started at the same time: its key wins
    finally:
        os.unlink(tmp)
    return _read(path)
