"""Marketplace webhooks in and out of the ledger: the wire format
(:mod:`~racesim.webhooks.format`) and the HTTP service that receives them
(:mod:`~racesim.webhooks.server`, guarded by :mod:`~racesim.webhooks.access`). Replaying a
recorded log is part of the chaos harness (:mod:`~racesim.chaos.replay`), whose auditor
watches it."""
