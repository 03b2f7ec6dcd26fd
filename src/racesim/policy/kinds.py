"""The names of the buffer policy families: the one list every layer shares.

A scenario's ``[buffer] policy = "…"``, ``racesim tune --policy`` and the tuner's
families (:data:`racesim.study.tune.FAMILIES`) all take these names. The scenario's
configuration records (:mod:`racesim.scenario.buffer`) are typed against
:data:`BufferKind`, so a record whose ``policy`` is not listed here fails the type check,
and a kind without a record fails at import. This module imports nothing heavy, so the
command line can build its choices from it without loading the simulator.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["BUFFER_KINDS", "BufferKind"]

BufferKind = Literal["fixed", "percent", "seed_formula", "poisson_quantile", "allocation"]
"""A buffer policy family, by the name scenario files and the command line use."""

BUFFER_KINDS: Final[tuple[BufferKind, ...]] = get_args(BufferKind)
"""Every :data:`BufferKind`, in the order commands list them."""
