"""``python -m racesim``: the ``racesim`` command."""

import sys

from racesim.cli.main import main

sys.exit(main())
