"""What the FabLab page shows and the two-step upload: the queue per printer in dispatch order,
the "move up/down" arithmetic on priorities, and the signed ticket between preview and confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tierslieu.errors import InvalidInput
from tierslieu.models import Printer, PrintJob
from tierslieu.models.printing import IN_FLIGHT, PENDING
from tierslieu.printing.decisions import queue_order
from tierslieu.printing.queries import facts
from tierslieu.security import Secrets

__all__ = ["PrinterQueue", "UploadTicket", "moved_priorities", "queues"]

TICKET_MAX_AGE_S = 2 * 3600


@dataclass
class PrinterQueue:
    printer: Printer
    running: list[PrintJob] = field(default_factory=list)
    waiting: list[PrintJob] = field(default_factory=list)
    finished: list[PrintJob] = field(default_factory=list)


def in_queue_order(jobs: Sequence[PrintJob]) -> list[PrintJob]:
    return sorted(jobs, key=lambda job: queue_order(facts(job)))


def queues(printers: Sequence[Printer], jobs: Sequence[PrintJob], finished_shown: int = 5) -> list[PrinterQueue]:
    by_printer = {p.id: PrinterQueue(p) for p in printers}
    for job in jobs:
        queue = by_printer.get(job.printer_id)
        if queue is None:
            continue
        if job.status in IN_FLIGHT:
            queue.running.append(job)
        elif job.status in PENDING:
            queue.waiting.append(job)
        elif len(queue.finished) < finished_shown:
            queue.finished.append(job)  # jobs arrive newest first
    for queue in by_printer.values():
        queue.waiting = in_queue_order(queue.waiting)
    return list(by_printer.values())


def moved_priorities(waiting: Sequence[PrintJob], job_id: int, step: int) -> dict[int, int]:
    """New priorities after moving one waiting job ``step`` places (−1 up, +1 down).

    The dispatcher starts higher priorities first; giving the whole queue descending
    priorities in the new order makes the move exact whatever the priorities were.
    Returns only the jobs whose priority changes.
    """
    order = in_queue_order(waiting)
    current = {job.id: job.priority for job in order}
    index = next((i for i, job in enumerate(order) if job.id == job_id), None)
    if index is None:
        return {}
    target = min(max(index + step, 0), len(order) - 1)
    order.insert(target, order.pop(index))
    wanted = {job.id: len(order) - position for position, job in enumerate(order) if job.id is not None}
    return {jid: prio for jid, prio in wanted.items() if current[jid] != prio}


class UploadTicket:
    """The preview step stores the checked file and hands the browser a signed ticket naming it;
    confirming presents the ticket back, so the file is never uploaded twice or swapped."""

    def __init__(self, secret_box: Secrets) -> None:
        self._serializer = URLSafeTimedSerializer(secret_box.derive(b"print-upload"), salt="tierslieu-print")

    def issue(self, member_id: int, **fields: Any) -> str:
        return self._serializer.dumps({"member": member_id, **fields})

    def read(self, ticket: str, member_id: int) -> dict[str, Any]:
        try:
            data = self._serializer.loads(ticket, max_age=TICKET_MAX_AGE_S)
        except BadSignature as exc:
            raise expired_preview() from exc
        if not isinstance(data, dict) or data.get("member") != member_id:
            raise expired_preview()
        return data


def expired_preview() -> InvalidInput:
    return InvalidInput("upload_ticket_invalid")
