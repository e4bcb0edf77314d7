"""A token bucket: the per-second request limit an operator's proxy puts before a cloud.

Nova itself has no rate limit (removed in Newton); public clouds put one in front of
it and answer 429, with or without ``Retry-After``. The bucket holds ``rate`` tokens
(at least one), refills ``rate`` per second, and says how long until the next token.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]


class TokenBucket:
    """Not thread-safe: used from the simulator's event loop only."""

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._last = now

    def take(self, now: float) -> float | None:
        """Take one token; None when granted, else the seconds until one is free."""
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate

    @staticmethod
    def retry_after_header(wait: float) -> str:
        """Retry-After takes whole seconds: round up, never 0."""
        return str(max(1, math.ceil(wait)))
