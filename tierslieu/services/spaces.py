"""Spaces (the building tree) and bookable resources, with rule inheritance."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from tierslieu.booking.rules import BookingRules, EffectiveRules, merge_rules, patch_rules
from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.models import RESOURCE_KINDS, SPACE_KINDS, Device, Printer, Resource, Space
from tierslieu.services.rules_cache import edited_here, rules_cache_of
from tierslieu.services.sites import ALL_SITES, SiteScope, default_site_id, get_site
from tierslieu.text import clean_name

MAX_DEPTH = 8


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold()) for part in re.split(r"(\d+)", text))


def validate_rules(rules: Mapping[str, Any], patch: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check a rules mapping (optionally with a PATCH applied) against the contract.

    Returns it in canonical JSON form; any problem is an ``invalid_rules`` error.
    """
    try:
        if patch is not None:
            return patch_rules(rules, patch)
        parsed = BookingRules.model_validate(dict(rules))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            "invalid_rules",
            where=where,
            msg=first["msg"],
            extra={"errors": [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]},
        ) from exc
    return parsed.model_dump(mode="json", exclude_none=True)


def _check_kind(kind: str, allowed: Sequence[str], what: str) -> None:
    if kind not in allowed:
        code = {"space": "invalid_space_kind", "resource": "invalid_resource_kind"}[what]
        raise InvalidInput(code, msgid="invalid_kind", kind=kind, kinds=", ".join(allowed))


# Spaces ---------------------------------------------------------------------------


def get_space(session: Session, space_id: int) -> Space:
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space_not_found", id=space_id)
    return space


def list_spaces(session: Session, scope: SiteScope = ALL_SITES) -> Sequence[Space]:
    query = select(Space).where(scope.where(Space.site_id))
    return session.exec(query.order_by(col(Space.parent_id).nullsfirst(), Space.name)).all()


def ancestors(session: Session, space: Space) -> list[Space]:
    """The space and its parents, outermost first."""
    chain = [space]
    seen = {space.id}
    while chain[0].parent_id is not None:
        parent = session.get(Space, chain[0].parent_id)
        if parent is None or parent.id in seen or len(chain) > MAX_DEPTH:
            break
        seen.add(parent.id)
        chain.insert(0, parent)
    return chain


