"""Turn an outbox row into an e-mail: texts from their codes in the person's language, the
.ics attached, and a ``Message-ID`` derived from the message key (the same on every try).

The calendar invitation is written by the change as a small :class:`Invite` in the message's
parameters and built into an .ics only when the message is sent: the request that registers
someone does not pay for iCalendar serialisation, and the invitation's title is rendered in the
person's language like the rest of the e-mail."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from zoneinfo import ZoneInfo

from tierslieu.booking.calendar import event_ics
from tierslieu.i18n import render
from tierslieu.models import OutboxMessage

__all__ = ["INVITE_PARAM", "MAIL_KINDS", "Invite", "calendar_attachment", "compose", "message_id"]

# The key of the invitation in a message's parameters.
INVITE_PARAM = "invite"


@dataclass(frozen=True)
class Invite:
    """A calendar event to attach: ``summary`` is a catalogue code rendered with the message's
    parameters; the same ``uid`` in a later message updates (or cancels) the person's event."""

    uid: str
    start: str  # ISO 8601, aware
    end: str
    summary: str
    location: str
    cancelled: bool = False

    def as_param(self) -> dict[str, Any]:
        return asdict(self)


def calendar_attachment(message: OutboxMessage) -> bytes | None:
    """The .ics of a message: built from its invitation, or as stored by an older version."""
    if message.ics:
        return message.ics.encode("utf-8")
    spec = message.params.get(INVITE_PARAM)
    if not isinstance(spec, dict):
        return None
    invite = Invite(**spec)
    return event_ics(
        uid=invite.uid,
        start=datetime.fromisoformat(invite.start),
        end=datetime.fromisoformat(invite.end),
        summary=render(invite.summary, message.params, message.language),
        location=invite.location,
        now=message.created_at,
        cancelled=invite.cancelled,
    )


# Every kind of message; each has ``mail.<kind>.subject`` and ``mail.<kind>.body`` in the catalogue.
MAIL_KINDS = (
    "booking_offered",
    "booking_approved",
    "booking_rejected",
    "registration_confirmed",
    "registration_waitlisted",
    "registration_promoted",
    "registration_cancelled",
    "session_cancelled",
    "session_reminder",
    "appointment_confirmed",
    "appointment_cancelled",
    "appointment_reminder",
)


def message_id(key: str, domain: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def compose(message: OutboxMessage, *, sender: str, site_name: str, tz: ZoneInfo) -> EmailMessage:
    assert message.recipient_email is not None
    language = message.language
    params = {"site": site_name, **message.params}
    parts = [
        render("mail.greeting", {"name": message.recipient_name}, language, tz),
        render(f"mail.{message.kind}.body", params, language, tz),
    ]
    attachment = calendar_attachment(message)
    if attachment:
        parts.append(render("mail.attachment_hint", params, language, tz))
    parts.append(render("mail.signature", params, language, tz))
    email = EmailMessage()
    email["Subject"] = render(f"mail.{message.kind}.subject", params, language, tz)
    email["From"] = sender
    email["To"] = formataddr((message.recipient_name, message.recipient_email))
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id(message.key, sender.rpartition("@")[2].strip(">") or "tierslieu")
    email["Content-Language"] = language
    email.set_content("\n\n".join(parts))
    if attachment:
        email.add_attachment(
            attachment,
            maintype="text",
            subtype="calendar",
            filename="invitation.ics",
            params={"method": "PUBLISH"},
        )
    return email
