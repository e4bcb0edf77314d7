"""Whether a ``--find-capacity`` step held, and why not (pure).

A step holds when nothing was dropped, every threshold held, and its achieved rate
(its iterations that completed, per second of its window) is within the search's
``margin`` of the rate it offered: a cloud that refuses or fails what it is offered
does not sustain that rate, thresholds or not.
"""

from __future__ import annotations

from bulkboot.engine.load.recorder import Counters
from bulkboot.engine.load.thresholds import ThresholdResult

__all__ = ["step_verdict"]


def step_verdict(
    counters: Counters,
    thresholds: tuple[ThresholdResult, ...],
    window: float,
    margin: float,
    *,
    stopped: bool,
) -> tuple[str, ...]:
    """Why a capacity step did not hold, in words; empty when it held: nothing
    dropped, every threshold held, and its achieved rate (its iterations that
    completed, per second of its window) within ``margin`` of the offered one."""
    reasons: list[str] = []
    if stopped:
        reasons.append("the run was stopped during it")
    if counters.started == 0:
        reasons.append("no iteration started")
    if counters.dropped:
        reasons.append(f"{counters.dropped} dropped")
    if window > 0 and counters.scheduled:
        offered, achieved = counters.scheduled / window, counters.completed / window
        if achieved < offered * (1.0 - margin):
            reasons.append(
                f"achieved {achieved:.3g}/s, short of the offered {offered:.3g}/s by more "
                f"than {margin * 100:g}%"
            )
    reasons += [f"{t.expression} failed" for t in thresholds if not t.ok]
    return tuple(reasons)
