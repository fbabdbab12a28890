"""Log-in throttling: growing delays per account and per address, with lockouts audited.

A few failures are free (typos); past them every failure locks the account — or the address —
for twice as long as the previous one (2 s, 4 s, 8 s … up to 15 min), and an attempt during a
lock is answered ``429`` with ``Retry-After`` *without* checking the password (no argon2 work
for a guesser). A success clears the account's count, not the address's: one valid account
must not reset the budget of an address guessing others. Counts are forgotten an hour after
the last failure.

The counters live in the ``login_throttle`` table, not in memory: several processes of one
install (or several instances behind a proxy on PostgreSQL) then share them. The ``limits``
library was considered: its storages are memory, Redis, Memcached and MongoDB — none is the
database this service already has — and it counts fixed or moving windows, not growing delays.
Each lock is one line of the append-only audit log (``access_event``, decision ``account``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from tierslieu.errors import TooManyRequests
from tierslieu.models import AccessEvent, LoginThrottle, Member

__all__ = ["AttemptKeys", "check_allowed", "record_failure", "record_success"]

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_DELAY_S = 2
MAX_DELAY_S = 15 * 60
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class AttemptKeys:
    """Who is trying: the account named (e-mail as typed, normalized) and the client address."""

    email: str
    address: str

    @property
    def account(self) -> str:
        return f"account:{self.email.strip().lower()[:320]}"

    @property
    def source(self) -> str:
        return f"address:{self.address[:64]}"

    def limits(self) -> tuple[tuple[str, int], ...]:
        return ((self.account, ACCOUNT_FREE_FAILURES), (self.source, ADDRESS_FREE_FAILURES))


def delay_after(failures: int, free: int) -> int:
    """Seconds of lock after the ``failures``-th failure (0 while within the free allowance)."""
    if failures <= free:
        return 0
    return int(min(FIRST_DELAY_S * 2 ** min(failures - free - 1, 20), MAX_DELAY_S))


def _too_many(seconds: int) -> TooManyRequests:
    return TooManyRequests("too_many_login_attempts", retry_after=seconds, seconds=seconds)


def check_allowed(session: Session, keys: AttemptKeys, now: datetime) -> None:
    """Raise ``TooManyRequests`` while the account or the address is locked."""
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_([k for k, _ in keys.limits()]))).all()
    waits = [row.locked_until - now for row in rows if row.locked_until is not None and row.locked_until > now]
    if waits:
        raise _too_many(math.ceil(max(waits).total_seconds()))


def _row_for_update(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The counter row, created if missing, locked for this transaction on PostgreSQL."""
    values = {"key": key, "failures": 0, "last_failure_at": now, "locked_until": None}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()).one()
    session.refresh(row)
    return row


def record_failure(session: Session, keys: AttemptKeys, now: datetime, member: Member | None) -> int:
    """Count one failure for the account and the address; return the lock it caused (seconds)."""
    longest = 0
    for key, free in keys.limits():
        row = _row_for_update(session, key, now)
        if now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = delay_after(row.failures, free)
        if delay:
            row.locked_until = now + timedelta(seconds=delay)
            longest = max(longest, delay)
            session.add(_lockout_line(key, keys, row.failures, delay, now, member))
        session.add(row)
    session.flush()
    return longest


def _lockout_line(
    key: str, keys: AttemptKeys, failures: int, delay: int, now: datetime, member: Member | None
) -> AccessEvent:
    on_account = key == keys.account
    return AccessEvent(
        at=now,
        member_id=member.id if (member is not None and on_account) else None,
        decision="account",
        reason="login_locked_account" if on_account else "login_locked_address",
        # The address, never the password or an unknown e-mail typed by someone else.
        detail=f"{failures} échecs de connexion, bloqué {delay} s (adresse {keys.address[:64]})",
    )


def record_success(session: Session, keys: AttemptKeys) -> None:
    row = session.get(LoginThrottle, keys.account)
    if row is not None:
        session.delete(row)
        session.flush()
