"""Workshops (ateliers): what is offered, to whom, by whom."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from tierslieu.models import Member, Workshop

__all__ = ["create_workshop", "get_workshop", "list_workshops", "update_workshop"]


def create_workshop(
    session: Session,
    *,
    actor: Member,
    title: str,
    description: str = "",
    themes: Sequence[str],
    publics: Sequence[str],
    duration_minutes: int,
    capacity: int,
    leader_id: int | None = None,
) -> Workshop:
    """A new workshop; ``themes`` from the national vocabulary, ``publics`` from ours; the
    leader (an animator, the advisor or staff) defaults to nobody."""
    raise NotImplementedError


def update_workshop(session: Session, *, actor: Member, workshop_id: int, changes: dict[str, object]) -> Workshop:
    """Change the given fields (same checks as creation); sessions already planned keep theirs."""
    raise NotImplementedError


def get_workshop(session: Session, workshop_id: int) -> Workshop:
    raise NotImplementedError


def list_workshops(session: Session, *, include_inactive: bool = False) -> Sequence[Workshop]:
    raise NotImplementedError
