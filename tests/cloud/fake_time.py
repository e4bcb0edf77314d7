"""Clocks for the cloud client's tests, handed to ``open_cloud(clock=..., sleep=...)``.

``JumpTime``: ``sleep(s)`` moves the clock ``s`` ahead at once and records ``s``, so a
task's back-offs, ``Retry-After`` waits and look-up pauses cost nothing while its
timings read as if it had waited. Several tasks sleeping together each move the clock
by their own wait: good for "waited at least this long", not for measuring a rate.

``VirtualTime``: a sleeper wakes when the clock reaches its wake-up time, and the clock
moves only in ``run``, to the next wake-up, once every task the test counts is asleep:
rates and order come out exactly as in real time, without waiting for it. Real I/O
(loopback sockets, the simulator's thread) happens while the clock stands still.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel


class JumpTime:
    """A clock that moves only when slept on (or ``advance`` d)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(order=True)
class _Sleeper:
    wake_at: float
    order: int
    woken: anyio.Event = field(compare=False, default_factory=anyio.Event)
    gone: bool = field(compare=False, default=False)


class VirtualTime:
    """A clock that moves to the next wake-up once every counted task sleeps."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self._sleepers: list[_Sleeper] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        sleeper = _Sleeper(self.now + seconds, next(self._order))
        heapq.heappush(self._sleepers, sleeper)
        try:
            await sleeper.woken.wait()
        finally:
            sleeper.gone = True  # woken, or cancelled while asleep

    @property
    def sleeping(self) -> int:
        """Tasks asleep now."""
        return sum(1 for s in self._sleepers if not s.gone and not s.woken.is_set())

    def advance(self) -> None:
        """Move to the next wake-up and wake every sleeper due by then."""
        while self._sleepers and self._sleepers[0].gone:
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return
        self.now = max(self.now, self._sleepers[0].wake_at)
        while self._sleepers and self._sleepers[0].wake_at <= self.now:
            heapq.heappop(self._sleepers).woken.set()

    async def run(self, *, until: Callable[[], bool], asleep: Callable[[], int]) -> None:
        """Advance whenever ``asleep()`` tasks are all asleep, until ``until()``.

        ``asleep`` says how many tasks sleep when nothing can happen before the clock
        moves (e.g. every request not yet answered): the test's claim about the code.
        Waits for real I/O in 1 ms steps. When that claim does not come true for 10 s
        of real time the test fails, every sleeper is woken (so servers can stop) and
        the counts are shown.
        """
        start = self.now
        expected = 0
        try:
            with anyio.fail_after(10):
                while not until():
                    expected = asleep()
                    if expected and self.sleeping == expected:
                        self.advance()
                    await anyio.sleep(0.001)
        except TimeoutError:
            sleeping = self.sleeping
            for sleeper in self._sleepers:
                sleeper.woken.set()
            raise AssertionError(
                f"virtual time stalled at +{self.now - start:.3f} s: {sleeping} tasks "
                f"asleep, {expected} expected"
            ) from None
