"""Administration — members: accounts, roles, badges (typed or "scan now"), trainings, passwords."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import STAFF, IdPath, SessionDep, client_address
from tierslieu.api.routing import PrefixRouter
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput, TiersLieuError
from tierslieu.hardware.audit import last_unknown_badge
from tierslieu.models import ROLES, Member, Site
from tierslieu.services import devices as device_service
from tierslieu.services import members as member_service
from tierslieu.services.sites import SiteScope, check_grantable, list_sites, site_of_device
from tierslieu.web.admin_view import dashboard_counts
from tierslieu.web.i18n import N_
from tierslieu.web.page import Page, PageDep
from tierslieu.web.password_reset import RESET_HOURS, reset_token
from tierslieu.web.sites import SiteFilter

router = PrefixRouter(prefix="/admin", dependencies=[Depends(STAFF)])

# How recent an unknown scan must be for "scan now" to take it.
SCAN_WINDOW = timedelta(minutes=10)
_MESSAGES = {
    "cree": N_("The member was created."),
    "modifie": N_("The changes were saved."),
    "badge": N_("The badge was assigned."),
    "badge_retire": N_("The badge was withdrawn."),
    "formation": N_("The training was recorded."),
    "formation_retiree": N_("The training was removed."),
    "mot_de_passe": N_("The new password is set. The member's open sessions were closed."),
    "efface": N_("The member's personal data was erased."),
}


@router.get("")
def dashboard(page: PageDep, session: SessionDep) -> Response:
    return page.render(
        "admin/index.html",
        title=page.gettext("Administration"),
        counts=dashboard_counts(session, page.actor, page.scope),
    )


@router.get("/membres")
def members(page: PageDep, session: SessionDep, q: str = "") -> Response:
    return _members_page(page, session, q=q)


def _members_page(
    page: Page, session: Session, *, q: str = "", error: str | None = None, status: int = 200
) -> Response:
    needle = q.strip().lower()
    found = [m for m in member_service.list_members(session) if needle in f"{m.name} {m.email}".lower()]
    return page.render(
        "admin/members.html",
        status=status,
        title=page.gettext("Members"),
        members=found,
        site_names={site.id: site.name for site in list_sites(session)},
        sites=_site_choices(page, session),
        q=q,
        roles=ROLES,
        error=error,
        notice=page.notice(_MESSAGES),
    )


def _site_choices(page: Page, session: Session) -> list[Site]:
    """The sites a member form offers: the reader's own, when the deployment has several."""
    return list(page.sites.sites) if len(list_sites(session)) > 1 else []


def _chosen_sites(page: Page, site_ids: list[int] | None) -> list[int]:
    """The sites ticked; none ticked: every site of the reader (all of them for an admin)."""
    return site_ids or sorted(page.sites.reader_scope.site_ids or ())


