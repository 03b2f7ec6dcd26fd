"""Write the fitted example's synthetic exports: a known shop simulated, then exported.

Simulates ``truth.toml`` (one replication, its own seed unless ``--seed`` is given) and
writes, with :mod:`racesim.fit.synthetic`, what that seller would download:

- ``orders_shopify.csv`` — the shop channel's orders as a Shopify order export (times in
  Europe/Berlin with their ``+0100`` offsets; read it as ``shop=orders_shopify.csv``);
- ``orders_amazon.txt`` — the amazon channel's orders as Amazon's All Orders flat file;
- ``receipts.csv`` — the webhook receipt log ``order_id, received_at, channel``, one row
  per delivered copy (duplicates included);
- ``stock.csv`` — the stock list ``sku, on_hand`` at the start.

Prices are drawn once per SKU from the seed (a lognormal around 20 EUR, ending in .99).
The same seed writes byte-identical files. Usage::

    python scenarios/fitted_example/generate.py [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from racesim.fit import synthetic
from racesim.scenario.load import load_scenario
from racesim.study.replications import run_scenario

HERE = Path(__file__).resolve().parent
LAYOUTS = {"shop": "shopify", "amazon": "amazon"}


def generate(out: Path, seed: int | None = None) -> list[Path]:
    """Simulate ``truth.toml`` and write its exports into ``out``; the files written."""
    scenario = load_scenario(HERE / "truth.toml")
    run_seed = scenario.run_seed(seed)
    run = run_scenario(scenario, seed=run_seed, tables=True).replications[0]
    rng = np.random.default_rng(run_seed)
    skus = [sku.sku for sku in scenario.skus()]
    prices = dict(zip(skus, np.floor(rng.lognormal(np.log(20.0), 0.6, len(skus))) + 0.99,
                      strict=True))
    synthetic.write_exports(run.orders, out, LAYOUTS, prices=prices)
    written = [out / "orders_shopify.csv", out / "orders_amazon.txt"]
    written.append(synthetic.write_receipts(run.deliveries, out / "receipts.csv"))
    written.append(synthetic.write_stock(scenario, out / "stock.csv"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="default: truth.toml's seed")
    parser.add_argument("--out", type=Path, default=HERE, help="default: this folder")
    args = parser.parse_args(argv)
    if args.seed is not None and not 0 <= args.seed < 2**63:
        parser.error("--seed must be 0 … 2^63 − 1")
    for path in generate(args.out, args.seed):
        print(f"{path}: {sum(1 for _ in path.open(encoding='utf-8')) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
