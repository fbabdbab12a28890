"""The FabLab's printing activity for the town: prints summed by member, printer and month.

Built from the history of runs (one per print started on a printer), so a job that failed then
printed counts two runs: one failed, one done. Months are local calendar months.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.csv_export import SpreadsheetWriter
from tierslieu.models import Member, Printer, PrintRun
from tierslieu.models.printing import RunOutcome
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = ["PrintingReport", "ReportLine", "printing_report", "report_csv"]


@dataclass
class ReportLine:
    key: str
    label: str
    runs: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    print_time_s: int = 0
    filament_mm: float = 0.0

    def add(self, run: PrintRun) -> None:
        self.runs += 1
        if run.outcome == RunOutcome.done:
            self.done += 1
        elif run.outcome == RunOutcome.failed:
            self.failed += 1
        elif run.outcome == RunOutcome.cancelled:
            self.cancelled += 1
        self.print_time_s += run.print_time_s or 0
        self.filament_mm = round(self.filament_mm + (run.filament_mm or 0.0), 2)


@dataclass
class PrintingReport:
    start: datetime
    end: datetime
    total: ReportLine = field(default_factory=lambda: ReportLine("total", "Total"))
    by_member: list[ReportLine] = field(default_factory=list)
    by_printer: list[ReportLine] = field(default_factory=list)
    by_month: list[ReportLine] = field(default_factory=list)


def _grouped(lines: dict[str, ReportLine]) -> list[ReportLine]:
    return sorted(lines.values(), key=lambda line: (line.label.lower(), line.key))


def printing_report(
    session: Session, start: datetime, end: datetime, tz: ZoneInfo, scope: SiteScope = ALL_SITES
) -> PrintingReport:
    """Runs that started in ``[start, end)`` on the printers of the sites in ``scope``."""
    rows: Iterable[tuple[PrintRun, str, str]] = session.exec(
        select(PrintRun, Member.name, Printer.name)
        .join(Member, col(Member.id) == PrintRun.member_id)
        .join(Printer, col(Printer.id) == PrintRun.printer_id)
        .where(col(PrintRun.started_at) >= start, col(PrintRun.started_at) < end)
        .where(scope.where_resource(Printer.resource_id))
        .order_by(col(PrintRun.started_at))
    ).all()
    report = PrintingReport(start=start, end=end)
    members: dict[str, ReportLine] = {}
    printers: dict[str, ReportLine] = {}
    months: dict[str, ReportLine] = {}
    for run, member_name, printer_name in rows:
        month = run.started_at.astimezone(tz).strftime("%Y-%m")
        report.total.add(run)
        members.setdefault(str(run.member_id), ReportLine(str(run.member_id), member_name)).add(run)
        printers.setdefault(str(run.printer_id), ReportLine(str(run.printer_id), printer_name)).add(run)
        months.setdefault(month, ReportLine(month, month)).add(run)
    report.by_member, report.by_printer = _grouped(members), _grouped(printers)
    report.by_month = sorted(months.values(), key=lambda line: line.key)
    return report


CSV_COLUMNS = (
    "regroupement",
    "cle",
    "libelle",
    "impressions",
    "reussies",
    "echouees",
    "annulees",
    "duree_impression_s",
    "filament_mm",
)


def report_csv(report: PrintingReport) -> str:
    """One table (``;``-separated, as French spreadsheets expect): a section per grouping."""
    out = io.StringIO()
    writer = SpreadsheetWriter(out)
    writer.writerow(CSV_COLUMNS)
    sections = (("membre", report.by_member), ("imprimante", report.by_printer), ("mois", report.by_month))
    for name, lines in (*sections, ("total", [report.total])):
        for line in lines:
            writer.writerow(
                (
                    name,
                    line.key,
                    line.label,
                    line.runs,
                    line.done,
                    line.failed,
                    line.cancelled,
                    line.print_time_s,
                    f"{line.filament_mm:.2f}",
                )
            )
    return out.getvalue()
