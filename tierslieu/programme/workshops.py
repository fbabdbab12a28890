"""Workshops (ateliers): what is offered, on which themes, to whom, led by whom."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from tierslieu.errors import InvalidInput, NotFound
from tierslieu.models import Member, Workshop, WorkshopSession
from tierslieu.models.programme import Public, Theme
from tierslieu.programme.roles import is_advisor_capable
from tierslieu.services import members as member_service
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = ["check_publics", "check_themes", "create_workshop", "get_workshop", "list_workshops", "update_workshop"]

_EDITABLE = frozenset(
    {"title", "description", "themes", "publics", "duration_minutes", "capacity", "leader_id", "active"}
)


def check_themes(themes: Sequence[str], *, required: bool = True) -> list[str]:
    """Themes in the national vocabulary, each once, in the order given."""
    known = {t.value for t in Theme}
    unknown = [t for t in themes if t not in known]
    if unknown:
        raise InvalidInput("programme.unknown_theme", theme=unknown[0], known=" | ".join(sorted(known)))
    if required and not themes:
        raise InvalidInput("programme.theme_required")
    return list(dict.fromkeys(themes))


def check_publics(publics: Sequence[str]) -> list[str]:
    known = {p.value for p in Public}
    unknown = [p for p in publics if p not in known]
    if unknown:
        raise InvalidInput("programme.unknown_public", public=unknown[0], known=", ".join(sorted(known)))
    return list(dict.fromkeys(publics))


def _check_leader(session: Session, leader_id: int | None) -> None:
    if leader_id is None:
        return
    leader: Member = member_service.get_member(session, leader_id)
    if not is_advisor_capable(leader):
        raise InvalidInput("programme.leader_not_organiser", member=leader_id)


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("validation_error", where=where, msg="a list is expected")
    return [str(item) for item in value]


def _check_title(title: str) -> str:
    if not title.strip():
        raise InvalidInput("programme.title_required")
    return title.strip()


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
    leader (an animator, the advisor or staff) is optional."""
    _check_leader(session, leader_id)
    workshop = Workshop(
        title=_check_title(title),
        description=description.strip(),
        themes=check_themes(themes),
        publics=check_publics(publics),
        duration_minutes=duration_minutes,
        capacity=capacity,
        leader_id=leader_id,
        created_by=actor.id,
    )
    session.add(workshop)
    session.flush()
    return workshop


def update_workshop(session: Session, *, actor: Member, workshop_id: int, changes: Mapping[str, object]) -> Workshop:
    """Change the given fields (same checks as creation); sessions already planned keep their
    room, times and capacity."""
    workshop = get_workshop(session, workshop_id)
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise InvalidInput("programme.unknown_field", field=sorted(unknown)[0])
    values = dict(changes)
    if "title" in values:
        values["title"] = _check_title(str(values["title"]))
    if "themes" in values:
        values["themes"] = check_themes(_strings(values["themes"], "themes"))
    if "publics" in values:
        values["publics"] = check_publics(_strings(values["publics"], "publics"))
    if "leader_id" in values:
        leader_id = values["leader_id"]
        _check_leader(session, leader_id if isinstance(leader_id, int) else None)
    for name, value in values.items():
        setattr(workshop, name, value)
    session.add(workshop)
    session.flush()
    return workshop


def get_workshop(session: Session, workshop_id: int) -> Workshop:
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound("programme.workshop_not_found", workshop=workshop_id)
    return workshop


def workshops_at(scope: SiteScope) -> ColumnElement[bool]:
    """Workshops held at the sites of ``scope`` (a session there), and those with no session
    yet: a workshop is a programme's template, its sites are its sessions'."""
    if scope.site_ids is None:
        return true()
    held_there = select(WorkshopSession.workshop_id).where(scope.where_resource(WorkshopSession.resource_id))
    return col(Workshop.id).in_(held_there) | col(Workshop.id).not_in(select(WorkshopSession.workshop_id))


def list_workshops(
    session: Session, *, include_inactive: bool = False, scope: SiteScope = ALL_SITES
) -> Sequence[Workshop]:
    """Workshops of the sites of ``scope`` (see :func:`workshops_at`)."""
    query = select(Workshop).where(workshops_at(scope))
    if not include_inactive:
        query = query.where(col(Workshop.active).is_(True))
    return session.exec(query.order_by(col(Workshop.title), col(Workshop.id))).all()
