"""The occupancy history report: stored 15-minute buckets, as rows for JSON or CSV."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.csv_export import SpreadsheetWriter
from tierslieu.models import Space
from tierslieu.models.occupancy import OccupancyBucket
from tierslieu.occupancy.history import BUCKET
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = ["CSV_COLUMNS", "OccupancyReport", "ReportRow", "occupancy_report", "report_csv"]

CSV_COLUMNS = (
    "espace_id",
    "espace",
    "debut",
    "fin",
    "personnes_max",
    "minutes_occupees",
    "minutes_reservees",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    space_id: int
    space: str
    start: datetime
    end: datetime
    max_people: int
    occupied_minutes: float
    booked_minutes: float


@dataclass(frozen=True, slots=True)
class OccupancyReport:
    space_id: int | None
    start: datetime
    end: datetime
    rows: list[ReportRow]

    @property
    def bucket_minutes(self) -> int:
        return int(BUCKET.total_seconds() // 60)


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 1)


def occupancy_report(
    session: Session, space_id: int | None, start: datetime, end: datetime, scope: SiteScope = ALL_SITES
) -> OccupancyReport:
    """Buckets starting in [start, end), of one space (its figures include the spaces inside
    it) or of every space of the sites in ``scope``; ordered by space then time."""
    query = (
        select(OccupancyBucket, Space.name)
        .join(Space, col(Space.id) == col(OccupancyBucket.space_id))
        .where(col(OccupancyBucket.bucket_start) >= start, col(OccupancyBucket.bucket_start) < end)
        .where(scope.where(Space.site_id))
        .order_by(col(OccupancyBucket.space_id), col(OccupancyBucket.bucket_start))
    )
    if space_id is not None:
        query = query.where(col(OccupancyBucket.space_id) == space_id)
    rows = [
        ReportRow(
            space_id=bucket.space_id,
            space=name,
            start=bucket.bucket_start,
            end=bucket.bucket_start + BUCKET,
            max_people=bucket.max_people,
            occupied_minutes=_minutes(bucket.occupied_seconds),
            booked_minutes=_minutes(bucket.booked_seconds),
        )
        for bucket, name in session.exec(query).all()
    ]
    return OccupancyReport(space_id, start, end, rows)


def report_csv(report: OccupancyReport, tz: ZoneInfo) -> str:
    """``;``-separated with decimal commas, local times: what French spreadsheets expect."""
    out = io.StringIO()
    writer = SpreadsheetWriter(out)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            (
                row.space_id,
                row.space,
                row.start.astimezone(tz).isoformat(),
                row.end.astimezone(tz).isoformat(),
                row.max_people,
                f"{row.occupied_minutes:.1f}".replace(".", ","),
                f"{row.booked_minutes:.1f}".replace(".", ","),
            )
        )
    return out.getvalue()
