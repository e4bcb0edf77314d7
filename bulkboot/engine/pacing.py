"""How long to wait between two polling rounds: pure maths, no clock, no I/O.

Why adaptive: polling too fast is what gets fleets rate-limited (Heat, Rackspace's
otter and mrack all learnt it, and had to slow down or spread their polls); polling
too slowly adds up to one interval to the time every server is seen ACTIVE. So:

- fast at first: the first round comes after ``first`` seconds, catching early
  answers (ERRORs from scheduling come quickly);
- while rounds bring news the interval stays at ``base``; each quiet round grows it
  by ``growth`` up to the ceiling (builds are running, nothing to see yet);
- the ceiling grows with the fleet's size (``base`` for 1,000 servers or fewer, up to
  ``base * max_factor`` from 10,000): a big fleet's rounds cost more on the server;
- jitter (``±jitter`` of the interval) keeps many clients from polling in lockstep.

A round costs a few list calls whatever the fleet's size (``changes-since`` and
paging), so the interval does not need to grow with the count of servers building.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["PollPacing"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PollPacing:
    """The knobs of the adaptive interval; ``base`` is ``--poll-interval``."""

    base: float = 1.0
    first: float = 0.5
    growth: float = 1.5
    max_factor: float = 2.0
    jitter: float = 0.1

    def ceiling(self, fleet_size: int) -> float:
        """The longest interval for a fleet: ``base`` up to 1,000 servers, then growing
        linearly to ``base * max_factor`` at 10,000 and beyond."""
        if fleet_size <= 1000:
            return self.base
        share = min(1.0, (fleet_size - 1000) / 9000)
        return self.base * (1.0 + (self.max_factor - 1.0) * share)

    def next_interval(self, previous: float | None, *, news: bool, fleet_size: int) -> float:
        """The wait before the next round.

        ``previous`` is the last interval without jitter (``None`` before the first
        round); ``news`` says whether the last round saw any server change.
        Returns the interval *without* jitter; apply ``jittered`` to sleep.
        """
        if previous is None:
            return min(self.first, self.base)
        ceiling = self.ceiling(fleet_size)
        if news:
            return min(max(previous, min(self.first, self.base)), self.base)
        return min(ceiling, max(previous * self.growth, min(self.first, self.base)))

    def jittered(self, interval: float, rng: random.Random) -> float:
        """``interval`` moved by up to ``±jitter`` of itself."""
        return interval * (1.0 + rng.uniform(-self.jitter, self.jitter))
