"""Issue 11, finding 2 (load), on the real server: ``tierslieu serve`` in a subprocess, loopback.

200 live streams and 100 parallel reads from one member at once: nothing but the deliberate
503 (stream cap) and 429 (rates) is refused, every booking read gets an answer, and the
liveness probe answers in under 200 ms all along. A second server with tiny rates shows the
per-member and per-address limits (429 + Retry-After) on their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.parallel import Alone
from tests.support.serve import ROOT, tierslieu_command, tierslieu_process

PASSWORD = "motdepasse-solide"
STREAMS = 200
READS = 100
# The caps of this test: 2 staff accounts × 100 streams asked, 150 allowed in total.
MAX_STREAMS = 150
PER_MEMBER = 100
LIVE_BUDGET_S = 0.2
TEST_DEADLINE_S = 90


def _env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
    env.update({"TIERSLIEU_DATA_DIR": str(tmp / "var"), "PYTHONUNBUFFERED": "1"})
    env.update({f"TIERSLIEU_{name.upper()}": value for name, value in settings.items()})
    return env


def _prepare(env: dict[str, str], people: dict[str, str]) -> None:
    tierslieu_command(env, "site", "load", str(ROOT / "config" / "trilport.yaml"))
    for email, role in people.items():
        tierslieu_command(env, "users", "create", "--email", email, "--password", PASSWORD, "--role", role)


def _login(base: str, email: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@dataclass
class Tally:
    statuses: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    retry_after: list[str | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


async def _open_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], hold: asyncio.Event, tally: Tally
) -> None:
    """Open one SSE stream, read its snapshot, keep it open (idle) until ``hold`` is set."""
    async with client.stream("GET", url, headers={**headers, "Accept": "text/event-stream"}) as response:
        tally.statuses.append(response.status_code)
        if response.status_code != 200:
            body = (await response.aread()).decode()
            tally.codes.append(body)
            tally.retry_after.append(response.headers.get("retry-after"))
            return
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith("event: snapshot"):
                break
        await hold.wait()


async def _read_bookings(client: httpx.AsyncClient, url: str, headers: dict[str, str], tally: Tally) -> None:
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    tally.seconds.append(time.perf_counter() - started)
    tally.statuses.append(response.status_code)
    if response.status_code != 200:
        tally.codes.append(response.json().get("code", ""))
        tally.retry_after.append(response.headers.get("retry-after"))


# The liveness probe runs in its own process: in the test process it would wait for the
# interpreter lock behind the load client's event loop, and measure the client, not the server.
PROBE = """
import json, sys, time, httpx
url = sys.argv[1]
seconds, statuses = [], []
with httpx.Client(timeout=5) as client:
    print("ready", flush=True)
    while True:
        started = time.perf_counter()
        statuses.append(client.get(url).status_code)
        seconds.append(time.perf_counter() - started)
        import select
        if select.select([sys.stdin], [], [], 0.05)[0]:
            break
