"""Demo people for `tierslieu demo`: a few members with badges the simulated readers can scan."""

from __future__ import annotations

import contextlib

from sqlmodel import col, func, select

from tierslieu.errors import TiersLieuError
from tierslieu.models import Member
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service

__all__ = ["DEMO_PASSWORD", "DEMO_PEOPLE", "ensure_demo_people", "non_demo_members"]

# (name, e-mail, roles, badge UID); the password is only for trying the web app locally.
# Karim leads the seniors' and the FabLab workshops, Nadia is the digital-inclusion advisor
# (config/trilport.yaml names them as leaders); the CCAS books appointments for the people it refers.
DEMO_PEOPLE: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("Camille Martin", "camille.demo@trilport.test", ["member"], "74103794"),
    ("Karim Benali", "karim.demo@trilport.test", ["animator"], "A1B2C3D4"),
    ("Sophie Leroy", "sophie.demo@trilport.test", ["staff"], "5E6F7081"),
    ("Nadia Haddad", "nadia.demo@trilport.test", ["animator"], "9A8B7C6D"),
    ("CCAS de Trilport", "ccas.demo@trilport.test", ["partner"], None),
)
DEMO_PASSWORD = "demo-trilport"
# Karim leads the school class's FabLab session: the printers ask for their training.
DEMO_TRAININGS = {"karim.demo@trilport.test": ("impression-3d",)}


def non_demo_members(runtime: Runtime) -> int:
    """How many accounts are not demo people (a real install's database: the demo stays out)."""
    demo_emails = [email for _name, email, _roles, _uid in DEMO_PEOPLE]
    with runtime.db.session() as session:
        query = select(func.count()).select_from(Member).where(col(Member.email).not_in(demo_emails))
        return int(session.exec(query).one())


def ensure_demo_people(runtime: Runtime) -> list[str]:
    """Create the demo members and badges that do not exist yet; return every demo badge UID."""
    with runtime.db.session(write=True) as session:
        for name, email, roles, uid in DEMO_PEOPLE:
            member = member_service.find_by_email(session, email)
            if member is None:
                member = member_service.create_member(
                    session, runtime.secrets, name=name, email=email, roles=roles, password=DEMO_PASSWORD
                )
            for training in DEMO_TRAININGS.get(email, ()):
                member_service.grant_training(session, member, training, expires_on=None, granted_by=None)
            if uid is None:
                continue
            with contextlib.suppress(TiersLieuError):  # idempotent; a badge given to someone else stays theirs
                member_service.add_badge(session, member, uid, label="démo")
        session.commit()
    return [uid for *_rest, uid in DEMO_PEOPLE if uid is not None]
