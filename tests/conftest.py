"""Fixtures shared by every test folder.

anyio's pytest plugin runs ``@pytest.mark.anyio`` tests; bulkboot runs on asyncio only
(aiohttp needs it), so the backend is pinned here.

``simulator`` is one simulated cloud for the whole session (real sockets on
127.0.0.1, its own thread); ``sim`` is the same one, reset to no servers, no tokens,
no counts and the session's config before each test that asks for it. The session
config keeps builds short (0.2 s) so tests that wait for ACTIVE stay quick. Both run
on real time.

``clocked_simulator`` / ``clocked_sim`` are the same on a ``ManualClock``
(``sim_clock``): its builds, deletes, token expiry, rate limit and latency move only
when a test calls ``sim_clock.advance()``, so a test that waits for time to pass
waits for nothing and does not depend on how busy the machine is.

Skips that share a reason (no real Keystone, no real Nova) are one line each in the
summary (``tests.skips``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bulkboot.simulator import RunningSimulator, SimConfig, start_simulator
from bulkboot.simulator.clock import ManualClock
from tests.skips import fold_shared_skips

# Short builds: tests waiting for ACTIVE wait about 0.2 s.
TEST_SIM_CONFIG = SimConfig(build_time_mean=0.2, build_time_stddev=0.05, delete_delay=0.1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    """One simulator for the session; tests that change it should use ``sim``."""
    with start_simulator(TEST_SIM_CONFIG) as running:
        yield running


@pytest.fixture
def sim(simulator: RunningSimulator) -> RunningSimulator:
    """The session's simulator, reset to a clean state and the session config."""
    simulator.reset()
    return simulator


@pytest.fixture(scope="session")
def sim_clock() -> ManualClock:
    """The time of ``clocked_simulator``: it moves only when a test advances it."""
    return ManualClock()


@pytest.fixture(scope="session")
def clocked_simulator(sim_clock: ManualClock) -> Iterator[RunningSimulator]:
    """One simulator on ``sim_clock`` for the session; tests should use ``clocked_sim``."""
    with start_simulator(TEST_SIM_CONFIG, clock=sim_clock) as running:
        yield running


@pytest.fixture
def clocked_sim(clocked_simulator: RunningSimulator, sim_clock: ManualClock) -> RunningSimulator:
    """The manually clocked simulator, reset to a clean state and the session config."""
    left = sim_clock.pending_sleeps()
    if left:  # a test that failed half-way left requests waiting: let them finish
        sim_clock.advance(max(left))
    clocked_simulator.reset()
    return clocked_simulator


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Before pytest's short summary: one line per reason shared by several skips
    (``tests.skips``); the counts are pytest's own."""
    fold_shared_skips(terminalreporter.stats.get("skipped", []))
