"""Pure helpers of the web layer: queue reordering, duration choices, charts, safe redirects."""

from __future__ import annotations

from tierslieu.booking.rules import EffectiveRules
from tierslieu.models import PrintJob
from tierslieu.web.booking_view import duration_choices
from tierslieu.web.charts import bar_chart
from tierslieu.web.print_queue import moved_priorities
from tierslieu.web.security import safe_next


def _job(job_id: int, priority: int = 0) -> PrintJob:
    return PrintJob(
        id=job_id,
        printer_id=1,
        member_id=1,
        filename=f"{job_id}.gcode",
        file_sha256="0" * 64,
        size_bytes=1,
        priority=priority,
    )


def _order(jobs: list[PrintJob], changes: dict[int, int]) -> list[int]:
    prio = {j.id: changes.get(j.id or 0, j.priority) for j in jobs}
    return [j.id or 0 for j in sorted(jobs, key=lambda j: (-prio[j.id], j.id))]


def test_moving_a_job_up_and_down() -> None:
    jobs = [_job(1), _job(2), _job(3)]
    assert _order(jobs, moved_priorities(jobs, 3, -1)) == [1, 3, 2]
    assert _order(jobs, moved_priorities(jobs, 1, +1)) == [2, 1, 3]
    assert _order(jobs, moved_priorities(jobs, 1, -1)) == [1, 2, 3]
    assert moved_priorities(jobs, 99, -1) == {}


def test_moving_respects_existing_priorities() -> None:
    jobs = [_job(1), _job(2, priority=5), _job(3)]  # queue order: 2, 1, 3
    assert _order(jobs, moved_priorities(jobs, 3, -1)) == [2, 3, 1]


def test_duration_choices_follow_the_rules() -> None:
    assert duration_choices(EffectiveRules(slot_minutes=120, min_duration=240, max_duration=240)) == [240]
    assert duration_choices(EffectiveRules(slot_minutes=30, min_duration=60, max_duration=120)) == [60, 90, 120]
    assert duration_choices(EffectiveRules())[0] == 30


def test_bar_chart_scales_to_the_largest_value() -> None:
    chart = bar_chart("c", "Titre", "h", [("a", 2.0, "2"), ("b", 4.0, "4"), ("c", 0.0, "0")])
    heights = [bar.height for bar in chart.bars]
    assert heights[1] == 2 * heights[0] and heights[2] == 0
    assert chart.bars[1].y == chart.top
    assert bar_chart("e", "Vide", "", [("a", 0.0, "0")]).empty


def test_safe_next_refuses_other_sites() -> None:
    assert safe_next("/mes-reservations?x=1") == "/mes-reservations?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)", ""):
        assert safe_next(bad) == "/"


def test_spoken_phone_reads_as_french_people_dial() -> None:
    from tierslieu.web.programme_view import spoken_phone

    assert spoken_phone("+33160097810") == "01 60 09 78 10"
    assert spoken_phone("0611223344") == "06 11 22 33 44"
    assert spoken_phone("+590590123456") == "+590590123456"  # overseas numbers kept whole
    assert spoken_phone(None) == "" and spoken_phone("") == ""
