"""Scenario files: TOML descriptions of a seller, its marketplaces and its stock policy.

>>> from racesim.scenario import parse_scenario
>>> scenario = parse_scenario('''
... name = "tiny"
... duration = "1d"
... [[catalog]]
... sku = "MUG"
... initial_stock = 2
... orders_per_day = 10
... [[channels]]
... name = "shop"
... share = 1.0
... webhook.latency = { dist = "fixed", value = "5s" }
... listing_latency = { dist = "fixed", value = "10s" }
... [sync]
... mode = "event_driven"
... [buffer]
... policy = "fixed"
... units = 0
... ''')
>>> scenario.duration, scenario.channels[0].webhook.latency.mean()
(86400.0, 5.0)
>>> scenario.with_overrides({"buffer.units": 1}).buffer.units
1

Durations are seconds (files may write "90s", "1d2h30m"), rates are per day, and every
problem in a file is reported as one line of a :class:`~racesim.errors.ScenarioError`.
Every number, list and text has a lower and an upper bound, and so do a file's size and
nesting: :mod:`racesim.scenario.limits` lists them with their reasons.
"""

from racesim.scenario.buffer import (
    BufferPolicy,
    FixedBuffer,
    PercentBuffer,
    PoissonQuantileBuffer,
    SeedFormulaBuffer,
)
from racesim.scenario.catalog import (
    CatalogGenerator,
    OrderUpToRestock,
    OrderUpToTemplate,
    PeriodicRestock,
    PeriodicTemplate,
    RestockPolicy,
    RestockTemplate,
    Sku,
)
from racesim.scenario.channels import Burst, Channel, Duplicates, Webhook
from racesim.scenario.distributions import (
    CountDistribution,
    DurationDistribution,
    EmpiricalCount,
    EmpiricalDuration,
    ExponentialDuration,
    FixedCount,
    FixedDuration,
    GeometricCount,
    LogNormalDuration,
    UniformDuration,
)
from racesim.scenario.load import load_scenario, parse_scenario
from racesim.scenario.model import Scenario
from racesim.scenario.options import EngineOptions, MetricsOptions
from racesim.scenario.sync import (
    CompareAndSetSync,
    EventDrivenSync,
    PeriodicDeltaSync,
    PeriodicPushTimeSync,
    PeriodicSnapshotSync,
    SyncPolicy,
)
from racesim.scenario.warehouse import Warehouse

__all__ = [
    "BufferPolicy",
    "Burst",
    "CatalogGenerator",
    "Channel",
    "CompareAndSetSync",
    "CountDistribution",
    "Duplicates",
    "DurationDistribution",
    "EmpiricalCount",
    "EmpiricalDuration",
    "EngineOptions",
    "EventDrivenSync",
    "ExponentialDuration",
    "FixedBuffer",
    "FixedCount",
    "FixedDuration",
    "GeometricCount",
    "LogNormalDuration",
    "MetricsOptions",
    "OrderUpToRestock",
    "OrderUpToTemplate",
    "PercentBuffer",
    "PeriodicDeltaSync",
    "PeriodicPushTimeSync",
    "PeriodicRestock",
    "PeriodicSnapshotSync",
    "PeriodicTemplate",
    "PoissonQuantileBuffer",
    "RestockPolicy",
    "RestockTemplate",
    "Scenario",
    "SeedFormulaBuffer",
    "Sku",
    "SyncPolicy",
    "UniformDuration",
    "Warehouse",
    "Webhook",
    "load_scenario",
    "parse_scenario",
]
