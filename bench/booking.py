"""Booking engine benchmark: prints one JSON object.

For SQLite and PostgreSQL (a throwaway cluster, or ``TIERSLIEU_TEST_POSTGRES_URL``), on the app
as production runs it (background components on, the Trilport site loaded, embedded broker):

- ``idle``: CPU of the service with no traffic, in % of one core, per thread, right after start;
- ``rates``: health (the constant endpoint), authenticated ``GET /members/me``, ``POST /bookings``
  and ``POST /sessions/{id}/registrations`` per second, measured request by request in turn in
  the same run (the machine's load then weighs on all four alike), and their ratios;
- ``burst_cpu``: per-thread CPU time during a burst of creates, split into the client,
  the HTTP server (event loop + worker threads) and background components, with the background
  share of the service's CPU;

- ``create_per_s``: bookings created per second through the HTTP API (auth, rules, conflict
  check, insert, commit) by one keep-alive client, against two floors measured in the same run:
  ``health_per_s`` (the same app answering a constant JSON endpoint) and ``raw_insert_per_s``
  (the same booking row inserted and committed through the same driver, no app);
- ``latency_ms``: create latency p50/p99 with 1,000 and with 1,000,000 existing bookings
  (``--quick``: 100,000), bulk-loaded over many resources and years; ``conflict_query_plan``
  shows the overlap query uses ``ix_booking_resource_block``.

Run: ``.venv/bin/python bench/booking.py [--quick] [--floors-only] [--only sqlite|postgres]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SITE = ROOT / "config" / "trilport.yaml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Threads of the HTTP server: uvicorn's event loop (the live server's thread) and the worker
# threads that run sync handlers. The benchmark's own client is the main thread.
SERVER_THREADS = ("live-server", "AnyIO worker thread")

from tests.conftest import create_user, make_settings  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402
from tests.support.server import LiveServer, live_server  # noqa: E402
from tierslieu.app import create_app  # noqa: E402
from tierslieu.models import Booking  # noqa: E402
from tierslieu.outbox.worker import OutboxWorker  # noqa: E402
from tierslieu.services import members as member_service  # noqa: E402
from tierslieu.services import spaces as space_service  # noqa: E402

RESOURCES = 200
UNLIMITED_RATE = "1000000/minute"
OWNERS = 20
EPOCH = datetime(2031, 1, 6, tzinfo=UTC)  # existing bookings fill even hours from here on
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
BOOKING_TABLE = Booking.__table__  # type: ignore[attr-defined]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(latencies: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(latencies), 2), "p99": round(_percentile(latencies, 0.99), 2)}


def _seed(srv: LiveServer) -> tuple[list[int], list[int]]:
    with srv.runtime.db.session(write=True) as s:
        space = space_service.create_space(s, name="Banc", kind="coworking", rules={"public_holidays_closed": False})
        resources = [
            space_service.create_resource(s, name=f"Banc {i}", kind="desk", space_id=space.id or 0).id or 0
            for i in range(RESOURCES)
        ]
        owners = [
            member_service.create_member(s, srv.runtime.secrets, name=f"m{i}", email=f"m{i}@bench.test").id or 0
            for i in range(OWNERS)
        ]
        s.commit()
    return resources, owners


def _slot(index: int, odd: bool) -> tuple[int, datetime]:
    """Existing bookings take even hours; the measured ones odd hours, in the same region."""
    resource, hour = index % RESOURCES, index // RESOURCES
    return resource, EPOCH + timedelta(hours=2 * hour + (1 if odd else 0))


def _rows(start_index: int, count: int, resources: list[int], owners: list[int]) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for index in range(start_index, start_index + count):
        r, start = _slot(index, odd=False)
        yield {
            "resource_id": resources[r], "member_id": owners[index % OWNERS], "starts_at": start,
            "ends_at": start + timedelta(hours=1), "block_start": start, "block_end": start + timedelta(hours=1),
            "status": "confirmed", "note": "", "walk_in": False, "override": False, "overridden": [],
            "created_at": now, "reason": "",
        }  # fmt: skip


def _bulk_load(srv: LiveServer, start_index: int, count: int, resources: list[int], owners: list[int]) -> float:
    began = time.perf_counter()
    engine = srv.runtime.db.engine
    if srv.runtime.db.is_sqlite:
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in _rows(start_index, count, resources, owners):
                batch.append(row)
                if len(batch) == 50_000:
                    conn.execute(insert(BOOKING_TABLE), batch)
                    batch = []
            if batch:
                conn.execute(insert(BOOKING_TABLE), batch)
            conn.exec_driver_sql("ANALYZE")
    else:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = "resource_id, member_id, starts_at, ends_at, block_start, block_end, status, note, walk_in, " \
                      "override, overridden, created_at, reason"  # fmt: skip
            with cursor.copy(f"COPY booking ({columns}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for n, row in enumerate(_rows(start_index, count, resources, owners)):
                    buffer.write(
                        f"{row['resource_id']}\t{row['member_id']}\t{row['starts_at'].isoformat()}\t"
                        f"{row['ends_at'].isoformat()}\t{row['block_start'].isoformat()}\t{row['block_end'].isoformat()}"
                        f"\tconfirmed\t\tf\tf\t[]\t{row['created_at'].isoformat()}\t\n"
                    )
                    if n % 50_000 == 49_999:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            raw.commit()
            cursor.execute("ANALYZE booking")
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - began


def _measure_health(client: httpx.Client, count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        assert client.get("/api/v1/health").status_code == 200
    return count / (time.perf_counter() - began)


def _measure_creates(
    client: httpx.Client, headers: dict[str, str], resources: list[int], first: int, count: int
) -> tuple[float, list[float]]:
    latencies = []
    began = time.perf_counter()
    for index in range(first, first + count):
        r, start = _slot(index, odd=True)
        body = {
            "resource_id": resources[r],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        }
        t0 = time.perf_counter()
        response = client.post("/api/v1/bookings", json=body, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 201, response.text
    return count / (time.perf_counter() - began), latencies


def _measure_raw_inserts(srv: LiveServer, resources: list[int], owners: list[int], count: int) -> float:
    """The same row, one insert + commit each, through the DB-API driver the app uses."""
    sqlite = srv.runtime.db.is_sqlite
    raw = srv.runtime.db.engine.raw_connection()
    placeholder = "?" if sqlite else "%s"
    sql = (
        "INSERT INTO booking (resource_id, member_id, starts_at, ends_at, block_start, block_end, status, note, "
        "walk_in, override, overridden, created_at, reason) VALUES (" + ", ".join([placeholder] * 13) + ")"
    )
    far = datetime(2040, 1, 1, tzinfo=UTC)

    def instant(moment: datetime) -> Any:
        return moment.replace(tzinfo=None).strftime(SQLITE_FORMAT) if sqlite else moment

    try:
        cursor = raw.cursor()
        began = time.perf_counter()
        for index in range(count):
            start = far + timedelta(hours=2 * index)
            end = start + timedelta(hours=1)
            # The app's connections run in autocommit and send their own BEGIN (on both databases).
            cursor.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
            params = (resources[0], owners[0], instant(start), instant(end), instant(start), instant(end),
                      "confirmed", "", False, False, "[]", instant(datetime.now(UTC)), "")  # fmt: skip
            cursor.execute(sql, params)
            cursor.execute("COMMIT")
        return count / (time.perf_counter() - began)
    finally:
        raw.close()


def _conflict_plan(srv: LiveServer, resource_id: int) -> str:
    probe = EPOCH + timedelta(days=30)
    with srv.runtime.db.engine.connect() as conn:
        if srv.runtime.db.is_sqlite:
            rows = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT * FROM booking WHERE resource_id = ? AND block_start < ? AND block_end > ? "
                "AND status IN ('pending','confirmed','checked_in')",
                (
                    resource_id,
                    probe.replace(tzinfo=None).strftime(SQLITE_FORMAT),
                    probe.replace(tzinfo=None).strftime(SQLITE_FORMAT),
                ),
            ).all()
            return " | ".join(str(r[-1]) for r in rows)
        rows = conn.execute(
            text(
                "EXPLAIN SELECT * FROM booking WHERE resource_id = :r AND block_start < :p AND block_end > :p "
                "AND status IN ('pending','confirmed','checked_in')"
            ),
            {"r": resource_id, "p": probe},
        ).all()
        return " | ".join(r[0].strip() for r in rows)


def _thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every thread of this process, from /proc."""
    seconds: dict[int, float] = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def _thread_role(name: str) -> str:
    if name == "MainThread":
        return "client"
    if name.startswith(SERVER_THREADS):
        return "server"
    return "background"


