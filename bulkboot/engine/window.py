"""How many creates to keep in flight: a window that finds where the API starts queueing.

Why: ``--concurrency`` is how many creates the operator allows in flight, not how many
the API can take. Past the point where nova-api (or the machine it runs on) is busy,
more creates in flight buy nothing: each POST only waits longer in a queue, nothing
finishes sooner, and every extra connection costs CPU at both ends. Measured against
the simulator on 2 cores (50 ms API latency, 1,000 servers): 100 in flight answer in
62 ms (median), 200 in 107 ms, 1,000 in 564 ms, and 1,000 finished its creates later
than 200 did. An operator cannot know that knee in advance; the client can see it.

So creates go out through a window, as TCP's delay-based congestion control does
(Vegas; Netflix's concurrency-limits):

- it starts at ``start`` (the default ``--concurrency``), never above the ceiling;
- each create answered while the API is not queueing (neither that answer nor the
  smoothed latency is slow) adds one (slow start: the window doubles every round trip)
  until the ceiling;
- the API is queueing when the smoothed POST latency (an average over the last
  answers, so one slow answer is not a signal) passes ``tolerance`` times the lowest
  smoothed latency seen in the run (what an idle API answers in), and by ``slack``
  seconds at least (a few milliseconds of jitter on a fast API are not a queue);
  that lowest latency creeps up towards a latency that lasts (over about a thousand
  answers), so an API that is simply slower today is not taken for a queue forever;
- then the window shrinks by ``backoff``, at most once per smoothed round trip (the
  answers of one round trip all report the same queue), never below ``floor``;
- after the first shrink it grows by one per window of answers (additive increase),
  probing gently for room that frees up.

``--fixed-concurrency`` (load tests of an endpoint) bypasses it: exactly the ceiling.
Pure: the caller passes the time; no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["CreateWindow", "WindowStats"]

# The smoothing weight of one answer (TCP's SRTT weight): about the last 8 answers count.
_WEIGHT = 0.125
# How fast the idle latency follows a lasting higher one: about 1,000 answers.
_DRIFT = 0.001


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowStats:
    """What the window did in a run, for the report and the summary."""

    ceiling: int
    adaptive: bool
    low: int  # the smallest window after the first answer
    high: int  # the largest
    final: int
    shrinks: int  # how many times the API was seen queueing


@dataclass(slots=True, kw_only=True)
class CreateWindow:
    """The number of creates allowed in flight now; see the module docstring."""

    ceiling: int
    adaptive: bool = True
    start: int = 100
    tolerance: float = 1.5
    slack: float = 0.025
    backoff: float = 0.75
    limit: float = field(init=False)
    smoothed: float | None = field(init=False, default=None)
    base: float = field(init=False, default=math.inf)
    growing_fast: bool = field(init=False, default=True)
    shrunk_at: float = field(init=False, default=-math.inf)
    shrinks: int = field(init=False, default=0)
    low: int = field(init=False)
    high: int = field(init=False)

    def __post_init__(self) -> None:
        if self.ceiling < 1:
            raise ValueError("the ceiling must be 1 or more")
        self.limit = float(self.ceiling if not self.adaptive else min(self.ceiling, self.start))
        self.low = self.high = int(self.limit)

    @property
    def floor(self) -> int:
        """The smallest window: an eighth of the ceiling, at least 8 (or the ceiling)."""
        return min(self.ceiling, max(8, self.ceiling // 8))

    @property
    def size(self) -> int:
        """Creates allowed in flight now."""
        return int(self.limit)

    def answered(self, seconds: float, now: float) -> int:
        """A create was answered after ``seconds``; returns the window from now on."""
        if not self.adaptive:
            return self.ceiling
        smoothed = (
            seconds
            if self.smoothed is None
            else self.smoothed + _WEIGHT * (seconds - self.smoothed)
        )
        self.smoothed = smoothed
        if smoothed < self.base:
            self.base = smoothed
        else:  # a latency that lasts becomes the norm: a slower day is not a queue forever
            self.base += _DRIFT * (smoothed - self.base)
        queueing = max(self.tolerance * self.base, self.base + self.slack)
        if smoothed > queueing:
            if now - self.shrunk_at >= smoothed:
                self.shrunk_at = now
                self.shrinks += 1
                self.growing_fast = False
                self.limit = max(float(self.floor), self.limit * self.backoff)
        elif self.limit < self.ceiling and seconds <= queueing:
            step = 1.0 if self.growing_fast else 1.0 / self.limit
            self.limit = min(float(self.ceiling), self.limit + step)
        return self._note()

    def overloaded(self, now: float) -> int:
        """A create got no answer in time (a timeout, a lost connection): the API is
        struggling, so shrink as for queueing, once per round trip."""
        if not self.adaptive:
            return self.ceiling
        if now - self.shrunk_at >= (self.smoothed or 0.0):
            self.shrunk_at = now
            self.shrinks += 1
            self.growing_fast = False
            self.limit = max(float(self.floor), self.limit * self.backoff)
        return self._note()

    def _note(self) -> int:
        size = int(self.limit)
        if size < self.low:
            self.low = size
        elif size > self.high:
            self.high = size
        return size

    def stats(self) -> WindowStats:
        return WindowStats(
            ceiling=self.ceiling,
            adaptive=self.adaptive,
            low=self.low,
            high=self.high,
            final=int(self.limit),
            shrinks=self.shrinks,
        )
