"""Rendering a page: the Jinja environment of the app and the per-request :class:`Page`.

A handler declares ``page: PageDep`` and ends with ``page.render("name.html", ...)`` or
``page.redirect(url)``. The page knows the caller (if logged in), the language, the
formatter for dates, and the CSRF token every form must carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tierslieu import __version__
from tierslieu.api.deps import SESSION_COOKIE, RuntimeDep, SessionDep, is_staff
from tierslieu.errors import AuthenticationFailed
from tierslieu.i18n import catalogues
from tierslieu.models import Member, Site
from tierslieu.printing.reasons import describe
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.services.sites import SiteScope, site_timezone
from tierslieu.web.i18n import N_, Formatter, choose_language
from tierslieu.web.security import CSRF_FIELD, Csrf
from tierslieu.web.sites import SiteChoice, choose_site, remember_site

__all__ = ["NavItem", "Page", "PageDep", "WebApp", "get_page", "home_for"]

WEB_DIR = Path(__file__).parent


class WebApp:
    """What the web pages share for the life of the app: templates and compiled catalogues."""

    def __init__(self, template_dir: Path = WEB_DIR / "templates") -> None:
        self.env = Environment(
            loader=FileSystemLoader(template_dir),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.catalogues = catalogues()


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool


# (path, English label, roles shown to). A partner (CCAS, library) only books the advisor's
# appointments, so the member pages are not offered to it.
_MEMBERS = frozenset({"admin", "staff", "animator", "municipal", "member"})
_PROGRAMME_TEAM = frozenset({"admin", "staff", "animator"})
_NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/reserver", N_("Book"), _MEMBERS),
    ("/mes-reservations", N_("My bookings"), _MEMBERS),
    ("/fablab", N_("FabLab — print queue"), _MEMBERS),
    ("/mes-donnees", N_("My data"), _MEMBERS),
    ("/agenda", N_("Workshop agenda"), _MEMBERS),
    ("/accueil", N_("Front desk"), _PROGRAMME_TEAM),
    ("/ateliers", N_("Workshops"), _PROGRAMME_TEAM),
    ("/rendez-vous", N_("Appointments"), _PROGRAMME_TEAM | {"partner"}),
    ("/occupation", N_("Live occupancy"), frozenset({"admin", "staff", "animator"})),
    ("/rapports/inclusion", N_("Programme report"), frozenset({"admin", "staff", "animator", "municipal"})),
    ("/admin", N_("Administration"), frozenset({"admin", "staff"})),
)


def home_for(roles: list[str]) -> str:
    """Where a member lands after logging in: a partner has only the appointments."""
    return "/reserver" if _MEMBERS & set(roles) else "/rendez-vous"


@dataclass
class Page:
    request: Request
    runtime: Runtime
    web: WebApp
    member: Member | None
    lang: str
    csrf: Csrf
    nonce: str
    sites: SiteChoice = field(default_factory=SiteChoice)
    # The site a public screen is about (a kiosk), whatever the switcher says.
    shown_site: Site | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def site(self) -> Site | None:
        """The site the page is about; None: every site of the reader."""
        return self.shown_site or self.sites.site

    @property
    def scope(self) -> SiteScope:
        """What the page's lists show: the reader's sites narrowed to the one chosen."""
        return self.sites.scope

    def check_site(self, site_id: int | None) -> None:
        """403 for an object of a site outside the reader's sites (any of them, not only the chosen one)."""
        self.sites.reader_scope.check(site_id)

    @property
    def tz(self) -> ZoneInfo:
        """The page's timezone: its site's, or the deployment's when it shows every site."""
        return site_timezone(self.site) if self.site is not None else self.runtime.settings.tz

    @property
    def actor(self) -> Member:
        """The logged-in member (routes with a policy always have one)."""
        if self.member is None:
            raise AuthenticationFailed("not_authenticated")
        return self.member

    @property
    def fmt(self) -> Formatter:
        return Formatter(self.lang, self.tz)

    def gettext(self, message: str, **values: Any) -> str:
        text = self.web.catalogues[self.lang].ugettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        text = self.web.catalogues[self.lang].ungettext(singular, plural, count)
        return text % {"num": count, **values}

    @property
    def is_staff(self) -> bool:
        return self.member is not None and is_staff(self.member)

    def nav(self) -> list[NavItem]:
        if self.member is None:
            return []
        roles = set(self.member.roles)
        path = self.request.url.path
        return [
            NavItem(href, self.gettext(label), path == href or path.startswith(href + "/"))
            for href, label, allowed in _NAV
            if allowed & roles
        ]

    def notice(self, messages: Mapping[str, str]) -> str | None:
        """The confirmation a redirect asked for with ``?message=<key>``, translated; none for
        an unknown key (the query string is the visitor's to edit)."""
        key = self.request.query_params.get("message", "")
        return self.gettext(messages[key]) if key in messages else None

    def reason(self, code: str, params: Mapping[str, Any]) -> str:
        """A job's or printer's reason (code and parameters) in the page's language."""
        return describe(code, params, self.lang)

    def csrf_field(self) -> Markup:
        token = escape(self.csrf.token_for(self.nonce))
        return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">')

    def context(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "_": self.gettext,
            "ngettext": self.ngettext,
            "fmt": self.fmt,
            "reason": self.reason,
            "lang": self.lang,
            "member": self.member,
            "is_staff": self.is_staff,
            "nav": self.nav(),
            "csrf_field": self.csrf_field,
            "path": self.request.url.path,
            "full_path": self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else ""),
            "version": __version__,
            "site_choice": self.sites,
            "current_site": self.site,
            **values,
        }

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.web.env.get_template(template).render(self.context(values))
        response = HTMLResponse(html, status_code=status, headers=self.extra_headers)
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        self.csrf.remember(self.request, response, self.nonce)
        remember_site(self.request, response, self.sites)
        # Pages show personal data: never cached by shared caches or kept after log-out.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Language", self.lang)


def _optional_member(request: Request, session: SessionDep) -> Member | None:
    known: Member | None = getattr(request.state, "member", None)
    if known is not None:
        return known
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return member_service.member_for_token(session, token)
    except AuthenticationFailed:
        return None


def get_page(request: Request, runtime: RuntimeDep, session: SessionDep) -> Page:
    member = _optional_member(request, session)
    lang = choose_language(request, member.language if member else None, runtime.settings.language)
    csrf = Csrf(runtime.secrets)
    web: WebApp = request.app.state.web
    nonce = csrf.nonce_of(request) or csrf.new_nonce()
    return Page(request, runtime, web, member, lang, csrf, nonce, choose_site(session, member, request))


PageDep = Annotated[Page, Depends(get_page)]
