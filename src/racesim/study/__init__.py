"""Studies built from replications of the model: single runs, grids, sweeps and the tuner.

:mod:`~racesim.study.replications` runs one scenario many times with common random
numbers, :mod:`~racesim.study.executors` spreads replications over processes,
:mod:`~racesim.study.grid` and :mod:`~racesim.study.sweep` vary a policy over a grid,
:mod:`~racesim.study.tune` searches for the smallest buffer that meets a target, and
:mod:`~racesim.study.budget` refuses jobs too large to start.
"""
