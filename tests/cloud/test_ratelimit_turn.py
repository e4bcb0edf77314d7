"""The --rate turn apply takes before journaling a create (``RateLimiter.wait_turn``,
``bulkboot/cloud/ratelimit.py``): pure timing, no network."""

from __future__ import annotations

import time

import anyio
import pytest

from bulkboot.cloud.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio


async def test_a_turn_taken_is_the_next_requests_slot_not_an_extra_one() -> None:
    limiter = RateLimiter(10.0)
    assert await limiter.wait_turn(anyio.Event())  # the first slot is now
    await limiter.acquire()  # the request itself: no second slot taken
    assert limiter.reserve() == pytest.approx(0.1, abs=0.02)  # one slot spent, not two


async def test_an_abandoned_turn_returns_at_once_and_gives_its_slot_back() -> None:
    limiter = RateLimiter(2.0)
    limiter.reserve()  # the slot now is taken: the next one is 0.5 s away
    stop = anyio.Event()

    async def stop_soon() -> None:
        await anyio.sleep(0.05)
        stop.set()

    started = time.monotonic()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_soon)
        assert not await limiter.wait_turn(stop)
    assert time.monotonic() - started < 0.3
    # the abandoned slot is free again: the next caller waits for it, not the one after
    assert limiter.reserve() == pytest.approx(0.45, abs=0.05)


async def test_a_turn_is_this_tasks_only() -> None:
    limiter = RateLimiter(10.0)

    async def take() -> None:
        assert await limiter.wait_turn(anyio.Event())

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(take)
    # another task's turn does not let this task's request skip its own slot
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started >= 0.08
    assert limiter.reserve() == pytest.approx(0.1, abs=0.03)
