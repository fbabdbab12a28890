"""Booking engine benchmark: prints one JSON object.

For SQLite and PostgreSQL (a throwaway cluster, or ``TIERSLIEU_TEST_POSTGRES_URL``):

- ``create_per_s``: bookings created per second through the HTTP API (auth, rules, conflict
  check, insert, commit) by one keep-alive client, against two floors measured in the same run:
  ``health_per_s`` (the same app answering a constant JSON endpoint) and ``raw_insert_per_s``
  (the same booking row inserted and committed through the same driver, no app);
- ``latency_ms``: create latency p50/p99 with 1,000 and with 1,000,000 existing bookings
  (``--quick``: 100,000), bulk-loaded over many resources and years; ``conflict_query_plan``
  shows the overlap query uses ``ix_booking_resource_block``.

Run: ``.venv/bin/python bench/booking.py [--quick] [--only sqlite|postgres]``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
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

from tests.conftest import create_user, make_settings  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402
from tests.support.server import LiveServer, live_server  # noqa: E402
from tierslieu.api import create_app  # noqa: E402
from tierslieu.models import Booking  # noqa: E402
from tierslieu.services import members as member_service  # noqa: E402
from tierslieu.services import spaces as space_service  # noqa: E402

RESOURCES = 200
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
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            params = (resources[0], owners[0], instant(start), instant(end), instant(start), instant(end),
                      "confirmed", "", False, False, "[]", instant(datetime.now(UTC)), "")  # fmt: skip
            cursor.execute(sql, params)
            if sqlite:
                cursor.execute("COMMIT")
            else:
                raw.commit()
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


def run_database(name: str, url: str, tmp: Path, quick: bool) -> dict[str, Any]:
    small, large = 1_000, (100_000 if quick else 1_000_000)
    requests = 200 if quick else 500
    samples = 100 if quick else 300
    settings = make_settings(url, tmp, data_dir=tmp / name)
    with live_server(create_app(settings)) as srv:
        resources, owners = _seed(srv)
        user = create_user(srv.runtime, "member", email=f"bench-{uuid.uuid4().hex[:6]}@bench.test")
        result: dict[str, Any] = {}
        with httpx.Client(base_url=srv.url, timeout=60) as client:
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
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tierslieu-bench-"))
    report: dict[str, Any] = {"quick": args.quick, "client": "one keep-alive HTTP client, sequential requests"}
    from tierslieu.migrations import upgrade_database

    if args.only in (None, "sqlite"):
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        report["sqlite"] = run_database("sqlite", url, tmp, args.quick)
    if args.only in (None, "postgres"):
        with _postgres() as url:
            report["postgres"] = run_database("postgres", url, tmp, args.quick)
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
