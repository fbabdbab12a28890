"""Administration — reports: printing and booked hours per week and per month, as charts with
their data tables, and CSV exports."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from fastapi import Depends
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import STAFF, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking import lifecycle
from tierslieu.booking.schedule import at_local_minute
from tierslieu.csv_export import SpreadsheetWriter
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, Member
from tierslieu.printing.reports import printing_report
from tierslieu.web.charts import BarChart, bar_chart
from tierslieu.web.page import Page, PageDep
from tierslieu.web.sites import SiteFilter

router = PrefixRouter(prefix="/admin/rapports", dependencies=[Depends(STAFF)])

WEEKS = 12
MONTHS = 12
# Bookings that used the space (a cancelled or no-show booking did not).
USED_STATUSES = ("confirmed", "checked_in", "completed")


def _week_starts(today: date) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in reversed(range(WEEKS))]


def _month_starts(today: date) -> list[date]:
    firsts, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(firsts))


def _periods(starts: list[date], next_start: date) -> list[tuple[date, date]]:
    return list(zip(starts, [*starts[1:], next_start], strict=True))


def _booked_hours(session: Session, actor: Member, start: datetime, end: datetime, in_scope: SiteFilter) -> float:
    wanted = lifecycle.BookingFilter(start=start, end=end, statuses=USED_STATUSES, limit=100_000)
    used: list[Booking] = in_scope.resources(lifecycle.list_bookings(session, actor, wanted))
    seconds = sum((min(b.end, end) - max(b.start, start)).total_seconds() for b in used)
    return round(seconds / 3600, 1)


def _rows(
    session: Session, page: Page, periods: list[tuple[date, date]], label: str, in_scope: SiteFilter
) -> list[dict[str, object]]:
    fmt, tz = page.fmt, page.tz
    rows = []
    for first, after in periods:
        start, end = at_local_minute(first, 0, tz), at_local_minute(after, 0, tz)
        printing = printing_report(session, start, end, tz, scope=page.scope).total
        rows.append(
            {
                "label": first.strftime(label) if label != "week" else fmt.short_day(first),
                "first": first,
                "booked_hours": _booked_hours(session, page.actor, start, end, in_scope),
                "prints": printing.runs,
                "print_hours": round(printing.print_time_s / 3600, 1),
            }
        )
    return rows


def _charts(prefix: str, rows: list[dict[str, object]], titles: tuple[str, str, str]) -> list[BarChart]:
    def points(key: str) -> list[tuple[str, float, str]]:
        return [(str(r["label"]), float(r[key]), f"{r[key]}") for r in rows]  # type: ignore[arg-type]

    return [
        bar_chart(f"{prefix}-reserve", titles[0], "h", points("booked_hours")),
        bar_chart(f"{prefix}-impressions", titles[1], "", points("prints")),
        bar_chart(f"{prefix}-heures-impression", titles[2], "h", points("print_hours")),
    ]


def _report(page: PageDep, session: Session) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    today = utcnow().astimezone(page.tz).date()
    in_scope = SiteFilter(session, page.scope)
    weeks_ = _periods(_week_starts(today), _week_starts(today)[-1] + timedelta(weeks=1))
    weeks = _rows(session, page, weeks_, "week", in_scope)
    months_first = _month_starts(today)
    following = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    months = _rows(session, page, _periods(months_first, following), "%m/%Y", in_scope)
    return weeks, months


@router.get("")
def reports(page: PageDep, session: SessionDep) -> Response:
    weeks, months = _report(page, session)
    _ = page.gettext
    return page.render(
        "admin/reports.html",
        title=_("Reports"),
        weeks=weeks,
        months=months,
        week_charts=_charts(
            "semaine", weeks, (_("Booked hours per week"), _("Prints per week"), _("Print hours per week"))
        ),
        month_charts=_charts(
            "mois", months, (_("Booked hours per month"), _("Prints per month"), _("Print hours per month"))
        ),
        year_start=date(utcnow().year, 1, 1),
        today=utcnow().astimezone(page.tz).date(),
    )


@router.get(".csv")
def reports_csv(page: PageDep, session: SessionDep) -> Response:
    weeks, months = _report(page, session)
    out = io.StringIO()
    writer = SpreadsheetWriter(out)
    writer.writerow(("periode", "debut", "heures_reservees", "impressions", "heures_impression"))
    for kind, rows in (("semaine", weeks), ("mois", months)):
        for row in rows:
            writer.writerow((kind, row["first"], row["booked_hours"], row["prints"], row["print_hours"]))
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tierslieu-rapport.csv"'},
    )
