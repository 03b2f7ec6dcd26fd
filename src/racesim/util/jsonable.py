"""Plain Python values from numpy ones, and JSON-ready values for summaries and manifests.

pandas and numpy hand back ``numpy.int64`` and ``numpy.float64``, which ``json`` refuses,
and NaN or infinities, which JSON has no spelling for: every summary racesim writes goes
through :func:`jsonable` (NaN and infinities become ``null``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["finite", "jsonable", "plain"]


def plain(value: Any) -> Any:
    """``value`` as a plain Python scalar when it is a numpy one, else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite."""
    return None if value is None or not math.isfinite(value) else float(value)


def jsonable(value: Any) -> Any:
    """Plain Python values all the way down (dicts, lists, tuples as lists); NaN → None."""
    value = plain(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
