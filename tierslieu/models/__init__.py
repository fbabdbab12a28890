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
    LoginThrottle,
    Member,
    Printer,
    Resource,
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
from tierslieu.models.printing import PrintJob, PrintRun

__all__ = [
    "BRIDGE_NAMES",
    "DEVICE_KINDS",
    "RESOURCE_KINDS",
    "ROLES",
    "SPACE_KINDS",
    "AccessEvent",
    "ApiToken",
    "Badge",
    "Booking",
    "BookingSeries",
    "Device",
    "DoorOverride",
    "LoginThrottle",
    "Member",
    "OccupancyBucket",
    "PrintJob",
    "PrintRun",
    "Printer",
    "Resource",
    "Role",
    "Space",
    "Training",
    "WaitlistEntry",
]