class CpuMeter:
    """Accumulates per-thread CPU over the measured phases only."""

    def __init__(self) -> None:
        self.by_thread: dict[str, float] = {}
        self.wall = 0.0
        self._start: tuple[float, dict[int, float]] | None = None

    def __enter__(self) -> CpuMeter:
        self._start = (time.perf_counter(), _thread_cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._start is not None
        began, before = self._start
        after = _thread_cpu()
        self.wall += time.perf_counter() - began
        names = {t.native_id: t.name for t in threading.enumerate()}
        for tid, cpu in after.items():
            name = names.get(tid, f"thread-{tid}")
            self.by_thread[name] = self.by_thread.get(name, 0.0) + cpu - before.get(tid, 0.0)

    def report(self) -> dict[str, Any]:
        roles: dict[str, float] = {"client": 0.0, "server": 0.0, "background": 0.0}
        for name, cpu in self.by_thread.items():
            roles[_thread_role(name)] += cpu
        service = roles["server"] + roles["background"]
        return {
            "wall_s": round(self.wall, 2),
            "cpu_s": {role: round(cpu, 3) for role, cpu in roles.items()},
            "background_share_of_service": round(roles["background"] / service, 3) if service else 0.0,
            "service_core_percent": round(100 * service / self.wall, 1) if self.wall else 0.0,
            "per_thread_s": {n: round(c, 3) for n, c in sorted(self.by_thread.items(), key=lambda kv: -kv[1]) if c},
        }


def _measure_idle(seconds: float) -> dict[str, Any]:
    """The service's CPU with no traffic: every thread but the (sleeping) client's."""
    meter = CpuMeter()
    with meter:
        time.sleep(seconds)
    report = meter.report()
    return {
        "seconds": report["wall_s"],
        "core_percent": report["service_core_percent"],
        "per_thread_s": report["per_thread_s"],
    }


def _timed(rates: dict[str, list[float]], kind: str, count: int, began: float) -> None:
    totals = rates.setdefault(kind, [0.0, 0.0])
    totals[0] += count
    totals[1] += time.perf_counter() - began


def _measure_me(client: httpx.Client, headers: dict[str, str], count: int) -> None:
    for _ in range(count):
        assert client.get("/api/v1/members/me", headers=headers).status_code == 200


def measure_floors(
    srv: LiveServer, client: httpx.Client, resources: list[int], rounds: int, per_round: int
) -> dict[str, Any]:
    """Health, members/me, booking create and session registration in turn; then a burst of creates."""
    from programme import _registrants, _session

    booker = create_user(srv.runtime, "member", email=f"floors-{uuid.uuid4().hex[:6]}@bench.test")
    registrants = _registrants(srv, rounds * per_round + 10)
    session_id = _session(srv, client, capacity=rounds * per_round + 10)
    # Warm-up of every path, then the interleaved rounds.
    _measure_health(client, 20)
    _measure_me(client, booker.headers, 20)
    first = 100_000  # odd hours far from the latency phase's slots
    # One create per resource: the rounds below measure requests, not the first look at each
    # resource's rules (cached per resource until a space or a resource changes).
    _measure_creates(client, booker.headers, resources, first, len(resources))
    first += len(resources)
    for headers in registrants[:10]:
        client.post(f"/api/v1/sessions/{session_id}/registrations", json={}, headers=headers)
    queue = iter(registrants[10:])
    rates: dict[str, list[float]] = {}
    url = f"/api/v1/sessions/{session_id}/registrations"
    # One request of each kind in turn, so that the machine's load weighs on the four alike.
    for _ in range(rounds * per_round):
        began = time.perf_counter()
        assert client.get("/api/v1/health").status_code == 200
        _timed(rates, "health", 1, began)
        began = time.perf_counter()
        assert client.get("/api/v1/members/me", headers=booker.headers).status_code == 200
        _timed(rates, "members_me", 1, began)
        began = time.perf_counter()
        _measure_creates(client, booker.headers, resources, first, 1)
        _timed(rates, "booking_create", 1, began)
        first += 1
        # The registrant has just opened a page (as the booker has in this round): both timed
        # writes then find their caller's identity cached, and compare the writes themselves.
        registrant = next(queue)
        assert client.get("/api/v1/members/me", headers=registrant).status_code == 200
        began = time.perf_counter()
        response = client.post(url, json={}, headers=registrant)
        _timed(rates, "registration", 1, began)
        assert response.status_code == 201, response.text
    # The background components' share of the CPU during a burst of creates alone: the rounds'
    # confirmation e-mails are sent first (here, on the client's thread), or the outbox's next
    # pass would compose them during the burst and count the registrations' work as the creates'.
    # A pass sends at most 20 messages: pass until none is left.
    for component in srv.runtime.components:
        if isinstance(component, OutboxWorker):
            while (report := component.tick()) is not None and report.changed:
                pass
    meter = CpuMeter()
    with meter:
        _measure_creates(client, booker.headers, resources, first, rounds * per_round)
    per_s = {kind: round(n / t, 1) for kind, (n, t) in rates.items()}
    return {
        "per_s": per_s,
        "ratios": {
            "members_me_vs_health": round(per_s["members_me"] / per_s["health"], 3),
            "create_vs_members_me": round(per_s["booking_create"] / per_s["members_me"], 3),
            "create_vs_health": round(per_s["booking_create"] / per_s["health"], 3),
            # "within 1.2x of a booking create": registration time / booking time
            "registration_time_vs_create": round(per_s["booking_create"] / per_s["registration"], 3),
        },
        "burst_cpu": meter.report(),
    }


def run_database(name: str, url: str, tmp: Path, quick: bool, large_phase: bool = True) -> dict[str, Any]:
    small, large = 1_000, (100_000 if quick else 1_000_000)
    requests = 200 if quick else 500
    samples = 100 if quick else 300
    # As production runs: background components on, the Trilport site, the embedded broker.
    settings = make_settings(
        url, tmp, data_dir=tmp / name, run_background=True, site=SITE,
        # One client sends every request: the limiter still counts each one, but never refuses.
        rate_limit_member=UNLIMITED_RATE, rate_limit_address=UNLIMITED_RATE,
    )  # fmt: skip
    with live_server(create_app(settings)) as srv:
        result: dict[str, Any] = {}
        time.sleep(3)  # start-up passes settle
        result["idle"] = _measure_idle(5 if quick else 15)
        resources, owners = _seed(srv)
        user = create_user(srv.runtime, "member", email=f"bench-{uuid.uuid4().hex[:6]}@bench.test")
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            result["floors"] = measure_floors(srv, client, resources, rounds=5, per_round=40 if quick else 100)
            if not large_phase:
                return result
            _measure_health(client, 20)  # warm-up
            result["health_per_s"] = round(_measure_health(client, requests), 1)
            result["load_s"] = {str(small): round(_bulk_load(srv, 0, small, resources, owners), 2)}
            rate, latencies_small = _measure_creates(client, user.headers, resources, 0, requests)
            result["create_per_s"] = round(rate, 1)
            result["raw_insert_per_s"] = round(_measure_raw_inserts(srv, resources, owners, requests), 1)
            result["load_s"][str(large)] = round(_bulk_load(srv, small, large - small, resources, owners), 2)
            _rate, latencies_large = _measure_creates(client, user.headers, resources, requests, samples)
            result["latency_ms"] = {str(small): _summary(latencies_small), str(large): _summary(latencies_large)}
            plan = _conflict_plan(srv, resources[0])
            result["conflict_query_plan"] = plan
            result["conflict_query_uses_index"] = "ix_booking_resource_block" in plan
        result["create_vs_health"] = round(result["create_per_s"] / result["health_per_s"], 3)
        result["create_vs_raw_insert"] = round(result["create_per_s"] / result["raw_insert_per_s"], 3)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 instead of 1,000,000 existing bookings")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--floors-only", action="store_true", help="skip the bulk-load latency phase")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tierslieu-bench-"))
    report: dict[str, Any] = {"quick": args.quick, "client": "one keep-alive HTTP client, sequential requests"}
    from tierslieu.migrations import upgrade_database

    if args.only in (None, "sqlite"):
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        report["sqlite"] = run_database("sqlite", url, tmp, args.quick, not args.floors_only)
    if args.only in (None, "postgres"):
        with _postgres() as url:
            report["postgres"] = run_database("postgres", url, tmp, args.quick, not args.floors_only)
    print(json.dumps(report, indent=2, ensure_ascii=False))


@contextmanager
def _postgres() -> Iterator[str]:
    servers: Generator[Any, None, None] = postgres_server()  # type: ignore[assignment]
    server = next(servers)
    name = server.create_database()
    url = server.database_url(name)
    from tierslieu.migrations import upgrade_database

    upgrade_database(url)
    try:
        yield url
    finally:
        server.drop_database(name)
        servers.close()


if __name__ == "__main__":
    main()
