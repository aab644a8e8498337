"""Collections over time as a bar chart in the terminal (textual-plotext).

Readable without colour: bars are solid blocks and the axes carry the numbers, so a 16-colour
console or NO_COLOR=1 (Textual drops the colours) shows the same chart. The values are
plotted as floats, which is fine for bar heights; every amount a person reads as money comes
from the table beside it, formatted from the exact Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from textual_plotext import PlotextPlot

MAX_TICKS = 6  # date labels on the x axis; more would overlap at 80 columns


def tick_positions(count: int, max_ticks: int = MAX_TICKS) -> list[int]:
    """Indexes of the bars that get a date label: first and last, evenly between."""
    if count <= 0:
        return []
    if count <= max_ticks:
        return list(range(count))
    step = (count - 1) / (max_ticks - 1)
    return sorted({round(i * step) for i in range(max_ticks)})


def compact_amount(value: float) -> str:
    """1234567 -> '1.2M': y-axis labels stay narrow."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


class CollectionsChart(PlotextPlot):
    """Bars of what was collected per day."""

    DEFAULT_CSS = """
    CollectionsChart { height: 1fr; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.points: list[tuple[date, Decimal]] = []

    def show(self, points: Sequence[tuple[date, Decimal]], title: str = "") -> None:
        """Plot (day, amount) pairs, oldest first."""
        self.points = list(points)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if not self.points:
            plt.title(f"{title} — nothing collected in this period" if title else "No data")
            self.refresh()
            return
        xs = list(range(len(self.points)))
        ys = [float(amount) for _, amount in self.points]
        plt.bar(xs, ys, marker="hd", color="blue", width=0.6)
        ticks = tick_positions(len(xs))
        plt.xticks([float(i) for i in ticks], [self.points[i][0].strftime("%m-%d") for i in ticks])
        top = max(ys) if ys else 0
        # three labels: more collide on a short chart, and which one plotext drops then varies
        yticks = [top * i / 2 for i in range(3)] if top else [0.0]
        plt.yticks(yticks, [compact_amount(v) for v in yticks])
        self.refresh()
