"""Programme benchmark: the time to register for a session next to the time to create a booking,
in the same run, on the same app, by one keep-alive client; prints one JSON object.

For SQLite and PostgreSQL (a throwaway cluster): ``booking_ms`` (``POST /bookings`` on free desk
slots, as ``bench/booking.py`` measures it) and ``register_ms`` (``POST /sessions/{id}/registrations``
by members for themselves, split into ``confirmed`` — the seat counter's conditional UPDATE
succeeds — and ``waitlisted`` — it does not, and the registration queues), p50 and p99.

Run: ``.venv/bin/python bench/programme.py [--count 200] [--only sqlite|postgres]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The booking benchmark's own seed and measure, so both numbers are taken the same way.
from booking import _measure_creates, _postgres, _seed, _summary  # noqa: E402

from tests.conftest import create_user, make_settings  # noqa: E402
from tests.support.server import LiveServer, live_server  # noqa: E402
from tierslieu.api import create_app  # noqa: E402
from tierslieu.db.types import utcnow  # noqa: E402
from tierslieu.services import members as member_service  # noqa: E402
from tierslieu.services import spaces as space_service  # noqa: E402

THEME = "Maîtrise des outils numériques du quotidien"


def _registrants(srv: LiveServer, count: int) -> list[dict[str, str]]:
    """Members with a token each (no password: hashing one is not what we measure)."""
    headers = []
    with srv.runtime.db.session(write=True) as s:
        for i in range(count):
            member = member_service.create_member(
                s, srv.runtime.secrets, name=f"r{i}", email=f"r{i}-{uuid.uuid4().hex[:6]}@bench.test"
            )
            token = member_service.issue_token(s, member, lifetime=timedelta(hours=2))
            headers.append({"Authorization": f"Bearer {token}"})
        s.commit()
    return headers


def _session(srv: LiveServer, client: httpx.Client, capacity: int) -> int:
    animator = create_user(srv.runtime, "animator", email=f"a-{uuid.uuid4().hex[:6]}@bench.test")
    with srv.runtime.db.session(write=True) as s:
        space = space_service.create_space(s, name="Salle banc", kind="room", rules={"public_holidays_closed": False})
        room = space_service.create_resource(s, name="Salle banc", kind="room", space_id=space.id or 0, capacity=None)
        s.commit()
    workshop = client.post(
        "/api/v1/workshops",
        json={"title": "Banc", "themes": [THEME], "duration_minutes": 60, "capacity": capacity},
        headers=animator.headers,
    ).json()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    created = client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": room.id, "start": start.isoformat()},
        headers=animator.headers,
    )
    assert created.status_code == 201, created.text
    session_id: int = created.json()["id"]
    return session_id


def _measure_registrations(
    client: httpx.Client, session_id: int, registrants: list[dict[str, str]]
) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"confirmed": [], "waitlisted": []}
    for headers in registrants:
        t0 = time.perf_counter()
        response = client.post(f"/api/v1/sessions/{session_id}/registrations", json={}, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 201, response.text
        latencies[response.json()["status"]].append(elapsed)
    return latencies


def run_database(name: str, url: str, tmp: Path, count: int) -> dict[str, Any]:
    settings = make_settings(url, tmp, data_dir=tmp / name)
    with live_server(create_app(settings)) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        resources, _owners = _seed(srv)
        booker = create_user(srv.runtime, "member", email=f"bench-{uuid.uuid4().hex[:6]}@bench.test")
        registrants = _registrants(srv, count)
        session_id = _session(srv, client, capacity=count // 2)
        _measure_creates(client, booker.headers, resources, 0, 20)  # warm-up
        _rate, bookings = _measure_creates(client, booker.headers, resources, 20, count)
        registered = _measure_registrations(client, session_id, registrants)
        everyone = registered["confirmed"] + registered["waitlisted"]
        return {
            "booking_ms": _summary(bookings),
            "register_ms": _summary(everyone),
            "register_confirmed_ms": _summary(registered["confirmed"]),
            "register_waitlisted_ms": _summary(registered["waitlisted"]),
            "register_vs_booking_p50": round(_summary(everyone)["p50"] / _summary(bookings)["p50"], 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="bookings, and registrations (half waitlisted)")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tierslieu-bench-programme-"))
    report: dict[str, Any] = {"count": args.count, "client": "one keep-alive HTTP client, sequential requests"}
    from tierslieu.migrations import upgrade_database

    if args.only in (None, "sqlite"):
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        report["sqlite"] = run_database("sqlite", url, tmp, args.count)
    if args.only in (None, "postgres"):
        with _postgres() as url:
            report["postgres"] = run_database("postgres", url, tmp, args.count)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
