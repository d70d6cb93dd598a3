"""Per-token entropy when a backend gives only the top-k alternatives.

With top-k logprobs we know k probabilities exactly and that the rest of the
mass, ``r = 1 - sum(p_i)``, is spread over the other tokens. Counting ``r`` as
one bucket gives ``H >= -sum(p_i log p_i) - r log r``: a lower bound that is
exact when the distribution is concentrated on the top k, the usual case at
the temperatures we sample at.
"""

from __future__ import annotations

import math


def topk_entropy(logprobs: list[float]) -> float:
    """Entropy estimate (nats) from the top-k logprobs of one position."""
    probs = [math.exp(lp) for lp in logprobs if lp is not None and lp > -1e9]
    mass = sum(probs)
    if mass > 1.0:  # rounding in the server's logprobs: renormalise
        probs = [p / mass for p in probs]
        mass = 1.0
    entropy = -sum(p * math.log(p) for p in probs if p > 0)
    rest = 1.0 - mass
    if rest > 1e-12:
        entropy -= rest * math.log(rest)
    return max(0.0, entropy)
