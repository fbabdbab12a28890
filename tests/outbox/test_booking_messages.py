"""The booking engine's events go through the outbox: an approved request (with its .ics),
a turned-down one (with the reason), each written once in the decision's transaction; old
messages are forgotten after the retention period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from tests.booking.factory import TZ, at, make_member, make_resource
from tests.conftest import TEST_SECRET
from tierslieu.booking import lifecycle, service
from tierslieu.booking.calendar import parse_feed
from tierslieu.db import Database
from tierslieu.models import OutboxMessage
from tierslieu.outbox import store
from tierslieu.outbox.compose import calendar_attachment
from tierslieu.security import Secrets

TUESDAY = date(2030, 3, 5)
BEFORE = at(TUESDAY - timedelta(days=1), "08:00")
SECRETS = Secrets(TEST_SECRET)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    database = Database(db_url)
    with database.session(write=True) as s:
        yield s
        s.rollback()
    database.dispose()


def _request(session: Session, start: str) -> int:
    resource = make_resource(session, {"requires_approval": ["member"]})
    member = make_member(session, SECRETS)
    booking, _ = service.create_booking(
        session, actor=member, resource_id=resource.id or 0, member_id=None,
        start=at(TUESDAY, start), end=at(TUESDAY, start) + timedelta(hours=1), now=BEFORE, tz=TZ,
    )  # fmt: skip
    assert booking.status == "pending" and booking.id is not None
    return booking.id


def _messages(session: Session) -> dict[str, OutboxMessage]:
    return {m.key: m for m in session.exec(select(OutboxMessage)).all()}


def test_approval_and_rejection_are_written_with_the_decision(session: Session) -> None:
    staff = make_member(session, SECRETS, "staff")
    approved, rejected = _request(session, "10:00"), _request(session, "14:00")
    assert _messages(session) == {}  # a request is not yet news
    lifecycle.approve(session, staff, approved)
    lifecycle.reject(session, staff, rejected, reason="Salle réservée pour le conseil municipal.")
    messages = _messages(session)
    yes, no = messages[f"booking_approved:{approved}"], messages[f"booking_rejected:{rejected}"]
    assert (yes.kind, yes.status, no.kind, no.status) == ("booking_approved", "pending", "booking_rejected", "pending")
    ics = calendar_attachment(yes)
    assert ics is not None and calendar_attachment(no) is None
    (event,) = parse_feed(ics)
    assert event.decoded("dtstart") == at(TUESDAY, "10:00") and str(event["uid"]) == f"booking-{approved}@tierslieu"
    assert no.params["reason"] == "Salle réservée pour le conseil municipal."


def test_old_messages_are_forgotten(session: Session) -> None:
    staff = make_member(session, SECRETS, "staff")
    lifecycle.approve(session, staff, _request(session, "10:00"))
    (message,) = _messages(session).values()
    assert store.forget_old(session, message.created_at + timedelta(days=89), 90) == 0  # pending: kept anyway
    message.status = "sent"
    session.add(message)
    session.flush()
    assert store.forget_old(session, message.created_at + timedelta(days=89), 90) == 0
    assert store.forget_old(session, message.created_at + timedelta(days=91), 90) == 1
    assert _messages(session) == {}
