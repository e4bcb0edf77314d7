"""Aggregates of exact samples: count, failed, min, mean, percentiles, max (pure).

Every figure is computed from the samples themselves, never from averages of averages
or from buckets: a load run holds thousands of iterations, not millions, so sorting
them is cheap. Percentiles are ``engine.stats.percentile``'s (linear between ranks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from bulkboot.engine.stats import percentile

__all__ = ["PhaseStats", "phase_stats"]

_QUANTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p999", 99.9))


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStats:
    """One phase over a run, in seconds: ``count`` iterations timed in it, ``failed``
    iterations that failed in it; the times are None when nothing was timed."""

    count: int
    failed: int
    min: float | None = None
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None

    def value(self, aggregate: str) -> float | None:
        """An aggregate by its threshold name (``p99.9`` is ``p999``)."""
        if aggregate == "count":
            return float(self.count)
        if aggregate == "failed":
            return float(self.failed)
        field = "p999" if aggregate == "p99.9" else aggregate
        result: float | None = getattr(self, field)
        return result

    def as_dict(self, digits: int = 6) -> dict[str, int | float | None]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "count": self.count,
            "failed": self.failed,
            "min": rounded(self.min),
            "mean": rounded(self.mean),
            "p50": rounded(self.p50),
            "p90": rounded(self.p90),
            "p95": rounded(self.p95),
            "p99": rounded(self.p99),
            "p999": rounded(self.p999),
            "max": rounded(self.max),
        }


def phase_stats(values: list[float], failed: int) -> PhaseStats:
    """The aggregates of ``values``, which this sorts in place (cheap again next time:
    sorting a sorted list with new values appended is a merge)."""
    if not values:
        return PhaseStats(count=0, failed=failed)
    values.sort()
    quantiles: Mapping[str, float] = {name: percentile(values, q) for name, q in _QUANTILES}
    return PhaseStats(
        count=len(values),
        failed=failed,
        min=values[0],
        mean=math.fsum(values) / len(values),
        max=values[-1],
        **quantiles,
    )
