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
    BUFFER_CONFIGS,
    AllocationBufferConfig,
    BufferConfig,
    FixedBufferConfig,
    PercentBufferConfig,
    PoissonQuantileConfig,
    SeedFormulaConfig,
)
from racesim.scenario.catalog import (
    CatalogGenerator,
    OrderUpToRestockConfig,
    OrderUpToTemplate,
    PeriodicRestockConfig,
    PeriodicTemplate,
    RestockConfig,
    RestockTemplate,
    Sku,
)
from racesim.scenario.channels import Burst, Channel, Duplicates, WebhookConfig
from racesim.scenario.demand import DemandConfig, GammaPoissonDemandConfig, PoissonDemandConfig
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
from racesim.scenario.publish import PublishConfig
from racesim.scenario.sync import (
    CompareAndSetSyncConfig,
    EventDrivenSyncConfig,
    PeriodicDeltaSyncConfig,
    PeriodicPushTimeSyncConfig,
    PeriodicSnapshotSyncConfig,
    SyncConfig,
)
from racesim.scenario.warehouse import Warehouse

__all__ = [
    "BUFFER_CONFIGS",
    "AllocationBufferConfig",
    "BufferConfig",
    "Burst",
    "CatalogGenerator",
    "Channel",
    "CompareAndSetSyncConfig",
    "CountDistribution",
    "DemandConfig",
    "Duplicates",
    "DurationDistribution",
    "EmpiricalCount",
    "EmpiricalDuration",
    "EngineOptions",
    "EventDrivenSyncConfig",
    "ExponentialDuration",
    "FixedBufferConfig",
    "FixedCount",
    "FixedDuration",
    "GammaPoissonDemandConfig",
    "GeometricCount",
    "LogNormalDuration",
    "MetricsOptions",
    "OrderUpToRestockConfig",
    "OrderUpToTemplate",
    "PercentBufferConfig",
    "PeriodicDeltaSyncConfig",
    "PeriodicPushTimeSyncConfig",
    "PeriodicRestockConfig",
    "PeriodicSnapshotSyncConfig",
    "PeriodicTemplate",
    "PoissonDemandConfig",
    "PoissonQuantileConfig",
    "PublishConfig",
    "RestockConfig",
    "RestockTemplate",
    "Scenario",
    "SeedFormulaConfig",
    "Sku",
    "SyncConfig",
    "UniformDuration",
    "Warehouse",
    "WebhookConfig",
    "load_scenario",
    "parse_scenario",
]
