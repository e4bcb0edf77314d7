"""The engine against the simulator on virtual time, for tests that would otherwise wait.

The simulator is served in the test's own event loop, on that loop's clock
(``tests/engine/load/sim_time.py``: the loop's time jumps to its next timer whenever
nothing is ready, after giving loopback I/O a moment): builds, deletes, latencies,
token expiry, the client's back-offs and the engine's poll intervals all run on the
same virtual seconds and take no real time. Requests still go over real aiohttp
sockets. ``fleet_helpers`` times the run on the loop's clock, so the same helpers
serve both kinds of test.

Two things stay on the wall clock: the journal's stamps (the journal takes no clock)
and the ``Date`` header aiohttp puts on every answer (the cloud's clock, against which
a server's ``created`` gives its age). A test here must depend neither on a create's
"possibly created" window running out nor on a server's age.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bulkboot.simulator.server import RunningSimulator, serve_simulator
from tests.conftest import TEST_SIM_CONFIG
from tests.engine.load.sim_time import VIRTUAL_LOOP, LoopClock

__all__ = ["ON_VIRTUAL_TIME", "loop_simulator"]

# A test's mark: run on the virtual loop.
ON_VIRTUAL_TIME = pytest.mark.parametrize("anyio_backend", [VIRTUAL_LOOP], ids=["virtual"])


@asynccontextmanager
async def loop_simulator(**changes: Any) -> AsyncIterator[RunningSimulator]:
    """The tests' simulator (``TEST_SIM_CONFIG`` with ``changes``) in this loop, on its
    virtual time."""
    config = dataclasses.replace(TEST_SIM_CONFIG, **changes)
    async with serve_simulator(config, clock=LoopClock()) as sim:  # type: ignore[arg-type]
        yield sim
