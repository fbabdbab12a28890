"""Who may do what in the programme, written once (the routes' ``Allow`` policies say who may
call; these say, among those, who may act on *this* session or appointment)."""

from __future__ import annotations

from tierslieu.errors import PermissionDenied
from tierslieu.models import Member, Role, WorkshopSession
from tierslieu.services.members import is_staff

__all__ = ["ORGANISERS", "can_register_others", "check_leads", "is_advisor_capable", "leads"]

# Plan workshops and sessions, register anyone, take the roll-call of their sessions.
ORGANISERS = frozenset({Role.admin.value, Role.staff.value, Role.animator.value})


def can_register_others(actor: Member) -> bool:
    """Staff, animators and the advisor register people who have no account, groups, others."""
    return bool(ORGANISERS & set(actor.roles))


def is_advisor_capable(member: Member) -> bool:
    """Who can hold the advisor's appointments: an animator (the conseillère numérique) or staff."""
    return bool(ORGANISERS & set(member.roles)) and member.active


def leads(actor: Member, ws: WorkshopSession) -> bool:
    """Staff, or the session's leader."""
    return is_staff(actor) or (ws.leader_id is not None and ws.leader_id == actor.id)


def check_leads(actor: Member, ws: WorkshopSession) -> None:
    if not leads(actor, ws):
        raise PermissionDenied("programme.not_leader", session=ws.id)
