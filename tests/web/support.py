"""Helpers for the web tests: logging in through the form, reading the CSRF token of a page, and the
next day the coworking space is open."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/connexion")
    response = client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "suivant": "/reserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def next_open_weekday(today: date, days_ahead: int = 1) -> date:
    """A Monday–Friday at least ``days_ahead`` days away that is not a French public holiday."""
    import holidays

    french = holidays.country_holidays("FR")
    day = today + timedelta(days=days_ahead)
    while (
        day.weekday() >= 5 or day in french or (day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1)
    ):
        day += timedelta(days=1)
    return day
