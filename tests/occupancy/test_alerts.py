"""Alert rules, table-driven: each row is a situation and the alerts it must raise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tierslieu.occupancy.alerts import (
    Alert,
    AlertCode,
    BookingFacts,
    DeviceFacts,
    DoorFacts,
    Limits,
    SpaceFacts,
    alerts_for,
    device_health,
)

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
LIMITS = Limits(now=NOW, silence=timedelta(minutes=120), started_at=NOW - timedelta(days=1))
QUIET = SpaceFacts(
    space_id=1,
    name="FabLab",
    capacity=12,
    people=0,
    occupied=False,
    sensed_presence=False,
    has_sensing=True,
    booked_now=False,
    is_open=True,
    door_open_alert_minutes=5,
)


def _minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


CASES: list[tuple[str, SpaceFacts, list[tuple[AlertCode, int | None, int | None]]]] = [
    ("quiet space", QUIET, []),
    ("at capacity is fine", replace(QUIET, people=12, occupied=True), []),
    ("over capacity", replace(QUIET, people=13, occupied=True), [(AlertCode.OVER_CAPACITY, None, None)]),
    ("no capacity, no limit", replace(QUIET, capacity=None, people=500, occupied=True), []),
    ("door open 4 min of 5", replace(QUIET, doors=(DoorFacts(7, "Porte", True, _minutes_ago(4)),)), []),
    (
        "door open 5 min of 5",
        replace(QUIET, doors=(DoorFacts(7, "Porte", True, _minutes_ago(5)),)),
        [(AlertCode.DOOR_OPEN_TOO_LONG, 7, None)],
    ),
    ("door closed", replace(QUIET, doors=(DoorFacts(7, "Porte", False, None),)), []),
    (
        "door limit off",
        replace(QUIET, door_open_alert_minutes=None, doors=(DoorFacts(7, "Porte", True, _minutes_ago(60)),)),
        [],
    ),
    (
        "presence at night, no booking",
        replace(QUIET, is_open=False, sensed_presence=True, occupied=True),
        [(AlertCode.PRESENCE_OUTSIDE_HOURS, None, None)],
    ),
    (
        "presence at night, booked",
        replace(QUIET, is_open=False, sensed_presence=True, occupied=True, booked_now=True),
        [],
    ),
    ("presence in opening hours", replace(QUIET, sensed_presence=True, occupied=True), []),
    ("check-ins at night are no intrusion", replace(QUIET, is_open=False, people=2, occupied=True), []),
    (
        "booked, empty, window not over",
        replace(QUIET, booked_now=True, bookings=(BookingFacts(40, _minutes_ago(10), False, None),)),
        [],
    ),
    (
        "booked, empty after default window",
        replace(QUIET, booked_now=True, bookings=(BookingFacts(40, _minutes_ago(15), False, None),)),
        [(AlertCode.BOOKED_BUT_EMPTY, None, 40)],
    ),
    (
        "booked, empty after its own window",
        replace(QUIET, booked_now=True, bookings=(BookingFacts(40, _minutes_ago(31), True, 30),)),
        [(AlertCode.BOOKED_BUT_EMPTY, None, 40)],
    ),
    (
        "booked and occupied",
        replace(
            QUIET,
            booked_now=True,
            occupied=True,
            sensed_presence=True,
            bookings=(BookingFacts(40, _minutes_ago(60), False, None),),
        ),
        [],
    ),
    (
        "no sensors: a check-in says someone came",
        replace(QUIET, has_sensing=False, booked_now=True, bookings=(BookingFacts(40, _minutes_ago(60), True, None),)),
        [],
    ),
    (
        "no sensors, no check-in",
        replace(QUIET, has_sensing=False, booked_now=True, bookings=(BookingFacts(40, _minutes_ago(60), False, None),)),
        [(AlertCode.BOOKED_BUT_EMPTY, None, 40)],
    ),
    (
        "device offline (last will)",
        replace(QUIET, devices=(DeviceFacts(3, "Lecteur", False, _minutes_ago(2)),)),
        [(AlertCode.DEVICE_OFFLINE, 3, None)],
    ),
    (
        "device silent too long",
        replace(QUIET, devices=(DeviceFacts(3, "Lecteur", True, _minutes_ago(121)),)),
        [(AlertCode.DEVICE_OFFLINE, 3, None)],
    ),
    (
        "device quiet but within limit",
        replace(QUIET, devices=(DeviceFacts(3, "Lecteur", True, _minutes_ago(119)),)),
        [],
    ),
    (
        "device never seen since start",
        replace(QUIET, devices=(DeviceFacts(3, "Lecteur", None, None),)),
        [(AlertCode.DEVICE_OFFLINE, 3, None)],
    ),
    (
        "several at once",
        replace(
            QUIET,
            people=20,
            occupied=True,
            sensed_presence=True,
            is_open=False,
            devices=(DeviceFacts(3, "Lecteur", False, None),),
        ),
        [
            (AlertCode.OVER_CAPACITY, None, None),
            (AlertCode.PRESENCE_OUTSIDE_HOURS, None, None),
            (AlertCode.DEVICE_OFFLINE, 3, None),
        ],
    ),
]


@pytest.mark.parametrize(("facts", "expected"), [(f, e) for _, f, e in CASES], ids=[name for name, _, _ in CASES])
def test_alert_table(facts: SpaceFacts, expected: list[tuple[AlertCode, int | None, int | None]]) -> None:
    alerts = alerts_for(facts, LIMITS)
    assert [(a.code, a.device_id, a.booking_id) for a in alerts] == expected
    for alert in alerts:
        assert alert.space_id == facts.space_id
        assert "FabLab" in alert.message("fr") and "FabLab" in alert.message("en")
        assert alert.message("fr") != alert.message("en")


def test_alerts_are_stable_from_one_pass_to_the_next() -> None:
    facts = replace(
        QUIET,
        doors=(DoorFacts(7, "Porte", True, _minutes_ago(30)),),
        booked_now=True,
        bookings=(BookingFacts(40, _minutes_ago(45), False, None),),
    )
    first = alerts_for(facts, LIMITS)
    later = alerts_for(facts, replace(LIMITS, now=NOW + timedelta(minutes=3)))
    assert first == later  # announced once, not every pass


def test_silence_detection_can_be_switched_off() -> None:
    limits = replace(LIMITS, silence=None)
    assert device_health(DeviceFacts(1, "x", True, NOW - timedelta(days=30)), limits).online
    assert not device_health(DeviceFacts(1, "x", False, NOW), limits).online
    # Never heard of, and no silence limit: unknown, neither online nor alerted.
    unknown = device_health(DeviceFacts(1, "x", None, None), limits)
    assert (unknown.online, unknown.reason) == (False, None)


def test_never_seen_waits_for_the_silence_after_start() -> None:
    limits = replace(LIMITS, started_at=NOW - timedelta(minutes=5))
    assert device_health(DeviceFacts(1, "x", None, None), limits).reason is None


def test_alert_dict_is_json_ready() -> None:
    alert = Alert(
        AlertCode.DEVICE_OFFLINE,
        2,
        NOW,
        device_id=5,
        params={"space": "A", "device": "B", "reason": "silent", "minutes": 120},
    )
    body = alert.to_dict("en")
    assert body == {
        "code": "device_offline",
        "severity": "warning",
        "space_id": 2,
        "device_id": 5,
        "booking_id": None,
        "since": NOW.isoformat(),
        "message": "A: device 'B' has been silent for 120 min",
    }
