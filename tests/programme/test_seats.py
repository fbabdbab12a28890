"""Seats and the waitlist as plain arithmetic: every case the registrations rely on."""

from __future__ import annotations

import random

import pytest

from tierslieu.programme.seats import Waiting, age_band, fits, is_minor, positions, promotions, seats_left


@pytest.mark.parametrize(
    ("capacity", "taken", "seats", "expected"),
    [
        (12, 0, 1, True),
        (12, 11, 1, True),
        (12, 12, 1, False),
        (30, 2, 28, True),  # a class of 28 fills the rest exactly
        (30, 3, 28, False),
        (12, 0, 0, False),  # nobody is not a registration
        (12, 0, 13, False),
    ],
)
def test_fits(capacity: int, taken: int, seats: int, expected: bool) -> None:
    assert fits(capacity, taken, seats) is expected


def test_seats_left_never_negative() -> None:
    assert seats_left(12, 5) == 7
    assert seats_left(12, 12) == 0
    assert seats_left(10, 12) == 0  # capacity lowered below the seats taken


def test_promotions_go_in_queue_order() -> None:
    waiting = [Waiting(7, 1), Waiting(3, 1), Waiting(5, 1)]
    assert promotions(12, 10, waiting) == [3, 5]


def test_a_group_that_does_not_fit_keeps_its_place_without_blocking_smaller_ones() -> None:
    waiting = [Waiting(1, 28), Waiting(2, 1), Waiting(3, 2)]
    assert promotions(30, 28, waiting) == [2]  # one seat: the class waits, the senior gets it
    assert promotions(30, 0, waiting) == [1, 2]  # 28 then 1: the pair no longer fits
    assert promotions(30, 27, waiting) == [2, 3]


def test_no_free_seat_promotes_nobody() -> None:
    assert promotions(12, 12, [Waiting(1, 1)]) == []
    assert promotions(12, 3, []) == []


def test_promotions_never_exceed_capacity_and_skip_only_what_does_not_fit() -> None:
    rng = random.Random(10)
    for _ in range(2000):
        capacity = rng.randrange(1, 40)
        taken = rng.randrange(0, capacity + 1)
        waiting = [Waiting(i, rng.randrange(1, 30)) for i in rng.sample(range(1, 100), rng.randrange(0, 12))]
        promoted = promotions(capacity, taken, waiting)
        seats = {w.registration_id: w.seats for w in waiting}
        assert taken + sum(seats[i] for i in promoted) <= capacity
        assert promoted == sorted(promoted)
        # Whoever was skipped could not fit when their turn came.
        used = taken
        for entry in sorted(waiting, key=lambda w: w.registration_id):
            if entry.registration_id in promoted:
                used += entry.seats
            else:
                assert used + entry.seats > capacity


def test_positions_follow_the_queue() -> None:
    assert positions([42, 7, 19]) == {7: 1, 19: 2, 42: 3}
    assert positions([]) == {}


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [(2020, "0-11"), (2014, "12-17"), (2008, "18-24"), (1990, "25-39"), (1970, "40-59"), (1962, "60-69"),
     (1950, "70+"), (None, None), (2030, None)],
)  # fmt: skip
def test_age_bands(birth_year: int | None, band: str | None) -> None:
    assert age_band(birth_year, 2026) == band


def test_minors_are_those_certainly_under_eighteen() -> None:
    assert is_minor(2010, 2026)  # 15 or 16
    assert is_minor(2009, 2026)  # 16 or 17
    assert not is_minor(2008, 2026)  # 17 or 18: may be of age, and the year is all we keep
    assert not is_minor(None, 2026)
    assert all(not is_minor(year, 2026) for year in range(1900, 2009))
    assert all(is_minor(year, 2026) for year in range(2009, 2027))
