"""What the digital-inclusion programme achieved (JSON or CSV), for staff, animators, the
advisor and the town."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Depends, Query, Response

from tierslieu.api.deps import Allow, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.periods import local_period
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.reports import InclusionReportOut
from tierslieu.db.types import utcnow
from tierslieu.programme.inclusion_report import inclusion_report
from tierslieu.programme.report_csv import inclusion_csv
from tierslieu.services.sites import timezone_of_scope

router = PrefixRouter(prefix="/reports/inclusion", tags=["reports"])

REPORT_READERS = Allow("admin", "staff", "animator", "municipal")
MAX_DAYS = 3 * 366


@router.get(
    "",
    response_model=InclusionReportOut,
    dependencies=[Depends(REPORT_READERS)],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_inclusion_report(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    from_: date | None = Query(default=None, alias="from", description="first local day (default: 1 January)"),
    to: date | None = Query(default=None, description="last local day, included (default: today)"),
    format: Literal["json", "csv"] = "json",
) -> InclusionReportOut | Response:
    """People reached, sessions held, hours, attendance, by theme, public, age band, place and
    month, and the advisor's activity reports, between two local days."""
    tz = timezone_of_scope(session, scope, runtime.settings.tz)
    now = utcnow()
    last = to or now.astimezone(tz).date()
    first = from_ or last.replace(month=1, day=1)
    start, end = local_period(first, last, tz, max_days=MAX_DAYS)
    report = inclusion_report(session, first, last, start=start, end=end, now=now, tz=tz, scope=scope)
    if format == "csv":
        return Response(
            content="\ufeff" + inclusion_csv(report),  # the BOM lets spreadsheets read the accents
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="inclusion-{first}-{last}.csv"'},
        )
    return InclusionReportOut.model_validate(report)
