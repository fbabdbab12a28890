"""One-time password links made by staff: signed, time-limited, and void once used.

The token signs the member id with a fingerprint of the current password hash, so setting a
new password (through the link or otherwise) invalidates every link given out before.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from tierslieu.errors import InvalidInput
from tierslieu.models import Member
from tierslieu.security import Secrets

__all__ = ["RESET_HOURS", "member_for_reset", "reset_token"]

RESET_HOURS = 48


def _serializer(secrets: Secrets) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secrets.derive(b"password-reset"), salt="tierslieu-reset")


def _fingerprint(member: Member) -> str:
    return hashlib.sha256(f"{member.id}:{member.password_hash or ''}".encode()).hexdigest()[:20]


def reset_token(secrets: Secrets, member: Member) -> str:
    return _serializer(secrets).dumps({"m": member.id, "f": _fingerprint(member)})


def _invalid() -> InvalidInput:
    return InvalidInput("reset_link_invalid")


def member_for_reset(session: Session, secrets: Secrets, token: str) -> Member:
    try:
        data = _serializer(secrets).loads(token, max_age=RESET_HOURS * 3600)
    except BadSignature as exc:
        raise _invalid() from exc
    member = session.get(Member, data.get("m")) if isinstance(data, dict) and isinstance(data.get("m"), int) else None
    if member is None or not member.active or data.get("f") != _fingerprint(member):
        raise _invalid()
    return member
