"""Seeing ACTIVE and gone for every iteration in flight with one poll per round.

Every iteration waiting for its server registers here; one task polls for all of them
with the engine's ``Poller`` (the batched polling ``apply`` uses: one ``changes-since``
list per round, paged, a full list once a minute; never a GET per server), at a fixed
interval so that the timing bound is known: a status change is seen by the first
round listed after it, so what is measured through polling is late by at most one
interval plus one round's own round trip (``bound``), and never early.

The poller holds ``changes-since`` back ``SETTLE`` seconds (``Poller(settle=)``): real
Nova can make a change visible after a listing that already moved past its second, and
without the hold-back that change is seen only by the next full listing, up to a minute
late, which would break the bound every polled phase states.

Rounds are skipped while nobody waits: an idle run sends nothing. A round that fails
(the cloud client has already retried what it may) means the run can no longer see
its servers: every wait ends (``stopped``), waits begun after end at once, and
``on_error`` is told, which stops the run. The iterations a
round ends are woken one per turn of the event loop, not all at once: each then sends
its next request, and a burst of them would hold back an open loop's next intended
start by the whole burst (a round can end dozens of waits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal

import anyio
import anyio.lowlevel

from bulkboot.engine.poll import Lister, Poller, PollRound
from bulkboot.errors import CloudError
from bulkboot.identity import GONE_STATUSES

__all__ = ["PollHub", "Seen", "SeenKind"]

SeenKind = Literal["active", "error", "gone", "vanished", "timeout", "stopped"]
_ACTIVE: Final = 0
_GONE: Final = 1
# Seconds ``changes-since`` is held back (``updated`` has whole seconds: one is the
# least that helps; measured on Nova 34, see docs/load.md).
SETTLE: Final = 1.0


class Seen:
    """How a wait ended: ``kind``, when (the run's clock), the record seen (if any)."""

    __slots__ = ("at", "fault", "kind", "record")

    def __init__(
        self,
        kind: SeenKind,
        at: float,
        record: Mapping[str, Any] | None = None,
        fault: str | None = None,
    ) -> None:
        self.kind = kind
        self.at = at
        self.record = record
        self.fault = fault


class _Waiter:
    __slots__ = ("event", "seen", "want")

    def __init__(self, want: int, event: anyio.Event) -> None:
        self.want = want
        self.event = event
        self.seen: Seen | None = None


# Waits woken per turn of the event loop after a round. One: each woken iteration then
# sends its next request before the next wakes, so an intended start due meanwhile
# waits for one such step, not for the round's whole burst (p99 schedule_lag at 50/s
# here: 3.5 ms with 1, 7.3 ms with 8, at the same CPU per iteration).
WAKE_AT_ONCE: Final = 1


class PollHub:
    """The run's one poller and the iterations waiting on it.

    ``interval``: seconds between the starts of two rounds (a round that takes longer
    is followed at once); ``timeout``: how long one wait may last.
    """

    __slots__ = (
        "_clock",
        "_ended",
        "_event",
        "_on_error",
        "_sleep",
        "_stopped",
        "_waiters",
        "interval",
        "longest_round",
        "poller",
        "rounds",
        "timeout",
    )

    def __init__(
        self,
        lister: Lister,
        *,
        fleet: str,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        interval: float,
        timeout: float,
        on_error: Callable[[CloudError], None] | None = None,
    ) -> None:
        self.poller = Poller(lister, fleet=fleet, clock=clock, settle=SETTLE)
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self.interval = interval
        self.timeout = timeout
        self._waiters: dict[str, _Waiter] = {}
        self._ended: list[_Waiter] = []  # waits a round ended, to wake
        # The event class of the running backend: ``anyio.Event()`` looks the backend
        # up on every call, twice per iteration; its class is the same all run long.
        self._event: Callable[[], anyio.Event] = type(anyio.Event())
        self._stopped = False
        self.rounds = 0
        self.longest_round = 0.0

    @property
    def bound(self) -> float:
        """How late a status change can be seen: one interval and the longest round."""
        return self.interval + self.longest_round

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def until_active(self, server_id: str, key: str) -> Seen:
        """Until the server is seen ACTIVE (or ERROR, gone, timed out, or the run stops)."""
        return await self._wait(server_id, key, _ACTIVE)

    async def until_gone(self, server_id: str, key: str) -> Seen:
        """Until the server is seen deleted (or timed out, or the run stops)."""
        return await self._wait(server_id, key, _GONE)

    async def _wait(self, server_id: str, key: str, want: int) -> Seen:
        if self._stopped:
            return Seen("stopped", self._clock())
        waiter = self._waiters[server_id] = _Waiter(want, self._event())
        self.poller.watch(server_id, key, changing=want == _GONE)
        try:
            await waiter.event.wait()
        finally:
            if self._waiters.get(server_id) is waiter:
                del self._waiters[server_id]
                self.poller.unwatch(server_id)
        seen = waiter.seen
        assert seen is not None
        return seen

    def stop(self) -> None:
        """End every wait now (``stopped``), and any wait begun from now on."""
        self._stopped = True
        now = self._clock()
        for server_id in list(self._waiters):
            self._done(server_id, Seen("stopped", now))
        self._wake_all()

    def resume(self) -> None:
        """Waits wait again (the run's clean-up, after a stop)."""
        self._stopped = False

    def _done(self, server_id: str, seen: Seen) -> None:
        waiter = self._waiters.pop(server_id, None)
        if waiter is None:
            return
        self.poller.unwatch(server_id)
        waiter.seen = seen
        self._ended.append(waiter)

    def _wake_all(self) -> None:
        ended, self._ended = self._ended, []
        for waiter in ended:
            waiter.event.set()

    async def _wake(self) -> None:
        """Wake the waits a round ended, ``WAKE_AT_ONCE`` per turn of the event loop."""
        ended, self._ended = self._ended, []
        for number, waiter in enumerate(ended):
            if number and not number % WAKE_AT_ONCE:
                await anyio.lowlevel.checkpoint()
            waiter.event.set()

    async def run(self) -> None:
        """Poll round after round, until cancelled."""
        clock = self._clock
        next_round = clock() + self.interval
        while True:
            delay = next_round - clock()
            if delay > 0:
                await self._sleep(delay)
            began = clock()
            next_round = began + self.interval
            if not self._waiters:
                continue
            try:
                result = await self.poller.round()
            except CloudError as exc:
                self.stop()
                if self._on_error is None:
                    raise
                self._on_error(exc)
                continue
            now = clock()
            self.rounds += 1
            self.longest_round = max(self.longest_round, now - began)
            self._sort_out(result, now)
            await self._wake()

    def _sort_out(self, result: PollRound, now: float) -> None:
        waiters = self._waiters
        for sighting in result.sightings:
            waiter = waiters.get(sighting.server_id)
            if waiter is None:
                self.poller.unwatch(sighting.server_id)
                continue
            status = sighting.status
            if waiter.want == _ACTIVE:
                if status == "ACTIVE":
                    self._done(sighting.server_id, Seen("active", now, sighting.record))
                elif status == "ERROR":
                    seen = Seen("error", now, sighting.record, sighting.fault)
                    self._done(sighting.server_id, seen)
                elif status in GONE_STATUSES:
                    self._done(sighting.server_id, Seen("vanished", now, sighting.record))
            elif status in GONE_STATUSES:
                self._done(sighting.server_id, Seen("gone", now, sighting.record))
        for server_id, _ in result.missing:
            waiter = waiters.get(server_id)
            if waiter is not None:
                self._done(server_id, Seen("gone" if waiter.want == _GONE else "vanished", now))
        for server_id, _ in self.poller.watched_before(now - self.timeout):
            self._done(server_id, Seen("timeout", now))
