"""The digest's trend chart: a PNG drawn with matplotlib's Agg canvas, no GUI and no pyplot state.

Two panels over the last 12 weeks: requests received, approved and completed (top), and the amount
influenced (bottom). It is drawn only from a `bot.digest.Series`, which the digest exposes, so a test can
recompute the series from the database and compare it with the numbers the chart was drawn from.
The figure is built on a private `Figure` + `FigureCanvasAgg` (thread-safe enough for the outbox worker)
and saved without a timestamp, so the same series gives the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.digest import Series

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100  # 800 × 500 px: readable in Slack's preview, well under 200 KB
COLOURS = {"received": "#1f3a5f", "approved": "#3c8dbc", "completed": "#2ca25f", "amount": "#f28e2b"}


def _short_amount(value: float, _position: object = None) -> str:
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= divisor:
            return f"{value / divisor:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


def render_chart(series: Series, title: str) -> bytes:
    """The 12-week chart as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    labels = [w.split("-", 1)[1] for w in series.weeks]  # "W47"
    positions = list(range(len(labels)))
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])

    width = 0.27
    for offset, (name, values) in zip(
        (-width, 0.0, width),
        (("received", series.received), ("approved", series.approved), ("completed", series.completed)),
        strict=True,
    ):
        top.bar(
            [p + offset for p in positions],
            values,
            width,
            label={"received": "Requests", "approved": "Approvals", "completed": "Completions"}[name],
            color=COLOURS[name],
        )
    top.set_title(title, fontsize=11, loc="left")
    top.set_ylabel("requests")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylim(0, max([1, *series.received, *series.approved, *series.completed]) * 1.25)
    top.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    top.grid(axis="y", alpha=0.3)

    amounts = [float(a) for a in series.amount_influenced]
    bottom.bar(positions, amounts, 0.6, color=COLOURS["amount"], label="Amount influenced")
    bottom.set_ylabel("influenced")
    bottom.set_ylim(0, max([1.0, *amounts]) * 1.2)
    bottom.yaxis.set_major_formatter(FuncFormatter(_short_amount))
    bottom.legend(loc="upper left", fontsize=8, frameon=False)
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(positions, labels, fontsize=8)

    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)

    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
