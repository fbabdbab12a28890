"""The ``tierslieu`` command, run for real in a subprocess, and ``serve`` answering HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.serve import ROOT, tierslieu_command, tierslieu_process
from tests.support.site import TRILPORT


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tierslieu", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
    clean.update({"TIERSLIEU_DATA_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"})
    return clean


def test_site_check_reports_problems_and_exit_code(env: dict[str, str], tmp_path: Path) -> None:
    ok = run(env, "site", "check", str(TRILPORT))
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(TRILPORT.read_text().replace("max_duration: 120", "max_duration: deux heures", 1))
    bad = run(env, "site", "check", str(broken))
    assert bad.returncode == 1
    assert ".rules.max_duration" in bad.stderr and "line" in bad.stderr


def test_users_create_and_site_load_twice(env: dict[str, str]) -> None:
    created = run(
        env, "users", "create", "--email", "admin@trilport.fr", "--password", "motdepasse-admin", "--role", "admin"
    )
    assert created.returncode == 0, created.stderr
    duplicate = run(env, "users", "create", "--email", "admin@trilport.fr", "--password", "motdepasse-admin")
    assert duplicate.returncode == 1 and "déjà utilisée" in duplicate.stderr
    weak = run(env, "users", "create", "--email", "x@trilport.fr", "--password", "court")
    assert weak.returncode == 1
    first = run(env, "site", "load", str(TRILPORT))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = run(env, "site", "load", str(TRILPORT))
    assert second.returncode == 0 and "aucun changement" in second.stdout


def test_db_upgrade_on_postgres(env: dict[str, str], pg_url: str) -> None:
    env = {**env, "TIERSLIEU_DATABASE_URL": pg_url}
    result = run(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    loaded = run(env, "site", "load", str(TRILPORT))
    assert loaded.returncode == 0, loaded.stderr


def test_production_refuses_the_default_secret(env: dict[str, str]) -> None:
    result = run({**env, "TIERSLIEU_ENVIRONMENT": "production"}, "db", "upgrade")
    assert result.returncode == 2
    assert "TIERSLIEU_SECRET_KEY" in result.stderr


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    # Set up in this process: test_users_create_and_site_load_twice runs these commands for real.
    tierslieu_command(env, "site", "load", str(TRILPORT))
    tierslieu_command(env, "users", "create", "--email", "staff@trilport.fr", "--password", "motdepasse-staff",
                      "--role", "staff")  # fmt: skip
    with tierslieu_process(env, "serve") as base:
        yield base, env


def test_serve_with_no_environment_answers_spaces(served: tuple[str, dict[str, str]]) -> None:
    base, _env = served
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "staff@trilport.fr", "password": "motdepasse-staff"}
    ).json()["access_token"]
    spaces = httpx.get(f"{base}/api/v1/spaces", headers={"Authorization": f"Bearer {token}"})
    assert spaces.status_code == 200
    names = {s["name"] for s in spaces.json()}
    assert {"FabLab", "Salle de visio", "Espace coworking", "Grande salle d'ateliers"} <= names
    assert httpx.get(f"{base}/api/v1/spaces").status_code == 401
    assert httpx.get(f"{base}/docs").status_code == 200


def _demo_token(base: str) -> str | None:
    answer = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "sophie.demo@trilport.test", "password": "demo-trilport"},
        timeout=2,
    )
    return str(answer.json()["access_token"]) if answer.status_code == 200 else None


def test_demo_runs_simulated_devices_from_any_folder(env: dict[str, str], tmp_path: Path) -> None:
    """`tierslieu demo` from another folder: the site loads, simulated devices come online."""
    with tierslieu_process(env, "demo", cwd=tmp_path, ready=lambda url: _demo_token(url) is not None) as base:
        token = _demo_token(base)
        online, deadline = 0, time.monotonic() + 30
        while time.monotonic() < deadline and online == 0:
            spaces = httpx.get(f"{base}/api/v1/occupancy", headers={"Authorization": f"Bearer {token}"}).json()
            online = sum(space["devices_online"] for space in spaces)
            time.sleep(0.5)
        assert online > 0, "no simulated device came online"
        # The site file's programme: its sessions were booked at start and show on the public agenda.
        agenda = httpx.get(f"{base}/agenda")
        assert agenda.status_code == 200 and "Atelier numérique seniors" in agenda.text


def test_two_site_file_checks_loads_and_reloads_unchanged(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    """``sites:`` — the Trilport tiers-lieu and the FabLab in Meaux: each site's spaces, doors
    and programme (booked in its own rooms, in its timezone); a second load changes nothing;
    the national export has one row per site with that site's own themes."""
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from tests.conftest import make_settings
    from tests.support.two_sites import TWO_SITES
    from tierslieu.models import Site, Space
    from tierslieu.programme.national_export import export_rows
    from tierslieu.runtime import Runtime

    env = {**env, "TIERSLIEU_DATABASE_URL": db_url}
    # Through the command's parser in this process: the tests above run these commands in a
    # subprocess, this one checks what they do with two sites (and fails on a non-zero exit).
    checked = tierslieu_command(env, "site", "check", str(TWO_SITES))
    assert "4 espaces, 2 ressources, 4 appareils, 2 ateliers" in checked
    tierslieu_command(
        env, "users", "create", "--email", "admin@trilport.fr", "--password", "motdepasse-admin", "--role", "admin"
    )
    first = tierslieu_command(env, "site", "load", str(TWO_SITES))
    for slug in ("trilport", "fablab-meaux"):
        line = next(line for line in first.splitlines() if line.startswith(f"programme ({slug})"))
        assert "workshops: 1 created" in line and ", 0 refused" in line and "sessions: 0 created" not in line
    second = tierslieu_command(env, "site", "load", str(TWO_SITES))
    assert "aucun changement" in second, second
    assert "workshops: 0 created, 0 updated; sessions: 0 created" in second
    runtime = Runtime.create(make_settings(db_url, tmp_path))
    try:
        with runtime.db.session() as session:
            sites = {s.slug: s.id for s in session.exec(select(Site)).all()}
            assert set(sites) == {"trilport", "fablab-meaux"}
            where = {s.name: s.site_id for s in session.exec(select(Space)).all()}
            assert where["Atelier fabrication"] == where["FabLab Meaux"] == sites["fablab-meaux"]
            assert where["Salle polyvalente"] == sites["trilport"]
            rows = {row["nom"]: row for row in export_rows(session, ZoneInfo("Europe/Paris"))}
    finally:
        runtime.db.dispose()
    assert rows["FabLab de Meaux"]["commune"] == "Meaux" and rows["Tiers-lieu de Trilport"]["code_postal"] == "77470"
    assert "Loisirs et créations numériques" in rows["FabLab de Meaux"]["services"]
    assert "Loisirs et créations numériques" not in rows["Tiers-lieu de Trilport"]["services"]
    assert "Maîtrise des outils numériques du quotidien" in rows["Tiers-lieu de Trilport"]["services"]
