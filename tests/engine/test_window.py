"""The create window: grows while the API keeps up, shrinks when it queues, never past
its bounds; ``adaptive=False`` is exactly the ceiling."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bulkboot.engine.window import CreateWindow
from tests.engine.fake_nova import FakeNova, apply_on_fake
from tests.engine.fleet_helpers import apply_manifest, write_manifest
from tests.engine.sim_loop import ON_VIRTUAL_TIME, loop_simulator
from tests.engine.virtual_time import VIRTUAL_TIME

BASE = 0.05  # an idle API's answer, seconds


def feed(window: CreateWindow, seconds: float, count: int, *, start: float = 0.0) -> float:
    """``count`` answers of ``seconds`` each, ``seconds / 10`` apart; returns the time."""
    now = start
    for _ in range(count):
        now += seconds / 10
        window.answered(seconds, now)
    return now


def test_starts_at_twice_the_default_concurrency_never_above_the_ceiling() -> None:
    assert CreateWindow(ceiling=1000).size == 200
    assert CreateWindow(ceiling=100).size == 100
    assert CreateWindow(ceiling=40).size == 40
    assert CreateWindow(ceiling=1000, start=10).size == 10


def test_fixed_is_the_ceiling_whatever_the_answers() -> None:
    window = CreateWindow(ceiling=1000, adaptive=False)
    assert window.size == 1000
    assert window.answered(BASE, 0.0) == 1000
    assert window.answered(100 * BASE, 1.0) == 1000
    assert window.overloaded(2.0) == 1000
    assert window.stats().shrinks == 0


def test_slow_start_adds_one_per_answer_while_the_api_keeps_up() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, BASE, 50)
    assert window.size == 150
    feed(window, BASE, 2000, start=10.0)
    assert window.size == 1000  # up to the ceiling, not past it
    assert window.stats().high == 1000


def test_queueing_shrinks_by_a_quarter_at_most_once_per_round_trip() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, BASE, 100)  # 200, base learnt
    assert window.size == 200
    slow = 10 * BASE
    # a burst of slow answers all within one round trip of each other: one shrink
    now = 5.0
    sizes = [window.answered(slow, now + i * 0.001) for i in range(40)]
    assert window.stats().shrinks == 1
    assert sizes[-1] == 150
    # a round trip later it shrinks again
    window.answered(slow, now + 1.0)
    assert window.size == 125  # 112, held at the floor: an eighth of the ceiling
    assert window.stats().shrinks == 2


def test_one_slow_answer_among_fast_ones_is_not_a_queue() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, BASE, 20)
    before = window.size
    window.answered(3 * BASE, 2.0)  # smoothed: 0.05 + (0.15 - 0.05) / 8 = 0.0625
    assert window.stats().shrinks == 0
    assert window.size == before + 1  # the smoothed latency is still within 1.5x


def test_never_below_the_floor() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, BASE, 10)
    for step in range(100):
        window.answered(50 * BASE, 10.0 + step * 10)
    assert window.size == window.floor == 125
    assert CreateWindow(ceiling=40).floor == 8
    assert CreateWindow(ceiling=5).floor == 5


def test_after_a_stall_it_comes_back_to_its_start_one_per_answer() -> None:
    window = CreateWindow(ceiling=400, start=200)
    feed(window, BASE, 10)  # 210
    for step in range(4):  # a stall: four round trips of slow answers
        window.answered(20 * BASE, 1.0 + step)
    assert window.size == 66  # 210 * 0.75^4
    # the queue gone (the smoothed latency back under 2x), it regrows one per answer,
    # busy client or not, up to its start and no further while the client is busy
    now = 10.0
    for _ in range(400):
        now += 0.001
        window.answered(BASE, now, cpu=now)  # the client on the CPU all the time
    assert window.size == 200


def test_a_few_milliseconds_of_jitter_on_a_fast_api_are_not_a_queue() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, 0.002, 30)
    now = 1.0
    for step in range(200):  # 2 ms to 20 ms: 10x, but within the slack
        window.answered(0.002 + 0.018 * (step % 2), now + step * 0.01)
    assert window.stats().shrinks == 0
    assert window.size == 330  # every answer grew it


def test_overloaded_shrinks_like_queueing() -> None:
    window = CreateWindow(ceiling=400, start=100)
    feed(window, BASE, 10)
    assert window.overloaded(1.0) == 82  # 110 * 0.75
    assert window.overloaded(1.0) == 82  # the same round trip
    assert window.stats().shrinks == 1


def test_a_lasting_higher_latency_becomes_the_norm() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    feed(window, BASE, 10)
    now = 1.0
    for step in range(5000):
        window.answered(3 * BASE, now + step * 0.1)
    shrunk = window.stats().shrinks
    assert shrunk >= 1
    feed(window, 3 * BASE, 300, start=now + 600.0)
    assert window.stats().shrinks == shrunk  # no longer a queue
    assert window.size > window.floor  # and growing again


def test_stats_record_the_range() -> None:
    window = CreateWindow(ceiling=300, start=100)
    feed(window, BASE, 100)
    window.answered(10 * BASE, 9.0)
    stats = window.stats()
    assert (stats.ceiling, stats.adaptive, stats.high, stats.final, stats.low) == (
        300,
        True,
        200,
        150,
        100,
    )


def test_a_busy_client_does_not_grow_the_window() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    # 90 % of each 50 ms round trip on the CPU: the client is the bottleneck
    for step in range(300):
        now = step * 0.005
        window.answered(BASE, now, cpu=0.9 * now)
    assert window.size == 100
    # the same answers with the CPU mostly idle: it grows
    for step in range(300, 400):
        now = step * 0.005
        window.answered(BASE, now, cpu=0.9 * 1.5 + 0.2 * (now - 1.5))
    assert window.size > 150


def test_growth_waits_for_a_first_round_trip_to_show_room() -> None:
    window = CreateWindow(ceiling=1000, start=100)
    for step in range(9):  # answers within the first 50 ms: the client's load unknown
        window.answered(BASE, step * 0.005, cpu=0.0)
    assert window.size == 100
    window.answered(BASE, 0.06, cpu=0.001)  # a round trip later, the CPU was idle
    assert window.size == 101


def test_a_ceiling_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        CreateWindow(ceiling=0)


# ---------------------------------------------------------------- over real sockets
# The simulator counts the creates it is handling (its latency included), so these see
# what the engine really keeps in flight.


@ON_VIRTUAL_TIME
@pytest.mark.anyio
async def test_fixed_keeps_exactly_concurrency_creates_in_flight(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(latency=0.05)
        path = write_manifest(tmp_path, name="fx", count=120)
        outcome = await apply_manifest(sim, path, concurrency=20, fixed_concurrency=True)
        assert outcome.ok
        assert sim.stats()["creates_in_flight_peak"] == 20
        assert outcome.window is not None and not outcome.window.adaptive


@ON_VIRTUAL_TIME
@pytest.mark.anyio
async def test_adaptive_never_passes_concurrency(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(latency=0.05)
        path = write_manifest(tmp_path, name="ad", count=120)
        outcome = await apply_manifest(sim, path, concurrency=20)
        assert outcome.ok
        assert sim.stats()["creates_in_flight_peak"] <= 20


# ------------------------------------------------------- the engine's window, on virtual time
# An in-process Nova (``fake_nova.py``) on a loop whose clock jumps when idle: answers
# take exactly what the test says, and this process is as busy as ``cpu_clock`` says,
# whatever the machine is doing meanwhile.

on_virtual_time = pytest.mark.parametrize("anyio_backend", [VIRTUAL_TIME], ids=["virtual-time"])


@pytest.mark.anyio
@on_virtual_time
async def test_an_api_that_queues_gets_fewer_creates_than_allowed(tmp_path: Path) -> None:
    # every create in flight adds 4 ms to the next one's answer: at the window's start
    # (200 in flight) an answer takes 0.82 s against 0.02 s idle
    nova = FakeNova(latency=0.02, create_queueing=0.004)
    path = write_manifest(tmp_path, name="q", count=600)
    outcome = await apply_on_fake(nova, path, concurrency=400)
    assert outcome.ok
    assert len(nova.servers) == 600
    assert outcome.window is not None and outcome.window.shrinks >= 1
    assert outcome.window.low < 200  # shrunk below its start
    # of 400 allowed (the window may grow again at the end, when few creates are left
    # and their answers are quick, but by then there are not many to send)
    assert nova.creates_in_flight_peak <= 260
    assert any("the API queued or refused creates" in note for note in outcome.notes)


@pytest.mark.anyio
@on_virtual_time
async def test_the_same_api_with_fixed_concurrency_gets_them_all(tmp_path: Path) -> None:
    nova = FakeNova(latency=0.02, create_queueing=0.004)
    path = write_manifest(tmp_path, name="qf", count=600)
    outcome = await apply_on_fake(nova, path, concurrency=400, fixed_concurrency=True)
    assert outcome.ok
    assert nova.creates_in_flight_peak >= 300


@pytest.mark.anyio
@on_virtual_time
async def test_an_api_that_keeps_up_lets_the_window_grow_past_its_start(tmp_path: Path) -> None:
    # this process never busy on the CPU: there is room for more in flight
    nova = FakeNova(latency=0.5)
    path = write_manifest(tmp_path, name="up", count=1000)
    outcome = await apply_on_fake(nova, path, concurrency=400, cpu_clock=lambda: 0.0)
    assert outcome.ok
    assert outcome.window is not None and outcome.window.high > 200
    assert nova.creates_in_flight_peak > 200


@pytest.mark.anyio
@on_virtual_time
async def test_the_same_api_with_a_busy_client_keeps_the_window_at_its_start(
    tmp_path: Path,
) -> None:
    # this process on the CPU all the time: more in flight would only cost it more
    nova = FakeNova(latency=0.5)
    path = write_manifest(tmp_path, name="busy", count=1000)
    outcome = await apply_on_fake(nova, path, concurrency=400, cpu_clock=anyio.current_time)
    assert outcome.ok
    assert outcome.window is not None and outcome.window.high == 200
    assert nova.creates_in_flight_peak == 200
