"""What the "Réserver" page shows: per resource, the day's slots from ``slot_grid`` and the
durations one may book. Rules stay in the booking engine; this only arranges its answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tierslieu.booking import store
from tierslieu.booking.availability import DEFAULT_SLOT_MINUTES, Slot, free_intervals, slot_grid
from tierslieu.booking.rules import EffectiveRules
from tierslieu.models import Member, Resource, Space
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import SiteScope

__all__ = ["ResourceGrid", "SlotCell", "bookable_spaces", "build_grids", "duration_choices", "parse_day"]

MAX_DURATION_CHOICES = 16
DEFAULT_MAX_MINUTES = 8 * 60


@dataclass(frozen=True)
class SlotCell:
    start: datetime
    end: datetime
    # free | mine | taken | past | closed — what the reader needs to know, in words and icon.
    state: str
    reason_code: str | None


@dataclass
class ResourceGrid:
    resource: Resource
    cells: list[SlotCell]
    durations: list[int]
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def free_count(self) -> int:
        return sum(1 for cell in self.cells if cell.state == "free")


def parse_day(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(text) if text else today
    except ValueError:
        return today


def bookable_spaces(session: Session, scope: SiteScope) -> list[Space]:
    """Spaces of the sites in scope that directly hold at least one active resource, in the building's order."""
    holders = {r.space_id for r in space_service.list_resources(session, scope=scope) if r.active}
    return [s for s in space_service.list_spaces(session, scope) if s.id in holders]


def duration_choices(rules: EffectiveRules) -> list[int]:
    """Booking lengths offered in the form, in minutes: the allowed range on the slot grid."""
    step = rules.slot_minutes or DEFAULT_SLOT_MINUTES
    shortest = max(rules.min_duration or step, step)
    longest = rules.max_duration or max(shortest, DEFAULT_MAX_MINUTES)
    choices = list(range(shortest, longest + 1, step))[:MAX_DURATION_CHOICES]
    return choices or [shortest]


_STATE_OF_REASON = {"overlap": "taken", "in_the_past": "past", "min_notice": "past"}


def _cells(
    slots: Sequence[Slot],
    mine: Sequence[tuple[datetime, datetime]],
    free: Sequence[tuple[datetime, datetime]],
    shortest: timedelta,
) -> list[SlotCell]:
    cells = []
    for slot in slots:
        start, end, reason = slot.start, slot.end, slot.reason_code
        if any(m_start < end and start < m_end for m_start, m_end in mine):
            state = "mine"
        elif reason is None and any(f_start <= start and start + shortest <= f_end for f_start, f_end in free):
            state = "free"
        elif reason is None:
            # Free itself, but the shortest booking from here would run into a closure or a booking.
            state, reason = "unavailable", "too_short"
        else:
            state = _STATE_OF_REASON.get(reason, "closed")
        cells.append(SlotCell(start, end, state, reason))
    return cells


def build_grids(
    session: Session,
    member: Member,
    resources: Sequence[Resource],
    day: date,
    tz: ZoneInfo,
    now: datetime,
) -> list[ResourceGrid]:
    day_start = datetime.combine(day, time(), tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    grids = []
    for resource in resources:
        assert resource.id is not None
        rules = space_service.resource_rules(session, resource)
        taken = store.clashing_bookings(session, resource.id, day_start, day_end, rules.buffer_minutes)
        busy = [(b.start, b.end) for b in taken]
        mine = [(b.start, b.end) for b in taken if b.member_id == member.id]
        free = free_intervals(day_start, day_end, rules=rules, busy=busy, tz=tz)
        durations = duration_choices(rules)
        cells = _cells(slot_grid(day, rules, busy, tz, now), mine, free, timedelta(minutes=durations[0]))
        grids.append(ResourceGrid(resource, cells, durations))
    return grids
