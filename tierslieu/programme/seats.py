"""Seats and the waitlist, as plain arithmetic over plain values (no database, no clock).

The database has the last word on a seat (a conditional UPDATE of the session's counter, see
:mod:`tierslieu.programme.registrations`); these functions say what *should* happen, so the
rules are tested exhaustively without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AGE_BANDS", "Waiting", "age_band", "fits", "is_minor", "positions", "promotions", "seats_left"]

# Age bands of the reports (the national activity report's, more or less): lower bounds.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-11"),
    (12, "12-17"),
    (18, "18-24"),
    (25, "25-39"),
    (40, "40-59"),
    (60, "60-69"),
    (70, "70+"),
)
MAJORITY = 18


@dataclass(frozen=True)
class Waiting:
    """A waitlisted registration: its id (the queue order) and the seats it needs."""

    registration_id: int
    seats: int


def seats_left(capacity: int, taken: int) -> int:
    return max(0, capacity - taken)


def fits(capacity: int, taken: int, seats: int) -> bool:
    """Whether ``seats`` more seats fit (a class of 28 takes 28)."""
    return seats >= 1 and taken + seats <= capacity


def promotions(capacity: int, taken: int, waiting: Sequence[Waiting]) -> list[int]:
    """The waitlisted registrations to confirm, in queue order: each one whose seats fit in
    what is left after those before it. One that does not fit keeps its place and does not
    block smaller ones behind it (a class of 28 waiting must not keep a senior out of the
    last seat)."""
    promoted: list[int] = []
    for entry in sorted(waiting, key=lambda w: w.registration_id):
        if fits(capacity, taken, entry.seats):
            taken += entry.seats
            promoted.append(entry.registration_id)
    return promoted


def positions(waiting_ids: Sequence[int]) -> dict[int, int]:
    """Waitlist position (1 = next) of each waitlisted registration id."""
    return {registration_id: rank for rank, registration_id in enumerate(sorted(waiting_ids), start=1)}


def age_band(birth_year: int | None, year: int) -> str | None:
    """The report's age band of someone born in ``birth_year`` (their age at the end of ``year``)."""
    if birth_year is None or birth_year > year:
        return None
    age = year - birth_year
    band = None
    for lower, name in AGE_BANDS:
        if age >= lower:
            band = name
    return band


def is_minor(birth_year: int | None, year: int) -> bool:
    """Certainly under 18 during ``year`` (whatever their birthday): never to be named."""
    return birth_year is not None and year - birth_year < MAJORITY
