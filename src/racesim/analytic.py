"""Closed forms the simulation must agree with where their assumptions hold.

Each function states its assumptions; tests compare them with simulated rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["double_buy_probability"]


def double_buy_probability(rates: Sequence[float], webhook_latency: Sequence[float],
                           listing_latency: Sequence[float]) -> float:
    """Probability that the last unit is sold twice (race 1), with fixed latencies.

    Assumptions: one unit left, listed as 1 on K marketplaces; buyers arrive on
    marketplace i as a Poisson process of rate ``rates[i]`` (per second), each wanting one
    unit; the seller learns of a sale on i after ``webhook_latency[i]`` seconds, reserves
    the unit and immediately pushes 0, which marketplace j shows after
    ``listing_latency[j]`` seconds; buffer 0; no restock, cancellation or return before
    the race is over.

    Derivation. Merge the K arrival processes (rate λ = Σλ_i). The first buyer comes from
    marketplace i with probability λ_i/λ, and that marketplace's listing drops to 0 at
    once. Every other marketplace j keeps showing 1 until the push reaches it, w_i + ℓ_j
    seconds after the sale. By the memoryless property of the Poisson process, the
    probability that no buyer arrives on j in that window is exp(−λ_j (w_i + ℓ_j)), and
    windows of different marketplaces are independent. A double-buy happens unless no
    other marketplace sells in its window:

        P = Σ_i (λ_i / λ) · [1 − Π_{j≠i} exp(−λ_j (w_i + ℓ_j))]

    Every double-buy ends in exactly one refused reservation (an oversell): whichever
    webhook reaches the ledger second is rejected. A third sale is impossible here, since
    each marketplace sells at most once before its listing shows 0.
    """
    k = len(rates)
    if not k == len(webhook_latency) == len(listing_latency):
        raise ValueError("rates, webhook_latency and listing_latency need one entry per "
                         f"marketplace (got {k}, {len(webhook_latency)}, "
                         f"{len(listing_latency)})")
    if any(r < 0 for r in rates) or any(w < 0 for w in webhook_latency) or \
            any(ell < 0 for ell in listing_latency):
        raise ValueError("rates and latencies must be ≥ 0")
    total = sum(rates)
    if total <= 0:
        return 0.0
    probability = 0.0
    for i, rate in enumerate(rates):
        exposure = sum(rates[j] * (webhook_latency[i] + listing_latency[j])
                       for j in range(k) if j != i)
        probability += rate / total * (1.0 - math.exp(-exposure))
    return probability
