"""Rules model, merging, PATCH semantics and booking verdicts (tierslieu.booking.rules)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tierslieu.booking.rules import (
    BookingRequest,
    BookingRules,
    EffectiveRules,
    ExistingBooking,
    MemberFacts,
    Verdict,
    buffered_interval,
    evaluate_booking,
    merge_rules,
    overlaps,
    patch_rules,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 7, 1, 8, 0, tzinfo=PARIS)  # a Wednesday
MEMBER = MemberFacts(id=7, roles=frozenset({"member"}), trainings={"impression-3d": None})
WEEKDAYS_9_TO_18 = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS, fold=fold)


def rules(**values: Any) -> EffectiveRules:
    return merge_rules(BookingRules.model_validate(values))


def booking(
    start: datetime,
    end: datetime,
    status: str = "confirmed",
    *,
    id: int = 1,
    member_id: int = 99,
    resource: str = "salle",
) -> ExistingBooking:
    return ExistingBooking(id=id, resource_id=resource, member_id=member_id, start=start, end=end, status=status)


def judge(
    start: datetime,
    end: datetime,
    effective: EffectiveRules | None = None,
    *,
    member: MemberFacts = MEMBER,
    existing: Sequence[ExistingBooking] = (),
    member_bookings: Sequence[ExistingBooking] = (),
    now: datetime = NOW,
    override: bool = False,
    booking_id: int | None = None,
) -> Verdict:
    return evaluate_booking(
        BookingRequest("salle", start, end, booking_id=booking_id),
        rules=effective or merge_rules(),
        member=member,
        existing=existing,
        member_bookings=member_bookings,
        now=now,
        tz=PARIS,
        override=override,
    )


def codes(verdict: Verdict) -> list[str]:
    return [violation.code for violation in verdict.violations]


# --------------------------------------------------------------------------- rules model


def test_merge_without_levels_gives_documented_defaults() -> None:
    effective = merge_rules()
    assert effective.opening_hours == {day: ["00:00-24:00"] for day in effective.opening_hours}
    assert len(effective.opening_hours) == 7
    assert effective.public_holidays_closed is True
    assert effective.access_lead_minutes == 10
    assert (effective.buffer_minutes, effective.min_notice_minutes, effective.overrun_minutes) == (0, 0, 0)
    assert set(effective.allowed_roles) == {"admin", "staff", "animator", "municipal", "member"}
    assert effective.max_duration is None and effective.checkin_minutes is None
    assert effective.walk_in is False and effective.unlock_during_bookings is False


def test_merge_later_levels_override_key_by_key_and_closures_add_up() -> None:
    building = BookingRules(
        opening_hours={"mon": ["08:00-20:00"]},
        max_duration=240,
        closures=[date(2026, 12, 25)],
        checkin_minutes=15,
    )
    space = BookingRules.model_validate({"max_duration": 120, "closures": [{"from": "2026-08-01", "to": "2026-08-15"}]})
    resource = BookingRules(required_training=["impression-3d"], checkin_minutes=0, closures=[date(2026, 12, 25)])
    effective = merge_rules(building, space, resource)
    assert effective.opening_hours == {"mon": ["08:00-20:00"]}
    assert effective.max_duration == 120
    assert effective.required_training == ["impression-3d"]
    assert effective.checkin_minutes is None  # 0 switches check-in off explicitly
    assert len(effective.closures) == 2
    assert effective.schedule.day_closure(date(2026, 12, 25)) is not None
    assert effective.schedule.day_closure(date(2026, 8, 10)) is not None


def test_rules_dump_to_json_and_back() -> None:
    original = BookingRules.model_validate(
        {
            "opening_hours": {"mon": ["09:00-12:00", "14:00-18:00"]},
            "closures": ["2026-12-24", {"from": "2026-08-01", "to": "2026-08-15"}],
            "allowed_roles": ["member", "staff"],
            "max_hours_per_week": 7.5,
        }
    )
    stored = original.to_json()
    assert json.loads(json.dumps(stored)) == stored
    assert stored["closures"][1] == {"from": "2026-08-01", "to": "2026-08-15"}
    assert "min_duration" not in stored
    assert BookingRules.model_validate(stored) == original
    assert json.dumps(merge_rules(original).model_dump(mode="json"))


def test_patch_sets_replaces_and_removes_keys() -> None:
    current = {
        "min_duration": 30,
        "slot_minutes": 30,
        "opening_hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"]},
    }
    patched = patch_rules(
        current, {"min_duration": None, "max_duration": 120, "opening_hours": {"sat": ["10:00-12:00"]}}
    )
    assert patched == {"slot_minutes": 30, "max_duration": 120, "opening_hours": {"sat": ["10:00-12:00"]}}
    assert current["min_duration"] == 30  # the input is not modified
    assert patch_rules(patched, {"slot_minutes": None, "max_duration": None, "opening_hours": None}) == {}


@pytest.mark.parametrize(
    "patch",
    [
        {"slot_minutes": "souvent"},
        {"opening_hours": {"mon": ["18:00-09:00"]}},
        {"nope": 1},
        {"min_duration": 300},
    ],
)
def test_patch_refuses_invalid_results(patch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        patch_rules({"max_duration": 120}, patch)


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("a", "b", "buffer", "clash"),
    [
        ((10, 11), (11, 12), 0, False),  # adjacent
        ((10, 11), (10.5, 12), 0, True),
        ((10, 12), (10.5, 11), 0, True),  # contained
        ((10, 11), (11.25, 12), 15, False),  # exactly the buffer apart
        ((10, 11), (11.2, 12), 15, True),
        ((10, 11), (8, 9.75), 15, False),
        ((10, 11), (8, 9.8), 15, True),
    ],
)
def test_overlaps_half_open_with_buffer(
    a: tuple[float, float], b: tuple[float, float], buffer: int, clash: bool
) -> None:
    def moment(hour: float) -> datetime:
        return at(2026, 7, 20) + timedelta(hours=hour)

    assert overlaps(moment(a[0]), moment(a[1]), moment(b[0]), moment(b[1]), buffer) is clash
    assert overlaps(moment(b[0]), moment(b[1]), moment(a[0]), moment(a[1]), buffer) is clash


def test_buffered_interval_and_dst_correct_overlap() -> None:
    assert buffered_interval(at(2026, 7, 20, 10), at(2026, 7, 20, 11), 15) == (
        at(2026, 7, 20, 9, 45),
        at(2026, 7, 20, 11, 15),
    )
    # 02:00-02:30 happens twice on 2026-10-25; the two do not overlap. (Arithmetic in UTC:
    # adding to a datetime in Europe/Paris works on wall time and drops ``fold``.)
    first = at(2026, 10, 25, 2, 0).astimezone(UTC)
    second = at(2026, 10, 25, 2, 0, fold=1).astimezone(UTC)
    half_hour = timedelta(minutes=30)
    assert second - first == timedelta(hours=1)
    assert not overlaps(first, first + half_hour, second, second + half_hour)
    assert overlaps(first, first + half_hour, second - half_hour, second, 1)


# --------------------------------------------------------------------------- verdicts: one row per code

SMALL_PRINTER = rules(
    opening_hours=WEEKDAYS_9_TO_18,
    min_duration=30,
    max_duration=240,
    slot_minutes=30,
    advance_days=30,
    min_notice_minutes=60,
    closures=[date(2026, 7, 24)],
    allowed_roles=["member", "staff"],
    required_training=["impression-3d"],
)

REJECTIONS = [
    ("invalid_interval", at(2026, 7, 20, 11), at(2026, 7, 20, 10), {}),
    ("invalid_interval", at(2026, 7, 20, 11), at(2026, 7, 20, 11), {}),
    ("invalid_interval", datetime(2026, 7, 20, 10), datetime(2026, 7, 20, 11), {}),
    ("in_the_past", at(2026, 6, 30, 10), at(2026, 6, 30, 11), {}),
    ("min_notice", at(2026, 7, 1, 8, 30), at(2026, 7, 1, 9, 30), {}),
    ("too_far_ahead", at(2026, 8, 3, 10), at(2026, 8, 3, 11), {}),
    ("min_duration", at(2026, 7, 20, 10), at(2026, 7, 20, 10, 15), {"slot_minutes": 15}),
    ("max_duration", at(2026, 7, 20, 9), at(2026, 7, 20, 13, 30), {}),
    ("slot_alignment", at(2026, 7, 20, 10, 10), at(2026, 7, 20, 11, 10), {}),
    ("slot_alignment", at(2026, 7, 20, 10), at(2026, 7, 20, 11, 0, 30), {}),
    ("outside_opening_hours", at(2026, 7, 20, 17, 30), at(2026, 7, 20, 18, 30), {}),
    ("outside_opening_hours", at(2026, 7, 18, 10), at(2026, 7, 18, 11), {}),  # Saturday
    ("closed", at(2026, 7, 24, 10), at(2026, 7, 24, 11), {}),
    ("holiday", at(2026, 7, 14, 10), at(2026, 7, 14, 11), {}),
    (
        "role_not_allowed",
        at(2026, 7, 20, 10),
        at(2026, 7, 20, 11),
        {"member": MemberFacts(3, frozenset({"municipal"}))},
    ),
    (
        "training_required",
        at(2026, 7, 20, 10),
        at(2026, 7, 20, 11),
        {"member": MemberFacts(3, frozenset({"member"}))},
    ),
]


@pytest.mark.parametrize(("code", "start", "end", "extra"), REJECTIONS)
def test_each_rule_has_its_code(code: str, start: datetime, end: datetime, extra: dict[str, Any]) -> None:
    effective = SMALL_PRINTER
    if "slot_minutes" in extra:
        effective = effective.model_copy(update={"slot_minutes": extra.pop("slot_minutes")})
    verdict = judge(start, end, effective, **extra)
    assert not verdict.ok and verdict.status is None
    assert verdict.code == code == codes(verdict)[0]
    assert verdict.message_fr and verdict.message_en and verdict.message_fr != verdict.message_en
    assert (verdict.message_fr, verdict.message_en) == (
        verdict.violations[0].message_fr,
        verdict.violations[0].message_en,
    )


def test_a_good_request_is_confirmed_with_a_french_message() -> None:
    verdict = judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), SMALL_PRINTER)
    assert (verdict.ok, verdict.status, verdict.code, verdict.violations) == (True, "confirmed", None, [])
    assert verdict.message_fr == "Réservation confirmée le lundi 20 juillet de 10:00 à 11:00."
    assert verdict.message("en") == "Booking confirmed on Monday July 20 from 10:00 to 11:00."


def test_every_broken_rule_is_listed_with_a_stable_primary() -> None:
    stranger = MemberFacts(3, frozenset({"municipal"}))
    verdict = judge(at(2026, 7, 14, 10, 10), at(2026, 7, 14, 10, 20), SMALL_PRINTER, member=stranger)
    assert codes(verdict) == [
        "role_not_allowed",
        "training_required",
        "min_duration",
        "slot_alignment",
        "holiday",
    ]


def test_holiday_message_names_the_holiday_in_french() -> None:
    verdict = judge(at(2026, 7, 14, 10), at(2026, 7, 14, 11))
    assert verdict.message_fr == "Le 14 juillet (Fête nationale) est un jour férié : l'espace est fermé."
    assert verdict.message_en == "July 14 (National Day) is a public holiday: the space is closed."


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 5, 1), "Le 1er mai (Fête du Travail)"),
        (date(2026, 4, 6), "Le 6 avril (Lundi de Pâques)"),
        (date(2026, 5, 14), "Le 14 mai (Ascension)"),
    ],
)
def test_public_holidays_close_the_space(day: date, name: str) -> None:
    start = datetime.combine(day, datetime.min.time(), tzinfo=PARIS) + timedelta(hours=10)
    verdict = judge(start, start + timedelta(hours=1), now=at(2026, 1, 5))
    assert verdict.code == "holiday"
    assert verdict.message_fr.startswith(name)
    opened = rules(public_holidays_closed=False)
    assert judge(start, start + timedelta(hours=1), opened, now=at(2026, 1, 5)).ok


def test_outside_opening_hours_message_lists_the_day_hours() -> None:
    effective = rules(opening_hours={"mon": ["09:00-12:00", "14:00-18:00"]})
    verdict = judge(at(2026, 7, 20, 11), at(2026, 7, 20, 15), effective)
    assert verdict.message_fr == (
        "Ce créneau est en dehors des heures d'ouverture. "
        "Le lundi, l'espace est ouvert de 09:00 à 12:00 et de 14:00 à 18:00."
    )
    sunday = judge(at(2026, 7, 19, 10), at(2026, 7, 19, 11), effective)
    assert sunday.message_fr.endswith("l'espace est fermé le dimanche.")


def test_booking_across_midnight_needs_both_days_open() -> None:
    late = rules(opening_hours={"fri": ["18:00-24:00"], "sat": ["00:00-24:00"]})
    assert judge(at(2026, 7, 17, 22), at(2026, 7, 18, 2), late).ok
    assert judge(at(2026, 7, 18, 22), at(2026, 7, 19, 2), late).code == "outside_opening_hours"
    assert judge(at(2026, 7, 17, 23), at(2026, 7, 18, 0), late).ok  # ends exactly at midnight


# --------------------------------------------------------------------------- DST (Europe/Paris)

DST_NIGHTS = [date(2026, 3, 29), date(2026, 10, 25)]


@pytest.mark.parametrize("day", DST_NIGHTS)
def test_dst_night_booking_is_outside_9_to_18(day: date) -> None:
    start = datetime(day.year, day.month, day.day, 1, 30, tzinfo=PARIS)
    end = datetime(day.year, day.month, day.day, 3, 30, tzinfo=PARIS)
    verdict = judge(start, end, rules(opening_hours={"sun": ["09:00-18:00"]}), now=at(2026, 3, 1))
    assert verdict.code == "outside_opening_hours"


@pytest.mark.parametrize(("day", "real_minutes"), [(date(2026, 3, 29), 60), (date(2026, 10, 25), 180)])
def test_dst_night_duration_is_real_time(day: date, real_minutes: int) -> None:
    start = datetime(day.year, day.month, day.day, 1, 30, tzinfo=PARIS)
    end = datetime(day.year, day.month, day.day, 3, 30, tzinfo=PARIS)
    always_open = rules(slot_minutes=30)
    assert judge(start, end, always_open, now=at(2026, 3, 1)).ok
    just_right = rules(min_duration=real_minutes, max_duration=real_minutes)
    assert judge(start, end, just_right, now=at(2026, 3, 1)).ok
    assert judge(start, end, rules(max_duration=real_minutes - 1), now=at(2026, 3, 1)).code == "max_duration"
    assert judge(start, end, rules(min_duration=real_minutes + 1), now=at(2026, 3, 1)).code == "min_duration"


@pytest.mark.parametrize("day", DST_NIGHTS)
def test_dst_day_9_to_18_fits_and_shows_local_times(day: date) -> None:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=PARIS)
    end = datetime(day.year, day.month, day.day, 18, tzinfo=PARIS)
    effective = rules(opening_hours={"sun": ["09:00-18:00"]}, max_duration=9 * 60, slot_minutes=60)
    verdict = judge(start.astimezone(UTC), end.astimezone(UTC), effective, now=at(2026, 3, 1))
    assert verdict.ok
    assert "de 09:00 à 18:00" in verdict.message_fr


def test_whole_day_booking_on_spring_forward_lasts_23_hours() -> None:
    start, end = at(2026, 3, 29), at(2026, 3, 30)
    assert judge(start, end, rules(max_duration=23 * 60), now=at(2026, 3, 1)).ok
    assert judge(start, end, rules(max_duration=23 * 60 - 1), now=at(2026, 3, 1)).code == "max_duration"


def test_fall_back_repeated_hour_overlap_is_real_time() -> None:
    first = at(2026, 10, 25, 2, 0).astimezone(UTC)
    second = at(2026, 10, 25, 2, 0, fold=1).astimezone(UTC)  # the same wall time, one hour later
    taken = [booking(first, first + timedelta(minutes=30))]
    verdict = judge(second, second + timedelta(minutes=30), existing=taken, now=at(2026, 10, 1))
    assert verdict.ok


# --------------------------------------------------------------------------- overlap and buffers


def test_adjacent_bookings_pass_without_buffer() -> None:
    taken = [booking(at(2026, 7, 20, 10), at(2026, 7, 20, 11))]
    assert judge(at(2026, 7, 20, 11), at(2026, 7, 20, 12), existing=taken).ok
    assert judge(at(2026, 7, 20, 9), at(2026, 7, 20, 10), existing=taken).ok


def test_overlap_message_shows_local_times() -> None:
    taken = [booking(at(2026, 7, 20, 10).astimezone(UTC), at(2026, 7, 20, 11).astimezone(UTC))]
    verdict = judge(at(2026, 7, 20, 10, 30), at(2026, 7, 20, 11, 30), existing=taken)
    assert verdict.code == "overlap"
    assert verdict.message_fr == "Cet espace est réservé de 10:00 à 11:00. Choisissez un autre créneau."


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (at(2026, 7, 20, 11), at(2026, 7, 20, 12), False),
        (at(2026, 7, 20, 11, 15), at(2026, 7, 20, 12), True),
        (at(2026, 7, 20, 9), at(2026, 7, 20, 9, 45), True),
        (at(2026, 7, 20, 9), at(2026, 7, 20, 9, 50), False),
    ],
)
def test_buffer_keeps_setup_time_around_each_booking(start: datetime, end: datetime, ok: bool) -> None:
    taken = [booking(at(2026, 7, 20, 10), at(2026, 7, 20, 11))]
    verdict = judge(start, end, rules(buffer_minutes=15), existing=taken)
    assert verdict.ok is ok
    if not ok:
        assert "avec 15 min de préparation avant et après" in verdict.message_fr


@pytest.mark.parametrize(("status", "blocks"), [
    ("confirmed", True), ("pending", True), ("checked_in", True),
    ("cancelled", False), ("no_show", False), ("completed", False),
])  # fmt: skip
def test_only_active_bookings_hold_a_slot(status: str, blocks: bool) -> None:
    taken = [booking(at(2026, 7, 20, 10), at(2026, 7, 20, 11), status)]
    assert judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), existing=taken).ok is not blocks


def test_other_resources_and_the_moved_booking_itself_do_not_clash() -> None:
    elsewhere = [booking(at(2026, 7, 20, 10), at(2026, 7, 20, 11), resource="atelier")]
    assert judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), existing=elsewhere).ok
    itself = [booking(at(2026, 7, 20, 10), at(2026, 7, 20, 11), id=42)]
    assert judge(at(2026, 7, 20, 10, 30), at(2026, 7, 20, 11, 30), existing=itself, booking_id=42).ok


def test_overlap_on_another_day_names_the_day() -> None:
    taken = [booking(at(2026, 7, 20, 22), at(2026, 7, 21, 1))]
    verdict = judge(at(2026, 7, 21, 0), at(2026, 7, 21, 2), existing=taken)
    assert verdict.message_fr.startswith("Cet espace est réservé du 20 juillet 22:00 au 21 juillet 01:00.")


# --------------------------------------------------------------------------- roles, trainings, approval


@pytest.mark.parametrize(
    ("expiry", "ok"),
    [(None, True), (date(2026, 7, 20), True), (date(2026, 7, 19), False), (date(2027, 1, 1), True)],
)
def test_training_must_be_valid_on_the_booking_day(expiry: date | None, ok: bool) -> None:
    member = MemberFacts(5, frozenset({"member"}), {"impression-3d": expiry})
    verdict = judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), rules(required_training=["impression-3d"]), member=member)
    assert verdict.ok is ok
    if not ok:
        assert verdict.code == "training_required"
        assert "19 juillet 2026" in verdict.message_fr


def test_every_required_training_is_checked() -> None:
    effective = rules(required_training=["impression-3d", "laser"])
    verdict = judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), effective)
    assert codes(verdict) == ["training_required"] and "laser" in verdict.message_fr


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ({"member"}, "pending"),
        ({"member", "animator"}, "confirmed"),
        ({"staff"}, "confirmed"),
    ],
)
def test_approval_is_needed_only_when_every_role_requires_it(roles: set[str], status: str) -> None:
    effective = rules(requires_approval=["member", "municipal"])
    verdict = judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), effective, member=MemberFacts(1, frozenset(roles)))
    assert (verdict.ok, verdict.status) == (True, status)
    if status == "pending":
        assert "validée par l'équipe" in verdict.message_fr


def test_a_member_needs_one_allowed_role() -> None:
    effective = rules(allowed_roles=["animator", "staff"])
    mixed = MemberFacts(1, frozenset({"member", "animator"}))
    assert judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), effective, member=mixed).ok
    verdict = judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), effective)
    assert verdict.code == "role_not_allowed" and "animateurs" in verdict.message_fr


# --------------------------------------------------------------------------- quotas


def mine(start: datetime, end: datetime, status: str = "confirmed", id: int = 1) -> ExistingBooking:
    return ExistingBooking(id=id, resource_id="salle", member_id=MEMBER.id, start=start, end=end, status=status)


def test_weekly_quota_counts_the_iso_week_in_local_time() -> None:
    effective = rules(max_hours_per_week=4)
    same_week = [mine(at(2026, 7, 20, 9), at(2026, 7, 20, 12), id=1)]  # Monday, 3 h
    assert judge(at(2026, 7, 26, 10), at(2026, 7, 26, 11), effective, member_bookings=same_week).ok
    verdict = judge(at(2026, 7, 26, 10), at(2026, 7, 26, 12), effective, member_bookings=same_week)
    assert verdict.code == "quota_exceeded"
    assert verdict.message_fr == (
        "Vous avez déjà réservé 3 h la semaine du 20 juillet. Avec cette réservation (2 h), "
        "vous dépasseriez la limite de 4 h par semaine."
    )
    # Sunday 23:30 local is already Monday in no timezone but the site's: the next week is free.
    previous_week = [mine(at(2026, 7, 19, 20), at(2026, 7, 19, 23, 59), id=2)]
    assert judge(at(2026, 7, 20, 9), at(2026, 7, 20, 13), effective, member_bookings=previous_week).ok


def test_quota_splits_a_booking_across_two_weeks() -> None:
    effective = rules(max_hours_per_week=2)
    sunday_evening = [mine(at(2026, 7, 26, 20), at(2026, 7, 26, 22), id=1)]
    # Sunday 23:00 → Monday 01:00: one hour lands in the full week, so it is refused.
    verdict = judge(at(2026, 7, 26, 23), at(2026, 7, 27, 1), effective, member_bookings=sunday_evening)
    assert verdict.code == "quota_exceeded" and "semaine du 20 juillet" in verdict.message_fr
    assert judge(at(2026, 7, 27, 0), at(2026, 7, 27, 2), effective, member_bookings=sunday_evening).ok


@pytest.mark.parametrize(("status", "counts"), [("completed", True), ("cancelled", False), ("no_show", False)])
def test_quota_counts_used_hours_not_cancelled_ones(status: str, counts: bool) -> None:
    effective = rules(max_hours_per_week=2)
    history = [mine(at(2026, 7, 20, 9), at(2026, 7, 20, 11), status)]
    verdict = judge(at(2026, 7, 22, 9), at(2026, 7, 22, 10), effective, member_bookings=history, now=at(2026, 7, 21))
    assert verdict.ok is not counts


def test_max_active_bookings_counts_upcoming_active_ones() -> None:
    effective = rules(max_active_bookings=2)
    upcoming = [
        mine(at(2026, 7, 20, 9), at(2026, 7, 20, 10), id=1),
        mine(at(2026, 7, 21, 9), at(2026, 7, 21, 10), "pending", id=2),
        mine(at(2026, 6, 20, 9), at(2026, 6, 20, 10), id=3),  # past
        mine(at(2026, 7, 22, 9), at(2026, 7, 22, 10), "cancelled", id=4),
    ]
    verdict = judge(at(2026, 7, 23, 9), at(2026, 7, 23, 10), effective, member_bookings=upcoming)
    assert verdict.code == "too_many_bookings" and "2 réservation(s) à venir" in verdict.message_fr
    # Moving one of the two upcoming bookings is still allowed.
    assert judge(at(2026, 7, 23, 9), at(2026, 7, 23, 10), effective, member_bookings=upcoming, booking_id=2).ok


# --------------------------------------------------------------------------- override


def test_override_lifts_rules_and_records_them_but_never_overlap() -> None:
    stranger = MemberFacts(3, frozenset({"municipal"}))
    start, end = at(2026, 7, 14, 7, 10), at(2026, 7, 14, 7, 20)
    verdict = judge(start, end, SMALL_PRINTER, member=stranger, override=True)
    assert (verdict.ok, verdict.status) == (True, "confirmed")
    assert verdict.overridden == [
        "role_not_allowed",
        "training_required",
        "min_duration",
        "slot_alignment",
        "holiday",
    ]
    taken = [booking(at(2026, 7, 14, 7), at(2026, 7, 14, 8))]
    clash = judge(start, end, SMALL_PRINTER, member=stranger, override=True, existing=taken)
    assert not clash.ok and codes(clash) == ["overlap"] and "holiday" in clash.overridden


def test_override_confirms_without_approval_and_keeps_invalid_interval() -> None:
    effective = rules(requires_approval=["member"])
    assert judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), effective, override=True).status == "confirmed"
    assert judge(at(2026, 7, 20, 11), at(2026, 7, 20, 10), override=True).code == "invalid_interval"


def test_override_of_a_valid_request_records_nothing() -> None:
    assert judge(at(2026, 7, 20, 10), at(2026, 7, 20, 11), override=True).overridden == []


# --------------------------------------------------------------------------- properties

_BASE = datetime(2026, 7, 20, 6, tzinfo=UTC)
_quarter_hours = st.integers(min_value=0, max_value=4 * 24).map(lambda q: _BASE + timedelta(minutes=15 * q))
_intervals = st.tuples(_quarter_hours, st.integers(min_value=1, max_value=16)).map(
    lambda pair: (pair[0], pair[0] + timedelta(minutes=15 * pair[1]))
)
_statuses = st.sampled_from(["confirmed", "pending", "checked_in", "cancelled", "no_show", "completed"])


@given(_intervals, _intervals, st.integers(min_value=0, max_value=60))
def test_overlaps_is_symmetric(a: tuple[datetime, datetime], b: tuple[datetime, datetime], buffer: int) -> None:
    assert overlaps(*a, *b, buffer) == overlaps(*b, *a, buffer)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_intervals, _statuses), max_size=6),
    _intervals,
    st.sampled_from([0, 10, 30]),
    st.booleans(),
)
def test_verdict_never_accepts_an_overlap_with_an_active_booking(
    taken: list[tuple[tuple[datetime, datetime], str]],
    asked: tuple[datetime, datetime],
    buffer: int,
    override: bool,
) -> None:
    existing = [booking(start, end, status, id=n) for n, ((start, end), status) in enumerate(taken)]
    verdict = judge(*asked, rules(buffer_minutes=buffer), existing=existing, now=at(2026, 7, 1), override=override)
    clashes = any(
        b.status in {"confirmed", "pending", "checked_in"} and overlaps(*asked, b.start, b.end, buffer)
        for b in existing
    )
    assert verdict.ok is not clashes
    assert (verdict.code == "overlap") is clashes
