"""Printers, print jobs and the printing report as the API shows them (API keys never appear)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tierslieu.models.printing import JobStatus
from tierslieu.printing.plugin import MAX_BASE_TOPIC

MAX_ID = 2**31 - 1


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PrinterCreate(_In):
    name: str = Field(min_length=1, max_length=120)
    resource_id: int = Field(ge=1, le=MAX_ID)
    octoprint_url: str = Field(min_length=1, max_length=500, examples=["http://192.168.1.50:5000"])
    api_key: str = Field(min_length=1, max_length=200, description="stored encrypted, never returned")
    mqtt_base_topic: str | None = Field(
        default=None,
        max_length=MAX_BASE_TOPIC,
        examples=["octoPrint/"],
        description="the OctoPrint-MQTT plugin's base topic, when the printer's OctoPrint runs it",
    )


class PrinterUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    resource_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    octoprint_url: str | None = Field(default=None, min_length=1, max_length=500)
    api_key: str | None = Field(default=None, min_length=1, max_length=200)
    mqtt_base_topic: str | None = Field(
        default=None, max_length=MAX_BASE_TOPIC, description="null or empty: stop following the plugin"
    )


class TemperaturePublic(BaseModel):
    actual: float | None = None
    target: float | None = None


class JobSummary(BaseModel):
    id: int
    status: JobStatus
    progress: float
    member_id: int
    filename: str


class PrinterPublic(BaseModel):
    id: int
    name: str
    resource_id: int
    octoprint_url: str
    mqtt_base_topic: str | None = None
    state: str = Field(description="offline, operational, printing, paused or error")
    state_reason: str = Field(default="", description="in the request's language (Accept-Language)")
    state_reason_code: str = Field(default="", description="stable code of state_reason, when known")
    bed_clear: bool
    current_job: JobSummary | None = None
    temperatures: dict[str, TemperaturePublic] = Field(default_factory=dict)
    last_seen: datetime | None = None


class PrintJobPublic(BaseModel):
    id: int
    status: JobStatus
    progress: float = Field(ge=0, le=100)
    printer_id: int
    member_id: int
    created_by: int | None = None
    booking_id: int | None = None
    reason: str = Field(default="", description="in the request's language (Accept-Language)")
    reason_code: str = ""
    filename: str
    size_bytes: int
    estimated_seconds: int | None = None
    filament_mm: float | None = None
    slicer: str | None = None
    copies: int
    copies_done: int
    note: str = ""
    priority: int
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None


class PriorityUpdate(_In):
    priority: int = Field(ge=-1000, le=1000, description="higher prints first; equal ones keep arrival order")


class ReportLinePublic(BaseModel):
    key: str
    label: str
    runs: int
    done: int
    failed: int
    cancelled: int
    print_time_s: int
    filament_mm: float


class PrintingReportPublic(BaseModel):
    start: datetime
    end: datetime
    total: ReportLinePublic
    by_member: list[ReportLinePublic]
    by_printer: list[ReportLinePublic]
    by_month: list[ReportLinePublic]
