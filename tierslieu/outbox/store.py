"""Writing messages into the outbox (inside the caller's transaction) and the worker's claims.

Delivery is at most once per claim: a worker takes a message with a conditional ``UPDATE …
WHERE status = 'pending'`` and only the worker whose update changed the row sends it, so two
workers racing never send the same message twice. A worker that dies between handing a
message to the SMTP server and recording it leaves a claim that goes stale after
``CLAIM_LEASE``; the message is then tried again, with the same ``Message-ID`` (derived from
its key), so a mail server or client can recognise the rare duplicate.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from tierslieu.db.driver import DriverStatement
from tierslieu.db.rows import execute_write
from tierslieu.db.types import utcnow
from tierslieu.models import Member, OutboxMessage
from tierslieu.outbox.compose import INVITE_PARAM, Invite

__all__ = [
    "Recipient",
    "claim_due",
    "enqueue",
    "forget_old",
    "list_messages",
    "mark_failed",
    "mark_sent",
    "recipient_of",
    "retry",
]

# Why a message is ``undeliverable`` (a catalogue code: staff read it in their language).
NO_ADDRESS = "outbox.no_address"
# A claim older than this is taken for a worker that died while sending.
CLAIM_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None
    language: str = "fr"
    member_id: int | None = None


def recipient_of(member: Member) -> Recipient:
    return Recipient(member.name, member.email or None, member.language or "fr", member.id)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    to: Recipient,
    params: Mapping[str, Any],
    invite: Invite | None = None,
    ics: bytes | None = None,
    now: datetime | None = None,
) -> None:
    """Write one message in the caller's transaction; a message with the same ``key`` already
    written (by this or an earlier transaction) is kept and this one dropped."""
    now = now or utcnow()
    email = (to.email or "").strip() or None
    values: dict[str, Any] = {
        "key": key[:200],
        "kind": kind,
        "status": "pending" if email else "undeliverable",
        "member_id": to.member_id,
        "recipient_name": to.name[:200],
        "recipient_email": email,
        "language": to.language,
        "params": {**params, INVITE_PARAM: invite.as_param()} if invite else dict(params),
        "ics": ics.decode("utf-8") if ics else None,
        "attempts": 0,
        "next_attempt_at": now,
        "transport": "",
        "last_error": "" if email else NO_ADDRESS,
        "created_at": now,
    }
    assert values.keys() == _ENQUEUED
    execute_write(session, _enqueue_statement(session.get_bind().dialect.name), values)


# The columns a message is written with (the others take their defaults).
_ENQUEUED = frozenset(
    {
        "key", "kind", "status", "member_id", "recipient_name", "recipient_email", "language", "params", "ics",
        "attempts", "next_attempt_at", "transport", "last_error", "created_at",
    }
)  # fmt: skip


@cache
def _enqueue_statement(dialect: str) -> DriverStatement:
    """The message INSERT, built once per dialect (its values bound at execution): building
    it costs more Python than running it."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {key: bindparam(key, type_=table.c[key].type) for key in _ENQUEUED}
    return DriverStatement(insert(table).values(values).on_conflict_do_nothing(index_elements=["key"]))


def claim_due(session: Session, now: datetime, *, limit: int = 20) -> list[tuple[OutboxMessage, str]]:
    """Claim up to ``limit`` messages that are due (or whose claim went stale), committing the
    claims. Returns each claimed message with the token that proves the claim."""
    stale = now - CLAIM_LEASE
    due = (col(OutboxMessage.status) == "pending") & (col(OutboxMessage.next_attempt_at) <= now)
    abandoned = (col(OutboxMessage.status) == "sending") & (col(OutboxMessage.claimed_at) < stale)
    ids = session.exec(
        select(OutboxMessage.id).where(or_(due, abandoned)).order_by(col(OutboxMessage.next_attempt_at)).limit(limit)
    ).all()
    claimed: list[tuple[int, str]] = []
    for message_id in ids:
        token = secrets.token_hex(8)
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, or_(due, abandoned))
            .values(status="sending", claim_token=token, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            assert message_id is not None
            claimed.append((message_id, token))
    session.commit()
    out = []
    for message_id, token in claimed:
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        if message is not None:
            out.append((message, token))
    return out


def mark_sent(session: Session, message_id: int, token: str, *, transport: str, now: datetime) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claim_token) == token)
        .values(status="sent", sent_at=now, transport=transport, last_error="", claim_token=None)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def backoff(attempts: int, base: timedelta = timedelta(minutes=1), cap: timedelta = timedelta(hours=6)) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd… failed try, at most ``cap``."""
    delay: timedelta = base * (2 ** max(attempts - 1, 0))
    return min(delay, cap)


def mark_failed(
    session: Session, message: OutboxMessage, token: str, error: str, *, now: datetime, max_attempts: int
) -> str:
    """Put a failed message back for a later try, or give up after ``max_attempts``."""
    gave_up = message.attempts >= max_attempts
    status = "failed" if gave_up else "pending"
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.claim_token) == token)
        .values(
            status=status,
            next_attempt_at=now + backoff(message.attempts),
            last_error=error[:500],
            claim_token=None,
        )
    )
    return status


def retry(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """Staff ask to send a failed message again (from now, with fresh attempts)."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        return None
    if message.status == "failed":
        message.status, message.attempts, message.next_attempt_at = "pending", 0, now
        session.add(message)
        session.flush()
    return message


def forget_old(session: Session, now: datetime, days: int) -> int:
    """Delete messages sent (or undeliverable, or given up) more than ``days`` ago: an outbox
    holds names and addresses, kept no longer than staff need to answer "did it go?"."""
    cutoff = now - timedelta(days=days)
    result = session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.status).in_(("sent", "undeliverable", "failed")), col(OutboxMessage.created_at) < cutoff
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_messages(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[int, Sequence[OutboxMessage]]:
    """Newest first, with the total matching (for paging)."""
    query = select(OutboxMessage)
    count = select(func.count()).select_from(OutboxMessage)
    if status is not None:
        query, count = query.where(OutboxMessage.status == status), count.where(OutboxMessage.status == status)
    if kind is not None:
        query, count = query.where(OutboxMessage.kind == kind), count.where(OutboxMessage.kind == kind)
    total = session.exec(count).one()
    rows = session.exec(query.order_by(col(OutboxMessage.id).desc()).offset(offset).limit(limit)).all()
    return int(total), rows
