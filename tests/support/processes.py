"""Stopping the servers the tests start (Mosquitto, OctoPrint, ``tierslieu serve``)."""

from __future__ import annotations

import signal
import subprocess


def terminate(
    process: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float, *, sig: int = signal.SIGTERM
) -> None:
    """Ask a process to stop (SIGTERM by default, so it can save its state), kill it after ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
