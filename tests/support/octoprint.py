"""A real OctoPrint 1.11 server with its bundled virtual printer, for the tests.

OctoPrint is installed once into its own virtualenv (``<repo>/.cache/octoprint-venv``, or the
directory named by ``TIERSLIEU_OCTOPRINT_VENV``), never into the project's: the project must not
depend on the OctoPrint server. A file lock lets parallel pytest processes share one install.

Each server gets its own base directory (config, users, uploads), a free loopback port and an
admin user whose API key is written into ``users.yaml`` before the first start. Plugins that talk
to the internet are disabled, and the virtual printer's simulated errors are turned off (the
defaults make it stop answering now and then).

Pytest fixtures (register this module as a plugin: ``pytest_plugins = ["tests.support.octoprint"]``):
- ``octoprint``: one server for the session, operational; tests leave it operational and idle;
- ``private_octoprint``: a fresh server per test, for tests that stop it or disconnect its printer.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
import yaml

from tests.support.ports import free_port
from tests.support.processes import terminate

__all__ = [
    "OCTOPRINT_REQUIREMENT",
    "OctoPrintNotInstalled",
    "OctoPrintServer",
    "ensure_octoprint",
    "octoprint",
    "private_octoprint",
]

OCTOPRINT_REQUIREMENT = "OctoPrint>=1.11,<1.12"
VENV_ENV = "TIERSLIEU_OCTOPRINT_VENV"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_INSTALLED_MARKER = ".tierslieu-installed"
_USERNAME = "tierslieu"

# Plugins that phone home or probe the network; there is no network in CI.
_DISABLED_PLUGINS = [
    "achievements",
    "announcements",
    "backup",
    "discovery",
    "errortracking",
    "file_check",
    "firmware_check",
    "pi_support",
    "pluginmanager",
    "softwareupdate",
    "tracking",
]


class OctoPrintNotInstalled(RuntimeError):
    pass


Progress = Callable[[str], None]


def _print_progress(message: str) -> None:
    print(f"[octoprint] {message}", file=sys.stderr, flush=True)


def _venv_dir() -> Path:
    configured = os.environ.get(VENV_ENV)
    return Path(configured) if configured else _REPO_ROOT / ".cache" / "octoprint-venv"


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import octoprint; print(octoprint.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_octoprint(progress: Progress = _print_progress) -> Path:
    """Path of the ``octoprint`` executable, installing OctoPrint 1.11 first if needed."""
    venv = _venv_dir()
    executable = venv / "bin" / "octoprint"
    marker = venv / _INSTALLED_MARKER
    if marker.exists() and executable.exists():
        return executable
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be installing right now
        if marker.exists() and executable.exists():
            return executable
        version = _installed_version(venv / "bin" / "python")
        if version is None or not version.startswith("1.11.") or not executable.exists():
            _install(venv, progress)
        marker.write_text(OCTOPRINT_REQUIREMENT + "\n")
    return executable


def _install(venv: Path, progress: Progress) -> None:
    log_path = venv.parent / f"{venv.name}-install.log"
    shutil.rmtree(venv, ignore_errors=True)
    base_python = shutil.which("python3.11") or sys.executable
    progress(f"installing {OCTOPRINT_REQUIREMENT} into {venv} (a few minutes; log: {log_path})")
    steps = [
        [base_python, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            OCTOPRINT_REQUIREMENT,
        ],
    ]
    started = time.monotonic()
    with log_path.open("w") as log:
        for step in steps:
            process = subprocess.Popen(step, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                if line.startswith(("Collecting", "Installing", "Successfully")):
                    progress(f"  {line.strip()[:100]}")
            if process.wait() != 0:
                shutil.rmtree(venv, ignore_errors=True)
                tail = log_path.read_text(errors="replace")[-3000:]
                raise OctoPrintNotInstalled(
                    f"could not install {OCTOPRINT_REQUIREMENT} ({' '.join(step[:4])}...):\n{tail}"
                )
    progress(f"OctoPrint installed in {time.monotonic() - started:.0f}s")


def _config() -> dict[str, Any]:
    return {
        "server": {
            "firstRun": False,
            "onlineCheck": {"enabled": False},
            "pluginBlacklist": {"enabled": False},
        },
        "plugins": {
            "_disabled": _DISABLED_PLUGINS,
            "virtual_printer": {"enabled": True, "simulated_errors": []},
            "tracking": {"enabled": False},
        },
        "serial": {"port": "VIRTUAL", "baudrate": 115200, "autoconnect": True},
    }


def prepare_base_dir(executable: Path, base_dir: Path, api_key: str) -> None:
    """Write the config and create the admin user with ``api_key`` (OctoPrint must not be running)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    (base_dir / "config.yaml").write_text(yaml.safe_dump(_config()))
    subprocess.run(
        [
            str(executable),
            "--basedir",
            str(base_dir),
            "user",
            "add",
            _USERNAME,
            "--password",
            secrets.token_urlsafe(16),
            "--admin",
        ],
        check=True,
        capture_output=True,
    )
    users_file = base_dir / "users.yaml"
    users = yaml.safe_load(users_file.read_text())
    users[_USERNAME]["apikey"] = api_key
    users_file.write_text(yaml.safe_dump(users))


