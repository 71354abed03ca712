"""Statistical tests for sampled counts: chi-square goodness of fit against
exact probabilities, two-sample chi-square, and an exact binomial test."""

from __future__ import annotations

import math

import numpy as np


def _gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for P(a, x)
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-15:
            k += 1
            term *= x / k
            total += term
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300  # continued fraction for Q(a, x), modified Lentz
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi2_sf(stat: float, dof: int) -> float:
    return _gamma_q(dof / 2, stat / 2) if dof > 0 else 1.0


def binom_p(k: int, n: int, p: float = 0.5) -> float:
    """Two-sided binomial test: exact (the probability of an outcome no likelier
    than k) up to 20000 trials, the normal approximation with continuity
    correction above, where it is far more accurate than p = 1e-4 needs."""
    if n > 20_000:
        z = max(0.0, abs(k - n * p) - 0.5) / math.sqrt(n * p * (1 - p))
        return math.erfc(z / math.sqrt(2))
    logs = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
        for i in range(n + 1)
    ]
    cut = logs[k] + 1e-7
    return min(1.0, sum(math.exp(v) for v in logs if v <= cut))


def gof_p(counts: np.ndarray, probs: np.ndarray) -> float:
    """Chi-square goodness of fit; an outcome of probability 0 must never appear."""
    support = probs > 1e-12
    assert counts[~support].sum() == 0, "an outcome of probability zero was sampled"
    expected = probs[support] * counts.sum()
    stat = float(((counts[support] - expected) ** 2 / expected).sum())
    return chi2_sf(stat, int(support.sum()) - 1)


def two_sample_p(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test that two count vectors come from one distribution."""
    keep = (a + b) > 0
    table = np.array([a[keep], b[keep]], dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return chi2_sf(stat, int(keep.sum()) - 1)
