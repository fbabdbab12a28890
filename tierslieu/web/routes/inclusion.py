"""Bilan du programme — what the digital-inclusion programme achieved, for the team and the town:
key figures, charts with their tables (by month, theme, public, age band, place) and the
advisor's activity reports, for a period; the same figures as CSV through the API."""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Query
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.api.periods import local_period
from tierslieu.api.routes.reports_inclusion import MAX_DAYS, REPORT_READERS
from tierslieu.api.routing import PrefixRouter
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput
from tierslieu.programme.inclusion_report import Breakdown, inclusion_report
from tierslieu.web.charts import BarChart, bar_chart
from tierslieu.web.page import PageDep

__all__ = ["router"]

router = PrefixRouter(prefix="/rapports/inclusion", dependencies=[Depends(REPORT_READERS)])


def _chart(ident: str, title: str, unit: str, lines: list[Breakdown], value: str) -> BarChart:
    return bar_chart(ident, title, unit, [(b.key, float(getattr(b, value)), f"{getattr(b, value)}") for b in lines])


@router.get("")
def inclusion(
    page: PageDep,
    session: SessionDep,
    from_: date | None = Query(default=None, alias="du"),
    to: date | None = Query(default=None, alias="au"),
) -> Response:
    tz, now = page.tz, utcnow()
    last = to or now.astimezone(tz).date()
    first = from_ or last.replace(month=1, day=1)
    error, status = None, 200
    try:
        start, end = local_period(first, last, tz, max_days=MAX_DAYS)
    except InvalidInput as exc:
        # Said by the period form; the report shows the default period meanwhile.
        error, status = exc.message(page.lang, tz), exc.status
        last = now.astimezone(tz).date()
        first = last.replace(month=1, day=1)
        start, end = local_period(first, last, tz, max_days=MAX_DAYS)
    report = inclusion_report(session, first, last, start=start, end=end, now=now, tz=tz, scope=page.scope)
    _ = page.gettext
    return page.render(
        "inclusion.html",
        status=status,
        error=error,
        title=_("Programme report"),
        report=report,
        first=first,
        last=last,
        charts=[
            _chart("mois-presents", _("People present per month"), "", report.by_month, "present"),
            _chart("mois-heures", _("Hours of sessions per month"), "h", report.by_month, "hours"),
            _chart("themes-heures", _("Hours per theme"), "h", report.by_theme, "hours"),
            _chart("publics-presents", _("People present per public"), "", report.by_public, "present"),
        ],
        tables=[
            ("mois", _("By month"), _("Month"), report.by_month),
            ("themes", _("By theme"), _("Theme"), report.by_theme),
            ("publics", _("By public"), _("Public"), report.by_public),
            ("ages", _("By age band (where known)"), _("Age band"), report.by_age_band),
            ("lieux", _("By place"), _("Place"), report.by_place),
        ],
    )
