"""The occupancy history report (15-minute buckets per space), JSON or CSV, for staff."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from fastapi import Depends, Query, Response

from tierslieu.api.deps import MAX_ID, STAFF, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.occupancy import OccupancyBucketPublic, OccupancyReportPublic
from tierslieu.booking.schedule import at_local_minute
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput
from tierslieu.occupancy.reports import OccupancyReport, occupancy_report, report_csv
from tierslieu.services.sites import timezone_of_scope
from tierslieu.services.spaces import get_space

router = PrefixRouter(prefix="/reports/occupancy", tags=["reports"])

MAX_DAYS = 366


def _public(report: OccupancyReport) -> OccupancyReportPublic:
    return OccupancyReportPublic(
        space_id=report.space_id,
        start=report.start,
        end=report.end,
        bucket_minutes=report.bucket_minutes,
        rows=[OccupancyBucketPublic.model_validate(row, from_attributes=True) for row in report.rows],
    )


@router.get(
    "",
    response_model=OccupancyReportPublic,
    dependencies=[Depends(STAFF)],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_occupancy_report(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="one space (default: all)"),
    from_: date | None = Query(default=None, alias="from", description="first local day (default: 7 days ago)"),
    to: date | None = Query(default=None, description="last local day, included (default: today)"),
    format: Literal["json", "csv"] = "json",
) -> OccupancyReportPublic | Response:
    """Per space and per 15 minutes: most people seen, minutes occupied, minutes booked."""
    tz = timezone_of_scope(session, scope, runtime.settings.tz)
    last = to or utcnow().astimezone(tz).date()
    first = from_ or last - timedelta(days=6)
    if first > last or (last - first).days >= MAX_DAYS or last.year >= 9999:
        raise InvalidInput("invalid_period", first=first, last=last, max_days=MAX_DAYS)
    if space_id is not None:
        scope.check(get_space(session, space_id).site_id)  # 404 for a space that does not exist
    start, end = at_local_minute(first, 0, tz), at_local_minute(last + timedelta(days=1), 0, tz)
    report = occupancy_report(session, space_id, start, end, scope)
    if format == "csv":
        filename = f"occupation-{first}-{last}.csv"
        return Response(
            content="\ufeff" + report_csv(report, tz),  # the BOM lets spreadsheets read the accents
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return _public(report)
