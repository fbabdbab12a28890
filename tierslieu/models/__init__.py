"""Tables. Each family follows the FastAPI-template shape: ``XBase`` → ``X(table=True)``.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic reads it).
Public request/response shapes live beside the routes (``tierslieu.api.schemas``), so secrets
stored here never reach a response by accident.
"""

from tierslieu.models.access import AccessEvent, DoorOverride
from tierslieu.models.booking import Booking, BookingSeries, WaitlistEntry
from tierslieu.models.core import (
    ApiToken,
    Badge,
    Device,
    IdentityGeneration,
    LoginThrottle,
    Member,
    Printer,
    Resource,
    Site,
    Space,
    Training,
)
from tierslieu.models.enums import (
    BRIDGE_NAMES,
    DEVICE_KINDS,
    RESOURCE_KINDS,
    ROLES,
    SPACE_KINDS,
    Role,
)
from tierslieu.models.occupancy import OccupancyBucket
from tierslieu.models.outbox import OutboxMessage, SessionVisits, VisitTrace
from tierslieu.models.printing import PrintJob, PrintRun
from tierslieu.models.privacy import AccessDailyCount, AccessEventPurge
from tierslieu.models.programme import (
    ActivityReport,
    Appointment,
    Attendance,
    GroupRegistration,
    Person,
    Registration,
    SessionPrinter,
    Workshop,
    WorkshopSession,
)

__all__ = [
    "BRIDGE_NAMES",
    "DEVICE_KINDS",
    "RESOURCE_KINDS",
    "ROLES",
    "SPACE_KINDS",
    "AccessDailyCount",
    "AccessEvent",
    "AccessEventPurge",
    "ActivityReport",
    "ApiToken",
    "Appointment",
    "Attendance",
    "Badge",
    "Booking",
    "BookingSeries",
    "Device",
    "DoorOverride",
    "GroupRegistration",
    "IdentityGeneration",
    "LoginThrottle",
    "Member",
    "OccupancyBucket",
    "OutboxMessage",
    "Person",
    "PrintJob",
    "PrintRun",
    "Printer",
    "Registration",
    "Resource",
    "Role",
    "SessionPrinter",
    "SessionVisits",
    "Site",
    "Space",
    "Training",
    "VisitTrace",
    "WaitlistEntry",
    "Workshop",
    "WorkshopSession",
]
