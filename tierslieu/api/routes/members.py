"""Members, their badges and trainings."""

from __future__ import annotations

from fastapi import Depends, Request, status
from sqlmodel import Session

from tierslieu.api.deps import (
    STAFF,
    Allow,
    IdPath,
    RuntimeDep,
    SessionDep,
    SignedIn,
    client_address,
    in_thread,
    is_staff,
)
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.site import (
    BadgeCreate,
    BadgePublic,
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    TokenPublic,
    TrainingCreate,
    TrainingPublic,
)
from tierslieu.errors import PermissionDenied
from tierslieu.models import Member
from tierslieu.services import members as member_service
from tierslieu.services.sites import check_grantable

router = PrefixRouter(prefix="/members", tags=["members"])

# Animators see members to queue prints and grant trainings for them.
READERS = Allow("admin", "staff", "animator")
SELF_OR_READERS = Allow("admin", "staff", "animator", self_param="member_id")
SELF_OR_STAFF = Allow("admin", "staff", self_param="member_id")
SELF_OR_ADMIN = Allow("admin", self_param="member_id")
TRAINERS = Allow("admin", "staff", "animator")


def to_public(session: Session, member: Member, viewer: Member) -> MemberPublic:
    """Staff, admins and the member see everything; animators see names, never e-mails or badge UIDs."""
    assert member.id is not None
    full = is_staff(viewer) or viewer.id == member.id
    badges = [BadgePublic(uid=b.uid, label=b.label) for b in member_service.active_badges(session, member)]
    trainings = [
        TrainingPublic(training=name, expires_on=expiry)
        for name, expiry in sorted(member_service.trainings_of(session, member.id).items())
    ]
    return MemberPublic(
        id=member.id,
        name=member.name,
        email=member.email if full else None,
        roles=list(member.roles),
        active=member.active,
        language=member.language,
        badges=badges if full else None,
        trainings=trainings,
        site_ids=list(member.site_ids),
    )


@router.get("", response_model=list[MemberPublic])
def list_members(session: SessionDep, viewer: Member = Depends(READERS)) -> list[MemberPublic]:
    return [to_public(session, m, viewer) for m in member_service.list_members(session)]


@router.post("", response_model=MemberPublic, status_code=status.HTTP_201_CREATED)
def create_member(
    body: MemberCreate, session: SessionDep, runtime: RuntimeDep, actor: Member = Depends(STAFF)
) -> MemberPublic:
    roles = [r.value for r in body.roles]
    member_service.ensure_can_grant(actor.roles, roles)
    site_ids = check_grantable(session, actor, roles, body.site_ids)
    member = member_service.create_member(
        session,
        runtime.secrets,
        name=body.name,
        email=str(body.email),
        roles=roles,
        password=body.password,
        language=body.language,
        site_ids=site_ids,
    )
    return to_public(session, member, actor)


@router.get("/me", response_model=MemberPublic)
async def me(member: SignedIn, session: SessionDep) -> MemberPublic:
    if member_service.profile_known(session, member.id):
        return to_public(session, member, member)  # all in the identity cache: no I/O, no thread
    return await in_thread(session, lambda: to_public(session, member, member))


@router.get("/{member_id}", response_model=MemberPublic)
def get_member(member_id: IdPath, session: SessionDep, viewer: Member = Depends(SELF_OR_READERS)) -> MemberPublic:
    return to_public(session, member_service.get_member(session, member_id), viewer)


@router.patch("/{member_id}", response_model=MemberPublic)
def update_member(
    member_id: IdPath,
    body: MemberUpdate,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    actor: Member = Depends(SELF_OR_STAFF),
) -> MemberPublic:
    """Changing one's own password needs ``current_password``; staff reset other accounts'
    (admins' only by an admin). Either way every token of the account is revoked."""
    member = member_service.get_member(session, member_id)
    # Explicit nulls mean "leave unchanged": no member field can be emptied.
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    current_password = changes.pop("current_password", None)
    if not is_staff(actor) and ({"roles", "active", "site_ids"} & changes.keys()):
        raise PermissionDenied("cannot_change_own_roles")
    member_service.ensure_can_manage(actor, member)
    if "roles" in changes:
        changes["roles"] = [r.value if hasattr(r, "value") else r for r in changes["roles"]]
        member_service.ensure_can_grant(actor.roles, changes["roles"])
    if {"roles", "site_ids"} & changes.keys():
        roles, site_ids = changes.get("roles", member.roles), changes.get("site_ids", member.site_ids)
        changes["site_ids"] = check_grantable(session, actor, roles, site_ids, before=member)
    if "email" in changes:
        changes["email"] = str(changes["email"])
    if "password" in changes and actor.id == member.id:
        member_service.check_current_password(
            session, runtime.secrets, member, current_password or "", address=client_address(request)
        )
    member_service.update_member(session, runtime.secrets, member, **changes)
    return to_public(session, member, actor)


@router.post(
    "/{member_id}/badges",
    response_model=BadgePublic,
    status_code=status.HTTP_201_CREATED,
)
def add_badge(member_id: IdPath, body: BadgeCreate, session: SessionDep, actor: Member = Depends(STAFF)) -> BadgePublic:
    member = member_service.get_member(session, member_id)
    member_service.ensure_can_manage(actor, member)
    badge = member_service.add_badge(session, member, body.uid, label=body.label, written=body.format)
    return BadgePublic(uid=badge.uid, label=badge.label)


@router.delete("/{member_id}/badges/{uid}", status_code=status.HTTP_204_NO_CONTENT)
def remove_badge(member_id: IdPath, uid: str, session: SessionDep, actor: Member = Depends(STAFF)) -> None:
    member = member_service.get_member(session, member_id)
    member_service.ensure_can_manage(actor, member)  # as on the web: staff leave admins' badges alone
    member_service.revoke_badge(session, member, uid)


@router.get("/{member_id}/tokens", response_model=list[TokenPublic], dependencies=[Depends(SELF_OR_ADMIN)])
def list_tokens(member_id: IdPath, session: SessionDep) -> list[TokenPublic]:
    """The member's log-in sessions and personal tokens (never their secret), for them and admins."""
    member = member_service.get_member(session, member_id)
    return [
        TokenPublic.model_validate(row, from_attributes=True) for row in member_service.list_tokens(session, member)
    ]


@router.delete(
    "/{member_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(SELF_OR_ADMIN)]
)
def revoke_token(member_id: IdPath, token_id: IdPath, session: SessionDep) -> None:
    member_service.revoke_token_of(session, member_service.get_member(session, member_id), token_id)


@router.post("/{member_id}/trainings", response_model=TrainingPublic, status_code=status.HTTP_201_CREATED)
def grant_training(
    member_id: IdPath, body: TrainingCreate, session: SessionDep, actor: Member = Depends(TRAINERS)
) -> TrainingPublic:
    member = member_service.get_member(session, member_id)
    row = member_service.grant_training(session, member, body.training, expires_on=body.expires_on, granted_by=actor.id)
    return TrainingPublic(training=row.training, expires_on=row.expires_on)


@router.delete(
    "/{member_id}/trainings/{training}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(TRAINERS)]
)
def revoke_training(member_id: IdPath, training: str, session: SessionDep) -> None:
    member_service.revoke_training(session, member_service.get_member(session, member_id), training)
