"""Progress bars: opt-in in the library (``progress=True``), totals fixed before they start.

:func:`progress` wraps an iterator of results in a bar, or passes it through untouched
when the bar is off; :func:`open_bar` opens a bar that a caller advances by chunks;
:class:`StageBar` counts the named stages of a longer job (a report). Every bar is told
its total when it opens, and the total never changes while it runs.

Where the bar goes depends on where it runs: in a Jupyter kernel with ipywidgets,
tqdm's notebook bar; on a terminal, tqdm's bar on standard error; anywhere else (a log
file, a pipe, CI) plain whole lines with no carriage returns — one per completed chunk
(about a tenth of the total: ``sweep: 30/120 runs (12 s)``) or per stage
(``report: stage 2/6 tuner (4 s)``). tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol, Self, TextIO, TypeVar

__all__ = ["Bar", "LineBar", "StageBar", "in_notebook", "is_terminal", "open_bar", "progress"]

T = TypeVar("T")

LINES_PER_BAR = 10
"""A line-based bar writes a line each time about 1/10 of its total has completed."""


class Bar(Protocol):
    """A bar advanced by chunks: tqdm's bars and :class:`LineBar` both fit."""

    def update(self, n: int = 1) -> bool | None:
        """``n`` more items have completed."""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Show ``s`` after the count."""

    def close(self) -> None:
        """The bar is finished."""

    def __enter__(self) -> Self:
        """The bar itself (``with open_bar(...) as bar:`` closes it at the end)."""

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None, /) -> None:
        """Close the bar."""


class _Closing:
    """``with`` support for the bars defined here: closed when the block ends."""

    def close(self) -> None:
        """Nothing to finish."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None, /) -> None:
        self.close()


class _Off(_Closing):
    """The bar of ``enabled=False``: counts nothing, shows nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass


def _plural(unit: str, count: int) -> str:
    return unit if count == 1 or unit.endswith("s") else f"{unit}s"


class LineBar(_Closing):
    """A count written as whole lines, for a stream that is not a terminal.

    A line ``desc: n/total units (elapsed)`` is written each time another
    ``ceil(total / LINES_PER_BAR)`` items complete, and when the last one does; the
    postfix, if set, follows the count. Nothing is written before the first chunk.
    """

    def __init__(self, total: int, *, desc: str, unit: str, file: TextIO) -> None:
        self._total = total
        self.desc, self.unit, self.file = desc, unit, file
        self.n = 0
        self.postfix = ""
        self.step = max(1, math.ceil(total / LINES_PER_BAR))
        self._next = self.step
        self._started = time.perf_counter()

    @property
    def total(self) -> int:
        """How many items the bar counts (fixed when it opens)."""
        return self._total

    def update(self, n: int = 1) -> None:
        """``n`` more items have completed; write a line if a chunk is complete."""
        self.n += n
        if self.n < self._next and self.n != self._total:
            return
        self._next = (self.n // self.step + 1) * self.step
        elapsed = time.perf_counter() - self._started
        extra = f" — {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self._total} {_plural(self.unit, self._total)} "
              f"({elapsed:.0f} s){extra}", file=self.file, flush=True)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Add ``s`` to the next line written."""
        self.postfix = s


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (where ``\\r`` redraws a line)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def in_notebook() -> bool:
    """Whether bars go to a Jupyter front end (tqdm.auto chose its ipywidgets bar)."""
    import tqdm.auto  # noqa: F401  (makes the choice, quietly)
    from tqdm.autonotebook import tqdm as chosen

    return chosen.__module__ == "tqdm.notebook"


