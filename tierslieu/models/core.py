"""Core tables: the site (spaces, resources, devices, printers) and people (members, badges, tokens)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow


def _json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _fk(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


def _instant(*, nullable: bool = True, default_now: bool = False) -> Any:
    if default_now:
        return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=nullable))
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class Site(SQLModel, table=True):
    """One place of the deployment (the tiers-lieu, a hall, a partner FabLab…) with its own
    timezone and spaces. ``data`` keeps the site file's public description (address, SIRET,
    contact, modalities) for the national export and the e-mails' signature."""

    id: int | None = Field(default=None, primary_key=True)
    # In URLs (``/kiosque/<slug>``) and in the site file's ``sites:`` entries; never changes.
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200, unique=True)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    data: dict[str, Any] = _json_column()
    updated_at: datetime = _instant(nullable=False, default_now=True)

    @property
    def address(self) -> dict[str, Any]:
        found = self.data.get("address")
        return found if isinstance(found, dict) else {}

    @property
    def postal_code(self) -> str | None:
        return self.address.get("postal_code")

    @property
    def city(self) -> str | None:
        return self.address.get("commune")


class Space(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    kind: str = Field(max_length=32)
    # Every space belongs to one site (a child to its parent's).
    site_id: int | None = _fk("site.id")
    parent_id: int | None = _fk("space.id", nullable=True)
    capacity: int | None = Field(default=None, ge=0)
    description: str = Field(default="", max_length=2000)
    rules: dict[str, Any] = _json_column()


class Resource(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    kind: str = Field(max_length=32)
    space_id: int | None = _fk("space.id")
    capacity: int | None = Field(default=None, ge=0)
    rules: dict[str, Any] = _json_column()
    active: bool = True


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["member"], sa_column=Column(JSON, nullable=False))
    # The sites where the member's staff roles apply; empty: every site (see services/sites.py).
    site_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    language: str = Field(default="fr", max_length=8)
    # Rotating this salt revokes the member's calendar feed URL (the token is derived, never stored).
    calendar_salt: str = Field(default="", max_length=64)
    created_at: datetime = _instant(nullable=False, default_now=True)


class Badge(SQLModel, table=True):
    """A badge UID, normalized. A removed badge stays as revoked so scans can say ``badge_revoked``."""

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True, index=True)
    member_id: int | None = _fk("member.id", ondelete="CASCADE")
    label: str = Field(default="", max_length=120)
    created_at: datetime = _instant(nullable=False, default_now=True)
    revoked_at: datetime | None = _instant()


class ApiToken(SQLModel, table=True):
    """Bearer tokens (login sessions and personal API tokens); only a SHA-256 of the secret is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = _fk("member.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(default="access", max_length=16)
    name: str = Field(default="", max_length=120)
    created_at: datetime = _instant(nullable=False, default_now=True)
    expires_at: datetime | None = _instant()
    last_used_at: datetime | None = _instant()


class IdentityGeneration(SQLModel, table=True):
    """One row whose ``value`` grows in the same transaction as any change to a member or a token.

    Every process caches callers' identities for a few seconds, tagged with this value, and reads
    it on each request: a revocation, a disabled account or a role change is seen at once, by
    every process, at the cost of one primary-key read.
    """

    __tablename__ = "identity_generation"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class Training(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("member_id", "training", name="uq_training_member"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = _fk("member.id", ondelete="CASCADE")
    training: str = Field(max_length=80)
    expires_on: date | None = None
    granted_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    granted_at: datetime = _instant(nullable=False, default_now=True)


class Device(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    kind: str = Field(max_length=32)
    bridge: str = Field(max_length=32)
    address: str = Field(max_length=200, index=True)
    space_id: int | None = _fk("space.id")
    resource_id: int | None = _fk("resource.id", nullable=True, ondelete="SET NULL")
    options: dict[str, Any] = _json_column()
    online: bool = False
    last_seen: datetime | None = _instant()
    # Last state the device reported (lock state, contact, occupancy…), for the controllers.
    reported: dict[str, Any] = _json_column()


class Printer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    resource_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="RESTRICT"), nullable=False, unique=True),
    )
    octoprint_url: str = Field(max_length=500)
    # Encrypted with a key derived from TIERSLIEU_SECRET_KEY; never returned by the API.
    api_key_encrypted: str = Field(max_length=1000)
    state: str = Field(default="offline", max_length=16)
    state_reason_code: str = Field(default="", max_length=64)
    state_reason_params: dict[str, Any] = _json_column()
    bed_clear: bool = True
    temperatures: dict[str, Any] = _json_column()
    current_job_id: int | None = None
    last_seen: datetime | None = _instant()
    # Where the OctoPrint-MQTT plugin publishes (its base topic, e.g. "octoPrint/"); None: not used.
    mqtt_base_topic: str | None = Field(default=None, max_length=200)


class LoginThrottle(SQLModel, table=True):
    """Failed log-ins counted per account (``account:<e-mail>``) and per address (``address:<ip>``).

    In the database rather than in memory so that every process of one install shares it.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=400)
    failures: int = 0
    last_failure_at: datetime = _instant(nullable=False, default_now=True)
    locked_until: datetime | None = _instant()
