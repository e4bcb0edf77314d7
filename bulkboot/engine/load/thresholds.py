"""Thresholds against a run's aggregates: what each observes, and whether it holds (pure).

A threshold with nothing to observe (``p95(post)`` when no POST was answered, a share
of zero iterations) does not hold: a criterion that could not be checked is not a
pass. ``ready`` says when there are enough samples for ``--abort-on-fail`` to act on
a failure (``min_samples``), so the first slow boot of a run does not end it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bulkboot.engine.load.recorder import Counters
from bulkboot.engine.load.stats import PhaseStats
from bulkboot.pipeline.load_spec import Threshold

__all__ = ["ThresholdResult", "evaluate", "observe", "ready"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdResult:
    """One threshold checked: ``observed`` is in seconds, a share (0-1) or a count."""

    expression: str
    ok: bool
    observed: float | None
    kind: str  # "time", "share" or "count"

    def as_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "ok": self.ok,
            "observed": None if self.observed is None else round(self.observed, 6),
            "unit": {"time": "s", "share": "ratio", "count": "iterations"}[self.kind],
        }


def _kind(threshold: Threshold) -> str:
    if threshold.aggregate == "rate":
        return "share"
    if threshold.aggregate in ("count", "failed"):
        return "count"
    return "time"


def observe(
    threshold: Threshold, phases: Mapping[str, PhaseStats], counters: Counters
) -> float | None:
    """What the threshold looks at, now; None when there is nothing to look at."""
    if threshold.on_phase:
        stats = phases.get(threshold.metric)
        return None if stats is None else stats.value(threshold.aggregate)
    if threshold.aggregate == "rate":
        return counters.rate_of(threshold.metric)
    return float(counters.count_of(threshold.metric))


def evaluate(
    thresholds: Iterable[Threshold], phases: Mapping[str, PhaseStats], counters: Counters
) -> tuple[ThresholdResult, ...]:
    results = []
    for threshold in thresholds:
        observed = observe(threshold, phases, counters)
        results.append(
            ThresholdResult(
                expression=threshold.expression,
                ok=observed is not None and threshold.holds(observed),
                observed=observed,
                kind=_kind(threshold),
            )
        )
    return tuple(results)


def ready(
    threshold: Threshold, phase_counts: Mapping[str, int], counters: Counters, min_samples: int
) -> bool:
    """Enough samples to act on this threshold during the run: ``min_samples``
    iterations timed in (or failed in) its phase, or started (counters)."""
    if threshold.on_phase:
        return phase_counts.get(threshold.metric, 0) >= min_samples
    base = counters.scheduled if threshold.metric == "dropped" else counters.started
    return base >= min_samples
