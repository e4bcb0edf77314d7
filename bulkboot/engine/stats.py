"""Percentiles of exact samples (pure): the one definition every figure bulkboot reports
uses, from a load run's phases to an apply run's POST latency and the report's charts.

Linear interpolation between ranks (numpy's default, and the definition Rally's tables
use): ``p50`` of two samples is their mean, ``p100`` the largest. Here, in the engine,
because both the engine (a load run's aggregates and thresholds) and the ui (summaries
and pages) compute them, and the ui may import the engine but not the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolated between ranks."""
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
