"""An asyncio event loop on virtual time, for engine tests that would otherwise wait.

Whenever nothing is ready to run, the loop's clock jumps to its next timer instead of
sleeping until it: ``anyio.sleep``, ``move_on_after`` and the engine's poll intervals
all take no real time, and a run's timings depend on nothing but the test's own
numbers (not on how busy the machine is). Real I/O is still polled at every step
(the journal's ``fsync`` runs in a worker thread), and waited for when no timer is
due; meant for tests whose cloud is in-process (``fake_nova.py``), not behind sockets.

Use it through anyio's pytest plugin::

    @pytest.fixture
    def anyio_backend() -> tuple[str, dict[str, object]]:
        return VIRTUAL_TIME
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Mapping
from typing import Any

__all__ = ["VIRTUAL_TIME", "VirtualTimeLoop"]


class _JumpingSelector(selectors.BaseSelector):
    """The default selector, except that a wait with a timeout advances the loop's
    clock by that timeout instead of blocking."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
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
        if timeout is None:  # no timer due: only real I/O can wake the loop
            return self._real.select(None)
        self._loop.advance(timeout)
        return ready

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` is virtual: it starts at 1000 and moves only when the loop is idle."""

    def __init__(self) -> None:
        self._virtual_now = 1000.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


VIRTUAL_TIME: tuple[str, dict[str, object]] = ("asyncio", {"loop_factory": VirtualTimeLoop})
