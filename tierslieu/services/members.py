"""Members, their badges, trainings and tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from devices.badge_ids import WrittenFormat, from_written
from tierslieu.db.types import utcnow
from tierslieu.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from tierslieu.i18n import Message
from tierslieu.models import ROLES, ApiToken, Badge, Member, Training
from tierslieu.security import Secrets, new_token, token_digest
from tierslieu.services.login_throttle import AttemptKeys, check_allowed, record_failure, record_success
from tierslieu.text import clean_name

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
STAFF_ROLES = frozenset({"admin", "staff"})


def is_staff(member: Member) -> bool:
    """Staff and admins see and act on everyone's bookings, jobs and entries."""
    return bool(STAFF_ROLES & set(member.roles))


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise InvalidInput("invalid_email", email=email)
    return email


def check_roles(roles: Iterable[str]) -> list[str]:
    clean = sorted(set(roles))
    unknown = [r for r in clean if r not in ROLES]
    if unknown or not clean:
        given = ", ".join(unknown) or Message("invalid_role.none")
        raise InvalidInput("invalid_role", given=given, roles=", ".join(ROLES))
    return clean


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("weak_password", min_length=MIN_PASSWORD_LENGTH)
    return password


def get_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("member_not_found", id=member_id)
    return member


def find_by_email(session: Session, email: str) -> Member | None:
    return session.exec(select(Member).where(Member.email == email.strip().lower())).first()


def list_members(session: Session) -> Sequence[Member]:
    return session.exec(select(Member).order_by(col(Member.name), col(Member.id))).all()


def create_member(
    session: Session,
    secrets: Secrets,
    *,
    name: str,
    email: str,
    roles: Iterable[str] = ("member",),
    password: str | None = None,
    language: str = "fr",
    site_ids: Iterable[int] = (),
) -> Member:
    """A new member; ``site_ids`` (checked by ``sites.check_grantable``): where their roles apply."""
    email = normalize_email(email)
    if find_by_email(session, email) is not None:
        raise Conflict("email_taken", email=email)
    member = Member(
        name=clean_name(name),
        email=email,
        roles=check_roles(roles),
        password_hash=secrets.hash_password(check_password(password)) if password else None,
        language=language,
        calendar_salt=new_token()[:16],
        site_ids=sorted(set(site_ids)),
    )
    session.add(member)
    session.flush()
    return member


def update_member(
    session: Session,
    secrets: Secrets,
    member: Member,
    *,
    name: str | None = None,
    email: str | None = None,
    roles: Iterable[str] | None = None,
    password: str | None = None,
    active: bool | None = None,
    language: str | None = None,
    site_ids: Iterable[int] | None = None,
) -> Member:
    if email is not None:
        email = normalize_email(email)
        other = find_by_email(session, email)
        if other is not None and other.id != member.id:
            raise Conflict("email_taken", email=email)
        member.email = email
    if name is not None:
        member.name = clean_name(name)
    if roles is not None:
        member.roles = check_roles(roles)
    if password is not None:
        member.password_hash = secrets.hash_password(check_password(password))
        # Every session and personal token dies with the old password (a change or a reset).
        revoke_tokens(session, member)
    if active is not None:
        member.active = active
        if not active:
            revoke_tokens(session, member)
    if language is not None:
        member.language = language
    if site_ids is not None:
        member.site_ids = sorted(set(site_ids))
    session.add(member)
    session.flush()
    return member


# Authentication -------------------------------------------------------------


def authenticate(session: Session, secrets: Secrets, email: str, password: str, *, address: str) -> Member:
    """Check a log-in, throttled per account and per address (429 while locked).

    A failure is committed before the error is raised: the request's transaction is rolled
    back on errors, and a failure that did not count would make throttling void.
    """
    keys = AttemptKeys(email, address)
    now = utcnow()
    check_allowed(session, keys, now)
    member = find_by_email(session, email)
    ok = secrets.verify_password(member.password_hash if member else None, password)
    if member is None or not ok or not member.active:
        record_failure(session, keys, now, member)
        session.commit()
        raise AuthenticationFailed("invalid_credentials")
    record_success(session, keys)
    if member.password_hash and secrets.needs_rehash(member.password_hash):
        member.password_hash = secrets.hash_password(password)  # argon2 parameters changed since
        session.add(member)
        session.flush()
    return member


def check_current_password(session: Session, secrets: Secrets, member: Member, password: str, *, address: str) -> None:
    """A member changing their own password proves they know the current one (throttled like a log-in)."""
    keys = AttemptKeys(member.email, address)
    now = utcnow()
    check_allowed(session, keys, now)
    if not secrets.verify_password(member.password_hash, password):
        record_failure(session, keys, now, member)
        session.commit()
        raise PermissionDenied("current_password_incorrect")