print(json.dumps({"seconds": seconds, "statuses": statuses}), flush=True)
"""


def _start_probe(url: str) -> subprocess.Popen[str]:
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert probe.stdout is not None and probe.stdout.readline().strip() == "ready"
    return probe


def _stop_probe(probe: subprocess.Popen[str], tally: Tally) -> None:
    output, _ = probe.communicate("stop\n", timeout=30)
    measured = json.loads(output.strip().splitlines()[-1])
    tally.seconds.extend(measured["seconds"])
    tally.statuses.extend(measured["statuses"])


async def _load(base: str, staff: list[dict[str, str]], member: dict[str, str]) -> tuple[Tally, Tally, Tally]:
    streams, reads, live = Tally(), Tally(), Tally()
    hold = asyncio.Event()
    unlimited = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    probe = _start_probe(f"{base}/api/v1/health/live")
    async with httpx.AsyncClient(limits=unlimited, timeout=60) as load_client:
        stream_url = f"{base}/api/v1/occupancy/stream"
        openers = [
            asyncio.create_task(_open_stream(load_client, stream_url, staff[i % len(staff)], hold, streams))
            for i in range(STREAMS)
        ]
        # Every stream answered (open and idle, or refused) before the reads start.
        while len(streams.statuses) < STREAMS:
            await asyncio.sleep(0.05)
        url = f"{base}/api/v1/bookings"
        await asyncio.gather(*(_read_bookings(load_client, url, member, reads) for _ in range(READS)))
        await asyncio.sleep(1.0)  # streams still open and idle, the probe still running
        hold.set()
        await asyncio.gather(*openers)
    _stop_probe(probe, live)
    return streams, reads, live


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("load")
    env = _env(tmp, sse_max_streams=str(MAX_STREAMS), sse_max_streams_per_member=str(PER_MEMBER))
    _prepare(env, {"staff1@trilport.fr": "staff", "staff2@trilport.fr": "staff", "member@trilport.fr": "member"})
    # Output to a file: an unread pipe fills up with access-log lines and blocks the server.
    with tierslieu_process(env, "serve", "--host", "127.0.0.1", log=tmp / "serve.log") as base:
        yield base


def test_streams_and_parallel_reads_leave_the_server_answering(loaded_server: str, alone: Alone) -> None:
    base = loaded_server
    staff = [_login(base, "staff1@trilport.fr"), _login(base, "staff2@trilport.fr")]
    member = _login(base, "member@trilport.fr")
    # The probe's 200 ms budget: the load alone on the machine, not beside other tests; the server
    # (the module's fixture) started beside them.
    with alone():
        started = time.monotonic()
        streams, reads, live = asyncio.run(asyncio.wait_for(_load(base, staff, member), TEST_DEADLINE_S))
        elapsed = time.monotonic() - started

    # Streams: exactly the caps are open; the others are told to come back (503 + Retry-After).
    assert streams.statuses.count(200) == MAX_STREAMS, streams.codes[:3]
    refused = [s for s in streams.statuses if s != 200]
    assert set(refused) == {503} and len(refused) == STREAMS - MAX_STREAMS
    assert all('"code":"too_many_streams"' in body for body in streams.codes), streams.codes[:3]
    assert all(value is not None and int(value) > 0 for value in streams.retry_after)

    # Reads: every one answered, none with a server error (429 would be deliberate; none expected here).
    assert len(reads.statuses) == READS
    assert all(s in (200, 429) for s in reads.statuses), (reads.statuses, reads.codes)
    assert reads.statuses.count(200) == READS

    # Liveness: answered in under 200 ms throughout. On a host that is itself overloaded (more
    # runnable processes than cores, e.g. several test suites at once) the operating system can
    # leave any process, the probe's included, unscheduled for a few hundred ms: there, one probe
    # in fifty may exceed the budget, none may exceed a second.
    assert live.statuses and set(live.statuses) == {200}
    slow = [s for s in live.seconds if s >= LIVE_BUDGET_S]
    if os.getloadavg()[0] <= (os.cpu_count() or 1):
        assert slow == [], sorted(live.seconds)[-5:]
    else:
        assert len(slow) <= len(live.seconds) // 50 and max(live.seconds) < 1.0, sorted(live.seconds)[-5:]

    # After the load, the server is idle again and every slot was given back.
    again = httpx.get(f"{base}/api/v1/occupancy/stream", headers=staff[0], timeout=10)
    assert again.status_code == 200

    print(
        f"\nload: {STREAMS} streams ({streams.statuses.count(200)} open, {len(refused)} × 503), "
        f"{READS} parallel reads p50 {statistics.median(reads.seconds) * 1000:.0f} ms "
        f"max {max(reads.seconds) * 1000:.0f} ms; /health/live {len(live.seconds)} probes "
        f"p50 {statistics.median(live.seconds) * 1000:.1f} ms max {max(live.seconds) * 1000:.1f} ms; "
        f"whole run {elapsed:.1f} s; host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def test_rate_limits_per_member_and_per_address(tmp_path: Path) -> None:
    env = _env(tmp_path, rate_limit_member="20/minute", rate_limit_address="60/minute")
    _prepare(env, {"one@trilport.fr": "member", "two@trilport.fr": "member"})
    log = tmp_path / "serve.log"
    with tierslieu_process(env, "serve", "--host", "127.0.0.1", log=log) as base, httpx.Client(timeout=10) as client:
        one, two = _login(base, "one@trilport.fr"), _login(base, "two@trilport.fr")
        answers = [client.get(f"{base}/api/v1/bookings", headers=one) for _ in range(25)]
        assert [a.status_code for a in answers[:20]] == [200] * 20
        refused = answers[20:]
        assert {a.status_code for a in refused} == {429}
        assert {a.json()["code"] for a in refused} == {"rate_limited"}
        assert all(0 < int(a.headers["retry-after"]) <= 60 for a in refused)
        assert "Trop de requêtes" in refused[0].json()["detail"]
        # Another member from the same address is not held back by the first one's rate…
        assert client.get(f"{base}/api/v1/bookings", headers=two).status_code == 200
        # …until the address itself is past its rate (counted before authentication).
        statuses = [client.get(f"{base}/api/v1/bookings", headers=two).status_code for _ in range(40)]
        assert statuses[-1] == 429 and 200 in statuses
        by_address = client.get(f"{base}/api/v1/spaces")
        assert by_address.status_code == 429 and by_address.json()["code"] == "rate_limited"
        assert int(by_address.headers["retry-after"]) > 0
        # The liveness probe is never limited.
        assert client.get(f"{base}/api/v1/health/live").status_code == 200
