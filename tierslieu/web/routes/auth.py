"""Log in, log out, language switch and the one-time password link."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from tierslieu.api.deps import SESSION_COOKIE, SessionDep, client_address
from tierslieu.errors import AuthenticationFailed, InvalidInput, TooManyRequests
from tierslieu.models import Member
from tierslieu.services import members as member_service
from tierslieu.web.i18n import LANG_COOKIE, SUPPORTED
from tierslieu.web.page import Page, PageDep, home_for
from tierslieu.web.password_reset import member_for_reset
from tierslieu.web.security import clear_session, safe_next, set_session

router = APIRouter()

HOME = "/reserver"


@router.get("/")
def home(page: PageDep) -> Response:
    return page.redirect(home_for(page.member.roles) if page.member else "/connexion")


def _login_page(
    page: Page, target: str, *, email: str = "", error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    return page.render(
        "login.html", status=status, title=page.gettext("Log in"), next=target, error=error, email=email, notice=notice
    )


def _reset_page(page: Page, member: Member, token: str, *, error: str | None = None, status: int = 200) -> Response:
    title = page.gettext("Choose a new password")
    return page.render("reset.html", status=status, title=title, who=member, token=token, error=error)


@router.get("/connexion")
def login_form(page: PageDep, suivant: str = "", nouveau_mot_de_passe: str = "") -> Response:
    notice = page.gettext("Your new password is saved: you can log in.") if nouveau_mot_de_passe else None
    return _login_page(page, safe_next(suivant, HOME), notice=notice)


@router.post("/connexion")
def login(
    page: PageDep,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    suivant: Annotated[str, Form()] = "",
) -> Response:
    target = safe_next(suivant, HOME)
    try:
        member = member_service.authenticate(
            session, page.runtime.secrets, email, password, address=client_address(page.request)
        )
    except AuthenticationFailed as exc:
        return _login_page(page, target, email=email, error=exc.message(page.lang), status=401)
    except TooManyRequests as exc:
        response = _login_page(page, target, email=email, error=exc.message(page.lang), status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    minutes = page.runtime.settings.access_token_minutes
    token = member_service.issue_token(session, member, lifetime=timedelta(minutes=minutes), name="web")
    response = page.redirect(home_for(member.roles) if target == HOME else target)
    set_session(page.request, response, token, minutes * 60)
    return response


@router.post("/deconnexion")
def logout(page: PageDep, session: SessionDep) -> Response:
    token = page.request.cookies.get(SESSION_COOKIE)
    if token:
        member_service.revoke_token(session, token)
    response = page.redirect("/connexion")
    clear_session(response)
    return response


@router.get("/langue/{lang}")
def switch_language(page: PageDep, lang: str, retour: str = "") -> Response:
    response = page.redirect(safe_next(retour, "/"))
    if lang in SUPPORTED:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


@router.get("/mot-de-passe/{token}")
def reset_form(page: PageDep, session: SessionDep, token: str) -> Response:
    return _reset_page(page, member_for_reset(session, page.runtime.secrets, token), token)


@router.post("/mot-de-passe/{token}")
def reset_password(
    page: PageDep,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    member = member_for_reset(session, page.runtime.secrets, token)
    try:
        if password != confirm:
            raise InvalidInput("password_mismatch")
        member_service.update_member(session, page.runtime.secrets, member, password=password)
    except InvalidInput as exc:
        return _reset_page(page, member, token, error=exc.message(page.lang), status=422)
    return page.redirect("/connexion?nouveau_mot_de_passe=1")
