"""One ``APIRouter`` per resource; ``ROUTERS`` lists them in the order they appear in the docs."""

from fastapi import APIRouter

from tierslieu.api.routes import (
    access_events,
    auth,
    availability,
    bookings,
    calendars,
    devices,
    emergency,
    members,
    occupancy,
    print_jobs,
    printers,
    reports_occupancy,
    reports_printing,
    resources,
    spaces,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    spaces.router,
    resources.router,
    members.router,
    devices.router,
    access_events.router,
    emergency.router,
    occupancy.router,
    bookings.router,
    availability.router,
    calendars.router,
    printers.router,
    print_jobs.router,
    reports_printing.router,
    reports_occupancy.router,
]