def descendants(session: Session, space_id: int) -> list[int]:
    """Ids of the space and every space below it."""
    spaces = session.exec(select(Space.id, Space.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for sid, parent in spaces:
        if sid is not None:
            children.setdefault(parent, []).append(sid)
    found, stack = [], [space_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _check_name_free(session: Session, model: type[Space] | type[Resource], name: str, own_id: int | None) -> None:
    name = clean_name(name)
    other = session.exec(select(model).where(model.name == name)).first()
    if other is not None and getattr(other, "id", None) != own_id:
        raise Conflict("duplicate_name", name=name)


def _check_parent(session: Session, space: Space, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = get_space(session, parent_id)
    if space.id is not None and space.id in {s.id for s in ancestors(session, parent)}:
        raise InvalidInput("parent_cycle")


def _site_for(session: Session, parent_id: int | None, site_id: int | None, default_timezone: str) -> int:
    """A child is in its parent's site; a top-level space in the site given, or the only one."""
    if parent_id is not None:
        parent_site = get_space(session, parent_id).site_id
        if site_id is not None and site_id != parent_site:
            raise InvalidInput("site_mismatch")
        assert parent_site is not None
        return parent_site
    if site_id is not None:
        get_site(session, site_id)  # 404 for an unknown site
        return site_id
    return default_site_id(session, default_timezone)


def create_space(
    session: Session,
    *,
    name: str,
    kind: str,
    parent_id: int | None = None,
    site_id: int | None = None,
    capacity: int | None = None,
    rules: Mapping[str, Any] | None = None,
    description: str = "",
    default_timezone: str = "Europe/Paris",
) -> Space:
    _check_kind(kind, SPACE_KINDS, "space")
    _check_name_free(session, Space, name, None)
    space = Space(name=name.strip(), kind=kind, capacity=capacity, description=description)
    _check_parent(session, space, parent_id)
    space.parent_id = parent_id
    space.site_id = _site_for(session, parent_id, site_id, default_timezone)
    space.rules = validate_rules(rules or {})
    session.add(space)
    session.flush()
    return space


def _update_common(
    session: Session, row: Space | Resource, changes: Mapping[str, Any], kinds: Sequence[str], what: str
) -> None:
    """What spaces and resources share: kind, unique name, capacity and rules (merged key by key)."""
    if changes.get("kind") is not None:
        _check_kind(changes["kind"], kinds, what)
        row.kind = changes["kind"]
    if changes.get("name") is not None:
        _check_name_free(session, type(row), changes["name"], row.id)
        row.name = changes["name"].strip()
    if "capacity" in changes:
        row.capacity = changes["capacity"]
    if changes.get("rules") is not None:
        row.rules = validate_rules(row.rules, changes["rules"])


def update_space(session: Session, space: Space, changes: Mapping[str, Any]) -> Space:
    _update_common(session, space, changes, SPACE_KINDS, "space")
    if "parent_id" in changes:
        _check_parent(session, space, changes["parent_id"])
        space.parent_id = changes["parent_id"]
        if space.parent_id is not None:
            _move_to_site(session, space, get_space(session, space.parent_id).site_id)
    if changes.get("site_id") is not None and changes["site_id"] != space.site_id:
        if space.parent_id is not None:
            raise InvalidInput("site_mismatch")
        _move_to_site(session, space, get_site(session, changes["site_id"]).id)
    if "description" in changes:
        space.description = changes["description"] or ""
    session.add(space)
    session.flush()
    return space


def _move_to_site(session: Session, space: Space, site_id: int | None) -> None:
    """A space changes site with everything below it."""
    if site_id is None or site_id == space.site_id:
        return
    assert space.id is not None
    for row in session.exec(select(Space).where(col(Space.id).in_(descendants(session, space.id)))).all():
        row.site_id = site_id
        session.add(row)


def delete_space(session: Session, space: Space) -> None:
    blockers = (
        session.exec(select(Space.id).where(Space.parent_id == space.id)).first(),
        session.exec(select(Resource.id).where(Resource.space_id == space.id)).first(),
        session.exec(select(Device.id).where(Device.space_id == space.id)).first(),
    )
    if any(b is not None for b in blockers):
        raise Conflict("space_not_empty")
    session.delete(space)
    session.flush()


def space_rules(session: Session, space: Space) -> EffectiveRules:
    return merge_rules(*(BookingRules.model_validate(s.rules) for s in ancestors(session, space)))


# Resources ------------------------------------------------------------------------


def get_resource(session: Session, resource_id: int) -> Resource:
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFound("resource_not_found", id=resource_id)
    return resource


def list_resources(
    session: Session, *, space_id: int | None = None, kind: str | None = None, scope: SiteScope = ALL_SITES
) -> Sequence[Resource]:
    query = select(Resource).where(scope.where_space(Resource.space_id)).order_by(Resource.name)
    if space_id is not None:
        query = query.where(col(Resource.space_id).in_(descendants(session, space_id)))
    if kind is not None:
        query = query.where(Resource.kind == kind)
    # "Poste 2" before "Poste 10": people read numbers, not code points.
    return sorted(session.exec(query).all(), key=lambda r: natural_key(r.name))


def create_resource(
    session: Session,
    *,
    name: str,
    kind: str,
    space_id: int,
    capacity: int | None = None,
    rules: Mapping[str, Any] | None = None,
) -> Resource:
    _check_kind(kind, RESOURCE_KINDS, "resource")
    _check_name_free(session, Resource, name, None)
    get_space(session, space_id)
    resource = Resource(
        name=name.strip(), kind=kind, space_id=space_id, capacity=capacity, rules=validate_rules(rules or {})
    )
    session.add(resource)
    session.flush()
    return resource


def update_resource(session: Session, resource: Resource, changes: Mapping[str, Any]) -> Resource:
    _update_common(session, resource, changes, RESOURCE_KINDS, "resource")
    if changes.get("space_id") is not None:
        get_space(session, changes["space_id"])
        resource.space_id = changes["space_id"]
    if "active" in changes and changes["active"] is not None:
        resource.active = changes["active"]
    session.add(resource)
    session.flush()
    return resource


def delete_resource(session: Session, resource: Resource) -> None:
    if session.exec(select(Printer.id).where(Printer.resource_id == resource.id)).first() is not None:
        raise Conflict("resource_in_use")
    session.delete(resource)
    session.flush()


def resource_rules(session: Session, resource: Resource) -> EffectiveRules:
    """The resource's rules merged over its spaces'; cached per resource until a space or resource changes."""
    assert resource.id is not None
    cache = rules_cache_of(session)
    if cache is None or edited_here(session):
        return _merged_rules(session, resource)
    return cache.get(resource.id, lambda: _merged_rules(session, resource))


def resource_with_rules(session: Session, resource_id: int) -> tuple[Resource, EffectiveRules]:
    """The resource and its rules, both from the rules cache when it holds them (no query); the
    resource as an instance of ``session`` (the cache's row is copied in)."""
    resource = cached_resource(session, resource_id)
    if resource not in session:
        resource = session.merge(resource, load=False)
    return resource, resource_rules(session, resource)


def cached_resource(session: Session, resource_id: int) -> Resource:
    """The resource to read, not to change: the rules cache's detached row when it holds one (no
    query, and none of the copy into the session that :func:`resource_with_rules` makes)."""
    cache = rules_cache_of(session)
    if cache is None or edited_here(session):
        return get_resource(session, resource_id)
    return cache.row(resource_id, lambda: get_resource(session, resource_id))


def _merged_rules(session: Session, resource: Resource) -> EffectiveRules:
    assert resource.space_id is not None
    space = get_space(session, resource.space_id)
    levels = [BookingRules.model_validate(s.rules) for s in ancestors(session, space)]
    levels.append(BookingRules.model_validate(resource.rules))
    return merge_rules(*levels)
