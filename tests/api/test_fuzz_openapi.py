"""Schemathesis fuzzes every operation of the app's own OpenAPI: no input may cause a 500.

Runs against the real app served by uvicorn on SQLite, seeded with the Trilport site, as an
admin (the role that reaches the most code). The number of examples is bounded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tierslieu.api import create_app
from tierslieu.settings import Settings

MAX_EXAMPLES = 12

schema = schemathesis.openapi.from_dict(create_app(Settings(run_background=False)).openapi())


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LiveServer, dict[str, str]]]:
    tmp = Path(tempfile.mkdtemp(prefix="tierslieu-fuzz-"))
    app = create_app(make_settings(f"sqlite:///{tmp / 'fuzz.db'}", tmp))
    with live_server(app) as srv:
        load_trilport(srv.runtime, always_open=None)
        admin = create_user(srv.runtime, "admin", email="fuzz-admin@trilport.test")
        yield srv, admin.headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error(case: schemathesis.Case[Any], server: tuple[LiveServer, dict[str, str]]) -> None:
    srv, headers = server
    if case.path == "/api/v1/auth/logout":
        return  # would revoke the fuzzing token; covered by the auth tests
    case.call_and_validate(base_url=srv.url, headers=headers, checks=[not_a_server_error])
