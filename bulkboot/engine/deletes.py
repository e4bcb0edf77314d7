"""Deleting servers and waiting until they are gone: ``destroy``'s work, and a rollback's.

At most the limiter's size of DELETEs in flight, fewer while the API is turned away or
queueing: the limiter is sized by the same adaptive window as ``apply``'s creates
(``window.CreateWindow``, fed each DELETE's latency, which a 429's ``Retry-After``
makes long). The cloud client's rate limit paces them (deleting too many servers at
once can overwhelm a cloud, as Rally's cleanup notes warn); then batched polling
(``changes-since`` shows deleted servers as DELETED, a full listing no longer lists
them) until each is gone or its deadline passes. Each DELETE and each disappearance is
an event (journaled).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

import anyio

from bulkboot.engine.board import Emit
from bulkboot.engine.compute_api import ComputeApi, refusal
from bulkboot.engine.pacing import PollPacing
from bulkboot.engine.poll import Poller, sleep_interval
from bulkboot.engine.state import DeadlinePassed, Deleted, DeleteRefused, DeleteSent
from bulkboot.engine.window import CreateWindow
from bulkboot.errors import AuthError, CloudError, EndpointNotFound

__all__ = ["delete_and_wait"]

# Errors that end the run (every other request would fail the same way).
_FATAL = (AuthError, EndpointNotFound)


async def delete_and_wait(
    compute: ComputeApi,
    targets: Sequence[tuple[str, str]],
    *,
    emit: Emit,
    limiter: anyio.CapacityLimiter,
    poller: Poller,
    pacing: PollPacing,
    deadline: float,
    clock: Callable[[], float],
    rng: random.Random,
    should_stop: Callable[[], bool] = lambda: False,
    stopped: anyio.Event | None = None,
) -> int:
    """DELETE each (name, id) under ``limiter``; poll until gone. Returns how many went.

    With ``--rate``, a DELETE waits for its slot before it is journaled as sent (one at a
    time, so polls are not queued behind every delete), and setting ``stopped`` abandons
    that wait: a Ctrl-C stops the deletes that have not left yet.
    """
    waiting: dict[str, str] = {}  # id -> name, DELETE accepted, not yet gone
    window = CreateWindow(ceiling=max(1, int(limiter.total_tokens)))
    gone = 0
    in_flight = len(targets)
    rated = compute.rate_limited
    rate_lock = anyio.Lock()
    abandon = stopped if stopped is not None else anyio.Event()

    async def rate_turn() -> bool:
        async with rate_lock:
            return not should_stop() and await compute.rate_turn(abandon)

    def finished(server_id: str, name: str) -> None:
        nonlocal gone
        waiting.pop(server_id, None)
        poller.unwatch(server_id)
        if emit(Deleted(name=name, at=clock(), server_id=server_id)) is not None:
            gone += 1

    async def delete_one(name: str, server_id: str) -> None:
        nonlocal in_flight
        try:
            async with limiter:
                if should_stop() or (rated and not await rate_turn()):
                    return  # stopped: not sent, not journaled
                try:
                    if emit(DeleteSent(name=name, at=clock(), server_id=server_id)) is None:
                        return
                    sent = clock()
                    existed = await compute.delete_server(server_id)
                    limiter.total_tokens = window.answered(clock() - sent, clock())
                except _FATAL:
                    raise
                except CloudError as exc:
                    limiter.total_tokens = window.overloaded(clock())
                    emit(DeleteRefused(name=name, at=clock(), message=refusal(exc)))
                    return
                finally:
                    if rated:
                        compute.drop_rate_turn()
            if existed:
                waiting[server_id] = name
                poller.watch(server_id, name, changing=True)
            else:
                finished(server_id, name)
        finally:
            in_flight -= 1

    async def feed(items: Iterable[tuple[str, str]]) -> None:
        for name, server_id in items:
            await delete_one(name, server_id)

    async def poll() -> None:
        interval: float | None = None
        news = False
        while in_flight or waiting:
            interval = await sleep_interval(
                pacing, interval, news=news, fleet_size=len(targets), rng=rng
            )
            if not waiting:
                news = False
                continue
            result = await poller.round()
            news = False
            for sighting in result.sightings:
                if sighting.server_id in waiting and sighting.status == "DELETED":
                    finished(sighting.server_id, sighting.key)
                    news = True
            for server_id, name in result.missing:
                if server_id in waiting:
                    finished(server_id, name)
                    news = True
            now = clock()
            for server_id, name in poller.watched_before(now - deadline):
                if server_id in waiting:
                    waiting.pop(server_id)
                    poller.unwatch(server_id)
                    emit(DeadlinePassed(name=name, at=now))

    items = iter(targets)
    async with anyio.create_task_group() as tasks:
        for _ in range(max(1, min(int(limiter.total_tokens), len(targets)))):
            tasks.start_soon(feed, items)
        tasks.start_soon(poll)
    return gone
