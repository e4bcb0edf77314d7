"""The schedule's window, and the rates measured over it (pure).

The achieved rate of a load run is taken over the window its schedule offered
iterations in, not over the whole run: after the schedule ends the run waits for
the iterations in flight (the *drain*), and dividing by that time too would make a
run of long iterations look slower than the rate it sustained. So:

- ``seconds``: the schedule's length: ``--duration``, the stages' length, ``K / R``
  for ``--iterations K`` at a constant rate (the stages' rate at the last start for a
  ramp cut short by ``--iterations``), cut at a stop (Ctrl-C, ``--abort-on-fail``, an
  error); a closed loop given only ``--iterations`` has no schedule, and its window
  runs to its last iteration's end (no drain);
- ``offered``: intended starts in it per second (open loop);
- ``achieved``: iterations started in it that completed (whenever they ended), per
  second of it;
- ``drain``: from its end to the last iteration's end, with the iterations that
  completed in that time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.sample import Sample
from bulkboot.engine.load.schedule import rate_at, stages_length

__all__ = ["Window", "planned_length", "window_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The schedule's window and what was offered and achieved in it."""

    seconds: float
    scheduled: int  # intended starts in it (started or dropped)
    completed: int  # of the iterations started in it
    drain_seconds: float
    drain_completed: int  # iterations that completed after the window's end
    open_loop: bool

    @property
    def offered(self) -> float | None:
        if not self.open_loop or self.seconds <= 0:
            return None
        return self.scheduled / self.seconds

    @property
    def achieved(self) -> float | None:
        return self.completed / self.seconds if self.seconds > 0 else None


def planned_length(plan: LoadPlan, samples: Sequence[Sample]) -> float | None:
    """The schedule's length as planned (None: a closed loop given only iterations).
    ``samples`` tell where ``--iterations`` cut a ramp short."""
    if plan.stages:
        length = stages_length(plan.stages)
        if plan.open_loop and plan.iterations is not None and len(samples) >= plan.iterations:
            assert plan.rate is not None
            last = max(s.intended for s in samples)
            rate = rate_at(plan.rate, plan.stages, last)
            if rate > 0:
                length = min(length, last + 1.0 / rate)
        return length
    if plan.open_loop:
        assert plan.rate is not None
        by_count = None if plan.iterations is None else plan.iterations / plan.rate
        if plan.duration is None:
            return by_count
        return plan.duration if by_count is None else min(plan.duration, by_count)
    return plan.duration


def window_of(
    plan: LoadPlan,
    samples: Sequence[Sample],
    *,
    length: float | None,
    stopped: float | None,
    load_seconds: float,
) -> Window:
    """The window of a run (or of a step) whose schedule was planned ``length`` long
    (None: no schedule), stopped at ``stopped`` (an offset from the start, or None),
    whose last iteration ended ``load_seconds`` after the start."""
    seconds = load_seconds if length is None else length
    if stopped is not None:
        seconds = min(seconds, max(0.0, stopped))
    scheduled = completed = drained = 0
    for sample in samples:
        if sample.intended > seconds:
            continue
        scheduled += 1
        if sample.outcome == "completed":
            completed += 1
            if sample.ended is not None and sample.ended > seconds:
                drained += 1
    return Window(
        seconds=seconds,
        scheduled=scheduled,
        completed=completed,
        drain_seconds=max(0.0, load_seconds - seconds),
        drain_completed=drained,
        open_loop=plan.open_loop,
    )
