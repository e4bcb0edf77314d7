"""When iterations start: the open loop's intended start times and the closed loop's
worker count, from a constant rate or ramping stages (pure maths, no clock).

Open loop: iteration ``k`` (from 0) is meant to start when ``k`` iterations' worth of
the rate has passed, ``N(t_k) = k`` with ``N(t)`` the integral of the rate from the
run's start: at a constant rate ``R`` that is ``t_k = k / R``; across a linear ramp the
quadratic is solved exactly, so a ramp neither runs ahead nor lags (Rally's ``rps``
runner compares a running average with the target instead, and bursts). The times are
fixed before the run and never move: an iteration that cannot start on time is late
or dropped, never shifted (``runner``).

Stages (``30s:1,60s:5``): each ramps linearly from where the previous one ended (the
starting ``--rate`` or ``--concurrency`` for the first) to its target, as k6's ramping
executors do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from bulkboot.pipeline.load_spec import Stage

__all__ = ["closed_target", "intended_starts", "rate_at", "stages_length"]


def stages_length(stages: Sequence[Stage]) -> float:
    """Seconds the stages last in all."""
    return sum(stage.duration for stage in stages)


def rate_at(start: float, stages: Sequence[Stage], t: float) -> float:
    """The target (rate or workers) ``t`` seconds into the run; after the last stage,
    its target; with no stages, ``start``."""
    level = start
    begin = 0.0
    for stage in stages:
        end = begin + stage.duration
        if t < end:
            return level + (stage.target - level) * (t - begin) / stage.duration
        level = stage.target
        begin = end
    return level


def closed_target(start: int, stages: Sequence[Stage], t: float) -> int:
    """Workers wanted ``t`` seconds into a closed-loop run (the ramp, rounded)."""
    return max(0, round(rate_at(float(start), stages, t)))


def intended_starts(
    start: float,
    stages: Sequence[Stage],
    *,
    duration: float | None,
    iterations: int | None,
) -> Iterator[float]:
    """Intended start times (seconds from the run's start), in order: every one before
    ``duration`` (or before the stages end), at most ``iterations`` of them."""
    limit = math.inf if iterations is None else iterations
    if not stages:
        if duration is None and iterations is None:
            raise ValueError("an open loop needs a duration or a number of iterations")
        k = 0
        while k < limit:
            t = k / start
            if duration is not None and t >= duration:
                return
            yield t
            k += 1
        return
    end = stages_length(stages) if duration is None else min(duration, stages_length(stages))
    k = 0
    begin = 0.0
    level = start
    done = 0.0  # N(begin): iterations' worth of rate before this segment
    for stage in stages:
        length = stage.duration
        slope = (stage.target - level) / length
        while k < limit:
            need = k - done  # of this segment's own arrivals
            offset = _solve(level, slope, need)
            if offset is None or offset >= length:
                break
            t = begin + offset
            if t >= end:
                return
            yield t
            k += 1
        done += level * length + slope * length * length / 2.0
        begin += length
        level = stage.target
        if begin >= end or k >= limit:
            return


def _solve(rate: float, slope: float, need: float) -> float | None:
    """Smallest ``x >= 0`` with ``rate*x + slope*x*x/2 == need`` (None: never, the rate
    having fallen to zero first). The form ``2c / (r + sqrt(r*r + 2sc))`` is the root
    without cancellation, for rising and falling ramps alike."""
    if need <= 0:
        return 0.0
    discriminant = rate * rate + 2.0 * slope * need
    if discriminant < 0:
        return None
    denominator = rate + math.sqrt(discriminant)
    if denominator <= 0:
        return None
    return 2.0 * need / denominator
