"""The per-install secret key (finding 1) and formula-safe CSV exports (finding 11)."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tests.support.serve import ROOT
from tierslieu.csv_export import SpreadsheetWriter, safe_cell
from tierslieu.occupancy.reports import OccupancyReport, ReportRow
from tierslieu.occupancy.reports import report_csv as occupancy_csv
from tierslieu.printing.reports import PrintingReport, ReportLine
from tierslieu.printing.reports import report_csv as printing_csv
from tierslieu.runtime import Runtime
from tierslieu.secret_key import KNOWN_DEFAULT_KEYS, load_or_create_key
from tierslieu.settings import Settings

OLD_SHIPPED_KEY = "change-me-tierslieu-development-only"


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize("key", [*sorted(KNOWN_DEFAULT_KEYS), "  CHANGE-ME  "])
def test_a_known_default_key_is_refused_in_every_environment(environment: str, key: str) -> None:
    with pytest.raises(ValidationError, match="published default"):
        Settings(environment=environment, secret_key=key)


def test_production_needs_an_explicit_long_key() -> None:
    with pytest.raises(ValidationError, match="must be set in production"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short-but-not-a-default")
    assert Settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40


def test_a_missing_key_is_generated_once_owner_only_and_reused(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'a.db'}"
    settings = Settings(environment="development", data_dir=tmp_path / "var", database_url=database)
    first = Runtime.create(settings)
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = Runtime.create(settings)
    token = first.secrets.url_token("calendar", "1:salt")
    assert again.secrets.check_url_token("calendar", "1:salt", token)  # the same key after a restart
    other = Runtime.create(Settings(data_dir=tmp_path / "elsewhere", database_url=database))
    assert not other.secrets.check_url_token("calendar", "1:salt", token)  # another install, another key
    for runtime in (first, again, other):
        runtime.db.dispose()


def test_a_key_file_readable_by_others_is_restricted(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    (tmp_path / "secret_key").chmod(0o644)
    assert load_or_create_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    start_at = time.time() + 1.5
    script = (
        "import sys, time; from pathlib import Path; from tierslieu.secret_key import load_or_create_key; "
        f"time.sleep(max(0, {start_at} - time.time())); print(load_or_create_key(Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "var")], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(keys) == 1 and len(keys.pop()) >= 32
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret_key"]  # no temporary file left


# CSV exports --------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx"]


def test_cells_that_spreadsheets_read_as_formulas_are_escaped() -> None:
    assert [safe_cell(value) for value in FORMULAS] == ["'" + value for value in FORMULAS]
    assert safe_cell("Grande salle") == "Grande salle" and safe_cell(-3) == -3 and safe_cell(2.5) == 2.5
    out = io.StringIO()
    SpreadsheetWriter(out).writerow(["=1+1", "ok", 4])
    assert out.getvalue() == "'=1+1;ok;4\r\n"


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]


def test_every_csv_export_escapes_formulas() -> None:
    now = datetime(2026, 5, 4, 8, tzinfo=UTC)
    occupancy = OccupancyReport(None, now, now, [ReportRow(1, "=cmd|' /C calc'!A0", now, now, 2, 15.0, 0.0)])
    report = PrintingReport(now, now, by_member=[ReportLine("7", '=HYPERLINK("http://evil")')])
    for text in (occupancy_csv(occupancy, ZoneInfo("UTC")), printing_csv(report)):
        cells = _cells(text)
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")], cells
        assert any(cell.startswith("'=") for cell in cells)
