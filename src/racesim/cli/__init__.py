"""The ``racesim`` command line: :mod:`~racesim.cli.main` parses and dispatches; each
command group lives in its own module, and :mod:`~racesim.cli.exits` maps failures to exit
statuses."""
