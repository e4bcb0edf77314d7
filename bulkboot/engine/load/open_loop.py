"""The open loop's dispatch: intended starts kept, late ones started at once and
counted, none queued.

At each intended start (a time fixed in advance, ``schedule.intended_starts``) the
iteration is handed to an idle worker, or to a new one; if ``limit`` iterations are
in flight it is dropped (counted, with its intended time) instead. A start the
scheduler reaches late (the event loop was busy) is made at once: its lag is
recorded by the iteration (``schedule_lag``) and ``total`` runs from the intended
time, so the lateness shows instead of shifting the schedule. Workers are reused (a
task per iteration would cost a task's creation each time); an iteration is handed
only to a worker waiting for one, so there is never a backlog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio
import anyio.abc

from bulkboot.engine.load.iteration import Iterations
from bulkboot.engine.load.sample import Sample

__all__ = ["InFlight", "open_loop"]


class InFlight:
    """Iterations numbered so far (``next``) and running now, shared by the loops."""

    __slots__ = ("next", "running")

    def __init__(self) -> None:
        self.next = 0
        self.running = 0


class _Worker:
    """A worker: the iteration handed to it, and the event that hands it over."""

    __slots__ = ("event", "new_event", "sample")

    def __init__(self, sample: Sample, new_event: Callable[[], anyio.Event]) -> None:
        self.sample: Sample | None = sample
        self.new_event = new_event
        self.event = new_event()


class _Pool:
    """One schedule's workers waiting for an iteration; ``closed`` once it is over."""

    __slots__ = ("closed", "idle")

    def __init__(self) -> None:
        self.idle: list[_Worker] = []
        self.closed = False


async def open_loop(
    tasks: anyio.abc.TaskGroup,
    starts: Iterable[float],
    counts: InFlight,
    iterations: Iterations,
    *,
    step: int,
    limit: int,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    stopping: Callable[[], bool],
) -> None:
    """Start an iteration at each of ``starts`` (seconds from now) until they run out
    or ``stopping()``; the iterations run on in ``tasks``."""
    base = clock()
    run_start = iterations.started_at
    recorders = iterations.recorders
    pool = _Pool()
    idle = pool.idle
    new_event = type(anyio.Event())  # the backend's class: no look-up per hand-over
    try:
        for offset in starts:
            at = base + offset
            delay = at - clock()
            if delay > 0:
                await sleep(delay)
            if stopping():
                return
            sample = Sample(counts.next, at - run_start, step)
            counts.next += 1
            if counts.running >= limit:
                for recorder in recorders:
                    recorder.drop(sample)
                continue
            counts.running += 1
            if idle:
                worker = idle.pop()
                worker.sample = sample
                worker.event.set()
            else:
                tasks.start_soon(_work, _Worker(sample, new_event), pool, counts, iterations)
    finally:
        pool.closed = True  # the schedule is over: idle workers end, busy ones after
        for worker in idle:
            worker.sample = None
            worker.event.set()
        idle.clear()


async def _work(worker: _Worker, pool: _Pool, counts: InFlight, iterations: Iterations) -> None:
    while worker.sample is not None:
        try:
            await iterations.run(worker.sample)
        finally:
            counts.running -= 1
        worker.sample = None
        if pool.closed:
            return
        worker.event = worker.new_event()
        pool.idle.append(worker)
        await worker.event.wait()
