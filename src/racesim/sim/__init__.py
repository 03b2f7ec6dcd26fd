"""The marketplace model: a SimPy simulation that drives the real stock engine.

- :mod:`.demand` — buyers per channel (Poisson, daily profile, bursts);
- :mod:`.plan` — each order's webhook copies, latencies, cancellation and return, drawn
  up front so every policy sees the same buyers;
- :mod:`.marketplace` — each marketplace's own listing, sold against at once;
- :mod:`.rules` — each channel's publishing rule (buffer, cap, threshold), grouped;
- :mod:`.sync` — how published quantities reach the listings (five modes);
- :mod:`.model` — the simulation itself (webhooks, warehouse, seller);
- :mod:`.state` — the records the model writes and the sync and results read;
- :mod:`.results` — tables and metrics of a replication;
- :mod:`.summary` — the metrics of a replication and of a run, field by field.
"""

from racesim.sim.model import Simulation
from racesim.sim.results import SimulationResult
from racesim.sim.streams import Streams, replication_seeds

__all__ = ["Simulation", "SimulationResult", "Streams", "replication_seeds"]
