"""A throwaway PostgreSQL cluster for the tests, or the server named by TIERSLIEU_TEST_POSTGRES_URL.

The cluster lives in a temporary directory, listens on a free loopback port and is removed at
the end. As root, ``initdb`` refuses to run, so the cluster is owned by the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.support.ports import free_port

ENV_URL = "TIERSLIEU_TEST_POSTGRES_URL"


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install the Debian package 'postgresql' "
            f"or set {ENV_URL} to a server the tests may use."
        )
    return found


class PostgresCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tierslieu-pg-"))
        self.data = self.dir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class PostgresServer:
    """Creates and drops databases on a server (our cluster or the one named in the environment)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def _exec(self, sql: str) -> None:
        with psycopg.connect(_plain(self.admin_url), autocommit=True) as conn:
            conn.execute(sql)

    def database_url(self, name: str) -> str:
        base, _, _db = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    def create_database(self, template: str | None = None) -> str:
        name = f"tl_{uuid.uuid4().hex[:12]}"
        self._exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        for _ in range(20):
            try:
                self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)


def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(ENV_URL)
    if url:
        yield PostgresServer(url.replace("postgresql://", "postgresql+psycopg://", 1))
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield PostgresServer(cluster.admin_url)
    finally:
        cluster.stop()
