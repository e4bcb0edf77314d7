"""A client-side request rate limit (``--rate``), shared by every request to one cloud.

It keeps a run under an operator's limit (OVH: 20 requests/s per project) instead of
bouncing off it with 429s. The bucket is the "generic cell rate algorithm": each
caller reserves the next free slot and sleeps until it, so there is no lock and no
background task, and the callers go in the order they asked. The clock and the sleep
are the transport's (injectable, so that tests do not wait for slots).
"""

from __future__ import annotations

import time
from contextvars import ContextVar

import anyio

from bulkboot.cloud.timing import Clock, Sleep

__all__ = ["RateLimiter"]

# The limiter whose slot the current task already waited for (``wait_turn``): its next
# ``acquire`` takes no other. Per task, so no other request can spend it.
_PREPAID: ContextVar[RateLimiter | None] = ContextVar("bulkboot_rate_prepaid", default=None)


class RateLimiter:
    """At most ``rate`` requests per second on average, ``burst`` of them back to back."""

    __slots__ = ("_clock", "_interval", "_next", "_slack", "_sleep", "rate")

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self.rate = rate
        self._interval = 1.0 / rate
        self._slack = (burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next = clock() - self._slack  # a full burst is there from the start

    def reserve(self) -> float:
        """Take the next slot; return how many seconds to wait for it (0 if it is now)."""
        now = self._clock()
        slot = max(self._next, now - self._slack)
        self._next = slot + self._interval
        return max(0.0, slot - now)

    async def acquire(self) -> None:
        """Wait for this caller's slot (at once when this task's ``wait_turn`` took it)."""
        if _PREPAID.get() is self:
            _PREPAID.set(None)
            return
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)

    async def wait_turn(self, abandon: anyio.Event) -> bool:
        """Wait for a slot ahead of a request, giving it back if ``abandon`` is set first.

        Why: a caller that must record "sent" only once its request really leaves (a
        create is journaled before its POST) waits for its slot here, where the wait
        can be abandoned (Ctrl-C), instead of inside the request. True: the slot is
        this task's, and its next ``acquire`` goes at once. False: abandoned, and the
        slot given back (callers behind it may then go up to one interval early: only
        ever when a run is being stopped).
        """
        wait = self.reserve()
        if wait > 0:
            try:
                async with anyio.create_task_group() as race:

                    async def slot_comes() -> None:
                        await self._sleep(wait)
                        race.cancel_scope.cancel()

                    race.start_soon(slot_comes)
                    await abandon.wait()
                    race.cancel_scope.cancel()
            except BaseException:
                self._next -= self._interval
                raise
            if abandon.is_set():
                self._next -= self._interval
                return False
        _PREPAID.set(self)
        return True

    def drop_turn(self) -> None:
        """Forget a slot ``wait_turn`` took that this task's request did not use."""
        if _PREPAID.get() is self:
            _PREPAID.set(None)
