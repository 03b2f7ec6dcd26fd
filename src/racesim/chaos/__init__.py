"""``racesim chaos``: attack a stock engine with duplicated, reordered, redelivered webhooks.

Each seed draws its own shop and its own hostility (:mod:`~racesim.chaos.swarm`), drives a
fresh engine through every delivery while handlers crash and our job runner redelivers
(:mod:`~racesim.chaos.run`), and an auditor checks the engine against a plain reference
model after every step (:mod:`~racesim.chaos.audit`, :mod:`~racesim.chaos.reference`).
A failing seed is reproduced from its number alone and shrunk to a short trace, and a
recorded webhook log is replayed under the same auditor (:mod:`~racesim.chaos.replay`).

Engines: the ledger on any store, the naive counter, your own through the engine protocol
(:mod:`racesim.ledger.protocol`, opened per run by :mod:`~racesim.chaos.engines`) or over
HTTP (:mod:`~racesim.chaos.http`).

Concurrent correctness: a recorded history of timed operations
(:mod:`~racesim.chaos.history`, :mod:`~racesim.chaos.recorder`) is checked for
linearizability against the same reference model (:mod:`~racesim.chaos.linearize`), and
a failure is cut down to a minimal witness (:mod:`~racesim.chaos.witness`) drawn as a
timeline (:mod:`~racesim.chaos.timeline`); a seed's deliveries come from K threads or
processes at once (:mod:`~racesim.chaos.concurrent`, :mod:`~racesim.chaos.workers`).
"""

from racesim.chaos.audit import INVARIANTS, Auditor, Violation
from racesim.chaos.engines import EngineSpec, EngineUnderTest, parse_engine
from racesim.chaos.history import Operation, read_history, write_history
from racesim.chaos.linearize import Check, Verdict, check_history
from racesim.chaos.reference import Expected, Figures, ReferenceModel
from racesim.chaos.run import ChaosReport, SeedRun, replay_trace, run_chaos, run_seed, shrink
from racesim.chaos.swarm import SWARM_VERSION, ChaosSettings
from racesim.chaos.witness import minimal_witness

__all__ = [
    "INVARIANTS",
    "SWARM_VERSION",
    "Auditor",
    "ChaosReport",
    "ChaosSettings",
    "Check",
    "EngineSpec",
    "EngineUnderTest",
    "Expected",
    "Figures",
    "Operation",
    "ReferenceModel",
    "SeedRun",
    "Verdict",
    "Violation",
    "check_history",
    "minimal_witness",
    "parse_engine",
    "read_history",
    "replay_trace",
    "run_chaos",
    "run_seed",
    "shrink",
    "write_history",
]
