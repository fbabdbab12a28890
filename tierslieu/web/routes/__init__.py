"""One router per page family; every state-changing request is CSRF-checked."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Depends

from tierslieu.web.routes import (
    admin,
    admin_site,
    agenda,
    appointments,
    auth,
    booking,
    front_desk,
    inclusion,
    kiosk,
    mybookings,
    occupancy,
    printing,
    privacy,
    reports,
    workshops,
)
from tierslieu.web.security import csrf_guard

PAGE_ROUTERS = (
    auth.router,
    booking.router,
    mybookings.router,
    printing.router,
    occupancy.router,
    agenda.router,  # before the kiosk: /kiosk/agenda is not a space id
    kiosk.router,
    front_desk.router,
    workshops.router,
    appointments.router,
    admin.router,
    admin_site.router,
    reports.router,
    inclusion.router,
    privacy.router,
)


# Once per process: FastAPI analyses every page route again for each router that includes it,
# and no page route holds anything of one app (each reads its app from the request).
@cache
def build_router() -> APIRouter:
    web = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])
    for router in PAGE_ROUTERS:
        web.include_router(router)
    return web
