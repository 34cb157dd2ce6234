"""Student's t distribution for integer degrees of freedom, in the standard library only: the
dashboard's analysis and the outlook's Diebold-Mariano test share it."""

from __future__ import annotations

import math


def t_two_sided_cdf(t: float, dof: int) -> float:
    """P(|T| <= t) for Student's t with integer ``dof`` (exact finite sums, A&S 26.7.3-4)."""
    if dof < 1:
        raise ValueError("degrees of freedom must be at least 1")
    theta = math.atan(abs(t) / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    if dof % 2 == 1:
        total, term = 0.0, math.cos(theta)
        if dof > 1:
            total = term
            for k in range(3, dof - 1, 2):  # terms cos^3 .. cos^(dof-2)
                term *= c2 * (k - 1) / k
                total += term
        return 2.0 / math.pi * (theta + math.sin(theta) * total)
    total, term = 1.0, 1.0
    for k in range(2, dof - 1, 2):  # terms cos^2 .. cos^(dof-2)
        term *= c2 * (k - 1) / k
        total += term
    return math.sin(theta) * total


def t_quantile_two_sided(level: float, dof: int) -> float:
    """The t with P(|T| <= t) = level, by bisection on the exact CDF."""
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    lo, hi = 0.0, 1.0
    while t_two_sided_cdf(hi, dof) < level:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_two_sided_cdf(mid, dof) < level:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0
