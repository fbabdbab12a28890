"""Spaces, resources and members as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from devices.badge_ids import WrittenFormat
from tierslieu.models.enums import ResourceKind, Role, SpaceKind

Name = Field(min_length=1, max_length=120)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SitePublic(BaseModel):
    id: int
    slug: str
    name: str
    timezone: str
    address: str | None = Field(default=None, description="numéro et voie")
    postal_code: str | None = None
    city: str | None = None
    opening_hours: str | None = Field(default=None, description="OSM opening_hours, from its buildings' rules")


class SpaceCreate(_In):
    name: str = Name
    kind: SpaceKind
    parent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    site_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="a top-level space's site (a child is in its parent's)"
    )
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    description: str = Field(default="", max_length=2000)
    rules: dict[str, Any] = Field(default_factory=dict)


class SpaceUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: SpaceKind | None = None
    parent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    site_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="moves a top-level space and its tree")
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] | None = Field(default=None, description="merged key by key; null removes a key")


class SpacePublic(BaseModel):
    id: int
    name: str
    kind: str
    site_id: int
    parent_id: int | None
    capacity: int | None
    description: str = ""
    rules: dict[str, Any]


class ResourceCreate(_In):
    name: str = Name
    kind: ResourceKind
    space_id: int = Field(ge=1, le=2**31 - 1)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    rules: dict[str, Any] = Field(default_factory=dict)


class ResourceUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: ResourceKind | None = None
    space_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    active: bool | None = None
    rules: dict[str, Any] | None = None


class ResourcePublic(BaseModel):
    id: int
    name: str
    kind: str
    space_id: int
    capacity: int | None = None
    active: bool = True
    rules: dict[str, Any] = Field(default_factory=dict, description="the resource's own overrides")


class ResourceDetail(ResourcePublic):
    effective_rules: dict[str, Any] = Field(description="the rules that apply, inheritance resolved")


Password = Field(default=None, min_length=8, max_length=256)


SiteId = Annotated[int, Field(ge=1, le=2**31 - 1)]
SITE_IDS_DOC = (
    "les sites où s'appliquent ses rôles de salarié, agent, animateur ou partenaire (vide : tous) ; "
    "seuls les administrateurs et les salariés de tous les sites en donnent d'autres que les leurs"
)


class MemberCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    roles: list[Role] = Field(default_factory=lambda: [Role.member], min_length=1)
    password: str | None = Password
    language: Literal["fr", "en"] = "fr"
    site_ids: list[SiteId] = Field(default_factory=list, max_length=100, description=SITE_IDS_DOC)


class MemberUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    password: str | None = Password
    current_password: str | None = Field(
        default=None, max_length=256, description="requis pour changer son propre mot de passe"
    )
    active: bool | None = None
    language: Literal["fr", "en"] | None = None
    site_ids: list[SiteId] | None = Field(default=None, max_length=100, description=SITE_IDS_DOC)


class BadgePublic(BaseModel):
    uid: str
    label: str = ""


class TrainingPublic(BaseModel):
    training: str
    expires_on: date | None = None


class MemberPublic(BaseModel):
    id: int
    name: str
    email: str | None = Field(description="null for animators reading someone else (names only)")
    roles: list[str]
    active: bool = True
    language: str = "fr"
    badges: list[BadgePublic] | None = Field(
        default_factory=list, description="null for animators reading someone else (no badge UIDs)"
    )
    trainings: list[TrainingPublic] = Field(default_factory=list)
    site_ids: list[int] = Field(default_factory=list, description=SITE_IDS_DOC)


class BadgeCreate(_In):
    uid: str = Field(min_length=1, max_length=64, description='as written: "74:10:37:94", "7616525", "118,15080"')
    label: str = Field(default="", max_length=120)
    format: WrittenFormat = Field(
        default="hex", description="hex (separators allowed), decimal, wiegand26 / wiegand34 (facility,card), pin"
    )


class TrainingCreate(_In):
    training: str = Field(min_length=1, max_length=80)
    expires_on: date | None = None


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int | None = None


class PersonalTokenCreate(_In):
    name: str = Field(min_length=1, max_length=120)
    expires_in_days: int = Field(default=90, ge=1, le=365, description="validité en jours (un an au plus)")


class TokenPublic(BaseModel):
    """A token as its owner and admins see it: never the secret itself."""

    id: int
    kind: str = Field(description="access (a log-in session) or personal (scripts)")
    name: str
    created_at: datetime
    expires_at: datetime | None
