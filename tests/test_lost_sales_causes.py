"""Lost sales split by cause: every buyer a listing turned away is counted under one cause.

The model decides the cause at the instant of the lost sale (see
``Simulation._sale``): *no stock* (too few unpromised units on the shelf),
*the buffer* (the engine had them, the published value did not show them) or *a stale
listing* (the units were there, the listing — or the ledger behind it — had not caught
up). The three sum to ``lost_sales`` in every summary and in every row of the
per-channel and per-SKU tables; scenarios built so that one cause must dominate show it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from racesim.cli.main import main
from racesim.scenario import Scenario, load_scenario, parse_scenario
from racesim.sim.results import LOST_SALE_CAUSES, SimulationResult
from racesim.study.replications import run_replication

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHORTER = {"high_volume": {"duration": "2h", "warmup": "10m"}}  # as the quick benchmark

ONE_SHELF = """
name = "one-shelf"
duration = "2d"
[[catalog]]
sku = "SKU-1"
initial_stock = {stock}
orders_per_day = 200
{restock}
[[channels]]
name = "shop"
share = 1.0
webhook.latency = {{ dist = "fixed", value = "5s" }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[sync]
{sync}
[buffer]
policy = "fixed"
units = {buffer}
"""


def _one_shelf(stock: int, buffer: int, sync: str = 'mode = "event_driven"',
               restock: str = "") -> Scenario:
    text = ONE_SHELF.format(stock=stock, buffer=buffer, sync=sync, restock=restock)
    return parse_scenario(text, source="one-shelf")


def _causes(result: SimulationResult) -> tuple[int, int, int]:
    s = result.summary
    return s.lost_sales_no_stock, s.lost_sales_buffer, s.lost_sales_stale_listing


def _assert_the_causes_add_up(result: SimulationResult) -> None:
    summary = result.summary
    assert sum(_causes(result)) == summary.lost_sales
    for table in (result.per_channel, result.per_sku):
        causes = table[list(LOST_SALE_CAUSES)]
        assert (causes >= 0).all().all()
        assert (causes.sum(axis=1) == table["lost_sales"]).all()  # every row
        for name in LOST_SALE_CAUSES:  # and the table's totals are the summary's
            assert int(table[name].sum()) == getattr(summary, name)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_the_causes_sum_to_the_lost_sales_on_every_shipped_scenario(path: Path) -> None:
    scenario = load_scenario(path).with_overrides(SHORTER.get(path.stem, {}))
    result = run_replication(scenario, np.random.SeedSequence(0), tables=False)
    _assert_the_causes_add_up(result)


def test_without_restocks_or_buffer_every_lost_sale_is_a_stock_out() -> None:
    result = run_replication(_one_shelf(stock=3, buffer=0), np.random.SeedSequence(1))
    _assert_the_causes_add_up(result)
    assert result.summary.orders == 3  # the three units sold, then the shelf was empty
    assert _causes(result) == (result.summary.lost_sales, 0, 0)
    assert result.summary.lost_sales > 300


def test_a_large_buffer_over_plenty_of_stock_hides_it() -> None:
    result = run_replication(_one_shelf(stock=200, buffer=190), np.random.SeedSequence(1))
    _assert_the_causes_add_up(result)
    assert result.summary.orders == 10  # what the buffer left published
    assert _causes(result) == (0, result.summary.lost_sales, 0)
    assert result.summary.lost_sales > 300


RESTOCK = 'restock = { policy = "periodic", every = "2h", quantity = 100, lead_time = "1m" }'


def test_a_slow_sync_after_a_restock_from_zero_leaves_the_listing_stale() -> None:
    """No events, a push a day: stock arriving at 2 h stays unlisted until the push at 1 d."""
    seed = np.random.SeedSequence(5)
    slow = run_replication(_one_shelf(stock=0, buffer=0, restock=RESTOCK,
                                      sync='mode = "periodic_push_time"\ninterval = "1d"'),
                           seed)
    _assert_the_causes_add_up(slow)
    no_stock, buffer, stale = _causes(slow)
    assert buffer == 0 and no_stock > 0  # the first two hours: nothing had arrived yet
    assert stale > 5 * no_stock  # then 22 hours of stock no listing showed
    events = run_replication(_one_shelf(stock=0, buffer=0, restock=RESTOCK), seed)
    _assert_the_causes_add_up(events)
    assert _causes(events)[0] == no_stock  # the same buyers met the same empty shelf
    assert _causes(events)[2] < stale / 20  # pushed on arrival: listed ten seconds later


def test_returns_booked_late_are_stale_listings_not_stock_outs() -> None:
    """Race 2: returned units wait in receiving, on the shelf but not in the ledger."""
    race2 = load_scenario(SCENARIOS / "race2_returns.toml")
    seed = np.random.SeedSequence(2)
    late = run_replication(race2, seed, tables=False).summary
    early = run_replication(race2.with_overrides({"warehouse.return_recording": "early"}),
                            seed, tables=False).summary
    assert late.lost_sales_stale_listing > late.lost_sales_no_stock
    assert early.lost_sales_stale_listing < late.lost_sales_stale_listing / 10
    assert late.lost_sales_buffer == early.lost_sales_buffer == 0  # no buffer


def test_run_prints_and_writes_the_split(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SCENARIOS / "small_seller.toml")
    assert main(["run", path, "--seed", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    causes = [data[f"{name}_total"] for name in LOST_SALE_CAUSES]
    assert sum(causes) == data["lost_sales_total"] > 0 and data["lost_sales_buffer_total"] > 0
    replication = data["per_replication"][0]
    assert [replication[name] for name in LOST_SALE_CAUSES] == causes
    assert main(["run", path, "--seed", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    total = next(i for i, line in enumerate(printed) if line.lstrip().startswith("lost sales"))
    split = printed[total + 1:total + 4]
    assert [int(line.split()[-2].replace(",", "")) for line in split] == causes  # total
    assert "nothing on the shelf" in split[0] and "buffer" in split[1]
