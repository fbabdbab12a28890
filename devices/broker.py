"""A broker on the loopback interface for `tierslieu serve` when no TIERSLIEU_MQTT_URL is given.

Mosquitto (a child process, persistent to `data_dir`) when it is installed; otherwise the
pure-Python amqtt broker in a thread of its own (MQTT 3.1.1 only, sessions kept in memory).
Only loopback addresses are accepted. Given a ``BrokerSecurity`` (a password file and an ACL),
Mosquitto refuses anonymous clients and enforces the ACL; ``reload()`` makes it read them again.

Mosquitto never outlives us: it is asked to die with its parent (Linux ``PR_SET_PDEATHSIG``),
and its pid is kept in ``data_dir``; a broker left by a previous run that was killed before it
could stop it (kill -9 on another system, a container runtime...) is stopped at start, so two
brokers never share one data folder.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import getpass
import importlib.util
import ipaddress
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from devices.transport import TransportError

if TYPE_CHECKING:
    from amqtt.broker import Broker

__all__ = ["BrokerSecurity", "EmbeddedBroker", "EmbeddedBrokerError", "find_mosquitto"]

logger = logging.getLogger(__name__)

BrokerKind = Literal["mosquitto", "amqtt"]


class EmbeddedBrokerError(TransportError):
    """The embedded broker refused its settings or could not be started."""


@dataclass(frozen=True)
class BrokerSecurity:
    """A Mosquitto password file and ACL file (written by the caller, re-read on ``reload()``)."""

    password_file: Path
    acl_file: Path


def find_mosquitto() -> str | None:
    """The mosquitto executable: on PATH, or where Debian installs it (/usr/sbin is not always on PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    candidate = Path("/usr/sbin/mosquitto")
    return str(candidate) if candidate.is_file() else None


class _Backend(Protocol):
    url_query: str

    def start(self, host: str, port: int, timeout: float) -> bool:
        """Start listening on host:port; False when another process already holds the port."""

    def stop(self) -> None: ...


class EmbeddedBroker:
    """`start()` returns the URL to give `MqttSettings.from_url`; `stop()` shuts the broker down."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        prefer: BrokerKind = "mosquitto",
        security: BrokerSecurity | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise EmbeddedBrokerError("broker.not_loopback", host=host)
        self.security = security
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.prefer = prefer
        self.kind: BrokerKind | None = None
        self.url: str | None = None
        self._mosquitto: str | None = None
        self._backend: _Backend | None = None

    def planned_url(self) -> str:
        """The URL `start()` will serve, fixed now, for clients built before the broker starts.

        Decides the broker kind and, when port is 0, reserves the port (which then no longer
        changes, even if another process takes it before `start()`).
        """
        kind = self._choose_kind()
        if self.port == 0:
            self.port = _free_port(self.host)
        return self._url(kind, self.port)

    def start(self, timeout: float = 10.0) -> str:
        if self.url is not None:
            return self.url
        kind = self._choose_kind()
        backend: _Backend
        if kind == "mosquitto":
            backend = _MosquittoBackend(self._mosquitto or "mosquitto", self.data_dir, self.security)
        else:
            if self.security is not None:
                logger.warning("amqtt takes no ACL: install mosquitto for a locked-down embedded broker")
            backend = _AmqttBackend()
        # A port picked here can be taken before the broker binds it: then pick another.
        for _attempt in range(5 if self.port == 0 else 1):
            port = self.port or _free_port(self.host)
            if backend.start(self.host, port, timeout):
                break
        else:
            raise EmbeddedBrokerError("broker.port_taken", kind=kind, host=self.host, port=port)
        self._backend, self.port = backend, port
        self.url = self._url(kind, port)
        logger.info("embedded %s broker listening on %s:%d", kind, self.host, port)
        return self.url

    def _choose_kind(self) -> BrokerKind:
        if self.kind is None:
            self._mosquitto = find_mosquitto() if self.prefer == "mosquitto" else None
            if self.prefer == "mosquitto" and not self._mosquitto:
                logger.info("mosquitto is not installed: using the built-in amqtt broker")
            self.kind = "mosquitto" if self._mosquitto else "amqtt"
        return self.kind

    def _url(self, kind: BrokerKind, port: int) -> str:
        query = _MosquittoBackend.url_query if kind == "mosquitto" else _AmqttBackend.url_query
        return f"mqtt://{self.host}:{port}{query}"

    def stop(self) -> None:
        backend, self._backend, self.url = self._backend, None, None
        if backend is not None:
            backend.stop()
            logger.info("embedded %s broker stopped", self.kind)

    def reload(self) -> None:
        """Make the broker read its password file and ACL again (after a device change)."""
        if isinstance(self._backend, _MosquittoBackend):
            self._backend.reload()


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the thread that started it dies
    (Linux) — the service starts its broker from its main thread, so: when the service dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the pid file still stops an orphan at the next start


def _stop_orphan(pid_file: Path, config: Path) -> None:
    """Stop a mosquitto a previous run left on this data folder (its pid file says which)."""
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if not command or not command[0].endswith(b"mosquitto") or str(config).encode() not in command:
        return  # gone, or the pid now belongs to something else
    logger.warning("stopping the embedded broker left by a previous run (pid %d)", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)


class _MosquittoBackend:
    url_query = ""

    def __init__(self, executable: str, data_dir: Path, security: BrokerSecurity | None = None) -> None:
        self.executable = executable
        self.data_dir = data_dir
        self.security = security
        self._process: subprocess.Popen[bytes] | None = None

    def _access_lines(self) -> list[str]:
        if self.security is None:
            return ["allow_anonymous true"]
        return [
            "allow_anonymous false",
            f"password_file {self.security.password_file}",
            f"acl_file {self.security.acl_file}",
        ]

    def reload(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGHUP)  # mosquitto re-reads its password file and ACL

    def start(self, host: str, port: int, timeout: float) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "mosquitto.conf"
        pid_file = self.data_dir / "mosquitto.pid"
        _stop_orphan(pid_file, config)
        config.write_text(
            "\n".join(
                [
                    f"listener {port} {host}",
                    # Door commands are small packets: without this the broker holds each one
                    # back (Nagle) until the previous is acknowledged, ~40 ms with delayed ACKs.
                    "set_tcp_nodelay true",
                    *self._access_lines(),
                    "persistence true",
                    f"persistence_location {self.data_dir}/",
                    "autosave_interval 60",
                    # Started as root, mosquitto would switch to user `mosquitto`: keep our own.
                    f"user {getpass.getuser()}",
                    "log_dest stderr",  # unbuffered: start() reads the log to know we are up
                ]
            )
            + "\n"
        )
        log_path = self.data_dir / "mosquitto.log"
        log_start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [self.executable, "-c", str(config)], stdout=log, stderr=log, preexec_fn=_die_with_parent
            )
        self._process = process
        pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        # An open port alone could be another broker's: mosquitto logs "... running" only
        # once its own listener is bound.
        while not (" running" in _read_from(log_path, log_start) and _accepts_connections(host, port)):
            exited = process.poll() is not None
            if exited and "Address already in use" in _read_from(log_path, log_start):
                self._process = None
                return False
            if exited or time.monotonic() > deadline:
                self.stop()
                tail = _read_from(log_path, log_start)[-2000:]
                raise EmbeddedBrokerError("broker.start_failed", kind="mosquitto", host=host, port=port, detail=tail)
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        process, self._process = self._process, None
        (self.data_dir / "mosquitto.pid").unlink(missing_ok=True)
        if process is None or process.poll() is not None:
            return
        # SIGTERM lets mosquitto write its sessions and queued messages to disk.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            logger.error("mosquitto did not stop within 10 s: killed")
            process.kill()
            process.wait()


class _AmqttBackend:
    url_query = "?protocol=3.1.1"  # amqtt speaks MQTT 3.1.1 only

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    def start(self, host: str, port: int, timeout: float) -> bool:
        if importlib.util.find_spec("amqtt") is None:  # an extra: `pip install 'tierslieu[embedded-broker]'`
            raise EmbeddedBrokerError("broker.amqtt_missing")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="amqtt-broker", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._start_broker(host, port), loop).result(timeout)
        except Exception as error:
            self.stop()
            if isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.EADDRINUSE:
                return False
            raise EmbeddedBrokerError(
                "broker.start_failed", kind="amqtt", host=host, port=port, detail=str(error)
            ) from error
        return True

    async def _start_broker(self, host: str, port: int) -> None:
        from amqtt.broker import Broker  # imported here: only needed without mosquitto

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = Broker(config)
        await broker.start()
        self._broker = broker

    def stop(self) -> None:
        loop, thread, broker = self._loop, self._thread, self._broker
        self._loop = self._thread = self._broker = None
        if loop is None:
            return
        if broker is not None:
            try:
                asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(10)
            except Exception:
                logger.exception("amqtt broker did not shut down cleanly")
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(10)
        loop.close()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
