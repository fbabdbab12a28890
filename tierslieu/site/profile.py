"""The public description of a place (the ``site:`` block's optional fields), in the words of
France's national standard for digital-mediation places (LaMednum/standard-mediation-num
v1.0.2, see ``tierslieu/standards/``): what the national export publishes.

Every field is optional: a site file without them keeps loading, and the export says which
required ones are missing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Access",
    "Accompaniment",
    "Address",
    "Fee",
    "NationalProgramme",
    "NationalPublic",
    "PublicProfile",
    "Service",
    "SpecificSupport",
]

Access = Literal[
    "Se présenter",
    "Téléphoner",
    "Contacter par mail",
    "Prendre un RDV en ligne",
    "Ce lieu n'accueille pas de public",
    "Envoyer un mail avec une fiche de prescription",
]
Accompaniment = Literal["En autonomie", "Accompagnement individuel", "Dans un atelier collectif", "À distance"]
Fee = Literal["Gratuit", "Gratuit sous condition", "Payant"]
Service = Literal[
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
]
NationalPublic = Literal["Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes"]
SpecificSupport = Literal[
    "Surdité",
    "Handicaps moteurs",
    "Handicaps mentaux",
    "Illettrisme",
    "Langues étrangères (anglais)",
    "Langues étrangères (autres)",
    "Déficience visuelle",
]
NationalProgramme = Literal[
    "Aidants Connect",
    "Bibliothèques numérique de référence",
    "Certification PIX",
    "Conseillers numériques",
    "Emmaüs Connect",
    "France Services",
    "Grande école du numérique",
    "La Croix Rouge",
    "Point d'accès numérique CAF",
    "Promeneurs du net",
    "Relais numérique (Emmaüs Connect)",
]


# The standard's telephone pattern: international form, no spaces.
PHONE_PATTERN = r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)\d{6,9}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(_Strict):
    street: str = Field(min_length=1, max_length=300, description="numéro et voie")
    complement: str | None = Field(default=None, max_length=300)
    postal_code: str = Field(pattern=r"^\d{5}$")
    commune: str = Field(min_length=1, max_length=120)
    insee_code: str | None = Field(default=None, pattern=r"^([013-9]\d|2[AB1-9])\d{3}$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class PublicProfile(_Strict):
    """The optional fields of ``site:`` that describe the place to the public."""

    siret: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9]{9,14}$", description="SIRET (or RNA): the pivot")
    address: Address | None = None
    phone: str | None = Field(
        default=None, pattern=r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)\d{6,9}$"
    )
    emails: list[str] = Field(default_factory=list)
    websites: list[str] = Field(default_factory=list)
    summary: str | None = Field(default=None, max_length=280)
    presentation: str | None = Field(default=None, max_length=5000)
    typology: list[str] = Field(default_factory=list, description="e.g. TIERS_LIEUX, MUNI")
    parent_structure: str | None = None
    itinerant: bool = False
    # What the place offers besides its workshops' themes and publics (the export adds those).
    services: list[Service] = Field(default_factory=list)
    publics: list[NationalPublic] = Field(default_factory=list)
    specific_support: list[SpecificSupport] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    national_programmes: list[NationalProgramme] = Field(default_factory=list)
    other_labels: str | None = None
    access: list[Access] = Field(default_factory=list, description="modalités d'accès")
    accompaniment: list[Accompaniment] = Field(default_factory=list, description="modalités d'accompagnement")
    appointment_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    accessibility_url: str | None = Field(default=None, pattern=r"^https?://\S+$", description="fiche Acceslibre")
