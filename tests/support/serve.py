"""Run the real ``tierslieu`` command: ``serve`` and ``demo`` in a subprocess on a free port, the
one-shot commands that set up a served site (``site load``, ``users create``) in this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.processes import terminate

ROOT = Path(__file__).resolve().parents[2]


def tierslieu_command(env: dict[str, str], *args: str) -> str:
    """Run ``tierslieu <args>`` in this process, through the command's own parser, with the
    ``TIERSLIEU_`` settings of ``env`` only; its standard output, after asserting that it succeeded.

    For setting up a server under test: a process of its own would add two seconds of imports
    and check nothing more (tests/cli runs each command in a subprocess, for real)."""
    from typer.testing import CliRunner

    from tierslieu.cli import app

    settings = {name: value for name, value in env.items() if name.startswith("TIERSLIEU_")}
    unset: dict[str, str | None] = {name: None for name in os.environ if name.startswith("TIERSLIEU_")}
    result = CliRunner().invoke(app, list(args), env={**unset, **settings}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@contextmanager
def tierslieu_process(
    env: dict[str, str],
    *args: str,
    cwd: Path = ROOT,
    ready: Callable[[str], bool] | None = None,
    timeout: float = 120,  # a start-up guard, not a measure: the suite runs on several workers
    log: Path | None = None,
) -> Iterator[str]:
    """Start ``tierslieu <args> --port P``; yield its base URL once ``ready(url)`` (default: health answers).

    ``log``: a file that receives the process's output (to read its warnings)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = log.open("w") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, "-m", "tierslieu", *args, "--port", str(port)],
        env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    check = ready or (lambda url: httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                printed = proc.stdout.read() if proc.stdout else log.read_text() if log else ""
                raise AssertionError(f"tierslieu {args[0]} exited: {printed}")
            try:
                if check(base):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"tierslieu {args[0]} was not ready in {timeout}s")
            time.sleep(0.2)
        yield base
    finally:
        terminate(proc, 20, sig=signal.SIGINT)
        if log is not None and not isinstance(output, int):
            output.close()
