"""The reader and the fit give the same result on threads as on one.

Reading converts a file's columns side by side, and the fit codes its columns and finds
the SKUs' dispersion, their sales-only parts and the channel rates side by side
(``racesim.util.parallel``). Each part computes what it would alone: the order-lines
table and every field of the ``Fit`` must be identical, compared exactly, with the
parts on threads and with every part in turn (``sequential``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from racesim.fit.model import Fit, fit_exports
from racesim.fit.orders import read_orders
from racesim.util.parallel import sequential

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_fit.py"


def _write_orders() -> Any:
    spec = importlib.util.spec_from_file_location("bench_fit", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.write_orders


def plain(value: Any) -> Any:
    """A value as nested lists and dicts of plain Python values (NaN as a string), so
    that two fits compare exactly with ``==``, arrays and their dtypes included."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return str(value.dtype), plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def test_threads_read_and_fit_two_generated_exports_as_one_thread_does(tmp_path: Path
                                                                        ) -> None:
    write = _write_orders()
    first = write(20_000, 300, 60, tmp_path / "shop.csv", seed=11)
    second = write(8_000, 60, 45, tmp_path / "market.csv", seed=12)
    specs = [str(first), f"market={second}"]
    threaded = read_orders(specs)
    with sequential():
        alone = read_orders(specs)
    pd.testing.assert_frame_equal(threaded.lines, alone.lines, check_exact=True)
    assert threaded.files == alone.files
    lines = threaded.lines
    stock = pd.DataFrame({"sku": ["SKU-0001", "SKU-0007"], "on_hand": [40, 5],
                          "restock_every_s": [7 * 86400.0, 20 * 86400.0],
                          "restock_qty": [100.0, 3.0], "source_line": [2, 3]})
    returned = lines["order_id"].isin(lines["order_id"].iloc[::97])
    lines = lines.assign(
        returned_at=lines["placed_at"].where(returned) + pd.Timedelta(days=6),
        returned_quantity=np.where(returned, lines["quantity"], 0))
    fits: list[Fit] = [fit_exports(lines, stock=stock)]
    with sequential():
        fits.append(fit_exports(lines, stock=stock))
    assert len(fits[0].skus) == 300 and set(fits[0].channels) >= {"shop", "amazon"}
    assert any(s.censoring.method == "stock list" for s in fits[0].skus.values())
    assert fits[0].channels["shop"].rates.return_rate.value > 0
    assert plain(fits[0]) == plain(fits[1])
