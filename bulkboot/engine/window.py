"""How many creates to keep in flight: a window that stops where more would not help.

Why: ``--concurrency`` is how many creates the operator allows in flight, not how many
help. Past a point more buy nothing: a busy nova-api only queues each POST longer, and
a busy client (one event loop) pays a connection, a task and their wake-ups for each,
so the creates finish later, not sooner. The operator cannot know that point in
advance; the client can see it. So creates go out through a window, as TCP's
congestion control does (Vegas' delay signal; Netflix's concurrency-limits):

- it starts at ``start``, never above the ceiling: small ceilings send as they always
  did, a large one must be earned;
- below its start it grows by one per answer (doubling every round trip) whenever the
  API is not queueing, so a passing stall (our own big listings cause some) costs only
  a few round trips;
- above its start it grows by one per answer only while the smoothed POST latency is
  within ``grow_below`` times the fastest answer (the API has no queue) and this
  process spent less than ``busy_share`` of the last round trip on the CPU (the client
  has room);
- the API is queueing when the smoothed latency passes ``tolerance`` times the lowest
  smoothed latency of the run, and by ``slack`` seconds at least (jitter on a fast API
  is not a queue); then the window shrinks by ``backoff``, at most once per round trip,
  never below ``floor``. The lowest latency creeps up towards one that lasts, so an API
  that is simply slower today is not taken for a queue forever.

``--fixed-concurrency`` (load tests of an endpoint) bypasses it: exactly the ceiling.
Pure: the caller passes the time and its CPU time; no clock, no I/O.
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
    start: int = 200  # twice the default --concurrency
    tolerance: float = 2.0  # shrink when the smoothed latency is over this times the base
    grow_below: float = 1.5  # grow while it is within this times the fastest answer
    slack: float = 0.025
    # of a round trip on the CPU: growing doubles the work per round trip, so a client
    # busy more than half the time would be saturated by it
    busy_share: float = 0.5
    backoff: float = 0.75
    limit: float = field(init=False)
    smoothed: float | None = field(init=False, default=None)
    base: float = field(init=False, default=math.inf)
    fastest: float = field(init=False, default=math.inf)
    shrunk_at: float = field(init=False, default=-math.inf)
    shrinks: int = field(init=False, default=0)
    busy: bool = field(init=False, default=True)  # until a round trip shows room
    round_at: float | None = field(init=False, default=None)
    round_cpu: float = field(init=False, default=0.0)
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

    def answered(self, seconds: float, now: float, cpu: float | None = None) -> int:
        """A create was answered after ``seconds``; returns the window from now on.

        ``cpu`` is the process's CPU time (``time.process_time()``), to tell whether the
        client itself is busy; ``None`` when unknown.
        """
        if not self.adaptive:
            return self.ceiling
        if cpu is not None:
            self._measure_busy(now, cpu)
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
        if seconds < self.fastest:
            self.fastest = seconds
        else:
            self.fastest += _DRIFT * (smoothed - self.fastest)
        base = self.base
        if smoothed > max(self.tolerance * base, base + self.slack):
            if now - self.shrunk_at >= smoothed:
                self.shrunk_at = now
                self.shrinks += 1
                self.limit = max(float(self.floor), self.limit * self.backoff)
        elif self.limit < self.ceiling and (
            self.limit < self.start  # back to the start once the queue is gone
            or (
                not (cpu is not None and self.busy)
                and smoothed <= max(self.grow_below * self.fastest, self.fastest + self.slack)
            )
        ):
            self.limit = min(float(self.ceiling), self.limit + 1.0)
        return self._note()

    def _measure_busy(self, now: float, cpu: float) -> None:
        """Once per round trip: the share of it this process spent on the CPU."""
        if self.round_at is None:
            self.round_at, self.round_cpu = now, cpu
            return
        elapsed = now - self.round_at
        if elapsed >= max(self.smoothed or 0.0, 0.01):
            self.busy = (cpu - self.round_cpu) >= self.busy_share * elapsed
            self.round_at, self.round_cpu = now, cpu

    def overloaded(self, now: float) -> int:
        """A create got no answer in time (a timeout, a lost connection): the API is
        struggling, so shrink as for queueing, once per round trip."""
        if not self.adaptive:
            return self.ceiling
        if now - self.shrunk_at >= (self.smoothed or 0.0):
            self.shrunk_at = now
            self.shrinks += 1
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
