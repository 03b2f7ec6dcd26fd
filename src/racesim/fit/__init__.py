"""A seller's own files in, tidy tables out: the readers behind ``racesim fit``.

Order exports in the layouts of :mod:`~racesim.fit.layouts` (Shopify, Amazon's "All
Orders" report, eBay's orders report, and a generic CSV/Parquet) are read by
:mod:`~racesim.fit.orders` into one canonical order-lines table; a returns file joins it
through :mod:`~racesim.fit.returns`; :mod:`~racesim.fit.receipts` reads a webhook receipt
log and :mod:`~racesim.fit.stock` a stock list. Every reader validates whole columns at
once (no per-row Python), and a bad row is reported as one line of an
:class:`~racesim.fit.checks.ExportError`: ``FILE:LINE: column NAME: what is wrong (value
'x')``, LINE being the line an editor shows (framing lines and the header counted).

:func:`~racesim.fit.model.fit_exports` turns those tables into a
:class:`~racesim.fit.model.Fit`: per-SKU demand with intervals, stock-outs, dispersion,
profiles, channel shares, webhook latency and duplicates, each value with its source.
"""