def issue_token(
    session: Session, member: Member, *, kind: str = "access", lifetime: timedelta | None, name: str = ""
) -> str:
    token = new_token()
    session.add(
        ApiToken(
            member_id=member.id,
            token_hash=token_digest(token),
            kind=kind,
            name=name,
            expires_at=utcnow() + lifetime if lifetime else None,
        )
    )
    session.flush()
    return token


def member_for_token(session: Session, token: str, *, now: datetime | None = None) -> Member:
    now = now or utcnow()
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is None:
        raise AuthenticationFailed("invalid_token")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationFailed("token_expired")
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        raise AuthenticationFailed("account_disabled")
    return member


def revoke_token(session: Session, token: str) -> None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is not None:
        session.delete(row)
        session.flush()


def list_tokens(session: Session, member: Member) -> Sequence[ApiToken]:
    return session.exec(
        select(ApiToken).where(ApiToken.member_id == member.id).order_by(col(ApiToken.created_at), col(ApiToken.id))
    ).all()


def revoke_token_of(session: Session, member: Member, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.member_id != member.id:
        raise NotFound("token_not_found", id=token_id)
    session.delete(row)
    session.flush()


def revoke_tokens(session: Session, member: Member, *, kind: str | None = None) -> None:
    query = select(ApiToken).where(ApiToken.member_id == member.id)
    if kind is not None:
        query = query.where(ApiToken.kind == kind)
    for row in session.exec(query).all():
        session.delete(row)
    session.flush()


def ensure_can_manage(actor: Member, member: Member) -> None:
    """Staff may not take over an administrator's account (password, roles, badges, state)."""
    if "admin" in member.roles and "admin" not in actor.roles and actor.id != member.id:
        raise PermissionDenied("cannot_change_admin")


def ensure_can_grant(actor_roles: Iterable[str], roles: Iterable[str]) -> None:
    """Only an admin may hand out the admin role."""
    if "admin" in roles and "admin" not in actor_roles:
        raise PermissionDenied("cannot_grant_admin")


# Badges -----------------------------------------------------------------------


def clean_uid(raw: str, written: WrittenFormat = "hex") -> str:
    """The canonical badge id of what was written (see ``devices.badge_ids``)."""
    try:
        return from_written(raw, written)
    except ValueError as exc:
        raise InvalidInput("invalid_badge_uid", uid=str(raw)[:64], format=written) from exc


def add_badge(
    session: Session, member: Member, raw_uid: str, *, label: str = "", written: WrittenFormat = "hex"
) -> Badge:
    uid = clean_uid(raw_uid, written)
    badge = session.exec(select(Badge).where(Badge.uid == uid)).first()
    if badge is not None and badge.revoked_at is None:
        if badge.member_id == member.id:
            return badge
        raise Conflict("badge_taken", uid=uid)
    if badge is None:
        badge = Badge(uid=uid, member_id=member.id, label=label)
    else:  # a revoked badge handed out again
        badge.member_id, badge.revoked_at, badge.label = member.id, None, label
    session.add(badge)
    session.flush()
    return badge


def revoke_badge(session: Session, member: Member, raw_uid: str) -> Badge:
    uid = clean_uid(raw_uid)
    badge = session.exec(select(Badge).where(Badge.uid == uid, Badge.member_id == member.id)).first()
    if badge is None or badge.revoked_at is not None:
        raise NotFound("badge_not_found", id=uid)
    badge.revoked_at = utcnow()
    session.add(badge)
    session.flush()
    return badge


def active_badges(session: Session, member: Member) -> Sequence[Badge]:
    return session.exec(
        select(Badge).where(Badge.member_id == member.id, Badge.revoked_at.is_(None)).order_by(Badge.uid)  # type: ignore[union-attr]
    ).all()


# Trainings --------------------------------------------------------------------


def grant_training(
    session: Session, member: Member, training: str, *, expires_on: date | None, granted_by: int | None
) -> Training:
    training = training.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,79}", training):
        raise InvalidInput("invalid_training", training=training)
    row = session.exec(select(Training).where(Training.member_id == member.id, Training.training == training)).first()
    if row is None:
        row = Training(member_id=member.id, training=training)
    row.expires_on, row.granted_by, row.granted_at = expires_on, granted_by, utcnow()
    session.add(row)
    session.flush()
    return row


def trainings_of(session: Session, member_id: int) -> dict[str, date | None]:
    rows = session.exec(select(Training).where(Training.member_id == member_id)).all()
    return {row.training: row.expires_on for row in rows}


def revoke_training(session: Session, member: Member, training: str) -> None:
    row = session.exec(select(Training).where(Training.member_id == member.id, Training.training == training)).first()
    if row is None:
        raise NotFound("training_not_found", id=training)
    session.delete(row)
    session.flush()
