"""The simulator and the load engine on one virtual clock, in one event loop.

``VIRTUAL_LOOP`` (an anyio backend) runs the test on an event loop whose time jumps
to its next timer whenever nothing is ready, as ``tests/engine/virtual_time.py``
does, except that before each jump it gives real I/O a moment (``SETTLE`` of real
time) to arrive: the simulator is served in the same loop over loopback sockets
(``serve_simulator``), and a request written by the client must reach it before the
clock moves on. The simulator's own clock (``LoopClock``) is the loop's time plus an
epoch, so builds, latencies, Nova's timestamps, the client's timings, the poller's
interval and the schedule all run on the same virtual seconds: a run of minutes
takes a fraction of a second, and its timings depend on nothing but the test's
numbers.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Mapping
from typing import Any

__all__ = ["SETTLE", "VIRTUAL_LOOP", "LoopClock"]

SETTLE = 0.0005  # real seconds given to loopback I/O before the clock jumps
EPOCH = 1_800_000_000.0  # the simulator's wall time at loop time 0


class _SettlingSelector(selectors.BaseSelector):
    def __init__(self, loop: _VirtualLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            return self._real.select(None)
        ready = self._real.select(SETTLE)
        if not ready:
            self._loop.advance(timeout)
        return ready

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_SettlingSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


VIRTUAL_LOOP: tuple[str, dict[str, object]] = ("asyncio", {"loop_factory": _VirtualLoop})


class LoopClock:
    """The simulator's clock on the running loop's time (``time()`` is epoch seconds)."""

    def time(self) -> float:
        return EPOCH + asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
