"""Who is calling: the member behind a token, cached per token for a few seconds.

Authenticating a request used to cost two queries and two ORM loads (the token by its digest,
then the member), and most requests then read the caller's badges or trainings (``members/me``,
the booking rules). Here each process keeps, per token digest, a detached copy of the member and the
token's expiry, tagged with the *identity generation*: one row that every transaction changing a
member or a token (revocation, log-out, password change, disabled account, role change, erasure)
bumps in that same transaction (see :meth:`IdentityCache.install`), as does any write to a badge
or a training, which the entry also keeps (the member's ``Profile``). Each request reads the
generation (one primary-key read, first, so a revocation committed meanwhile can only make the
entry older) and trusts its cached entry only if the tags match, the entry is younger than
``ttl`` and the token has not expired. So a revocation takes effect at once in every process
sharing the database, on PostgreSQL as on SQLite, without any message between processes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from tierslieu.db.changes import ChangeFeed
from tierslieu.db.detached import detached_copy
from tierslieu.db.engine import read_first
from tierslieu.errors import AuthenticationFailed
from tierslieu.models import ApiToken, Member
from tierslieu.security import token_digest
from tierslieu.services.members import Profile, forget_profiles, remember_profile

__all__ = ["IDENTITY_TABLES", "IdentityCache", "ProvisionalIdentity"]

# A change to a row of these tables may revoke or change someone's identity.
IDENTITY_TABLES = frozenset({"member", "api_token"})
# Any write to these (an insert too: a badge issued, a training granted) changes a cached profile.
PROFILE_TABLES = frozenset({"badge", "training"})
# Read first, so it also opens a writing request's transaction in the same round trip.
_READ = "SELECT value FROM identity_generation WHERE id = 1"
_BUMP = text("UPDATE identity_generation SET value = value + 1 WHERE id = 1")


@dataclass(frozen=True)
class _Entry:
    member: Member  # detached; merged into each request's session, never handed out itself
    profile: Profile  # the member's badges and trainings, answered without a query
    expires_at: datetime | None
    generation: int
    cached_at: float


class IdentityCache:
    def __init__(self, *, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def install(self, changes: ChangeFeed) -> None:
        """Bump the generation in every transaction that updates or deletes a member or a token."""
        changes.on_flush(self._bump_if_identity)

    @staticmethod
    def _bump_if_identity(session: Session, written: frozenset[str], altered: frozenset[str]) -> None:
        if altered & IDENTITY_TABLES or written & PROFILE_TABLES:
            session.connection().execute(_BUMP)
            forget_profiles(session)  # this very session must now read what it wrote

    def member_for_token(self, session: Session, token: str, now: datetime) -> Member:
        digest = token_digest(token)
        generation = read_first(session, _READ)
        entry = self._young_entry(digest)
        if entry is not None and generation is not None and entry.generation == generation:
            return _attach(session, entry, now)
        return self._reload(session, digest, generation, now)

    def provisional(self, session: Session, token: str, now: datetime) -> ProvisionalIdentity | None:
        """The member behind ``token`` as the cache last confirmed it, without any I/O; ``None``
        when the cache cannot say (then :meth:`member_for_token`). The caller must
        :meth:`ProvisionalIdentity.confirm` it before acting on anything else than its roles:
        this lets a writing request check its policy on the event loop and confirm, in the one
        worker thread that then runs the handler, with the same first statement (one thread
        switch saved per request)."""
        digest = token_digest(token)
        entry = self._young_entry(digest)
        if entry is None:
            return None
        return ProvisionalIdentity(self, digest, entry, _attach(session, entry, now))

    def _young_entry(self, digest: str) -> _Entry | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry.cached_at >= self.ttl_seconds:
            return None
        return entry

    def _reload(self, session: Session, digest: str, generation: int | None, now: datetime) -> Member:
        member, expires_at = _load(session, digest, now)
        if generation is not None:  # no generation row (tables built without migrations): no cache
            profile = Profile()  # badges and trainings are read when first needed
            remember_profile(session, _id_of(member), profile)
            self._store(digest, _Entry(detached_copy(member), profile, expires_at, generation, time.monotonic()))
        return member

    def _store(self, digest: str, entry: _Entry) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # rare; a full reload is cheaper than an LRU's bookkeeping
            self._entries[digest] = entry


class ProvisionalIdentity:
    """A cached identity not yet checked against the identity generation (see
    :meth:`IdentityCache.provisional`)."""

    def __init__(self, cache: IdentityCache, digest: str, entry: _Entry, member: Member) -> None:
        self._cache, self._digest, self._entry = cache, digest, entry
        self.member = member  # the request's instance: a confirmation refreshes it in place

    def confirm(self, session: Session, now: datetime) -> bool:
        """Read the generation (the request's first statement, as for any request); ``True`` if
        the cached identity still holds. Otherwise the member is read again, into
        ``self.member`` itself, and ``False`` is returned: the caller checks its policy again.
        Raises ``AuthenticationFailed`` for a token revoked or expired, or an account disabled."""
        generation = read_first(session, _READ)
        if generation is not None and generation == self._entry.generation:
            return True
        self._cache._reload(session, self._digest, generation, now)
        return False


def _attach(session: Session, entry: _Entry, now: datetime) -> Member:
    _check_expiry(entry.expires_at, now)
    member = session.merge(entry.member, load=False)
    remember_profile(session, _id_of(entry.member), entry.profile)
    return member


def _id_of(member: Member) -> int:
    assert member.id is not None
    return member.id


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise AuthenticationFailed("token_expired")


def _load(session: Session, digest: str, now: datetime) -> tuple[Member, datetime | None]:
    """The token's expiry and its member, in one query (an outer join: a token whose member is
    gone says ``account_disabled``, as before)."""
    query = (
        select(ApiToken.expires_at, Member)
        .outerjoin(Member, col(Member.id) == col(ApiToken.member_id))
        .where(ApiToken.token_hash == digest)
        # A provisional copy of this member may be in the session: refresh it, never trust it.
        .execution_options(populate_existing=True)
    )
    row = session.exec(query).first()
    if row is None:
        raise AuthenticationFailed("invalid_token")
    expires_at, member = row
    _check_expiry(expires_at, now)
    if member is None or not member.active:
        raise AuthenticationFailed("account_disabled")
    return member, expires_at
