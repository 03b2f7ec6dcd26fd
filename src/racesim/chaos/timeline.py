"""Operations drawn on a shared time axis: the text timeline and the figure of a witness.

One row per operation — its worker, what it did, what the engine answered — and its
interval from invocation to completion drawn to scale, so overlapping operations (the ones
whose order the engine chose) show as overlapping bars::

    worker  operation                       answer      |0 s                    0.3 s|
    w0      restock MUG ×1 ref PO-1         applied     |===                         |
    w1      reserve A-1 MUG ×1 (amazon)     reserved    |       ===============      |
    w2      reserve B-7 MUG ×1 (ebay)       reserved    |          ================= |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from racesim.chaos.history import Operation
from racesim.errors import shorten

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["timeline_figure", "timeline_text"]

AXIS_CHARS = 48
"""Width of the time axis in characters."""


def _span(operations: Sequence[Operation]) -> tuple[float, float]:
    start = min(o.invoked_s for o in operations)
    end = max(o.completed_s for o in operations)
    return start, max(end - start, 1e-9)


def timeline_text(operations: Sequence[Operation], width: int = AXIS_CHARS) -> str:
    """The operations as text rows on one time axis (seconds from the first invocation)."""
    if not operations:
        return "(no operations)"
    start, length = _span(operations)
    what = [shorten(o.describe(), 44, as_text=True) for o in operations]
    said = [shorten(o.answer_text(), 32, as_text=True) for o in operations]
    w_what = max(9, *map(len, what))
    w_said = max(6, *map(len, said))
    left, right = "0 s", f"{length:.3g} s"
    axis = left + " " * max(1, width - len(left) - len(right)) + right
    lines = [f"{'worker':<7} {'operation':<{w_what}}  {'answer':<{w_said}}  |{axis}|"]
    for operation, text, answer in zip(operations, what, said, strict=True):
        a = int((operation.invoked_s - start) / length * (width - 1))
        b = int((operation.completed_s - start) / length * (width - 1))
        bar = " " * a + "=" * (b - a + 1) + " " * (width - b - 1)
        lines.append(f"{'w' + str(operation.worker):<7} {text:<{w_what}}  "
                     f"{answer:<{w_said}}  |{bar}|")
    return "\n".join(lines)


def timeline_figure(operations: Sequence[Operation], title: str = "") -> Figure:
    """The same timeline as a matplotlib figure (one bar per operation, labelled)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 1.2 + 0.45 * len(operations)), layout="constrained")
    axes = figure.subplots()
    start = min((o.invoked_s for o in operations), default=0.0)
    workers = sorted({o.worker for o in operations})
    colours = {w: f"C{n % 10}" for n, w in enumerate(workers)}
    for row, operation in enumerate(operations):
        left = operation.invoked_s - start
        axes.barh(row, max(operation.completed_s - operation.invoked_s, 1e-9), left=left,
                  height=0.6, color=colours[operation.worker], alpha=0.8)
        axes.text(left, row - 0.38, f"{shorten(operation.describe(), 50, as_text=True)} → "
                                    f"{shorten(operation.answer_text(), 30, as_text=True)}",
                  fontsize=8, va="bottom")
    axes.set_yticks(range(len(operations)), [f"w{o.worker}" for o in operations])
    axes.invert_yaxis()
    axes.set_xlabel("seconds from the first invocation")
    axes.set_title(title or "operations that cannot be linearized", fontsize=10)
    return figure
