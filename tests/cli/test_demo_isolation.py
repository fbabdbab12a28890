"""`tierslieu demo` never writes into the configured data folder or database (finding 14)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.serve import tierslieu_process

REAL_ADMIN = "admin@tierslieu.local"


def _env() -> dict[str, str]:
    # As ./scripts/serve runs: no TIERSLIEU_* variable, the data folder is ./var.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _tierslieu(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tierslieu", *args]
    return subprocess.run(command, env=_env(), cwd=cwd, capture_output=True, text=True, timeout=120)


def _emails(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT email FROM member ORDER BY email")]


def _demo_staff_logs_in(url: str) -> bool:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": "sophie.demo@trilport.test", "password": "demo-trilport"}
    )
    return answer.status_code == 200


def test_demo_in_the_serve_folder_leaves_the_real_database_untouched(tmp_path: Path) -> None:
    created = _tierslieu(tmp_path, "users", "create", "--email", REAL_ADMIN, "--password", "vrai-mot-de-passe",
                         "--role", "admin")  # fmt: skip
    assert created.returncode == 0, created.stderr
    real = tmp_path / "var" / "tierslieu.db"
    before = real.stat().st_mtime_ns
    log = tmp_path / "demo.log"
    with tierslieu_process(_env(), "demo", cwd=tmp_path, ready=_demo_staff_logs_in, log=log) as url:
        # The demo's staff account is the demo's only: the real admin does not exist there.
        answer = httpx.post(f"{url}/api/v1/auth/token", data={"username": REAL_ADMIN, "password": "vrai-mot-de-passe"})
        assert answer.status_code == 401
    assert _emails(real) == [REAL_ADMIN]
    assert real.stat().st_mtime_ns == before
    folder = re.search(r"démo dans (\S+)", log.read_text())
    assert folder is not None and not Path(folder.group(1)).exists()  # the throwaway folder is gone


def test_demo_refuses_a_data_folder_holding_real_members(tmp_path: Path) -> None:
    created = _tierslieu(tmp_path, "users", "create", "--email", REAL_ADMIN, "--password", "vrai-mot-de-passe")
    assert created.returncode == 0, created.stderr
    refused = _tierslieu(tmp_path, "demo", "--data-dir", "var", "--port", "0")
    assert refused.returncode == 2
    assert "refuse" in refused.stderr
    assert _emails(tmp_path / "var" / "tierslieu.db") == [REAL_ADMIN]
