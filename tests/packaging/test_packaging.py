"""What an install holds: the shipped site file, the version, and clear messages for missing extras.
(The lowest declared versions are installed and run by scripts/check_min_versions.py, in scripts/check.)"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devices.broker import EmbeddedBroker, EmbeddedBrokerError
from tests.support.site import TRILPORT
from tierslieu import __version__
from tierslieu.db.engine import make_engine
from tierslieu.extras import MissingExtra
from tierslieu.i18n import render
from tierslieu.sites import TRILPORT as PACKAGED_TRILPORT

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_file_in_config_is_the_one_shipped_in_the_package() -> None:
    assert TRILPORT == ROOT / "config" / "trilport.yaml"
    assert TRILPORT.read_bytes() == PACKAGED_TRILPORT.read_bytes(), (
        "config/trilport.yaml and tierslieu/sites/trilport.yaml differ: change both "
        "(the package copy is what `tierslieu demo` loads after `pip install`)"
    )


def test_version_is_printed_from_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tierslieu", "--version"], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"tierslieu {__version__}"


def test_a_plain_install_does_not_force_postgresql_or_the_fallback_broker() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "psycopg" not in core and "amqtt" not in core
    assert project["optional-dependencies"]["postgres"] == ["psycopg[binary]>=3.2"]
    assert project["optional-dependencies"]["embedded-broker"] == ["amqtt>=0.11"]
    assert "tierslieu[postgres,embedded-broker]" in project["optional-dependencies"]["test"]


def test_postgresql_without_its_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(MissingExtra) as raised:
        make_engine("postgresql://tierslieu@127.0.0.1:1/tierslieu")
    assert raised.value.extra == "postgres"
    assert "pip install 'tierslieu[postgres]'" in str(raised.value)


def test_the_fallback_broker_without_its_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "amqtt", None)
    broker = EmbeddedBroker(data_dir=tmp_path, prefer="amqtt")
    with pytest.raises(EmbeddedBrokerError) as raised:
        broker.start(timeout=5)
    assert raised.value.code == "broker.amqtt_missing"
    for locale in ("fr", "en"):
        assert "pip install 'tierslieu[embedded-broker]'" in render(raised.value.code, raised.value.params, locale)


def test_the_command_says_which_extra_to_install_in_one_line(tmp_path: Path) -> None:
    hide_psycopg = (
        "import sys; sys.modules['psycopg'] = None; from tierslieu.cli import main; "
        "sys.argv = ['tierslieu', 'db', 'upgrade']; main()"
    )
    env = {"PATH": "/usr/bin:/bin", "TIERSLIEU_DATABASE_URL": "postgresql://tierslieu@127.0.0.1:1/tierslieu"}
    env["TIERSLIEU_DATA_DIR"] = str(tmp_path)
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", hide_psycopg], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "PostgreSQL needs the Python package 'psycopg', which is not installed: pip install 'tierslieu[postgres]'"
    )