@router.post("/membres")
def create_member(
    page: PageDep,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "fr",
    site_ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    try:
        chosen = roles or ["member"]
        member_service.ensure_can_grant(page.actor.roles, chosen)
        sites = check_grantable(session, page.actor, chosen, _chosen_sites(page, site_ids))
        member = member_service.create_member(
            session,
            page.runtime.secrets,
            name=name,
            email=email,
            roles=chosen,
            password=password or None,
            language=language if language in ("fr", "en") else "fr",
            site_ids=sites,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _members_page(page, session, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/admin/membres/{member.id}?message=cree")


def _member_page(
    page: Page,
    session: Session,
    member_id: int,
    *,
    errors: dict[str, str] | None = None,
    reset_link: str | None = None,
    status: int = 200,
) -> Response:
    member = member_service.get_member(session, member_id)
    readers = [d for d in SiteFilter(session, page.scope).spaces(device_service.list_devices(session))]
    return page.render(
        "admin/member.html",
        status=status,
        title=member.name,
        who=member,
        badges=member_service.active_badges(session, member),
        trainings=sorted(member_service.trainings_of(session, member_id).items()),
        readers=[d for d in readers if d.kind == "badge_reader"],
        roles=ROLES,
        sites=_site_choices(page, session),
        site_names={site.id: site.name for site in list_sites(session)},
        errors=errors or {},
        notice=page.notice(_MESSAGES),
        reset_link=reset_link,
        reset_hours=RESET_HOURS,
        today=utcnow().astimezone(page.runtime.settings.tz).date(),
    )


@router.get("/membres/{member_id}")
def member_detail(page: PageDep, session: SessionDep, member_id: IdPath) -> Response:
    return _member_page(page, session, member_id)


def _member_action(
    page: Page, session: Session, member_id: int, form: str, action: Callable[[Member], object], message: str
) -> Response:
    """Run one change on a member; on refusal, show the page again with the error by its form."""
    member = member_service.get_member(session, member_id)
    try:
        member_service.ensure_can_manage(page.actor, member)
        action(member)
    except TiersLieuError as exc:
        session.rollback()
        return _member_page(page, session, member_id, errors={form: exc.message(page.lang)}, status=exc.status)
    return page.redirect(f"/admin/membres/{member_id}?message={message}")


@router.post("/membres/{member_id}")
def update_member(
    page: PageDep,
    session: SessionDep,
    member_id: IdPath,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    active: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "fr",
    site_ids: Annotated[list[int] | None, Form()] = None,
    sites_shown: Annotated[str, Form()] = "",
) -> Response:
    def change(member: Member) -> None:
        chosen = roles or []
        member_service.ensure_can_grant(page.actor.roles, chosen)
        # The form lists sites only with several of them; without, the member's stay as they are.
        wanted = _chosen_sites(page, site_ids) if sites_shown == "1" else member.site_ids
        sites = check_grantable(session, page.actor, chosen, wanted, before=member)
        member_service.update_member(
            session,
            page.runtime.secrets,
            member,
            name=name,
            email=email,
            roles=chosen,
            active=active == "1",
            language=language if language in ("fr", "en") else "fr",
            site_ids=sites,
        )

    return _member_action(page, session, member_id, "profile", change, "modifie")


@router.post("/membres/{member_id}/badges")
def add_badge(
    page: PageDep,
    session: SessionDep,
    member_id: IdPath,
    uid: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
) -> Response:
    return _member_action(
        page, session, member_id, "badge", lambda m: member_service.add_badge(session, m, uid, label=label), "badge"
    )


def assign_recent_scan(session: Session, member: Member, device_id: int, scope: SiteScope) -> None:
    """ "Scan now": the member presents the badge on a reader of the reader's sites; we take the
    last unknown scan there (also used by the front desk)."""
    scope.check(site_of_device(session, device_id))
    scan = last_unknown_badge(session, device_id, since=utcnow() - SCAN_WINDOW)
    if scan is None or not scan.badge_uid:
        raise InvalidInput("no_recent_scan")
    member_service.add_badge(session, member, scan.badge_uid, label=scan.device_name)


@router.post("/membres/{member_id}/badges/scan")
def scan_badge(
    page: PageDep, session: SessionDep, member_id: IdPath, device_id: Annotated[int, Form()] = 0
) -> Response:
    return _member_action(
        page,
        session,
        member_id,
        "scan",
        lambda m: assign_recent_scan(session, m, device_id, page.sites.reader_scope),
        "badge",
    )


@router.post("/membres/{member_id}/badges/{uid}/retirer")
def revoke_badge(page: PageDep, session: SessionDep, member_id: IdPath, uid: str) -> Response:
    return _member_action(
        page, session, member_id, "badge", lambda m: member_service.revoke_badge(session, m, uid), "badge_retire"
    )


@router.post("/membres/{member_id}/formations")
def grant_training(
    page: PageDep,
    session: SessionDep,
    member_id: IdPath,
    training: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "",
) -> Response:
    def grant(member: Member) -> None:
        try:
            expiry = date.fromisoformat(expires_on) if expires_on else None
        except ValueError as exc:
            raise InvalidInput("invalid_date") from exc
        member_service.grant_training(session, member, training, expires_on=expiry, granted_by=page.actor.id)

    return _member_action(page, session, member_id, "training", grant, "formation")


@router.post("/membres/{member_id}/formations/{training}/retirer")
def revoke_training(page: PageDep, session: SessionDep, member_id: IdPath, training: str) -> Response:
    return _member_action(
        page,
        session,
        member_id,
        "training",
        lambda m: member_service.revoke_training(session, m, training),
        "formation_retiree",
    )


@router.post("/membres/{member_id}/mot-de-passe")
def set_password(
    page: PageDep,
    session: SessionDep,
    member_id: IdPath,
    password: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
) -> Response:
    """Staff set a member's password; their own only with the current one (as on the API)."""

    def change(member: Member) -> None:
        if member.id == page.actor.id:
            address = client_address(page.request)
            member_service.check_current_password(
                session, page.runtime.secrets, member, current_password, address=address
            )
        member_service.update_member(session, page.runtime.secrets, member, password=password)

    return _member_action(page, session, member_id, "password", change, "mot_de_passe")


@router.post("/membres/{member_id}/lien")
def password_link(page: PageDep, session: SessionDep, member_id: IdPath) -> Response:
    """A one-time link the member opens to choose a password (given on paper or by e-mail)."""
    member = member_service.get_member(session, member_id)
    try:
        member_service.ensure_can_manage(page.actor, member)
    except TiersLieuError as exc:
        return _member_page(page, session, member_id, errors={"password": exc.message(page.lang)}, status=exc.status)
    base = str(page.request.base_url).rstrip("/")
    link = f"{base}/mot-de-passe/{reset_token(page.runtime.secrets, member)}"
    return _member_page(page, session, member_id, reset_link=link)
