"""Figures for the administration home page, read through the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from tierslieu.booking import lifecycle
from tierslieu.models import Booking, Member
from tierslieu.services import devices as device_service
from tierslieu.services import members as member_service
from tierslieu.services.sites import SiteScope
from tierslieu.web.sites import SiteFilter

__all__ = ["DashboardCounts", "dashboard_counts", "pending_bookings"]


@dataclass(frozen=True)
class DashboardCounts:
    members: int
    pending: int
    devices: int
    devices_offline: int


def pending_bookings(session: Session, actor: Member, scope: SiteScope) -> list[Booking]:
    """Requests waiting for staff, for rooms of the sites in scope."""
    wanted = lifecycle.BookingFilter(statuses=("pending",), limit=500)
    return SiteFilter(session, scope).resources(lifecycle.list_bookings(session, actor, wanted))


def dashboard_counts(session: Session, actor: Member, scope: SiteScope) -> DashboardCounts:
    devices = SiteFilter(session, scope).spaces(device_service.list_devices(session))
    return DashboardCounts(
        members=len(member_service.list_members(session)),
        pending=len(pending_bookings(session, actor, scope)),
        devices=len(devices),
        devices_offline=sum(1 for d in devices if not d.online),
    )
