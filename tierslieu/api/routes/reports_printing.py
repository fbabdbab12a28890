"""The FabLab's printing activity report (JSON or CSV), for animators, staff and the town."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from fastapi import Depends, Query, Response

from tierslieu.api.deps import Allow, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.printing import PrintingReportPublic, ReportLinePublic
from tierslieu.booking.schedule import at_local_minute
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput
from tierslieu.printing.reports import PrintingReport, printing_report, report_csv
from tierslieu.services.sites import timezone_of_scope

router = PrefixRouter(prefix="/reports/printing", tags=["reports"])

REPORT_READERS = Allow("admin", "staff", "animator")
MAX_DAYS = 3 * 366


def _public(report: PrintingReport) -> PrintingReportPublic:
    def line(value: object) -> ReportLinePublic:
        return ReportLinePublic.model_validate(value, from_attributes=True)

    return PrintingReportPublic(
        start=report.start,
        end=report.end,
        total=line(report.total),
        by_member=[line(x) for x in report.by_member],
        by_printer=[line(x) for x in report.by_printer],
        by_month=[line(x) for x in report.by_month],
    )


@router.get(
    "",
    response_model=PrintingReportPublic,
    dependencies=[Depends(REPORT_READERS)],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_printing_report(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    from_: date | None = Query(default=None, alias="from", description="first local day (default: 1 January)"),
    to: date | None = Query(default=None, description="last local day, included (default: today)"),
    format: Literal["json", "csv"] = "json",
) -> PrintingReportPublic | Response:
    """Prints started between two local days, summed by member, printer and month."""
    tz = timezone_of_scope(session, scope, runtime.settings.tz)
    last = to or utcnow().astimezone(tz).date()
    first = from_ or last.replace(month=1, day=1)
    if first > last or (last - first).days > MAX_DAYS or last.year >= 9999:
        raise InvalidInput("invalid_period", first=first, last=last, max_days=MAX_DAYS)
    start, end = at_local_minute(first, 0, tz), at_local_minute(last + timedelta(days=1), 0, tz)
    report = printing_report(session, start, end, tz, scope)
    if format == "csv":
        filename = f"impressions-{first}-{last}.csv"
        return Response(
            content="\ufeff" + report_csv(report),  # the BOM lets spreadsheets read the accents
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return _public(report)
