"""Install tierslieu with the LOWEST versions pyproject.toml admits, then run it as a user would.

Every core dependency and the build backend (setuptools) is pinned to the version of its `>=` bound
(a constraints file), wheels only, in a fresh virtual environment, and the package is installed
from a copy of the checkout, not in editable mode. Then, from `/` (nothing of the checkout on the
path): `tierslieu --version`, every module imported, and `tierslieu demo` (which migrates its
database and loads the site file shipped inside the package) answering on its health endpoint.
A dependency without a `>=` bound fails the check: each one must say what it needs.

    python scripts/check_min_versions.py          # CI: .ci/run calls it through scripts/check
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.ports import free_port  # noqa: E402  (the one copy of this helper)

_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*)")
_LOWER_BOUND = re.compile(r">=\s*(?P<version>[0-9][^,\s]*)")


def lowest_pins(requirements: list[str]) -> list[str]:
    """``name==lowest`` for each requirement, from its ``>=`` bound."""
    pins = []
    for requirement in requirements:
        found = _REQUIREMENT.match(requirement)
        assert found, f"cannot read the requirement {requirement!r}"
        bound = _LOWER_BOUND.search(found["spec"])
        if bound is None:
            raise SystemExit(f"pyproject.toml: {requirement!r} has no `>=` lower bound")
        pins.append(f"{found['name']}=={bound['version']}")
    return pins


def _key(pin: str) -> tuple[str, str]:
    """``Name_x==1.2.0`` and ``name-x==1.2`` alike."""
    name, _, version = pin.partition("==")
    while version.endswith(".0"):
        version = version[:-2]
    return re.sub(r"[-_.]+", "-", name).lower(), version


def _run(*command: str | Path, cwd: Path | str = "/", env: dict[str, str] | None = None) -> str:
    if env is None:  # the installed package, never the checkout on PYTHONPATH
        env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _copy_checkout(target: Path) -> None:
    """What the build reads, as git knows it (tracked, or new and not ignored): no build/ or egg-info
    left by an earlier build, no tests or benchmarks to copy."""
    wanted = ("pyproject.toml", "README.md", "LICENSE", "tierslieu/", "devices/", "firmware_bridges/")
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *wanted, cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
skipped = ("tierslieu.__main__", "tierslieu.migrations.env", "tierslieu.migrations.versions")
for top in ("tierslieu", "devices", "firmware_bridges"):
    package = importlib.import_module(top)
    assert "site-packages" in package.__file__, package.__file__
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        if not module.name.startswith(skipped):
            importlib.import_module(module.name)
print(len(sys.modules), "modules imported")
"""


def _demo_answers(venv: Path, data_dir: Path, port: int) -> None:
    env = {**os.environ, "TIERSLIEU_DATA_DIR": str(data_dir), "TIERSLIEU_ENVIRONMENT": "development"}
    for name in ("TIERSLIEU_DATABASE_URL", "TIERSLIEU_MQTT_URL", "TIERSLIEU_SITE", "PYTHONPATH"):
        env.pop(name, None)
    log = data_dir / "demo.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        demo = subprocess.Popen(
            [str(venv / "bin" / "tierslieu"), "demo", "--port", str(port)], cwd="/", env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.3)
        raise SystemExit(f"`tierslieu demo` did not answer on port {port}:\n{log.read_text()[-3000:]}")
    finally:
        demo.terminate()
        demo.wait(20)


def _timed(label: str, started: float) -> float:
    now = time.monotonic()
    print(f"  {label}: {now - started:.0f} s")
    return now


def main() -> None:
    started = step = time.monotonic()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    core: list[str] = project["project"]["dependencies"]
    build: list[str] = project["build-system"]["requires"]
    pins = lowest_pins(core) + lowest_pins(build)
    print("lowest declared versions:", ", ".join(pins))
    # In memory where the machine has a tmpfs: thousands of small files written, then deleted.
    memory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="tierslieu-min-", dir=memory) as scratch:
        work = Path(scratch)
        (work / "constraints.txt").write_text("\n".join(pins) + "\n")
        _copy_checkout(work / "src")
        venv = work / "venv"
        # No pip inside: this interpreter's pip installs into it (--python), which saves its set-up.
        _run(sys.executable, "-m", "venv", "--without-pip", venv)
        pip: list[str | Path] = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin" / "python",
            "--disable-pip-version-check",
        ]
        # The wheels are kept between runs (a rerun resolves offline in seconds); fetched when one is missing.
        wheels = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tierslieu" / "lowest-wheels"
        constraints: list[str | Path] = ["-c", work / "constraints.txt", *build, *core]
        install = [*pip, "--quiet", "install", "--no-compile", *constraints]
        try:
            _run(*install, "--no-index", "--find-links", wheels)
        except SystemExit:
            _run(*pip, "--quiet", "download", "--only-binary", ":all:", "-d", wheels, *constraints)
            _run(*install, "--no-index", "--find-links", wheels)
        step = _timed("dependencies installed", step)
        # The build backend at its lowest version too: no build isolation, so the pinned setuptools builds.
        _run(*pip, "--quiet", "install", "--no-deps", "--no-build-isolation", "--no-compile", work / "src")
        installed = {_key(line) for line in _run(*pip, "list", "--format=freeze").splitlines()}
        missing = [pin for pin in pins if _key(pin) not in installed]
        assert not missing, f"not installed at their lowest version: {missing}; installed: {sorted(installed)}"
        step = _timed("tierslieu built and installed", step)
        print(" ", _run(venv / "bin" / "tierslieu", "--version").strip())
        print(" ", _run(venv / "bin" / "python", "-c", _IMPORT_EVERYTHING).strip())
        step = _timed("--version and every module imported", step)
        _demo_answers(venv, work / "demo", free_port())  # it migrates its database and loads the site first
        step = _timed("`tierslieu demo` answered, from /", step)
    print(f"lowest declared versions: install, imports and demo OK in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
