"""Aggregates of exact samples: count, failed, min, mean, percentiles, max (pure).

Every figure is computed from the samples themselves, never from averages of averages
or from buckets: a load run holds thousands of iterations, not millions, so sorting
them is cheap. Percentiles are ``engine.stats.percentile``'s (linear between ranks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    # ``post`` only: the same aggregates per class of the POST's answer (``2xx``,
    # ``4xx``, ``5xx``, ``recovered``), in that order
    by_status: tuple[tuple[str, PhaseStats], ...] = ()

    def value(self, aggregate: str) -> float | None:
        """An aggregate by its threshold name (``p99.9`` is ``p999``)."""
        if aggregate == "count":
            return float(self.count)
        if aggregate == "failed":
            return float(self.failed)
        field = "p999" if aggregate == "p99.9" else aggregate
        result: float | None = getattr(self, field)
        return result

    def as_dict(self, digits: int = 6) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, digits)

        out: dict[str, Any] = {
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
        if self.by_status:
            out["by_status"] = {
                name: {k: v for k, v in stats.as_dict(digits).items() if k != "failed"}
                for name, stats in self.by_status
            }
        return out


def phase_stats(
    values: list[float],
    failed: int,
    by_status: tuple[tuple[str, PhaseStats], ...] = (),
) -> PhaseStats:
    """The aggregates of ``values``, which this sorts in place (cheap again next time:
    sorting a sorted list with new values appended is a merge)."""
    if not values:
        return PhaseStats(count=0, failed=failed, by_status=by_status)
    values.sort()
    quantiles: Mapping[str, float] = {name: percentile(values, q) for name, q in _QUANTILES}
    return PhaseStats(
        count=len(values),
        failed=failed,
        min=values[0],
        mean=math.fsum(values) / len(values),
        max=values[-1],
        by_status=by_status,
        **quantiles,
    )
