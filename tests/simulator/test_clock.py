"""bulkboot/simulator/clock.py: a clock that moves only when a test says so."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bulkboot.simulator.clock import WALL_CLOCK, ManualClock
from tests.simulator.conftest import until

pytestmark = pytest.mark.anyio


def test_time_stands_still_until_advanced() -> None:
    clock = ManualClock(start=100.0)
    assert clock.time() == clock.time() == 100.0
    clock.advance(2.5)
    assert clock.time() == 102.5
    clock.advance(0)
    assert clock.time() == 102.5


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_it_only_moves_forward(seconds: float) -> None:
    clock = ManualClock(start=100.0)
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(seconds)
    assert clock.time() == 100.0


def test_it_starts_at_the_wall_time_by_default() -> None:
    before = WALL_CLOCK.time()
    assert before <= ManualClock().time() <= WALL_CLOCK.time()


async def test_a_sleep_ends_when_time_reaches_its_deadline() -> None:
    clock = ManualClock(start=0.0)
    sleep = asyncio.ensure_future(clock.sleep(1.0))
    await until(lambda: clock.pending_sleeps() == [1.0], "the sleep to start")
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert not sleep.done()
    assert clock.pending_sleeps() == [1.0]
    clock.advance(0.5)
    await asyncio.wait_for(sleep, 10)
    assert clock.pending_sleeps() == []


async def test_sleeps_wake_in_deadline_order() -> None:
    clock = ManualClock(start=0.0)
    woke: list[float] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    naps = asyncio.gather(*(nap(s) for s in (3.0, 1.0, 2.0)))
    await until(lambda: len(clock.pending_sleeps()) == 3, "three sleeps")
    assert clock.pending_sleeps() == [1.0, 2.0, 3.0]  # soonest first
    clock.advance(10.0)
    await asyncio.wait_for(naps, 10)
    assert woke == [1.0, 2.0, 3.0]


async def test_a_zero_sleep_does_not_wait() -> None:
    clock = ManualClock(start=0.0)
    await asyncio.wait_for(clock.sleep(0.0), 10)
    assert clock.pending_sleeps() == []


async def test_a_cancelled_sleep_is_forgotten() -> None:
    clock = ManualClock(start=0.0)
    sleep = asyncio.ensure_future(clock.sleep(5.0))
    await until(lambda: bool(clock.pending_sleeps()), "the sleep to start")
    sleep.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleep
    assert clock.pending_sleeps() == []


def test_a_sleep_on_another_threads_loop_is_woken_from_this_one() -> None:
    """The simulator sleeps on its own thread's loop; the test advances from its own."""
    clock = ManualClock(start=0.0)
    done = threading.Event()

    def other_thread() -> None:
        asyncio.run(clock.sleep(2.0))
        done.set()

    thread = threading.Thread(target=other_thread, daemon=True)
    thread.start()
    while not clock.pending_sleeps():
        assert thread.is_alive()
        threading.Event().wait(0.001)
    assert not done.is_set()
    clock.advance(2.0)
    assert done.wait(10)
    thread.join(10)
