"""The badge decision table: a pure function, tested with hand-built facts and fixed times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tierslieu.booking.rules import BookingRules, merge_rules
from tierslieu.hardware.decisions import Decision, Reason, Scan, decide
from tierslieu.hardware.facts import BadgeFacts, BookingWindow, MemberAccess, PlaceFacts, SiteFacts

TZ = ZoneInfo("Europe/Paris")
WEEKDAYS = {day: ["08:30-19:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
# Tuesday 3 March 2026, 10:00 in Trilport (09:00 UTC), and the same day at 22:00.
OPEN = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)
BUILDING, ROOM, COWORK, MAIRIE, MAIRIE_ROOM = 1, 2, 3, 4, 5
ROOM_R, DESK, DESK_WALKIN = 10, 11, 12
ALICE, BOB, SAM, MONA, GONE = 100, 101, 102, 103, 104


def place(pid: int, kind: str, parent: int | None, *levels: Mapping[str, object]) -> PlaceFacts:
    rules = merge_rules(*(BookingRules.model_validate(level) for level in levels))
    return PlaceFacts(pid, kind, rules, rules.schedule, parent)


def window(bid: int, resource: int, member: int, start: datetime, minutes: int = 60) -> BookingWindow:
    end = start + timedelta(minutes=minutes)
    return BookingWindow(bid, resource, member, "confirmed", start, end, start - timedelta(minutes=10), end)


def facts(*bookings: BookingWindow) -> SiteFacts:
    top = {"opening_hours": WEEKDAYS}
    return SiteFacts(
        spaces={
            BUILDING: place(BUILDING, "building", None, top),
            ROOM: place(ROOM, "room", BUILDING, top),
            COWORK: place(COWORK, "coworking", BUILDING, top),
            MAIRIE: place(MAIRIE, "municipal_floor", BUILDING, top),
            MAIRIE_ROOM: place(MAIRIE_ROOM, "room", MAIRIE, top),
        },
        resources={
            ROOM_R: place(ROOM_R, "room", ROOM, top),
            DESK: place(DESK, "desk", COWORK, top),
            DESK_WALKIN: place(DESK_WALKIN, "desk", COWORK, top, {"walk_in": True}),
        },
        badges={
            "A1": BadgeFacts(ALICE, False),
            "B0": BadgeFacts(BOB, False),
            "5A": BadgeFacts(SAM, False),
            "3C": BadgeFacts(MONA, False),
            "0LD": BadgeFacts(ALICE, True),
            "60": BadgeFacts(GONE, False),
            "0RPHAN": BadgeFacts(None, False),
        },
        members={
            ALICE: MemberAccess(True, frozenset({"member"})),
            BOB: MemberAccess(True, frozenset({"member"})),
            SAM: MemberAccess(True, frozenset({"staff"})),
            MONA: MemberAccess(True, frozenset({"municipal"})),
            GONE: MemberAccess(False, frozenset({"member"})),
        },
        bookings=bookings,
    )


ALICE_IN_ROOM = window(1, ROOM_R, ALICE, OPEN - timedelta(minutes=5))
ALICE_SOON = window(2, ROOM_R, ALICE, OPEN + timedelta(minutes=8))  # within the 10 min lead
ALICE_LATER = window(3, ROOM_R, ALICE, OPEN + timedelta(minutes=30))
BOB_AT_DESK = window(4, DESK, BOB, OPEN - timedelta(minutes=30))


def at_space(space: int, uid: str, now: datetime = OPEN, doors: tuple[int, ...] = (900,)) -> Scan:
    return Scan(reader_id=800, space_id=space, uid=uid, now=now, door_ids=doors)


def at_desk(resource: int, uid: str, now: datetime = OPEN) -> Scan:
    return Scan(reader_id=801, space_id=COWORK, uid=uid, now=now, resource_id=resource, door_ids=())


CASES: list[tuple[str, Scan, tuple[BookingWindow, ...], Reason, int | None]] = [
    ("booked room opens the room", at_space(ROOM, "A1"), (ALICE_IN_ROOM,), Reason.GRANTED_BOOKING, 1),
    ("and the entrance on the way", at_space(BUILDING, "A1"), (ALICE_IN_ROOM,), Reason.GRANTED_BOOKING, 1),
    ("not another room", at_space(COWORK, "A1"), (ALICE_IN_ROOM,), Reason.NO_BOOKING, None),
    ("access lead before the start", at_space(ROOM, "A1"), (ALICE_SOON,), Reason.GRANTED_BOOKING, 2),
    ("too early", at_space(ROOM, "A1"), (ALICE_LATER,), Reason.NO_BOOKING, None),
    ("someone else's booking", at_space(ROOM, "B0"), (ALICE_IN_ROOM,), Reason.NO_BOOKING, None),
    ("unknown badge", at_space(ROOM, "FFFF"), (), Reason.UNKNOWN_BADGE, None),
    ("badge without holder", at_space(ROOM, "0RPHAN"), (), Reason.UNKNOWN_BADGE, None),
    ("revoked badge, even booked", at_space(ROOM, "0LD"), (ALICE_IN_ROOM,), Reason.BADGE_REVOKED, None),
    ("disabled account", at_space(ROOM, "60"), (), Reason.ACCOUNT_DISABLED, None),
    ("staff anywhere", at_space(MAIRIE_ROOM, "5A"), (), Reason.GRANTED_ROLE, None),
    ("staff at night", at_space(ROOM, "5A", CLOSED), (), Reason.GRANTED_ROLE, None),
    ("municipal on their floor", at_space(MAIRIE_ROOM, "3C"), (), Reason.GRANTED_ROLE, None),
    ("municipal at the entrance", at_space(BUILDING, "3C"), (), Reason.GRANTED_ROLE, None),
    ("municipal at night", at_space(MAIRIE, "3C", CLOSED), (), Reason.OUTSIDE_HOURS, None),
    ("municipal elsewhere", at_space(ROOM, "3C"), (), Reason.NO_BOOKING, None),
    ("own desk", at_desk(DESK, "B0"), (BOB_AT_DESK,), Reason.GRANTED_BOOKING, 4),
    ("someone's desk", at_desk(DESK, "A1"), (BOB_AT_DESK,), Reason.DESK_TAKEN, None),
    ("free desk, no walk-in", at_desk(DESK, "A1"), (), Reason.NO_BOOKING, None),
    ("free desk, walk-in", at_desk(DESK_WALKIN, "A1"), (), Reason.GRANTED_WALK_IN, None),
    ("walk-in at night", at_desk(DESK_WALKIN, "A1", CLOSED), (), Reason.OUTSIDE_HOURS, None),
]


@pytest.mark.parametrize(
    ("scan", "bookings", "reason", "booking_id"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decision_table(
    scan: Scan, bookings: tuple[BookingWindow, ...], reason: Reason, booking_id: int | None
) -> None:
    decision = decide(scan, facts(*bookings), TZ)
    assert decision.reason == reason
    assert decision.booking_id == booking_id
    assert decision.granted == reason.value.startswith("granted")
    if not decision.granted or scan.resource_id is not None:
        assert decision.unlock == ()
    else:
        assert decision.unlock == scan.door_ids


def test_grant_checks_in_the_booking_and_names_the_member() -> None:
    decision = decide(at_space(BUILDING, "A1"), facts(ALICE_IN_ROOM), TZ)
    assert decision == Decision(True, Reason.GRANTED_BOOKING, ALICE, 1, (900,), check_in=True)


def test_offline_doors() -> None:
    all_offline = Scan(800, ROOM, "A1", OPEN, None, (900, 901), frozenset({900, 901}))
    assert decide(all_offline, facts(ALICE_IN_ROOM), TZ).reason == Reason.DEVICE_OFFLINE
    one_offline = Scan(800, ROOM, "A1", OPEN, None, (900, 901), frozenset({900}))
    decision = decide(one_offline, facts(ALICE_IN_ROOM), TZ)
    assert decision.granted and decision.unlock == (901,)


def test_a_space_without_doors_still_grants() -> None:
    decision = decide(at_space(MAIRIE_ROOM, "3C", doors=()), facts(), TZ)
    assert decision.granted and decision.unlock == ()


def test_scoped_roles_open_the_doors_of_their_sites_only() -> None:
    """Staff and municipal agents scoped to site 1: their roles open site 1's doors; at site 2
    they need a booking like anyone (and with one, they get in)."""
    from dataclasses import replace

    from tierslieu.services.sites import SiteScope

    base = facts(window(5, ROOM_R, SAM, OPEN - timedelta(minutes=5)))
    here = {BUILDING: 1, ROOM: 2, COWORK: 1, MAIRIE: 2, MAIRIE_ROOM: 2}
    spaces = {sid: replace(p, site_id=here[sid]) for sid, p in base.spaces.items()}
    site_one = SiteScope(frozenset({1}))
    members = {
        **base.members,
        SAM: MemberAccess(True, frozenset({"staff"}), site_one),
        MONA: MemberAccess(True, frozenset({"municipal"}), site_one),
    }
    scoped = replace(base, spaces=spaces, members=members)
    assert decide(at_space(COWORK, "5A"), scoped, TZ).reason is Reason.GRANTED_ROLE
    assert decide(at_space(BUILDING, "3C"), scoped, TZ).reason is Reason.GRANTED_ROLE  # on the way to the floor
    assert decide(at_space(MAIRIE_ROOM, "3C"), scoped, TZ).reason is Reason.NO_BOOKING
    assert decide(at_space(MAIRIE_ROOM, "5A"), scoped, TZ).reason is Reason.NO_BOOKING
    booked = decide(at_space(ROOM, "5A"), scoped, TZ)
    assert (booked.reason, booked.booking_id) == (Reason.GRANTED_BOOKING, 5)
