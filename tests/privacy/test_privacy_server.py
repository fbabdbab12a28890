"""Issue 11, finding 9, on the real server (``tierslieu serve`` subprocess, SQLite): lines older
than the retention are purged by the scheduled purge at start, the access report's totals are
unchanged, the purge is in the audit trail; an admin's erasure takes effect at once."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.support.serve import ROOT, tierslieu_command, tierslieu_process

PASSWORD = "motdepasse-solide"
RETENTION_DAYS = 30


def _login(base: str, email: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _insert_lines(database: Path, member_id: int, ages_days: list[int]) -> None:
    """Access-log lines written the way SQLAlchemy stores them on SQLite (UTC wall time)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO access_event (at, device_id, device_name, space_id, member_id, badge_uid, decision, reason,"
            " booking_id, detail) VALUES (?, 1, 'Porte principale', 1, ?, '04A1B2C3', 'granted', 'staff', NULL, '')",
            [((now - timedelta(days=age)).strftime("%Y-%m-%d %H:%M:%S.%f"), member_id) for age in ages_days],
        )


def _purged(base: str, staff: dict[str, str]) -> bool:
    lines = httpx.get(f"{base}/api/v1/access-events", headers=staff).json()
    return any(line["reason"] == "retention_purge" for line in lines)


def test_retention_purge_and_erasure_on_the_real_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
    env.update(
        {
            "TIERSLIEU_DATA_DIR": str(tmp_path / "var"),
            "TIERSLIEU_ACCESS_LOG_RETENTION_DAYS": str(RETENTION_DAYS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    tierslieu_command(env, "site", "load", str(ROOT / "config" / "trilport.yaml"))
    for email, role in (("admin@trilport.fr", "admin"), ("staff@trilport.fr", "staff"), ("ana@trilport.fr", "member")):
        tierslieu_command(env, "users", "create", "--email", email, "--password", PASSWORD, "--role", role)
    database = tmp_path / "var" / "tierslieu.db"
    with sqlite3.connect(database) as db:
        member_id = db.execute("SELECT id FROM member WHERE email = 'ana@trilport.fr'").fetchone()[0]
    # Refused by the triggers outside the purge, like before.
    with sqlite3.connect(database) as db:
        _insert_lines(database, member_id, [40, 35, 31, 20, 2])
        try:
            db.execute("DELETE FROM access_event")
            raise AssertionError("the access log accepted a DELETE")
        except sqlite3.IntegrityError as exc:
            assert "append-only" in str(exc)

    with tierslieu_process(env, "serve", "--host", "127.0.0.1", log=tmp_path / "serve.log") as base:
        staff, admin = _login(base, "staff@trilport.fr"), _login(base, "admin@trilport.fr")
        member = _login(base, "ana@trilport.fr")
        # The scheduled purge runs once at start (then every TIERSLIEU_PRIVACY_PURGE_HOURS).
        deadline = time.monotonic() + 20
        while not _purged(base, staff) and time.monotonic() < deadline:
            time.sleep(0.2)
        period = {"from": (datetime.now(UTC) - timedelta(days=60)).date().isoformat()}
        report = httpx.get(f"{base}/api/v1/reports/access", params=period, headers=staff).json()
        assert sum(row["count"] for row in report) == 5  # 3 purged into daily counts + 2 kept
        mine = httpx.get(f"{base}/api/v1/members/me/access-events", headers=member).json()
        assert len(mine) == 2  # only what the retention keeps
        every = httpx.get(f"{base}/api/v1/access-events", headers=staff).json()
        purges = [line for line in every if line["reason"] == "retention_purge"]
        assert len(purges) == 1 and purges[0]["member_id"] is None and "3 ligne(s)" in purges[0]["detail"]

        erased = httpx.post(f"{base}/api/v1/members/{member_id}/erase", headers=admin)
        assert erased.status_code == 200
        assert httpx.get(f"{base}/api/v1/members/me", headers=member).status_code == 401
        login = httpx.post(f"{base}/api/v1/auth/token", data={"username": "ana@trilport.fr", "password": PASSWORD})
        assert login.status_code == 401
        after = httpx.get(f"{base}/api/v1/reports/access", params=period, headers=staff).json()
        assert after == report
    with sqlite3.connect(database) as db:
        name, email, active = db.execute("SELECT name, email, active FROM member WHERE id = ?", (member_id,)).fetchone()
        markers = db.execute("SELECT count(*) FROM access_event_purge").fetchone()[0]
    assert name == "Personne effacée" and "ana" not in email and not active and markers == 0
