"""Whether a ``--find-capacity`` step held, and why not (pure).

A step holds when nothing was dropped, every threshold held, and its achieved rate
(its iterations that completed, per second of its window) is within the search's
``margin`` of the rate it offered: a cloud that refuses or fails what it is offered
does not sustain that rate, thresholds or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from bulkboot.engine.load.recorder import Counters, Recorder
from bulkboot.engine.load.result import StepResult
from bulkboot.engine.load.thresholds import ThresholdResult, evaluate
from bulkboot.engine.load.window import Window
from bulkboot.pipeline.load_spec import Threshold

__all__ = ["search_window", "step_result", "step_verdict"]


def step_result(
    step: Recorder,
    thresholds: Sequence[Threshold],
    *,
    rate: float,
    window: float,
    began: float,
    drained: float,
    margin: float,
    stopped: bool,
) -> StepResult:
    """One step judged from its own recorder: ``began`` and ``drained`` are offsets
    from the run's start (the samples' own time base); ``window`` the seconds of its
    schedule that ran (its length, or up to a stop)."""
    counters = step.counters()
    phases = step.phase_stats()
    results = evaluate(thresholds, phases, counters)
    window_end = began + window
    reasons = step_verdict(counters, results, window, margin, stopped=stopped)
    return StepResult(
        rate=rate,
        held=not reasons,
        counters=counters,
        thresholds=results,
        phases=phases,
        window=window,
        drain=max(0.0, drained - began - window),
        drain_completed=sum(
            1
            for s in step.samples
            if s.outcome == "completed" and s.ended is not None and s.ended > window_end
        ),
        interrupted=stopped,
        reasons=reasons,
    )


def search_window(counters: Counters, steps: Sequence[StepResult]) -> Window:
    """The whole search's schedule window: its steps' windows and drains added up."""
    return Window(
        seconds=sum(step.window for step in steps),
        scheduled=counters.scheduled,
        completed=counters.completed,
        drain_seconds=sum(step.drain for step in steps),
        drain_completed=sum(step.drain_completed for step in steps),
        open_loop=True,
    )


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