def open_bar(total: int, *, desc: str, unit: str, file: TextIO | None = None,
             leave: bool = True, enabled: bool = True) -> Bar:
    """A bar of ``total`` ``unit`` — notebook, terminal or line-based (see the module).

    ``file`` is standard error by default; ``leave=False`` clears a terminal bar when
    it closes (a line-based bar's lines stay, as log lines do); ``enabled=False`` gives
    a bar that shows nothing.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"progress: total must be a whole number ≥ 0 (got {total!r})")
    if not enabled:
        return _Off()
    stream = sys.stderr if file is None else file
    if file is None and in_notebook():
        from tqdm.auto import tqdm as auto

        notebook: Bar = auto(total=total, desc=desc, unit=unit, leave=leave)
        return notebook
    if not is_terminal(stream):
        return LineBar(total, desc=desc, unit=unit, file=stream)
    from tqdm import tqdm

    terminal: Bar = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=leave)
    return terminal


def progress(items: Iterable[T], total: int, enabled: bool, *, desc: str,
             unit: str) -> Iterator[T]:
    """``items`` as they come, counted on a bar of ``total`` ``unit`` when ``enabled``."""
    if not enabled:
        return iter(items)
    return _counted(items, open_bar(total, desc=desc, unit=unit))


def _counted(items: Iterable[T], bar: Bar) -> Iterator[T]:
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()


class StageBar:
    """A bar over a job's ``stages`` named stages, on standard error; silent when off.

    The number of stages is fixed when the bar opens. ``stage(name)`` starts the next
    one (the one before it has then finished), ``detail(text)`` says how the current
    one is getting on, ``close()`` finishes the last. Starting more stages than were
    announced is a :class:`ValueError`: the total would otherwise be wrong.
    On a terminal it is a tqdm bar; elsewhere each stage start (and detail) is one line,
    ``report: stage 2/6 tuner (4 s)``, and closing writes ``report: 6/6 stages done (73 s)``
    (``stopped in stage 2/6 tuner`` when the job ended early).
    """

    def __init__(self, enabled: bool, desc: str, stages: int, *,
                 file: TextIO | None = None) -> None:
        if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
            raise ValueError(f"StageBar: stages must be a whole number ≥ 1 (got {stages!r})")
        self.enabled, self.desc, self.stages = enabled, desc, stages
        self.started = 0
        self.name = ""
        self.file: TextIO = sys.stderr if file is None else file
        self.bar: Any = None
        self._lines = False
        self._began = time.perf_counter()
        if not enabled:
            return
        if file is None and in_notebook():
            from tqdm.auto import tqdm as auto

            self.bar = auto(total=stages, desc=desc, unit="stage")
        elif is_terminal(self.file):
            from tqdm import tqdm

            self.bar = tqdm(total=stages, desc=desc, unit="stage", file=self.file,
                            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| "
                                       "{elapsed}{postfix}")
        else:
            self._lines = True

    def _line(self, text: str) -> None:
        elapsed = time.perf_counter() - self._began
        print(f"{self.desc}: {text} ({elapsed:.0f} s)", file=self.file, flush=True)

    def stage(self, name: str) -> None:
        """Stage ``name`` starts."""
        if self.started >= self.stages:
            raise ValueError(f"{self.desc}: stage {name!r} would be stage "
                             f"{self.started + 1} of {self.stages} announced")
        self.started += 1
        self.name = name
        if not self.enabled:
            return
        if self._lines:
            self._line(f"stage {self.started}/{self.stages} {name}")
            return
        if self.started > 1:
            self.bar.update(1)
        self.bar.set_postfix_str(name)

    def detail(self, text: str) -> None:
        """How the current stage is getting on (``units=4, 3/9``)."""
        if not self.enabled:
            return
        if self._lines:
            self._line(f"stage {self.started}/{self.stages} {self.name}: {text}")
            return
        self.bar.set_postfix_str(f"{self.name}: {text}")

    def close(self) -> None:
        """The last stage has finished — or the job stopped early, and the bar says where."""
        if not self.enabled:
            return
        finished = self.started == self.stages
        if self._lines:
            self._line(f"{self.stages}/{self.stages} stages done" if finished else
                       f"stopped in stage {self.started}/{self.stages} {self.name}".rstrip())
            return
        if finished:
            self.bar.update(1)
        self.bar.set_postfix_str("done" if finished else f"stopped in {self.name}")
        self.bar.close()
