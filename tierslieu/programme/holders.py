"""Who a registration or an appointment is for: a member, a person without an account, a group."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GroupHolder", "Holder", "MemberHolder", "PersonHolder"]


@dataclass(frozen=True)
class MemberHolder:
    """A member with an account; ``None``: the caller."""

    member_id: int | None = None


@dataclass(frozen=True)
class PersonHolder:
    """Someone without an account. Contact details are kept only with ``consent``; a minor is
    never recorded by name (register their group instead)."""

    name: str
    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None
    birth_year: int | None = None
    consent: bool = False
    person_id: int | None = None  # an already known person (the front desk found them)


@dataclass(frozen=True)
class GroupHolder:
    """A group counted by head (a school class): the teacher's name, the school, how many."""

    contact_name: str
    head_count: int
    organisation: str = ""
    public: str | None = None
    age_band: str | None = None


Holder = MemberHolder | PersonHolder | GroupHolder
