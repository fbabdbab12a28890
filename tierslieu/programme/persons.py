"""People without an account, kept with the least data that serves.

A name is always kept; phone, e-mail and postal address only with the person's consent (they
are there to reach them about their registrations); a year of birth, for the age bands of the
reports. A minor is never recorded by name: their group is registered instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, or_, select

from tierslieu.booking.schedule import utc
from tierslieu.errors import InvalidInput, NotFound
from tierslieu.models import Member, Person
from tierslieu.programme.holders import PersonHolder
from tierslieu.programme.seats import is_minor

__all__ = ["CONSENT_CONTACT", "find_persons", "get_person", "person_from_holder"]

# What a person agrees to when they give their contact details at the front desk.
CONSENT_CONTACT = "contact"


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _phone(value: str | None) -> str | None:
    """Digits only (and a leading ``+``), so that a search by number finds it however written."""
    value = _clean(value)
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    if not 6 <= len(digits) <= 15:
        raise InvalidInput("programme.invalid_phone", phone=value)
    return ("+" if value.startswith("+") else "") + digits


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("programme.person_not_found", person=person_id)
    return person


def person_from_holder(session: Session, holder: PersonHolder, *, actor: Member, now: datetime) -> Person:
    """The known person (``holder.person_id``) or a new one, checked for least data."""
    if holder.person_id is not None:
        return get_person(session, holder.person_id)
    name = holder.name.strip()
    if not name:
        raise InvalidInput("programme.person_name_required")
    if is_minor(holder.birth_year, now.year):
        raise InvalidInput("programme.minor_not_named")
    phone, email, address = _phone(holder.phone), _clean(holder.email), _clean(holder.postal_address)
    if (phone or email or address) and not holder.consent:
        raise InvalidInput("programme.consent_required")
    person = Person(
        name=name,
        phone=phone,
        email=email,
        postal_address=address,
        birth_year=holder.birth_year,
        consent=CONSENT_CONTACT if holder.consent else "",
        consent_at=utc(now) if holder.consent else None,
        created_by=actor.id,
    )
    session.add(person)
    session.flush()
    return person


def find_persons(session: Session, text: str, *, limit: int = 20) -> Sequence[Person]:
    """The front desk's search: by part of the name or of the phone number."""
    text = text.strip()
    if not text:
        return []
    pattern = f"%{text.replace('%', '').replace('_', '')}%"
    digits = "".join(ch for ch in text if ch.isdigit())
    query = select(Person).where(
        or_(col(Person.name).ilike(pattern), col(Person.phone).contains(digits) if digits else col(Person.id) < 0)
    )
    return session.exec(query.order_by(col(Person.name), col(Person.id)).limit(limit)).all()
