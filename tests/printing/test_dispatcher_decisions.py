"""The dispatcher's decisions as pure functions: a fake clock, fake printer snapshots, plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firmware_bridges.octoprint import PrinterSnapshot, PrinterState
from tierslieu.models.printing import JobStatus, RunOutcome
from tierslieu.printing.decisions import (
    START_GRACE,
    BookingFacts,
    JobFacts,
    Observation,
    Window,
    booking_for,
    job_id_of,
    octoprint_name,
    plan_queue,
    readiness,
    reconcile,
)
from tierslieu.printing.reasons import Reason

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
ALICE, BOB, ANIMATOR = 1, 2, 3
OPEN = Window(closes_at=NOW + timedelta(hours=4), overrun=timedelta(minutes=30))
IDLE = Observation(PrinterSnapshot(PrinterState.OPERATIONAL))


def booking(
    member: int, *, start: timedelta = timedelta(minutes=-10), hours: float = 1, ident: int = 100
) -> BookingFacts:
    return BookingFacts(ident, member, NOW + start, NOW + start + timedelta(hours=hours))


def waiting(ident: int, member: int = ALICE, **kw: object) -> JobFacts:
    return JobFacts(id=ident, member_id=member, status=JobStatus.queued, **kw)  # type: ignore[arg-type]


def running(
    ident: int = 7, status: JobStatus = JobStatus.printing, dispatched: timedelta = timedelta(minutes=-5)
) -> JobFacts:
    return JobFacts(
        id=ident,
        member_id=ALICE,
        status=status,
        octoprint_path=octoprint_name(ident, 1),
        dispatched_at=NOW + dispatched,
    )


def seen(
    state: PrinterState, job_file: str | None = None, progress: float | None = None, error: str | None = None
) -> Observation:
    return Observation(PrinterSnapshot(state, job_file=job_file, progress=progress, print_time_s=42, error=error))


# --- file names carry the job id -----------------------------------------------------------------


def test_octoprint_names_carry_the_job_id() -> None:
    assert job_id_of(octoprint_name(42, 3)) == 42
    assert job_id_of("folder/" + octoprint_name(7, 1)) == 7
    for foreign in (None, "", "benchy.gcode", "tierslieu-job-x-1.gcode", "tierslieu-job-4-1.gcode.bak"):
        assert job_id_of(foreign) is None


# --- which job starts ----------------------------------------------------------------------------


def test_owner_with_active_booking_starts_on_idle_printer() -> None:
    plan = plan_queue(NOW, None, [waiting(1)], [booking(ALICE)], OPEN)
    assert plan.start == 1
    assert plan.statuses[1] == (JobStatus.uploading, None)


def test_without_active_booking_the_job_waits_for_its_slot() -> None:
    plan = plan_queue(NOW, None, [waiting(1)], [booking(BOB)], OPEN)
    assert plan.start is None
    assert plan.statuses[1] == (JobStatus.waiting_booking, Reason("no_active_booking"))


def test_booking_that_starts_later_is_not_active_yet_then_starts() -> None:
    later = booking(ALICE, start=timedelta(minutes=30))
    assert plan_queue(NOW, None, [waiting(1)], [], OPEN).start is None
    # The dispatcher only passes bookings active at "now": when the slot begins it is there.
    assert plan_queue(later.start, None, [waiting(1)], [later], OPEN).start == 1


def test_workshop_job_attached_to_the_animators_booking() -> None:
    workshop = booking(ANIMATOR, ident=55)
    job = waiting(1, member=BOB, booking_id=55)
    assert plan_queue(NOW, None, [job], [workshop], OPEN).start == 1
    # Attached to another booking: the animator's slot does not let it start.
    other = waiting(2, member=BOB, booking_id=56)
    plan = plan_queue(NOW, None, [other], [workshop], OPEN)
    assert plan.statuses[2] == (JobStatus.waiting_booking, Reason("booking_not_active"))


def test_booking_for_prefers_the_attached_booking() -> None:
    mine, workshop = booking(ALICE, ident=1), booking(ANIMATOR, ident=2)
    assert booking_for(waiting(1), [workshop, mine]) == mine
    assert booking_for(waiting(1, booking_id=2), [mine, workshop]) == workshop


@pytest.mark.parametrize(
    ("estimate_min", "booking_left_min", "closes_in_min", "fits"),
    [
        (30, 50, 240, True),
        (80, 50, 240, True),  # 50 min left + 30 min overrun = 80: fits exactly
        (81, 50, 240, False),
        (60, 240, 45, False),  # the FabLab closes first
        (45, 240, 45, True),
    ],
)
def test_estimated_time_must_fit_before_booking_end_plus_overrun_and_closing(
    estimate_min: int, booking_left_min: int, closes_in_min: int, fits: bool
) -> None:
    slot = BookingFacts(1, ALICE, NOW - timedelta(minutes=10), NOW + timedelta(minutes=booking_left_min))
    window = Window(closes_at=NOW + timedelta(minutes=closes_in_min), overrun=timedelta(minutes=30))
    plan = plan_queue(NOW, None, [waiting(1, estimated_seconds=estimate_min * 60)], [slot], window)
    assert (plan.start == 1) is fits
    if not fits:
        status, reason = plan.statuses[1]
        assert status == JobStatus.waiting_booking and reason is not None
        assert reason.code == "does_not_fit"
        assert reason.until == min(slot.end + window.overrun, window.closes_at)  # type: ignore[type-var]


def test_unknown_estimate_is_not_held_back() -> None:
    assert plan_queue(NOW, None, [waiting(1, estimated_seconds=None)], [booking(ALICE)], OPEN).start == 1


def test_closed_fablab_starts_nothing() -> None:
    plan = plan_queue(NOW, None, [waiting(1)], [booking(ALICE)], Window(closes_at=None))
    assert plan.start is None
    assert plan.statuses[1] == (JobStatus.waiting_booking, Reason("fablab_closed"))


def test_priority_then_arrival_order_and_one_start_per_pass() -> None:
    jobs = [waiting(1), waiting(2, priority=5), waiting(3, priority=5)]
    plan = plan_queue(NOW, None, jobs, [booking(ALICE)], OPEN)
    assert plan.start == 2
    assert plan.statuses[3] == (JobStatus.queued, Reason("behind_other_job"))
    assert plan.statuses[1] == (JobStatus.queued, Reason("behind_other_job"))


def test_a_job_that_may_print_passes_one_that_cannot() -> None:
    jobs = [waiting(1, member=BOB, priority=9), waiting(2, member=ALICE)]
    plan = plan_queue(NOW, None, jobs, [booking(ALICE)], OPEN)
    assert plan.start == 2
    assert plan.statuses[1][0] == JobStatus.waiting_booking


def test_not_ready_printer_keeps_eligible_jobs_queued_with_the_reason() -> None:
    plan = plan_queue(NOW, Reason("bed_not_clear"), [waiting(1)], [booking(ALICE)], OPEN)
    assert plan.start is None
    assert plan.statuses[1] == (JobStatus.queued, Reason("bed_not_clear"))


# --- is the printer ready ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "bed_clear", "holds_job", "code"),
    [
        (IDLE, True, False, None),
        (IDLE, False, False, "bed_not_clear"),
        (IDLE, True, True, "printer_busy"),
        (seen(PrinterState.PRINTING, "benchy.gcode"), True, False, "printer_busy"),
        (seen(PrinterState.PAUSED), True, False, "printer_busy"),
        (seen(PrinterState.OFFLINE), True, False, "printer_offline"),
        (seen(PrinterState.ERROR, error="Thermal runaway"), True, False, "printer_error"),
        (Observation(None, Reason("printer_unreachable", "refused")), True, False, "printer_unreachable"),
        (Observation(None, Reason("octoprint_garbled")), True, False, "octoprint_garbled"),
    ],
)
def test_readiness(observation: Observation, bed_clear: bool, holds_job: bool, code: str | None) -> None:
    reason = readiness(observation, bed_clear=bed_clear, holds_job=holds_job)
    assert (reason.code if reason else None) == code


def test_observation_state_when_octoprint_cannot_be_read() -> None:
    assert Observation(None, Reason("printer_unreachable")).state is PrinterState.OFFLINE
    assert Observation(None, Reason("no_api_key")).state is PrinterState.OFFLINE
    assert Observation(None, Reason("octoprint_auth")).state is PrinterState.ERROR


# --- what became of a running job ----------------------------------------------------------------


def test_progress_of_our_print() -> None:
    job = running()
    change = reconcile(job, seen(PrinterState.PRINTING, job.octoprint_path, 37.5), NOW)
    assert change is not None
    assert (change.status, change.progress, change.print_time_s, change.outcome) == (JobStatus.printing, 37.5, 42, None)


def test_paused_print_says_so() -> None:
    job = running()
    change = reconcile(job, seen(PrinterState.PAUSED, job.octoprint_path, 50), NOW)
    assert change is not None and change.reason == Reason("paused")


def test_finished_print_is_done() -> None:
    job = running()
    change = reconcile(job, seen(PrinterState.OPERATIONAL, job.octoprint_path, 100.0), NOW)
    assert change is not None
    assert (change.status, change.outcome, change.progress) == (JobStatus.done, RunOutcome.done, 100.0)


def test_print_cancelled_on_the_printer_fails_with_a_reason() -> None:
    job = running()
    change = reconcile(job, seen(PrinterState.OPERATIONAL, job.octoprint_path, None), NOW)
    assert change is not None
    assert (change.status, change.outcome, change.reason) == (
        JobStatus.failed,
        RunOutcome.failed,
        Reason("print_interrupted"),
    )


def test_printer_error_fails_the_print_with_octoprints_words() -> None:
    change = reconcile(running(), seen(PrinterState.ERROR, error="Heater decoupled"), NOW)
    assert change is not None
    assert change.status == JobStatus.failed and change.reason == Reason("print_failed", "Heater decoupled")


def test_print_replaced_by_another_file_is_lost() -> None:
    change = reconcile(running(), seen(PrinterState.PRINTING, "benchy.gcode", 3), NOW)
    assert change is not None and change.reason == Reason("print_lost")


@pytest.mark.parametrize(
    "observation",
    [
        Observation(None, Reason("printer_unreachable")),
        Observation(None, Reason("octoprint_garbled")),
        seen(PrinterState.OFFLINE),
    ],
)
def test_unreadable_or_offline_printer_changes_nothing(observation: Observation) -> None:
    assert reconcile(running(), observation, NOW) is None
    assert reconcile(running(status=JobStatus.uploading), observation, NOW) is None


def test_just_started_print_may_look_idle_for_a_moment() -> None:
    job = running(dispatched=-START_GRACE / 2)
    assert reconcile(job, seen(PrinterState.OPERATIONAL, job.octoprint_path, None), NOW) is None


def test_uploading_job_seen_running_has_started_once() -> None:
    job = running(status=JobStatus.uploading)
    change = reconcile(job, seen(PrinterState.PRINTING, job.octoprint_path, 1), NOW)
    assert change is not None and change.status == JobStatus.printing and change.started


def test_uploading_job_that_finished_while_unobserved_counts_as_started() -> None:
    job = running(status=JobStatus.uploading)
    change = reconcile(job, seen(PrinterState.OPERATIONAL, job.octoprint_path, 100), NOW)
    assert change is not None and change.started and change.status == JobStatus.printing


def test_uploading_job_never_started_goes_back_to_the_queue_after_the_grace() -> None:
    young = running(status=JobStatus.uploading, dispatched=-START_GRACE / 2)
    assert reconcile(young, IDLE, NOW) is None
    old = running(status=JobStatus.uploading, dispatched=-START_GRACE * 2)
    change = reconcile(old, IDLE, NOW)
    assert change is not None
    assert (change.status, change.reason, change.outcome) == (JobStatus.queued, Reason("not_started"), None)
