"""Progress bars: opt-in in the library (``progress=True``), ``tqdm.auto`` so notebooks too.

:func:`progress` wraps an iterator of results in a bar, or passes it through untouched
when the bar is off; :class:`StageBar` counts the named stages of a longer job (a report).
tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["StageBar", "progress"]

T = TypeVar("T")


def progress(items: Iterable[T], total: int, enabled: bool, *, desc: str,
             unit: str) -> Iterator[T]:
    """``items`` as they come, counted on a bar of ``total`` ``unit`` when ``enabled``."""
    if not enabled:
        return iter(items)
    from tqdm.auto import tqdm

    return iter(tqdm(items, total=total, desc=desc, unit=unit))


class StageBar:
    """A ``tqdm.auto`` bar over a job's named stages, on standard error; silent when off.

    ``expect(n)`` announces ``n`` more stages, ``stage(name)`` starts the next one (the
    one before it has then finished), ``close()`` finishes the last.
    """

    def __init__(self, enabled: bool, desc: str) -> None:
        self.enabled = enabled
        self.started = False
        self.bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=0, desc=desc, unit="stage", file=sys.stderr,
                            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| "
                                       "{elapsed}{postfix}")

    def expect(self, stages: int) -> None:
        """``stages`` more stages are coming."""
        if self.enabled:
            self.bar.total += stages
            self.bar.refresh()

    def stage(self, name: str) -> None:
        """Stage ``name`` starts."""
        if self.enabled:
            if self.started:
                self.bar.update(1)
            self.started = True
            self.bar.set_postfix_str(name)

    def close(self) -> None:
        """The last stage has finished."""
        if self.enabled:
            if self.started:
                self.bar.update(1)
            self.bar.set_postfix_str("done")
            self.bar.close()
