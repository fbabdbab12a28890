"""The ``programme:`` section of a site description: the standing schedule of workshops.

programme:
  weeks_ahead: 6                      # sessions are created this far ahead each time the file loads
  workshops:
    - title, description?, themes: [...], publics: [...], duration_minutes, capacity,
      leader?: <an account's e-mail>    # left without a leader when no such account exists
      room: <resource name>             # the room every session books
      printers?: [<printer resource names>]
      schedule: [{weekday: tue, time: "14:00", repeat: weekly | once}]
      groups?: [{name, organisation?, head_count}]   # registered on each session created

A file lists what recurs, not dated rows that would go stale: loading it creates the sessions of
the coming weeks that do not exist yet (through the booking engine, like any session).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Literal

from pydantic import Field, field_validator

from tierslieu.models.enums import ResourceKind
from tierslieu.models.programme import Public, Theme
from tierslieu.site.base import Strict

__all__ = ["WEEKDAYS", "GroupSpec", "ProgrammeSpec", "ScheduleSpec", "WorkshopSpec", "programme_problems"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ScheduleSpec(Strict):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    time: str = Field(description="local start time, HH:MM")
    repeat: Literal["weekly", "once"] = "weekly"

    @field_validator("time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"time must be HH:MM, not {value!r}")
        return value

    @property
    def minute_of_day(self) -> int:
        hours, minutes = self.time.split(":")
        return int(hours) * 60 + int(minutes)


class GroupSpec(Strict):
    """A class or a leisure-centre group: the teacher's or the group's name, never the children's."""

    name: str = Field(min_length=1, max_length=120)
    organisation: str = Field(default="", max_length=160)
    head_count: int = Field(ge=1, le=500)


class WorkshopSpec(Strict):
    title: str = Field(min_length=1, max_length=160)
    description: str = ""
    themes: list[Theme] = Field(min_length=1, description="the national standard's services vocabulary")
    publics: list[Public] = Field(min_length=1)
    duration_minutes: int = Field(ge=15, le=24 * 60)
    capacity: int = Field(ge=1, le=1000)
    leader: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    room: str = Field(min_length=1)
    printers: list[str] = Field(default_factory=list)
    schedule: list[ScheduleSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)


class ProgrammeSpec(Strict):
    weeks_ahead: int = Field(default=6, ge=1, le=26)
    workshops: list[WorkshopSpec] = Field(default_factory=list)


def programme_problems(
    programme: ProgrammeSpec, resource_kinds: Mapping[str, ResourceKind]
) -> Iterator[tuple[str, str]]:
    """What the field checks cannot see: names that must point at the site's rooms and printers,
    groups larger than the workshop, duplicate titles."""
    titles: dict[str, int] = {}
    for index, workshop in enumerate(programme.workshops):
        path = f"programme.workshops[{index}]"
        if workshop.title in titles:
            first = titles[workshop.title]
            yield f"{path}.title", f"duplicate workshop title {workshop.title!r} (first at workshops[{first}])"
        titles.setdefault(workshop.title, index)
        if resource_kinds.get(workshop.room) != ResourceKind.room:
            yield f"{path}.room", f"no room named {workshop.room!r}"
        for p_index, printer in enumerate(workshop.printers):
            if resource_kinds.get(printer) != ResourceKind.printer:
                yield f"{path}.printers[{p_index}]", f"no printer named {printer!r}"
        for g_index, group in enumerate(workshop.groups):
            if group.head_count > workshop.capacity:
                yield (
                    f"{path}.groups[{g_index}].head_count",
                    f"{group.head_count} people do not fit the workshop's {workshop.capacity} seats",
                )
        if workshop.groups and not workshop.schedule:
            yield f"{path}.groups", "groups are registered on the sessions of the schedule: give one"
