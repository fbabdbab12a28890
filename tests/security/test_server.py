"""Issue 11 findings checked on the real server: ``tierslieu serve`` in a subprocess, started the
way ``./scripts/serve`` starts it (no secret key configured), listening on all interfaces."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.support.serve import ROOT, tierslieu_command, tierslieu_process
from tierslieu.api.http_protocol import HEADER_TIMEOUT_S
from tierslieu.booking.calendar import parse_feed
from tierslieu.security import Secrets

OLD_SHIPPED_KEY = "change-me-tierslieu-development-only"
BODY_TIMEOUT_S = 3
PASSWORD = "motdepasse-solide"


@dataclass
class Served:
    base: str
    port: int
    data_dir: Path
    log: Path
    tokens: dict[str, str]
    ids: dict[str, int]
    resource_id: int

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def database(self) -> Path:
        return self.data_dir / "tierslieu.db"


def _login(base: str, email: str, password: str = PASSWORD) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}  # no secret key, like scripts/serve
    env.update(
        {
            "TIERSLIEU_DATA_DIR": str(tmp / "var"),
            "TIERSLIEU_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S),
            "PYTHONUNBUFFERED": "1",
        }
    )
    tierslieu_command(env, "site", "load", str(ROOT / "config" / "trilport.yaml"))
    for role in ("admin", "staff", "member", "animator"):
        tierslieu_command(
            env, "users", "create", "--email", f"{role}@trilport.fr", "--password", PASSWORD, "--role", role
        )
    log = tmp / "serve.log"
    with tierslieu_process(env, "serve", "--host", "0.0.0.0", log=log) as base:
        tokens = {role: _login(base, f"{role}@trilport.fr") for role in ("admin", "staff", "member", "animator")}
        ids = {
            role: httpx.get(f"{base}/api/v1/members/me", headers={"Authorization": f"Bearer {t}"}).json()["id"]
            for role, t in tokens.items()
        }
        resources = httpx.get(f"{base}/api/v1/resources", headers={"Authorization": f"Bearer {tokens['staff']}"})
        yield Served(base, int(base.rsplit(":", 1)[1]), tmp / "var", log, tokens, ids, resources.json()[0]["id"])


_slots = iter(range(1, 10_000))


def _book(served: Served, member: str = "member") -> dict[str, Any]:
    """A booking for ``member`` made by staff (override: no opening-hours rule in the way)."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=next(_slots))
    body = {
        "resource_id": served.resource_id,
        "member_id": served.ids[member],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "override": True,
    }
    answer = httpx.post(f"{served.base}/api/v1/bookings", json=body, headers=served.headers("staff"), timeout=30)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# Finding 1: secret key -----------------------------------------------------------------


def test_a_key_is_generated_owner_only_and_a_warning_says_the_port_is_open(served: Served) -> None:
    key_file = served.data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32 and OLD_SHIPPED_KEY not in key_file.read_text()
    output = served.log.read_text()
    assert "sans TLS" in output and "0.0.0.0" in output


def _forged_reset_link(key: str, member_id: int) -> str:
    """The forgery of the finding: a reset link for an account created without a password."""
    serializer = URLSafeTimedSerializer(Secrets(key).derive(b"password-reset"), salt="tierslieu-reset")
    fingerprint = hashlib.sha256(f"{member_id}:".encode()).hexdigest()[:20]
    return str(serializer.dumps({"m": member_id, "f": fingerprint}))


def test_reset_link_and_calendar_forged_with_the_old_default_key_fail(served: Served) -> None:
    created = httpx.post(
        f"{served.base}/api/v1/members",
        json={"name": "Sans Mot De Passe", "email": "accueil@trilport.fr"},
        headers=served.headers("staff"),
    )
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    forged = httpx.get(f"{served.base}/mot-de-passe/{_forged_reset_link(OLD_SHIPPED_KEY, member_id)}")
    assert forged.status_code in (400, 422) and "Sans Mot De Passe" not in forged.text
    feed = f"{served.base}/api/v1/calendars/resources/{served.resource_id}.ics"
    old_token = Secrets(OLD_SHIPPED_KEY).url_token("calendar-resource", str(served.resource_id))
    assert httpx.get(feed, params={"token": old_token}).status_code == 401
    # The same links made with this install's key work: they derive from it.
    key = (served.data_dir / "secret_key").read_text().strip()
    genuine = httpx.get(f"{served.base}/mot-de-passe/{_forged_reset_link(key, member_id)}")
    assert genuine.status_code == 200 and "Sans Mot De Passe" in genuine.text
    token = Secrets(key).url_token("calendar-resource", str(served.resource_id))
    assert httpx.get(feed, params={"token": token}).status_code == 200


# Finding 3: slow clients -----------------------------------------------------------------


