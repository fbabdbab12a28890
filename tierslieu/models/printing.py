"""3D printing: queued jobs and the history of every attempt to print them.

A :class:`PrintJob` is what a member asked for (a stored G-code file, a printer, how many copies);
its ``status`` is re-derived by the dispatcher on every pass. Each time a job actually starts on a
printer a :class:`PrintRun` row is written: it is the history the FabLab reports to the town
(printer, member, start, end, print time, filament, outcome), kept even when a job is requeued.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow

__all__ = ["IN_FLIGHT", "PENDING", "JobStatus", "PrintJob", "PrintRun", "RunOutcome"]


class JobStatus(StrEnum):
    queued = "queued"
    waiting_booking = "waiting_booking"
    uploading = "uploading"
    printing = "printing"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class RunOutcome(StrEnum):
    printing = "printing"  # still running (or its end not yet seen)
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


# Jobs the dispatcher may start, and jobs that hold a printer.
PENDING: frozenset[str] = frozenset({JobStatus.queued, JobStatus.waiting_booking})
IN_FLIGHT: frozenset[str] = frozenset({JobStatus.uploading, JobStatus.printing})


def _fk(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT") -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True),
    )


def _params() -> Any:
    # A reason's parameters (tierslieu.printing.reasons), put into words when shown.
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _instant(*, nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PrintJob(SQLModel, table=True):
    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_printer_status", "printer_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    printer_id: int = _fk("printer.id")
    member_id: int = _fk("member.id")
    created_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL")
    booking_id: int | None = _fk("booking.id", nullable=True, ondelete="SET NULL")
    filename: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64)
    size_bytes: int
    estimated_seconds: int | None = None
    filament_mm: float | None = None
    slicer: str | None = Field(default=None, max_length=120)
    copies: int = 1
    copies_done: int = 0
    note: str = Field(default="", max_length=500)
    # Higher first; equal priorities keep their order of arrival.
    priority: int = 0
    status: str = Field(default=JobStatus.queued, sa_column=Column(String(16), nullable=False, index=True))
    reason_code: str = Field(default="", max_length=64)
    reason_params: dict[str, Any] = _params()
    progress: float = 0.0
    # The file name on OctoPrint; it carries the job id so a restart can recognise the job.
    octoprint_path: str | None = Field(default=None, max_length=255)
    attempts: int = 0
    dispatched_at: datetime | None = _instant()
    started_at: datetime | None = _instant()
    ended_at: datetime | None = _instant()
    created_at: datetime = _instant(nullable=False)


class PrintRun(SQLModel, table=True):
    __tablename__ = "print_run"
    __table_args__ = (Index("ix_print_run_started", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = _fk("print_job.id", ondelete="CASCADE")
    printer_id: int = _fk("printer.id")
    member_id: int = _fk("member.id")
    started_at: datetime = _instant(nullable=False)
    ended_at: datetime | None = _instant()
    print_time_s: int | None = None
    filament_mm: float | None = None
    outcome: str = Field(default=RunOutcome.printing, sa_column=Column(String(16), nullable=False))
    reason_code: str = Field(default="", max_length=64)
    reason_params: dict[str, Any] = _params()