class OctoPrintServer:
    """One ``octoprint serve`` process on 127.0.0.1; keeps its port, files and key across restarts."""

    def __init__(self, executable: Path, base_dir: Path, api_key: str, *, port: int | None = None) -> None:
        self.executable = executable
        self.base_dir = base_dir
        self.api_key = api_key
        self.port = port or free_port()
        self.log_path = base_dir / "serve.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> OctoPrintServer:
        """Start and wait until the REST API answers (about 3 s)."""
        if self.running:
            return self
        command = [
            str(self.executable),
            "--basedir",
            str(self.base_dir),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if os.geteuid() == 0:
            command.append("--iknowwhatimdoing")  # OctoPrint refuses to run as root otherwise
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while self._get("/api/version") is None:
            if self._process.poll() is not None:
                raise RuntimeError(f"octoprint exited with {self._process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"octoprint did not answer in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    def wait_operational(self, timeout: float = 30.0) -> None:
        """Wait until the virtual printer is connected and idle (about 1 s after the API is up)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            connection = self._get("/api/connection")
            state = connection["current"]["state"] if connection else None
            if state == "Operational":
                return
            time.sleep(0.2)
        raise TimeoutError(f"printer still {state!r} after {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if OctoPrint has not shut down in ``timeout`` seconds."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def restart(self) -> OctoPrintServer:
        self.stop()
        return self.start()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def __enter__(self) -> OctoPrintServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _get(self, path: str) -> Any:
        try:
            response = httpx.get(self.url + path, headers={"X-Api-Key": self.api_key}, timeout=2.0)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None


def _executable_or_fail(config: pytest.Config) -> Path:
    capture = config.pluginmanager.getplugin("capturemanager")

    def progress(message: str) -> None:
        # A first install takes minutes: show it even though pytest captures output.
        if capture is None:
            _print_progress(message)
            return
        with capture.global_and_fixture_disabled():
            _print_progress(message)

    try:
        return ensure_octoprint(progress)
    except (OctoPrintNotInstalled, OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"OctoPrint is needed for these tests and could not be installed: {error}", pytrace=False)


@pytest.fixture(scope="session")
def _octoprint_template(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> tuple[Path, Path, str]:
    """A prepared base directory that servers copy, so ``user add`` runs once per session."""
    executable = _executable_or_fail(pytestconfig)
    base_dir = tmp_path_factory.mktemp("octoprint-template")
    api_key = secrets.token_hex(16).upper()
    prepare_base_dir(executable, base_dir, api_key)
    return executable, base_dir, api_key


def _new_server(template: tuple[Path, Path, str], base_dir: Path) -> OctoPrintServer:
    executable, template_dir, api_key = template
    shutil.copytree(template_dir, base_dir)
    return OctoPrintServer(executable, base_dir, api_key)


@pytest.fixture(scope="session")
def octoprint(
    _octoprint_template: tuple[Path, Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OctoPrintServer]:
    server = _new_server(_octoprint_template, tmp_path_factory.mktemp("octoprint") / "base")
    with server:
        server.wait_operational()
        yield server


@pytest.fixture
def private_octoprint(_octoprint_template: tuple[Path, Path, str], tmp_path: Path) -> Iterator[OctoPrintServer]:
    server = _new_server(_octoprint_template, tmp_path / "octoprint")
    with server:
        server.wait_operational()
        yield server
