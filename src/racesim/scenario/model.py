"""The scenario: everything one simulation run needs, validated and immutable.

Build one with :func:`racesim.scenario.load_scenario` or
:func:`racesim.scenario.parse_scenario`; derive variants for parameter sweeps with
:meth:`Scenario.with_overrides`. Durations are seconds, rates are per day.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from racesim.errors import ScenarioError
from racesim.scenario.buffer import BufferConfig
from racesim.scenario.catalog import CatalogGenerator, Sku
from racesim.scenario.channels import Channel
from racesim.scenario.costs import CostsConfig, cost_problems
from racesim.scenario.fields import (
    Description,
    Duration,
    Name,
    NonEmpty,
    PositiveDuration,
    Problem,
    Record,
    Seed,
    raise_problems,
    show,
)
from racesim.scenario.limits import MAX_CHANNELS, MAX_SKUS
from racesim.scenario.messages import describe_errors
from racesim.scenario.options import EngineOptions, MetricsOptions
from racesim.scenario.overrides import apply_overrides
from racesim.scenario.sync import SyncConfig
from racesim.scenario.toml_writer import dumps
from racesim.scenario.warehouse import Warehouse
from racesim.util.units import format_duration

__all__ = ["SHARE_TOLERANCE", "Scenario", "validate_scenario"]

SHARE_TOLERANCE = 1e-6
"""How far the channels' shares may sum from 1."""


class Scenario(Record):
    """A seller, its marketplaces, its stock policy and how long to simulate them."""

    name: Name
    description: Description | None = None
    duration: PositiveDuration
    """Simulated time (seconds)."""
    warmup: Duration = 0.0
    """Initial time (seconds) left out of the metrics; must be shorter than ``duration``."""
    seed: Seed | None = None
    """Root seed of a run given no seed of its own (see :meth:`run_seed`); None means 0."""
    catalog: Annotated[tuple[Sku, ...], NonEmpty, Field(max_length=MAX_SKUS)] | None = None
    catalog_generator: CatalogGenerator | None = None
    channels: Annotated[tuple[Channel, ...], NonEmpty, Field(max_length=MAX_CHANNELS)]
    sync: SyncConfig
    buffer: BufferConfig
    warehouse: Warehouse = Warehouse()
    engine: EngineOptions = EngineOptions()
    metrics: MetricsOptions = MetricsOptions()
    costs: CostsConfig | None = None
    """Margins and the money an oversell costs; none: no money figures."""

    _skus: tuple[Sku, ...] = PrivateAttr(default=())

    def run_seed(self, seed: int | None = None) -> int:
        """The root seed a run uses: ``seed`` when given, else the file's ``seed``, else 0.

        Every function that simulates a scenario and takes ``seed=None`` (``run_scenario``,
        ``sweep``, ``tune``, ``build_report``) and every ``--seed`` left out on the command
        line resolve the seed this way, and record the seed actually used.
        """
        if seed is not None:
            return seed
        return 0 if self.seed is None else self.seed

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems = [
            *self._catalog_problems(),
            *self._channel_problems(),
            *self._timing_problems(),
        ]
        raise_problems("Scenario", problems)
        if self.catalog_generator is not None:
            self._skus = self.catalog_generator.generate()
        else:
            self._skus = self.catalog or ()
        channels = [channel.name for channel in self.channels]
        raise_problems("Scenario", cost_problems(self.costs, channels, self._skus,
                                                 generated=self.catalog_generator is not None))
        return self

    def _catalog_problems(self) -> list[Problem]:
        if self.catalog is not None and self.catalog_generator is not None:
            message = "give either [[catalog]] entries or a [catalog_generator] table, not both"
            return [(("catalog_generator",), message, None)]
        if self.catalog is None and self.catalog_generator is None:
            message = "required: give [[catalog]] entries or a [catalog_generator] table"
            return [(("catalog",), message, None)]
        return _duplicates("catalog", [sku.sku for sku in self.catalog or ()], "sku", "SKU")

    def _channel_problems(self) -> list[Problem]:
        names = [channel.name for channel in self.channels]
        problems = _duplicates("channels", names, "name", "channel name")
        shares = [channel.share for channel in self.channels]
        total = math.fsum(shares)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            pairs = zip(names, shares, strict=True)
            terms = " + ".join(f"{name} {show(share)}" for name, share in pairs)
            message = f"shares must sum to 1 (got {total:.6g} = {terms})"
            problems.append((("channels",), message, total))
        return problems

    def _timing_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        end = format_duration(self.duration)
        if self.warmup >= self.duration:
            got = f"{format_duration(self.warmup)} ≥ {end}"
            problems.append((("warmup",), f"must be < duration (got {got})", self.warmup))
        for i, channel in enumerate(self.channels):
            for j, burst in enumerate(channel.bursts):
                if burst.start >= self.duration:
                    got = f"{format_duration(burst.start)} ≥ {end}"
                    message = f"starts after the scenario ends (got {got})"
                    problems.append((("channels", i, "bursts", j, "start"), message, burst.start))
        return problems

    def skus(self) -> tuple[Sku, ...]:
        """The catalog: the listed entries, or the ones ``catalog_generator`` produces."""
        return self._skus

    def orders_per_day(self) -> float:
        """Orders per day over every SKU and channel (before profiles and bursts)."""
        return math.fsum(sku.orders_per_day for sku in self._skus)

    def with_overrides(
        self, overrides: Mapping[str, object], *, source: str = "overrides"
    ) -> Scenario:
        """A validated copy with values replaced by dotted path.

        ``{"buffer.units": 3, "channels[1].webhook.duplicates.p2": 0.1}``; list items
        by position (``channels[1]``) or by name (``channels[ebay]``,
        ``catalog[SKU-1]``). Raises :class:`ScenarioError` (prefixed with ``source``) if a
        path does not exist or the result is invalid.
        """
        return validate_scenario(apply_overrides(self.to_dict(), overrides, source), source)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (durations in seconds, defaults filled in, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_toml(self) -> str:
        """Canonical TOML text: loading it gives an equal scenario."""
        data = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, context={"durations": "text"}
        )
        return dumps(data)

    def canonical_json(self) -> str:
        """Compact JSON with sorted keys: equal scenarios give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`: a stable identity for caching results."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def validate_scenario(data: Mapping[str, Any], source: str) -> Scenario:
    """Validate plain data; problems become one :class:`ScenarioError` naming ``source``."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(describe_errors(error, source, Scenario)) from None


def _duplicates(table: str, names: list[str], key: str, what: str) -> list[Problem]:
    """A problem for each repeated ``names`` entry, located at ``table[i].key``."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, name in enumerate(names):
        if name in first:
            message = f"duplicate {what} {name!r} (also {table}[{first[name]}])"
            problems.append(((table, i, key), message, name))
        first.setdefault(name, i)
    return problems
