"""Service settings, read from ``TIERSLIEU_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tierslieu.secret_key import MIN_KEY_LENGTH, is_known_default

# Connections kept for background components (device hub, audit writer, scheduler, dispatcher).
BACKGROUND_CONNECTIONS = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIERSLIEU_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    mqtt_url: str | None = None
    mqtt_client_id: str = "tierslieu"
    # Process role (`serve --role`): all (one process does everything), api (HTTP only, as many
    # as wanted) or controller (device side; exactly one leads, the others stand by).
    role: Literal["all", "api", "controller"] = "all"
    # Controllers of one group elect one leader (PostgreSQL advisory lock keyed by this name).
    controller_group: str = Field(default="default", min_length=1, max_length=100)
    # How often a standby controller checks whether the leader is gone (0: a quarter door pass).
    leader_poll_seconds: float = Field(default=0.0, ge=0)
    # Log lines as text (default) or one JSON object per line (for log collectors).
    log_format: Literal["text", "json"] = "text"
    # Port of the embedded broker (used when mqtt_url is unset); 0 picks a free one at start.
    mqtt_embedded_port: int = Field(default=0, ge=0, le=65535)
    # Unset: generated once into <data_dir>/secret_key (not in production, where it is required).
    secret_key: str | None = None
    site: Path | None = None
    # A TLS-terminating reverse proxy stands in front (silences the clear-text warning of `serve`).
    behind_tls_proxy: bool = False
    timezone: str = "Europe/Paris"
    language: Literal["fr", "en"] = "fr"
    access_token_minutes: int = Field(default=12 * 60, ge=1)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # A request body (uploads included) must arrive within this time, or the answer is 408.
    request_body_timeout_seconds: float = Field(default=60.0, gt=0)
    # Load (README, "Sizing under load"): database connections, worker threads and the write gate
    # are sized together — see ``_sized_together``. A request never waits longer than
    # ``db_pool_timeout_seconds`` for a connection (503 + Retry-After past it).
    db_pool_size: int = Field(default=16, ge=1, le=500)
    db_pool_overflow: int = Field(default=16, ge=0, le=500)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    worker_threads: int = Field(default=16, ge=2, le=500)
    postgres_writers: int = Field(default=8, ge=1, le=200)
    # Live streams (SSE): at most this many open at once, and per member (503 + Retry-After past it).
    sse_max_streams: int = Field(default=100, ge=1)
    sse_max_streams_per_member: int = Field(default=5, ge=1)
    # API request rates (the `limits` library's notation, sliding-window counters): per signed-in member
    # and per client address; past them: 429 + Retry-After.
    rate_limit_member: str = "600/minute"
    rate_limit_address: str = "1200/minute"
    # Print previews not confirmed within this time are deleted; per-member quota of previews.
    print_preview_expiry_minutes: int = Field(default=60, ge=1)
    print_preview_max_count: int = Field(default=5, ge=1)
    print_preview_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # Personal data: access-log lines older than this are purged (daily counts are kept);
    # whom people write to about their data (the town hall's DPO) — shown on the privacy page.
    access_log_retention_days: int = Field(default=90, ge=1, le=3650)
    privacy_purge_hours: float = Field(default=6.0, gt=0)
    privacy_contact: str = ""
    # 3D printing: how often the dispatcher polls OctoPrint, and how long it waits for an answer.
    printing_poll_seconds: float = Field(default=3.0, gt=0)
    octoprint_timeout_seconds: float = Field(default=5.0, gt=0)
    # Background work (device controller, scheduler) can be turned off for tools and some tests.
    run_background: bool = True
    # Booking scheduler: seconds between level-triggered passes (no-shows, completion, waitlist).
    booking_pass_seconds: float = Field(default=30.0, gt=0)
    # How long a member offered a freed slot from the waitlist has to accept it.
    waitlist_offer_minutes: int = Field(default=30, ge=1)
    # Programme: attendance lists older than this are reduced to counts (privacy).
    attendance_retention_months: int = Field(default=12, ge=1, le=120)
    # Devices (tierslieu.hardware): device states are written to the database in batches.
    device_flush_seconds: float = Field(default=2.0, gt=0)
    # Door strike pulse after a granted badge, unless the door's options say `pulse_seconds`.
    door_pulse_seconds: float = Field(default=5.0, gt=0, le=600)
    # Door controller: seconds between level-triggered passes, and before re-sending a command
    # a door has not obeyed.
    door_pass_seconds: float = Field(default=2.0, gt=0)
    door_resend_seconds: float = Field(default=5.0, gt=0)
    # A fail-secure door's hold-open is timed on the device and renewed half-way: without
    # tierslieu or the broker, the door relocks within this delay.
    door_secure_hold_seconds: float = Field(default=120.0, ge=2, le=3600)
    # The same badge on the same reader within this window is one scan (QoS 1 redelivery).
    access_dedupe_seconds: float = Field(default=3.0, ge=0)
    # Seconds between reloads of the in-memory access facts (badges, members, bookings).
    access_refresh_seconds: float = Field(default=2.0, gt=0)
    # Live occupancy (tierslieu.occupancy): seconds between passes over bookings and rules,
    # delay that merges a burst of sensor messages into one update, and the silence after
    # which a device counts as offline (0: only its last will / availability says so).
    occupancy_pass_seconds: float = Field(default=30.0, gt=0)
    occupancy_debounce_seconds: float = Field(default=0.2, ge=0)
    device_silence_minutes: int = Field(default=120, ge=0)
    # Server-Sent Events: keep-alive comment interval, and how long one stream lasts before the
    # browser reconnects (so proxies and server restarts never keep a stream forever).
    occupancy_keepalive_seconds: float = Field(default=15.0, gt=0)
    occupancy_stream_max_seconds: float = Field(default=3600.0, gt=0)
    # Home Assistant MQTT discovery of spaces and doors.
    homeassistant_discovery: bool = True
    homeassistant_prefix: str = "homeassistant"
    # Demo: simulated devices speaking the real firmware formats (`serve --simulate`, `demo`),
    # with fault injection like OctoPrint's virtual printer.
    # Notifications (tierslieu.outbox): SMTP server as smtp://user:password@host:port or smtps://…
    # (STARTTLS with ?starttls=true, the default on port 587). Unset: messages are written as
    # .eml files under data_dir/outbox, so nothing is lost and staff can read them.
    smtp_url: str | None = None
    mail_from: str = "Tiers-lieu <ne-pas-repondre@tierslieu.localhost>"
    outbox_pass_seconds: float = Field(default=10.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    # Messages sent (or undeliverable) are deleted after this many days (names, addresses).
    outbox_retention_days: int = Field(default=90, ge=1, le=3660)
    simulate: bool = False
    simulate_delay_ms: int = Field(default=0, ge=0, le=60_000)
    simulate_loss: float = Field(default=0.0, ge=0, le=1)
    simulate_garbage: float = Field(default=0.0, ge=0, le=1)
    simulate_interval_seconds: float = Field(default=3.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"fuseau horaire inconnu : {value!r}") from exc
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        from tierslieu.outbox.transports import parse_smtp_url

        if value:
            parse_smtp_url(value)  # a clear error at start, not at the first e-mail
        return value or None

    @field_validator("secret_key")
    @classmethod
    def _no_known_default(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None  # TIERSLIEU_SECRET_KEY= (empty) means unset
        if value is not None and is_known_default(value):
            raise ValueError(
                "TIERSLIEU_SECRET_KEY is a published default value: set a secret one "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))') or unset it to generate one"
            )
        return value

    @field_validator("rate_limit_member", "rate_limit_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"rate limit {value!r}: expected e.g. '600/minute' or '20/second;600/minute'") from exc
        return value

    @model_validator(mode="after")
    def _sized_together(self) -> Settings:
        """Every worker thread can hold a connection with room left for the background
        components, and the PostgreSQL writers fit in the threads: then a request queues for a
        thread (on the event loop, costing nothing) rather than for a connection inside one."""
        connections = self.db_pool_size + self.db_pool_overflow
        if connections < self.worker_threads + BACKGROUND_CONNECTIONS:
            raise ValueError(
                f"TIERSLIEU_DB_POOL_SIZE + TIERSLIEU_DB_POOL_OVERFLOW ({connections}) must be at least "
                f"TIERSLIEU_WORKER_THREADS + {BACKGROUND_CONNECTIONS} ({self.worker_threads + BACKGROUND_CONNECTIONS})"
            )
        if self.postgres_writers > self.worker_threads // 2:
            raise ValueError("TIERSLIEU_POSTGRES_WRITERS must be at most half of TIERSLIEU_WORKER_THREADS")
        return self

    @model_validator(mode="after")
    def _production_needs_a_key(self) -> Settings:
        if self.environment != "production":
            return self
        if self.secret_key is None:
            raise ValueError(
                "TIERSLIEU_SECRET_KEY must be set in production "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if len(self.secret_key) < MIN_KEY_LENGTH:
            raise ValueError(f"TIERSLIEU_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tierslieu.db').as_posix()}"

    @property
    def leader_poll_interval(self) -> float:
        """Standbys take over within one door pass: they look at the lock four times per pass,
        leaving most of the pass to start the device side."""
        return self.leader_poll_seconds or self.door_pass_seconds / 4

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
