"""The simulator's time: the wall clock, or a clock a test moves by hand.

Every time-driven change in the simulated cloud (a build ending, a delete completing,
a token expiring, the rate limit's bucket refilling) is computed from ``time()`` when a
request looks, never by a timer; the only waiting the simulator does (the API latency
before an answer) goes through ``sleep()``. So a ``ManualClock`` puts a test in charge
of time: nothing in the simulator changes with time unless the test calls ``advance()``,
and a test never has to sleep and hope the machine kept up.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["WALL_CLOCK", "Clock", "ManualClock", "WallClock"]


class Clock(Protocol):
    """Where the simulator reads the time and waits."""

    def time(self) -> float:
        """Seconds since the epoch (Nova's timestamps are wall time)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time, on the caller's event loop."""
        ...


class WallClock:
    """Real time: what a running simulator uses unless told otherwise."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


WALL_CLOCK = WallClock()


@dataclass(slots=True, kw_only=True, eq=False)  # compared by identity
class _Sleeper:
    deadline: float
    seconds: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None] = field(repr=False)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ManualClock:
    """Time that moves only in ``advance()``; read and advanced safely from any thread.

    The simulator runs on its own thread and loop while the test runs on another, so
    ``sleep()`` parks its caller on the caller's loop and ``advance()`` wakes it there.
    ``pending_sleeps()`` lets a test see that a request has reached its latency sleep
    (and what delay it drew) before moving time on, instead of guessing with a sleep.
    It starts at the wall time by default: tokens it stamps look fresh to real clients.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self._sleepers: list[_Sleeper] = []

    def __repr__(self) -> str:
        return f"ManualClock(now={self.time()!r})"

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` and wake every sleep whose deadline is reached."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"a clock moves forward only, not by {seconds}")
        with self._lock:
            self._now += seconds
            due = [s for s in self._sleepers if s.deadline <= self._now]
            self._sleepers = [s for s in self._sleepers if s.deadline > self._now]
        for sleeper in due:  # in deadline order: the sleepers list is kept sorted
            try:
                sleeper.loop.call_soon_threadsafe(_wake, sleeper.future)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass

    def pending_sleeps(self) -> list[float]:
        """The durations asked for by the sleeps still waiting, soonest deadline first."""
        with self._lock:
            return [s.seconds for s in self._sleepers]

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        sleeper = _Sleeper(deadline=0.0, seconds=seconds, loop=loop, future=loop.create_future())
        with self._lock:
            sleeper.deadline = self._now + seconds
            index = len(self._sleepers)
            while index and self._sleepers[index - 1].deadline > sleeper.deadline:
                index -= 1
            self._sleepers.insert(index, sleeper)
        try:
            await sleeper.future
        except asyncio.CancelledError:  # e.g. the client hung up: forget the sleep
            with self._lock:
                if sleeper in self._sleepers:
                    self._sleepers.remove(sleeper)
            raise
