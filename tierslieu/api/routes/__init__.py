"""One ``APIRouter`` per resource; ``ROUTERS`` lists them in the order they appear in the docs."""

from fastapi import APIRouter

from tierslieu.api.routes import auth, availability, bookings, calendars, members, resources, spaces

ROUTERS: list[APIRouter] = [
    auth.router,
    spaces.router,
    resources.router,
    members.router,
    bookings.router,
    availability.router,
    calendars.router,
]
