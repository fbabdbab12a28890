"""Bar charts drawn on the server as inline SVG, always with the same data as a table beside them
(the table is what screen readers and printouts use; the chart is for a glance)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "bar_chart"]

WIDTH = 640
HEIGHT = 240
LEFT = 48  # room for the axis labels
BOTTOM = 40
TOP = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as people read it ("3 h 30", "12")
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    ident: str
    title: str
    unit: str
    bars: list[Bar]
    maximum: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = BOTTOM
    top: int = TOP

    @property
    def baseline(self) -> int:
        return self.height - self.bottom

    @property
    def empty(self) -> bool:
        return all(bar.value == 0 for bar in self.bars)


def bar_chart(ident: str, title: str, unit: str, points: Sequence[tuple[str, float, str]]) -> BarChart:
    """Lay out ``(label, value, shown)`` points as bars scaled to the largest value."""
    maximum = max((value for _, value, _ in points), default=0.0)
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(points), 1)
    bars = []
    for index, (label, value, shown) in enumerate(points):
        height = plot_height * value / maximum if maximum > 0 else 0.0
        bars.append(
            Bar(
                label=label,
                value=value,
                shown=shown,
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return BarChart(ident, title, unit, bars, maximum)
