"""What to publish: the buffer rules (:mod:`~racesim.policy.buffers`) and the closed forms
that predict their risk without simulating (:mod:`~racesim.policy.analytic`)."""
