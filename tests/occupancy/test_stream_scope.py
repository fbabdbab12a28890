"""The occupancy stream shows a viewer scoped to some sites only their spaces' changes."""

from __future__ import annotations

from datetime import UTC, datetime

from tierslieu.events import Event
from tierslieu.occupancy.alerts import Alert, AlertCode
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.stream import StreamOptions, render_event


def _status(space_id: int) -> SpaceStatus:
    return SpaceStatus(
        space_id=space_id, name=f"Espace {space_id}", parent_id=None, capacity=None, occupied=True, people=1,
        people_source="check_ins", booked_now=True, checked_in=1, devices_online=0, devices_total=0,
    )  # fmt: skip


def test_changes_of_other_sites_spaces_are_left_out() -> None:
    mine = StreamOptions(space_ids=frozenset({1, 2}))
    everyone = StreamOptions()
    here, there = (
        Event("occupancy", {"type": "space", "status": _status(2)}),
        Event("occupancy", {"type": "space", "status": _status(7)}),
    )
    assert render_event(here, "fr", 1, mine.shows) is not None
    assert render_event(there, "fr", 2, mine.shows) is None
    assert render_event(there, "fr", 2, everyone.shows) is not None
    alert = Alert(next(iter(AlertCode)), 7, datetime(2026, 3, 3, 9, tzinfo=UTC))
    raised = Event("occupancy", {"type": "alert", "state": "raised", "alert": alert})
    assert render_event(raised, "fr", 3, mine.shows) is None
    assert render_event(raised, "fr", 3, everyone.shows) is not None
