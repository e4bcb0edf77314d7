"""The --rate turn apply takes before journaling a create (``RateLimiter.wait_turn``,
``bulkboot/cloud/ratelimit.py``): pure timing on a test clock, no network."""

from __future__ import annotations

import anyio
import pytest

from bulkboot.cloud.ratelimit import RateLimiter
from tests.cloud.fake_time import JumpTime, VirtualTime

pytestmark = pytest.mark.anyio


async def test_a_turn_taken_is_the_next_requests_slot_not_an_extra_one() -> None:
    time = JumpTime()
    limiter = RateLimiter(10.0, clock=time.clock, sleep=time.sleep)
    assert await limiter.wait_turn(anyio.Event())  # the first slot is now
    await limiter.acquire()  # the request itself: no second slot taken
    assert time.waits == []
    assert limiter.reserve() == pytest.approx(0.1)  # one slot spent, not two


async def test_an_abandoned_turn_returns_at_once_and_gives_its_slot_back() -> None:
    time = VirtualTime()
    start = time.clock()
    limiter = RateLimiter(2.0, clock=time.clock, sleep=time.sleep)
    limiter.reserve()  # the slot now is taken: the next one is 0.5 s away
    stop = anyio.Event()
    turns: list[bool] = []

    async def stop_soon() -> None:
        await time.sleep(0.05)
        stop.set()

    async def take_turn() -> None:
        turns.append(await limiter.wait_turn(stop))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_soon)
        tasks.start_soon(take_turn)
        # the clock moves once both sleep: the stop's 0.05 s and the turn's 0.5 s
        tasks.start_soon(lambda: time.run(until=lambda: bool(turns), asleep=lambda: 2))
    assert turns == [False]
    assert time.clock() - start == pytest.approx(0.05)  # at once: not at the 0.5 s slot
    # the abandoned slot is free again: the next caller waits for it, not the one after
    assert limiter.reserve() == pytest.approx(0.45)


async def test_a_turn_is_this_tasks_only() -> None:
    time = JumpTime()
    limiter = RateLimiter(10.0, clock=time.clock, sleep=time.sleep)

    async def take() -> None:
        assert await limiter.wait_turn(anyio.Event())

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(take)
    # another task's turn does not let this task's request skip its own slot
    await limiter.acquire()
    assert time.waits == [pytest.approx(0.1)]
    assert limiter.reserve() == pytest.approx(0.1)
