"""Scale: bookings per second through one vs two API processes on PostgreSQL, and badge →
unlock p50 with two controllers (one standing by) against one ``serve --role all`` process.

Everything real: a PostgreSQL cluster and a Mosquitto broker of its own, ``tierslieu serve``
subprocesses started like a user does. Bookings: ``--clients`` threads, each with its own
member token, POST /api/v1/bookings on free desks (spread over the API processes in turn).
Access: one scan at a time (a different staff badge each), timed from the badge message to the
unlock command on the door's topic. Prints one JSON object.

    .venv/bin/python bench/scale.py [--bookings 400] [--clients 8] [--scans 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from access import BenchMosquitto  # noqa: E402  (bench/ is on the path of a bench run)

from tests.support.mqtt import Inbox, client  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402
from tests.support.serve import tierslieu_process  # noqa: E402
from tests.support.site import TRILPORT  # noqa: E402
from tierslieu.migrations import upgrade_database  # noqa: E402
from tierslieu.models import Badge, Member  # noqa: E402
from tierslieu.runtime import Runtime  # noqa: E402
from tierslieu.services import members as member_service  # noqa: E402
from tierslieu.services import spaces as space_service  # noqa: E402
from tierslieu.settings import Settings  # noqa: E402

RESOURCES = 100
EPOCH = datetime(2031, 1, 6, tzinfo=UTC)
READER_TOPIC = "entree-lecteur/text_sensor/badge/state"
DOOR_TOPIC = "shellyplus1-entree/rpc"
SECRET = "bench-scale-secret-key-long-enough-0123456789-abcdefgh"


def _seed(env: dict[str, str], clients: int, badges: int) -> tuple[list[int], list[str], list[str]]:
    subprocess.run(
        [sys.executable, "-m", "tierslieu", "site", "load", str(TRILPORT)], env=env, check=True, capture_output=True
    )
    settings = Settings(
        database_url=env["TIERSLIEU_DATABASE_URL"],
        data_dir=Path(env["TIERSLIEU_DATA_DIR"]),
        secret_key=SECRET,
        run_background=False,
    )
    runtime = Runtime.create(settings)
    try:
        with runtime.db.session(write=True) as s:
            space = space_service.create_space(
                s, name="Banc", kind="coworking", rules={"public_holidays_closed": False}
            )
            resources = [
                space_service.create_resource(s, name=f"Banc {i}", kind="desk", space_id=space.id or 0).id or 0
                for i in range(RESOURCES)
            ]
            tokens = []
            for i in range(clients):
                member = member_service.create_member(s, runtime.secrets, name=f"m{i}", email=f"m{i}@bench.test")
                tokens.append(member_service.issue_token(s, member, lifetime=timedelta(hours=2)))
            staff = member_service.create_member(
                s, runtime.secrets, name="staff", email="staff@bench.test", roles=["staff"]
            )
            uids = [f"B{i:07d}" for i in range(badges)]
            s.add_all([Badge(uid=uid, member_id=staff.id) for uid in uids])
            s.commit()
        with runtime.db.session() as s:
            assert s.exec(select(Member).where(Member.email == "staff@bench.test")).one()
    finally:
        runtime.db.dispose()
    return resources, tokens, uids


def _bookings_per_second(
    apis: list[str], tokens: list[str], resources: list[int], count: int, first: int
) -> dict[str, float]:
    """``count`` bookings by len(tokens) concurrent clients; client k talks to apis[k % len(apis)]."""
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        with httpx.Client(
            base_url=apis[k % len(apis)], headers={"Authorization": f"Bearer {tokens[k]}"}, timeout=30
        ) as http:
            for index in range(first + k, first + count, len(tokens)):
                start = EPOCH + timedelta(hours=index // RESOURCES)
                body = {
                    "resource_id": resources[index % RESOURCES],
                    "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat(),
                }
                t0 = time.perf_counter()
                response = http.post("/api/v1/bookings", json=body)
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    if response.status_code != 201:
                        errors.append(response.text[:200])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(tokens))]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} booking(s) refused, first: {errors[0]}")
    return {"per_s": round(count / elapsed, 1), "p50_ms": round(statistics.median(latencies), 1)}


def _unlock_p50(broker: str, uids: list[str]) -> dict[str, float]:
    observer = client(broker, "bench")
    inbox = Inbox()
    observer.subscribe(DOOR_TOPIC, inbox, 1)
    observer.start()
    assert observer.wait_connected(10)
    samples = []

    def unlocks(messages: list[tuple[str, bytes, bool]]) -> int:
        return sum(1 for _t, payload, _r in messages if b'"toggle_after"' in payload)

    try:
        for uid in uids:
            seen = unlocks(inbox.messages)
            t0 = time.perf_counter()
            observer.publish(READER_TOPIC, uid.encode())
            if not inbox.wait_for(lambda messages: unlocks(messages) > seen, 10):  # noqa: B023 (waited on at once)
                raise SystemExit(f"no unlock for {uid}")
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        observer.stop(2)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "scans": len(samples),
    }


def _leading(log: Path) -> Any:
    return lambda url: (
        "controller: leading" in log.read_text() and httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
    )


def _standing_by(log: Path) -> Any:
    return lambda url: (
        "standing by" in log.read_text() and httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
    )


@contextmanager
def _services(tmp: Path) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        server = stack.enter_context(contextmanager(postgres_server)())
        name = server.create_database()
        url = server.database_url(name)
        upgrade_database(url)
        # Configured as a site should run it (Nagle off on the broker side too), as in bench/access.py.
        broker = stack.enter_context(BenchMosquitto(tmp / "mqtt"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
        env.update({
            "TIERSLIEU_DATABASE_URL": url, "TIERSLIEU_MQTT_URL": broker.url, "TIERSLIEU_SECRET_KEY": SECRET,
            "TIERSLIEU_DATA_DIR": str(tmp / "var"), "PYTHONUNBUFFERED": "1",
        })  # fmt: skip
        yield env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scans", type=int, default=200)
    args = parser.parse_args()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory(prefix="tierslieu-scale-") as folder, _services(Path(folder)) as env:
        tmp = Path(folder)
        resources, tokens, uids = _seed(env, args.clients, 2 * args.scans)
        with ExitStack() as stack:
            one = stack.enter_context(tierslieu_process(env, "serve", "--role", "api"))
            result["bookings_1_api"] = _bookings_per_second([one], tokens, resources, args.bookings, 0)
            two = stack.enter_context(tierslieu_process(env, "serve", "--role", "api"))
            result["bookings_2_api"] = _bookings_per_second([one, two], tokens, resources, args.bookings, args.bookings)
        broker = env["TIERSLIEU_MQTT_URL"]
        log = tmp / "all.log"
        with tierslieu_process(env, "serve", "--role", "all", log=log, ready=_leading(log)):
            result["unlock_single_process"] = _unlock_p50(broker, uids[: args.scans])
        with ExitStack() as stack:
            logs = [tmp / "c1.log", tmp / "c2.log"]
            stack.enter_context(
                tierslieu_process(env, "serve", "--role", "controller", log=logs[0], ready=_leading(logs[0]))
            )
            stack.enter_context(
                tierslieu_process(env, "serve", "--role", "controller", log=logs[1], ready=_standing_by(logs[1]))
            )
            result["unlock_leader_and_standby"] = _unlock_p50(broker, uids[args.scans :])
    result["load_1min_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
