"""The deployment kit: compose.yaml's structure, and the images' entrypoint commands run for
real outside containers (the test machines have no container runtime)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.cli.test_cli import env as env  # the fixture
from tests.support.mosquitto import MosquittoServer
from tests.support.ports import free_port
from tests.support.processes import terminate

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"api-1": "api", "api-2": "api", "controller-1": "controller", "controller-2": "controller"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_mosquitto_two_api_and_two_controller_processes() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "mosquitto", *ROLES}
    for name, role in ROLES.items():
        service = services[name]
        assert service["build"] == "." and service["command"] == ["serve", "--role", role]
        env = service["environment"]
        assert (
            env["TIERSLIEU_DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["TIERSLIEU_DATABASE_URL"]
        )
        assert re.fullmatch(
            rf"mqtt://tierslieu-{role}:\$\{{MQTT_[A-Z]+_PASSWORD\}}@mosquitto:1883", env["TIERSLIEU_MQTT_URL"]
        )
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # Only the API processes publish a port (to the proxy, on the loopback interface).
    assert all(port.startswith("127.0.0.1:") for name in ("api-1", "api-2") for port in services[name]["ports"])
    assert not any("ports" in services[name] for name in ("controller-1", "controller-2"))


def test_mosquitto_needs_a_password_and_each_process_user_has_its_rights() -> None:
    services = _compose()["services"]
    mounted = {volume.split(":")[1] for volume in services["mosquitto"]["volumes"] if volume.startswith("./")}
    assert {"/mosquitto/config/passwords", "/mosquitto/config/acl", "/mosquitto/config/mosquitto.conf"} <= mounted
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text().splitlines()
    assert {
        "allow_anonymous false",
        "password_file /mosquitto/config/passwords",
        "acl_file /mosquitto/config/acl",
    } <= set(conf)
    acl = (ROOT / "deploy/mosquitto/acl").read_text()
    users = set(re.findall(r"^user (\S+)$", acl, re.M))
    assert {"tierslieu-api", "tierslieu-controller"} <= users
    # No secret written in the compose file: every password comes from the environment.
    assert not re.search(r"PASSWORD: (?!\$\{)", (ROOT / "compose.yaml").read_text())


def test_the_image_runs_the_entrypoint_with_the_roles_of_compose() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tierslieu-entrypoint"]' in dockerfile
    assert "COPY deploy/entrypoint.sh /usr/local/bin/tierslieu-entrypoint" in dockerfile
    for unit in ("tierslieu-api@.service", "tierslieu-controller@.service"):
        text = (ROOT / "deploy/systemd" / unit).read_text()
        role = unit.split("@")[0].removeprefix("tierslieu-")
        assert f"ExecStart=/opt/tierslieu/bin/tierslieu-entrypoint serve --role {role}" in text


@contextmanager
def _entrypoint(env: dict[str, str], role: str, log: Path) -> Iterator[str]:
    """``deploy/entrypoint.sh serve --role ROLE`` as the image runs it, with this checkout's tierslieu."""
    port = free_port()
    env = {
        **env,
        "TIERSLIEU": f"{sys.executable} -m tierslieu",
        "TIERSLIEU_HOST": "127.0.0.1",
        "TIERSLIEU_PORT": str(port),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(ROOT / "deploy/entrypoint.sh"), "serve", "--role", role],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # a start-up guard, not a measure: the suite runs on 4 workers
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if httpx.get(f"{url}/api/v1/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield url
        finally:
            terminate(proc, 20, sig=signal.SIGTERM)


@pytest.mark.broker
@pytest.mark.timeout(180)
def test_the_entrypoint_migrates_and_serves_each_role_with_json_logs(
    env: dict[str, str], private_mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    env = {**env, "TIERSLIEU_MQTT_URL": private_mosquitto.url, "TIERSLIEU_LOG_FORMAT": "json"}
    with (
        _entrypoint(env, "controller", tmp_path / "controller.log") as controller,
        _entrypoint(env, "api", tmp_path / "api.log") as api,
    ):
        ready = httpx.get(f"{controller}/api/v1/health/ready").json()
        assert ready == {
            "status": "ready",
            "database": True,
            "broker": True,
            "controller": {"role": "controller", "leader": True},
        }
        assert httpx.get(f"{api}/api/v1/health/ready").json()["controller"] == {"role": "api", "leader": False}
        assert httpx.get(f"{api}/api/v1/spaces").status_code == 401  # the API is served (token needed)
        assert httpx.get(f"{controller}/api/v1/spaces").status_code == 404  # a controller serves no API
        assert "tierslieu_controller_leader" in httpx.get(f"{controller}/metrics").text
    for name in ("controller", "api"):
        lines = [line for line in (tmp_path / f"{name}.log").read_text().splitlines() if line.startswith("{")]
        records = [json.loads(line) for line in lines]
        assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
        assert {r["role"] for r in records} == {name}
        assert any(r["logger"].startswith("uvicorn") for r in records)  # the server's own lines too
