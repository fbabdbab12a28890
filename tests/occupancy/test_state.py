"""The pure occupancy model: readings from events, statuses aggregated up the space tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devices.model import (
    BadgeScanned,
    ContactChanged,
    DeviceAvailability,
    DeviceKind,
    LockStateChanged,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
)
from tierslieu.occupancy.alerts import AlertCode, Limits
from tierslieu.occupancy.state import (
    BookingNow,
    DeviceInfo,
    Layout,
    Reading,
    SpaceContext,
    SpaceInfo,
    apply_event,
    compute_statuses,
)

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
LIMITS = Limits(now=NOW, silence=timedelta(minutes=120), started_at=NOW - timedelta(hours=1))

# building(1) > floor(2) > hall(3, cap 50) and coworking(4, cap 2); building has the entrance.
SPACES = {
    1: SpaceInfo(1, "Tiers-lieu", None),
    2: SpaceInfo(2, "Rez-de-chaussée", 1),
    3: SpaceInfo(3, "Grande salle", 2, 50),
    4: SpaceInfo(4, "Coworking", 2, 2),
}
DEVICES = {
    10: DeviceInfo(10, "Porte d'entrée", DeviceKind.DOOR, 1, contact_sensor_id=11),
    11: DeviceInfo(11, "Contact entrée", DeviceKind.CONTACT_SENSOR, 1),
    20: DeviceInfo(20, "Présence salle", DeviceKind.OCCUPANCY_SENSOR, 3),
    21: DeviceInfo(21, "Compteur salle", DeviceKind.PEOPLE_COUNTER, 3),
    30: DeviceInfo(30, "Lecteur coworking", DeviceKind.BADGE_READER, 4),
}
LAYOUT = Layout(SPACES, DEVICES)


def _seen(**fields: object) -> Reading:
    return Reading(online=True, last_seen=NOW - timedelta(minutes=1), **fields)  # type: ignore[arg-type]


def test_layout_walks_children_before_parents() -> None:
    order = LAYOUT.bottom_up
    assert order.index(3) < order.index(2) < order.index(1)
    assert order.index(4) < order.index(2)
    assert LAYOUT.children[2] == (3, 4)
    assert LAYOUT.watched_contacts == {11}


def test_layout_survives_a_parent_cycle_and_unknown_parents() -> None:
    layout = Layout({1: SpaceInfo(1, "a", 2), 2: SpaceInfo(2, "b", 1), 3: SpaceInfo(3, "c", 99)}, {})
    assert sorted(layout.bottom_up) == [1, 2, 3]


def test_apply_event_reports_only_real_changes() -> None:
    reading = Reading()
    assert apply_event(reading, OccupancyChanged(1, True), NOW)  # first word: online and occupied
    assert not apply_event(reading, OccupancyChanged(1, True), NOW)
    assert apply_event(reading, OccupancyChanged(1, False), NOW)
    assert apply_event(reading, PeopleCount(1, 3), NOW) and reading.people == 3
    assert not apply_event(reading, BadgeScanned(1, "AB"), NOW + timedelta(seconds=5))
    assert reading.last_seen == NOW + timedelta(seconds=5)


def test_contacts_remember_when_they_opened() -> None:
    reading = Reading()
    apply_event(reading, ContactChanged(1, True), NOW)
    apply_event(reading, ContactChanged(1, True), NOW + timedelta(minutes=1))
    assert reading.open_since == NOW
    apply_event(reading, ContactChanged(1, False), NOW + timedelta(minutes=2))
    assert reading.open_since is None and reading.last_activity == NOW + timedelta(minutes=2)


def test_last_will_is_not_a_sign_of_life() -> None:
    reading = Reading(online=True, last_seen=NOW)
    assert apply_event(reading, DeviceAvailability(1, False), NOW + timedelta(minutes=3))
    assert reading.online is False and reading.last_seen == NOW


def test_locks_and_relays_give_a_lock_state() -> None:
    reading = Reading()
    apply_event(reading, LockStateChanged(1, None, "not_fully_locked"), NOW)
    assert (reading.locked, reading.lock_state) == (None, "not_fully_locked")
    apply_event(reading, RelayStateChanged(1, True), NOW)
    assert (reading.locked, reading.lock_state) == (False, "unlocked")


def test_everything_quiet() -> None:
    readings = {i: _seen() for i in DEVICES}
    statuses = compute_statuses(LAYOUT, readings, [], {}, LIMITS)
    assert set(statuses) == {1, 2, 3, 4}
    assert all(not s.occupied and s.people == 0 and not s.alerts for s in statuses.values())
    assert statuses[1].devices_total == 5 and statuses[1].devices_online == 5
    assert statuses[3].devices_total == 2


def test_counter_people_aggregate_up_the_tree() -> None:
    readings = {i: _seen() for i in DEVICES}
    readings[21] = _seen(people=7)
    statuses = compute_statuses(LAYOUT, readings, [], {}, LIMITS)
    assert (statuses[3].people, statuses[3].people_source, statuses[3].occupied) == (7, "counter", True)
    assert statuses[2].people == 7 and statuses[2].occupied
    assert statuses[1].people == 7 and statuses[1].occupied
    assert not statuses[4].occupied


def test_check_ins_count_people_where_there_is_no_counter() -> None:
    booking = BookingNow(1, 4, 100, NOW - timedelta(hours=1), NOW + timedelta(hours=1), True)
    other = BookingNow(2, 4, 101, NOW - timedelta(hours=1), NOW + timedelta(hours=1), False)
    statuses = compute_statuses(LAYOUT, {}, [booking, other], {}, LIMITS)
    assert (statuses[4].people, statuses[4].people_source, statuses[4].checked_in) == (1, "check_ins", 1)
    assert statuses[4].booked_now and statuses[2].booked_now and statuses[1].booked_now
    assert statuses[1].checked_in == 1 and not statuses[3].booked_now


def test_an_offline_sensor_is_not_believed() -> None:
    readings = {20: Reading(online=False, last_seen=NOW, occupied=True)}
    statuses = compute_statuses(LAYOUT, readings, [], {}, LIMITS)
    assert not statuses[3].occupied
    assert [d.id for d in statuses[3].devices_offline] == [20]
    assert [a.code for a in statuses[3].alerts] == [AlertCode.DEVICE_OFFLINE]


def test_door_shows_its_lock_and_the_contact_that_watches_it() -> None:
    readings = {i: _seen() for i in DEVICES}
    readings[10] = _seen(locked=True, lock_state="locked")
    readings[11] = _seen(open=True, open_since=NOW - timedelta(minutes=10))
    contexts = {1: SpaceContext(is_open=True, door_open_alert_minutes=5)}
    statuses = compute_statuses(LAYOUT, readings, [], contexts, LIMITS)
    (door,) = statuses[1].doors
    assert (door.device_id, door.kind, door.locked, door.open) == (10, "door", True, True)
    assert [a.code for a in statuses[1].alerts] == [AlertCode.DOOR_OPEN_TOO_LONG]
    # A building with no presence sensor of its own: an open door means someone is around.
    assert statuses[1].occupied and not statuses[2].occupied


def test_presence_outside_hours_only_where_it_is_seen() -> None:
    readings = {i: _seen() for i in DEVICES}
    readings[20] = _seen(occupied=True)
    closed = {sid: SpaceContext(is_open=False) for sid in SPACES}
    statuses = compute_statuses(LAYOUT, readings, [], closed, LIMITS)
    assert [a.code for a in statuses[3].alerts] == [AlertCode.PRESENCE_OUTSIDE_HOURS]
    assert statuses[2].alerts == () and statuses[1].alerts == ()


def test_over_capacity_from_counter() -> None:
    readings = {i: _seen() for i in DEVICES}
    readings[21] = _seen(people=51)
    statuses = compute_statuses(LAYOUT, readings, [], {}, LIMITS)
    assert [a.code for a in statuses[3].alerts] == [AlertCode.OVER_CAPACITY]


def test_status_dict_has_the_contract_keys() -> None:
    statuses = compute_statuses(LAYOUT, {}, [], {}, LIMITS)
    body = statuses[3].to_dict("fr")
    assert {"space_id", "occupied", "people", "capacity", "booked_now", "devices_online", "alerts"} <= set(body)
    assert body["capacity"] == 50
