"""Turn an outbox row into an e-mail: texts from their codes in the person's language, the
.ics attached, and a ``Message-ID`` derived from the message key (the same on every try)."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from tierslieu.i18n import render
from tierslieu.models import OutboxMessage

__all__ = ["MAIL_KINDS", "compose", "message_id"]

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
    if message.ics:
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
    if message.ics:
        email.add_attachment(
            message.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="invitation.ics",
            params={"method": "PUBLISH"},
        )
    return email
