"""The notifications outbox, for staff: what was sent, what waits, what failed and why
(and who has no e-mail address, so the front desk prints them a slip)."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Query

from tierslieu.api.deps import Allow, CurrentMember, IdPath, LanguageDep, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.outbox import OutboxMessagePublic, OutboxPage
from tierslieu.db.types import utcnow
from tierslieu.errors import NotFound, PermissionDenied
from tierslieu.i18n import render
from tierslieu.models import Member, OutboxMessage
from tierslieu.outbox import store
from tierslieu.outbox.compose import INVITE_PARAM
from tierslieu.outbox.store import NO_ADDRESS
from tierslieu.services.sites import scope_for

router = PrefixRouter(prefix="/outbox", tags=["notifications"])

OUTBOX_READERS = Allow("admin", "staff")
Status = Literal["pending", "sending", "sent", "failed", "undeliverable"]


def _public(message: OutboxMessage, language: str) -> OutboxMessagePublic:
    assert message.id is not None
    # A code (no address) is said in the reader's language; a transport error as it came.
    error = render(NO_ADDRESS, {}, language) if message.last_error == NO_ADDRESS else message.last_error
    return OutboxMessagePublic(
        id=message.id,
        kind=message.kind,
        status=message.status,
        recipient_name=message.recipient_name,
        recipient_email=message.recipient_email,
        language=message.language,
        has_calendar=message.ics is not None or INVITE_PARAM in message.params,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        sent_at=message.sent_at,
        transport=message.transport,
        last_error=message.last_error,
        error=error or None,
        created_at=message.created_at,
    )


def _every_site(reader: Member) -> None:
    """Messages name members of every site and carry no site: the outbox is for admins and
    staff working at every site (403 ``site_forbidden`` for a scoped staff member)."""
    if scope_for(reader).site_ids is not None:
        raise PermissionDenied("site_forbidden")


@router.get("", response_model=OutboxPage, dependencies=[Depends(OUTBOX_READERS)])
def list_outbox(
    session: SessionDep,
    language: LanguageDep,
    reader: CurrentMember,
    status: Status | None = None,
    kind: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> OutboxPage:
    """Messages, newest first, optionally of one status or kind."""
    _every_site(reader)
    total, rows = store.list_messages(session, status=status, kind=kind, limit=limit, offset=offset)
    return OutboxPage(total=total, items=[_public(m, language) for m in rows])


@router.post("/{message_id}/retry", response_model=OutboxMessagePublic, dependencies=[Depends(OUTBOX_READERS)])
def retry_message(
    message_id: IdPath, session: SessionDep, language: LanguageDep, reader: CurrentMember
) -> OutboxMessagePublic:
    """Send a failed message again (from now, with fresh attempts); other states are unchanged."""
    _every_site(reader)
    message = store.retry(session, message_id, utcnow())
    if message is None:
        raise NotFound("message_not_found", id=message_id)
    return _public(message, language)
