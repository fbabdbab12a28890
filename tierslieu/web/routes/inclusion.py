"""What the programme achieved — the inclusion report as a page: headline figures, charts by
month and by theme with their data tables, the breakdowns and the activity reports, for a
period chosen with a plain form (no JavaScript). Same figures as ``GET /api/v1/reports/inclusion``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.api.periods import local_period
from tierslieu.api.routes.reports_inclusion import MAX_DAYS, REPORT_READERS
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput
from tierslieu.programme.inclusion_report import Breakdown, inclusion_report
from tierslieu.web.charts import BarChart, bar_chart
from tierslieu.web.page import PageDep

router = APIRouter(prefix="/rapports/inclusion", dependencies=[Depends(REPORT_READERS)])


def _chart(ident: str, title: str, lines: list[Breakdown]) -> BarChart:
    return bar_chart(ident, title, "", [(line.key, float(line.present), str(line.present)) for line in lines])


@router.get("")
def inclusion_page(
    page: PageDep,
    session: SessionDep,
    from_: date | None = Query(default=None, alias="du"),
    to: date | None = Query(default=None, alias="au"),
) -> Response:
    tz, now = page.runtime.settings.tz, utcnow()
    last = to or now.astimezone(tz).date()
    first = from_ or last.replace(month=1, day=1)
    error = None
    try:
        start, end = local_period(first, last, tz, max_days=MAX_DAYS)
    except InvalidInput as exc:  # said next to the form; the report shows this year instead
        error = exc.message(page.lang, tz)
        last = now.astimezone(tz).date()
        first = last.replace(month=1, day=1)
        start, end = local_period(first, last, tz, max_days=MAX_DAYS)
    report = inclusion_report(session, first, last, start=start, end=end, now=now, tz=tz)
    _ = page.gettext
    return page.render(
        "inclusion.html",
        title=_("What the programme achieved"),
        report=report,
        error=error,
        month_chart=_chart("inclusion-mois", _("People present per month"), report.by_month),
        theme_chart=_chart("inclusion-themes", _("People present per theme"), report.by_theme),
        kinds={"individual": _("Individual"), "collective": _("Collective workshop"), "one_off": _("One-off help")},
    )
