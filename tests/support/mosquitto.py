"""A real Mosquitto broker for tests: own port, own config, own persistence directory.

Pytest fixtures (register this module as a plugin, e.g. `pytest_plugins = ["tests.support.mosquitto"]`):
- `mosquitto`: one broker for the whole session, for tests that leave it running;
- `private_mosquitto`: a fresh broker per test, for tests that stop, kill or restart it;
- `mosquitto_factory`: builds brokers with options (users, no anonymous access), stopped at teardown.
"""

from __future__ import annotations

import datetime
import getpass
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port
from tests.support.processes import terminate

__all__ = [
    "MosquittoNotInstalled",
    "MosquittoServer",
    "TlsFiles",
    "find_executable",
    "make_tls_files",
    "mosquitto",
    "mosquitto_factory",
    "private_mosquitto",
]

_INSTALL_HINT = "install the Debian package `mosquitto` (apt-get install mosquitto)"


class MosquittoNotInstalled(RuntimeError):
    pass


def find_executable(name: str) -> str:
    """Find a Mosquitto program on PATH or in the Debian locations /usr/sbin and /usr/bin."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise MosquittoNotInstalled(f"`{name}` not found: {_INSTALL_HINT}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls_files(folder: Path) -> TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
              ca: bool) -> x509.Certificate:  # fmt: skip
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca_cert = build("tierslieu test CA", ca_key, "tierslieu test CA", ca_key, ca=True)
    server_cert = build("127.0.0.1", server_key, "tierslieu test CA", ca_key, ca=False)
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


class MosquittoServer:
    """One mosquitto process listening on 127.0.0.1 only. Keeps its port and data across restarts."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        allow_anonymous: bool = True,
        tls: TlsFiles | None = None,
    ) -> None:
        self.executable = find_executable("mosquitto")
        self.tls = tls
        self.data_dir = data_dir
        self.port = port or free_port()
        self._port_fixed = port is not None  # an explicit or already used port never changes
        self.users = dict(users or {})
        self.allow_anonymous = allow_anonymous
        self.log_path = data_dir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return f"mqtts://127.0.0.1:{self.port}?ca_file={self.tls.ca_cert}"
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> MosquittoServer:
        if self.running:
            return self
        for _attempt in range(5):
            if self._start_once(timeout):
                self._port_fixed = True
                return self
            if self._port_fixed:
                raise RuntimeError(f"port {self.port} is taken by another process:\n{self.log_text()}")
            self.port = free_port()  # lost a race for a free port with another test run: pick again
        raise RuntimeError(f"mosquitto found no free port:\n{self.log_text()}")

    def _start_once(self, timeout: float) -> bool:
        """Start and wait until *our* process listens. False if its port was already taken."""
        config = self._write_config()
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            process = subprocess.Popen([self.executable, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        self._process = process
        deadline = time.monotonic() + timeout
        # Another broker may already listen on the port, so an open port proves nothing:
        # mosquitto logs "... running" only once its own listeners are bound.
        while not (" running" in self._log_since(log_start) and _port_open(self.port)):
            if process.poll() is not None:
                self._process = None
                if "Address already in use" in self._log_since(log_start):
                    return False
                raise RuntimeError(f"mosquitto exited with {process.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"mosquitto did not start on port {self.port} in {timeout}s:\n{self.log_text()}")
            time.sleep(0.02)
        return True

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM): mosquitto saves sessions and queued messages to disk."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def kill(self) -> None:
        """Crash (SIGKILL): nothing is saved since the last autosave."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> MosquittoServer:
        self.stop()
        return self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> MosquittoServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            "persistence true",
            f"persistence_location {self.data_dir}/",
            # When started as root mosquitto switches to user `mosquitto`, which cannot write here.
            f"user {getpass.getuser()}",
            "max_queued_messages 10000",
            "log_dest stderr",  # unbuffered: start() reads the log to know we are up
            "log_type all",
        ]
        if self.users:
            lines.append(f"password_file {self._write_password_file()}")
        if self.tls:
            lines += [f"certfile {self.tls.server_cert}", f"keyfile {self.tls.server_key}"]
        config = self.data_dir / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def _write_password_file(self) -> Path:
        password_file = self.data_dir / "passwords"
        password_file.unlink(missing_ok=True)
        tool = find_executable("mosquitto_passwd")
        for index, (user, password) in enumerate(self.users.items()):
            create = ["-c"] if index == 0 else []
            subprocess.run([tool, "-b", *create, str(password_file), user, password], check=True)
        password_file.chmod(0o600)
        return password_file


def _started(server: MosquittoServer) -> MosquittoServer:
    try:
        return server.start()
    except MosquittoNotInstalled as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    try:
        server = MosquittoServer(tmp_path_factory.mktemp("mosquitto"))
    except MosquittoNotInstalled as error:
        pytest.fail(str(error), pytrace=False)
    _started(server)
    yield server
    server.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., MosquittoServer]]:
    servers: list[MosquittoServer] = []

    def build(
        *,
        users: dict[str, str] | None = None,
        allow_anonymous: bool = True,
        tls: TlsFiles | None = None,
        start: bool = True,
    ) -> MosquittoServer:
        try:
            server = MosquittoServer(
                tmp_path / f"mosquitto-{len(servers)}", users=users, allow_anonymous=allow_anonymous, tls=tls
            )
        except MosquittoNotInstalled as error:
            pytest.fail(str(error), pytrace=False)
        servers.append(server)
        return _started(server) if start else server

    yield build
    for server in servers:
        server.stop()


@pytest.fixture
def private_mosquitto(mosquitto_factory: Callable[..., MosquittoServer]) -> MosquittoServer:
    return mosquitto_factory()
