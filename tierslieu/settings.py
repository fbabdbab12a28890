"""Service settings, read from ``TIERSLIEU_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tierslieu.secret_key import MIN_KEY_LENGTH, is_known_default


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIERSLIEU_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    mqtt_url: str | None = None
    mqtt_client_id: str = "tierslieu"
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
    # 3D printing: how often the dispatcher polls OctoPrint, and how long it waits for an answer.
    printing_poll_seconds: float = Field(default=3.0, gt=0)
    octoprint_timeout_seconds: float = Field(default=5.0, gt=0)
    # Background work (device controller, scheduler) can be turned off for tools and some tests.
    run_background: bool = True
    # Booking scheduler: seconds between level-triggered passes (no-shows, completion, waitlist).
    booking_pass_seconds: float = Field(default=30.0, gt=0)
    # How long a member offered a freed slot from the waitlist has to accept it.
    waitlist_offer_minutes: int = Field(default=30, ge=1)
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
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
