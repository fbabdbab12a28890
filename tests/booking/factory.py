"""Builders shared by the booking engine tests: a space with rules, its resource, members."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tierslieu.models import Member, Resource
from tierslieu.runtime import Runtime
from tierslieu.security import Secrets
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service

TZ = ZoneInfo("Europe/Paris")
# Holidays off by default: a test must not fail because it runs on (or books) 14 July.
BASE_RULES: dict[str, Any] = {"public_holidays_closed": False}


def at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def future_weekday(weekday: int = 1, weeks_ahead: int = 2) -> date:
    """A date ``weeks_ahead`` weeks from today falling on ``weekday`` (0 = Monday)."""
    today = datetime.now(TZ).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def make_resource(session: Session, rules: dict[str, Any] | None = None, *, kind: str = "desk") -> Resource:
    tag = uuid.uuid4().hex[:8]
    space = space_service.create_space(
        session, name=f"Espace {tag}", kind="coworking", rules={**BASE_RULES, **(rules or {})}
    )
    assert space.id is not None
    return space_service.create_resource(session, name=f"Poste {tag}", kind=kind, space_id=space.id)


def committed_resource(runtime: Runtime, rules: dict[str, Any] | None = None) -> int:
    """A resource made by :func:`make_resource` in its own committed transaction: its id."""
    with runtime.db.session(write=True) as session:
        resource = make_resource(session, rules)
        session.commit()
        assert resource.id is not None
        return resource.id


def make_member(session: Session, secrets: Secrets, *roles: str) -> Member:
    tag = uuid.uuid4().hex[:8]
    return member_service.create_member(
        session, secrets, name=f"Membre {tag}", email=f"m-{tag}@trilport.test", roles=roles or ("member",)
    )
