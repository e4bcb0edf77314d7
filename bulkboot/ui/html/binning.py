"""Histogram bins for latencies: equal widths from zero, a long tail cut and counted.

Why cut: one 5-minute outlier among 10,000 one-second creates would squeeze every bar
into the first pixel. When the largest value is more than four times the p99, the bins
stop at 1.25 times the p99, and the values beyond are counted in the caption (never
silently dropped); the tables keep the exact maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bulkboot.engine.stats import percentile

__all__ = ["BINS", "Binned", "bin_values", "shared_edges"]

BINS = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Binned:
    counts: list[int]
    hidden: int  # values above the last edge, not drawn


def shared_edges(
    groups: Sequence[Sequence[float]], *, bins: int = BINS
) -> tuple[list[float], bool]:
    """Edges common to every group (so two runs share the axes); and whether the tail
    was cut."""
    values = sorted(v for group in groups for v in group)
    if not values:
        return [], False
    high = values[-1]
    cut = False
    p99 = percentile(values, 99)
    if p99 > 0 and high > 4 * p99:
        high, cut = 1.25 * p99, True
    if high <= 0:
        high = 1e-3
    width = high / bins
    return [i * width for i in range(bins + 1)], cut


def bin_values(values: Sequence[float], edges: Sequence[float]) -> Binned:
    """Counts per bin of ``edges`` (the last bin includes its upper edge)."""
    bins = len(edges) - 1
    counts = [0] * max(0, bins)
    hidden = 0
    if bins < 1:
        return Binned(counts=counts, hidden=len(values))
    low, high = edges[0], edges[-1]
    width = (high - low) / bins
    for value in values:
        if value > high:
            hidden += 1
            continue
        index = int((value - low) / width) if width > 0 else 0
        counts[min(bins - 1, max(0, index))] += 1
    return Binned(counts=counts, hidden=hidden)