@pytest.mark.exclusive  # the other booking within a second: alone on the machine
def test_a_slow_body_does_not_delay_another_members_booking(served: Served) -> None:
    body = b"username=member%40trilport.fr&password=nope"
    slow = socket.create_connection(("127.0.0.1", served.port))
    slow.sendall(
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    stop = threading.Event()

    def trickle() -> None:  # one byte every 0.5 s, as in the finding
        for byte in body:
            if stop.wait(0.5):
                return
            try:
                slow.send(bytes([byte]))
            except OSError:
                return

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        time.sleep(1.0)  # the slow request is well under way
        started = time.monotonic()
        _book(served, "animator")
        assert time.monotonic() - started < 1.0
        slow.settimeout(BODY_TIMEOUT_S + 5)
        answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    finally:
        stop.set()
        thread.join()
        slow.close()


@pytest.mark.exclusive  # cut within HEADER_TIMEOUT_S + 2 s: alone on the machine
def test_slow_headers_are_cut(served: Served) -> None:
    slow = socket.create_connection(("127.0.0.1", served.port))
    slow.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    closed_after = None
    try:
        while time.monotonic() - started < HEADER_TIMEOUT_S + 5:
            slow.sendall(b"X")  # a header that never ends
            slow.settimeout(0.5)
            try:
                if slow.recv(1024) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
    except OSError:
        closed_after = time.monotonic() - started
    finally:
        slow.close()
    assert closed_after is not None and closed_after < HEADER_TIMEOUT_S + 2


def test_a_body_announced_too_large_is_refused_before_it_is_sent(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as raw:
        raw.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
        raw.settimeout(5)
        assert raw.recv(4096).startswith(b"HTTP/1.1 413")


# Finding 6: CSRF on the API ----------------------------------------------------------------


def test_a_cross_origin_form_post_with_only_the_cookie_cannot_cancel_a_booking(served: Served) -> None:
    booking = _book(served)
    cookie = {"tierslieu_session": served.tokens["member"]}
    attack = httpx.post(
        f"{served.base}/api/v1/bookings/{booking['id']}/cancel",
        cookies=cookie,
        headers={"Origin": "http://127.0.0.1:1", "Content-Type": "application/x-www-form-urlencoded"},
        content=b"",
    )
    assert attack.status_code == 403 and attack.json()["code"] == "csrf_failed"
    still = httpx.get(f"{served.base}/api/v1/bookings/{booking['id']}", headers=served.headers("member"))
    assert still.json()["status"] == "confirmed"
    # The app's own page may: its nonce cookie and the token signed for it, as a header.
    page = httpx.get(f"{served.base}/connexion")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    ours = httpx.post(
        f"{served.base}/api/v1/bookings/{booking['id']}/cancel",
        cookies={**cookie, "tierslieu_csrf": page.cookies["tierslieu_csrf"]},
        headers={"X-CSRF-Token": token.group(1)},
        json={"reason": "empêchée"},
    )
    assert ours.status_code == 200 and ours.json()["status"] == "cancelled"


# Finding 11: security headers -------------------------------------------------------------------


def test_every_response_carries_the_security_headers(served: Served) -> None:
    answers = [
        httpx.get(f"{served.base}/connexion"),
        httpx.get(f"{served.base}/static/site.css"),
        httpx.get(f"{served.base}/api/v1/health"),
        httpx.get(f"{served.base}/api/v1/spaces"),  # 401
        httpx.get(f"{served.base}/nulle-part"),  # 404
        httpx.get(f"{served.base}/occupation", headers={"Authorization": f"Bearer {served.tokens['staff']}"}),
    ]
    for answer in answers:
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"


# Finding 12: control characters in names ---------------------------------------------------------


def test_crlf_names_are_refused_and_an_old_one_does_not_break_the_feed(served: Served) -> None:
    refused = httpx.patch(
        f"{served.base}/api/v1/resources/{served.resource_id}",
        json={"name": "Salle\r\nX-INJECT:1"},
        headers=served.headers("admin"),
    )
    assert refused.status_code == 422 and refused.json()["code"] == "name_control_characters"
    member = httpx.patch(
        f"{served.base}/api/v1/members/{served.ids['member']}",
        json={"name": "Nom\nSUMMARY:pirate"},
        headers=served.headers("member"),
    )
    assert member.status_code == 422
    _book(served)
    # A name stored before the check (an older version) must not break the feed.
    with sqlite3.connect(served.database) as db:
        db.execute("UPDATE member SET name = ? WHERE id = ?", ("Ancien\r\nNom", served.ids["member"]))
    links = httpx.get(f"{served.base}/api/v1/calendars/feeds", headers=served.headers("member")).json()
    feed = httpx.get(links["member_url"])
    assert feed.status_code == 200
    assert len(parse_feed(feed.content)) >= 1
    assert b"Ancien\r\nNom" not in feed.content


# Finding 4: login throttling (last: it counts failures from this address) ------------------------


@pytest.mark.exclusive  # three answers within the first lock's 2 s: alone on the machine
def test_wrong_passwords_are_throttled_and_the_right_one_waits_too(served: Served) -> None:
    url = f"{served.base}/api/v1/auth/token"
    codes = [
        httpx.post(url, data={"username": "animator@trilport.fr", "password": f"faux-{i}"}).status_code
        for i in range(8)
    ]
    assert codes[:6] == [401] * 6 and codes[6:] == [429, 429]
    right = httpx.post(url, data={"username": "animator@trilport.fr", "password": PASSWORD})
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1
    assert right.json()["code"] == "too_many_login_attempts"
    with sqlite3.connect(served.database) as db:
        lines = db.execute("SELECT reason FROM access_event WHERE decision = 'account'").fetchall()
    assert ("login_locked_account",) in lines
