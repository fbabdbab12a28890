"""Who may do what in the programme, written once (the routes' ``Allow`` policies say who may
call; these say, among those, who may act on *this* session or appointment)."""

from __future__ import annotations

from sqlmodel import Session

from tierslieu.errors import PermissionDenied
from tierslieu.models import Member, Role, WorkshopSession
from tierslieu.services.sites import is_staff_at, roles_at, site_of_resource

__all__ = ["ORGANISERS", "can_register_others", "check_leads", "is_advisor_capable", "leads", "session_site"]

# Plan workshops and sessions, register anyone, take the roll-call of their sessions.
ORGANISERS = frozenset({Role.admin.value, Role.staff.value, Role.animator.value})


def session_site(session: Session, ws: WorkshopSession) -> int | None:
    """A session is at its room's site."""
    return site_of_resource(session, ws.resource_id)


def can_register_others(actor: Member, site_id: int | None = None) -> bool:
    """Staff, animators and the advisor register people who have no account, groups, others
    (at ``site_id``: where their roles apply there)."""
    roles = roles_at(actor, site_id) if site_id is not None else frozenset(actor.roles)
    return bool(ORGANISERS & roles)


def is_advisor_capable(member: Member) -> bool:
    """Who can hold the advisor's appointments: an animator (the conseillère numérique) or staff."""
    return bool(ORGANISERS & set(member.roles)) and member.active


def leads(session: Session, actor: Member, ws: WorkshopSession) -> bool:
    """Staff of the session's site, or the session's leader."""
    return is_staff_at(actor, session_site(session, ws)) or (ws.leader_id is not None and ws.leader_id == actor.id)


def check_leads(session: Session, actor: Member, ws: WorkshopSession) -> None:
    if not leads(session, actor, ws):
        raise PermissionDenied("programme.not_leader", session=ws.id)
