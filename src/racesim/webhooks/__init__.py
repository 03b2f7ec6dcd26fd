"""Marketplace webhooks in and out of the ledger: the wire format
(:mod:`~racesim.webhooks.format`), the HTTP service that receives them
(:mod:`~racesim.webhooks.server`, guarded by :mod:`~racesim.webhooks.access`) and the
replay of a recorded log (:mod:`~racesim.webhooks.replay`)."""
