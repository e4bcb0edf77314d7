"""``destroy``: delete every server of the fleet, gently, and wait until they are gone.

Which servers: those the cloud lists with the fleet mark (``bulkboot:fleet``), plus
those the journal says this fleet created that the listing did not show (each is
looked up by id and deleted only if it still carries the mark): ``fleet.fleet_servers``.
A server without the mark is never touched, whatever its name.

How: at most ``concurrency`` DELETEs in flight (``CapacityLimiter``), fewer while the
API is turned away or queueing: the limiter is sized by the same adaptive window as
``apply``'s creates (``window.CreateWindow``, fed each DELETE's latency, which a
429's ``Retry-After`` makes long). The cloud client's rate limit paces them (deleting
too many servers at once can overwhelm a cloud, as Rally's cleanup notes warn); then
batched polling (``changes-since`` shows
deleted servers as DELETED) until each is gone or its deadline passes. The journal
records each DELETE and each disappearance.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from bulkboot.engine.board import Board, Emit, Observer, emitter
from bulkboot.engine.compute_api import ComputeApi, refusal
from bulkboot.engine.fleet import fleet_servers
from bulkboot.engine.journal import Journal, JournalEntry
from bulkboot.engine.options import DestroyOptions
from bulkboot.engine.pacing import PollPacing
from bulkboot.engine.poll import Poller, sleep_interval
from bulkboot.engine.state import (
    DeadlinePassed,
    Deleted,
    DeleteRefused,
    DeleteSent,
    Phase,
    ServerState,
)
from bulkboot.engine.window import CreateWindow
from bulkboot.errors import AuthError, CloudError, EndpointNotFound

__all__ = ["DestroyOptions", "DestroyOutcome", "delete_and_wait", "destroy_fleet"]

# Errors that end the run (every other request would fail the same way).
_FATAL = (AuthError, EndpointNotFound)


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOutcome:
    states: tuple[ServerState, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(s.phase is Phase.DELETED for s in self.states)


def _unique_names(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Server names, made unique with the id where two servers share one."""
    counts: dict[str, int] = {}
    for record in records:
        name = str(record.get("name") or record.get("id"))
        counts[name] = counts.get(name, 0) + 1
    names = []
    for record in records:
        name = str(record.get("name") or record.get("id"))
        names.append(name if counts[name] == 1 else f"{name} ({str(record.get('id'))[:8]})")
    return names


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
                poller.watch(server_id, name)
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


async def destroy_fleet(
    compute: ComputeApi,
    fleet: str,
    *,
    board: Board,
    journal: Journal,
    entries: Mapping[str, JournalEntry],
    options: DestroyOptions,
    observers: Iterable[Observer] = (),
    clock: Callable[[], float] = time.monotonic,
    should_stop: Callable[[], bool] = lambda: False,
    stopped: anyio.Event | None = None,
    found: tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]] | None = None,
) -> DestroyOutcome:
    """Delete every server of ``fleet`` and wait until they are gone.

    ``found`` is ``fleet_servers``' answer when the caller already asked (to confirm
    with the user first); otherwise the fleet is listed here.
    """
    emit = emitter(board, journal, observers)
    records, mine, notes = (
        found if found is not None else await fleet_servers(compute, fleet, entries)
    )
    names = _unique_names(mine)
    board.add(
        ServerState(
            name=name,
            server_id=str(record["id"]),
            status=str(record.get("status", "UNKNOWN")),
            existed=True,
        )
        for name, record in zip(names, mine, strict=True)
    )
    poller = Poller(compute, fleet=None, clock=clock)
    # Only deletions sent after this listing matter, so its own duration does not.
    poller.note_listing(records, 0.0)
    async with anyio.create_task_group() as background:
        background.start_soon(journal.sync_every)
        await delete_and_wait(
            compute,
            [(name, str(record["id"])) for name, record in zip(names, mine, strict=True)],
            emit=emit,
            limiter=anyio.CapacityLimiter(max(1, options.concurrency)),
            poller=poller,
            pacing=options.pacing,
            deadline=options.timeout,
            clock=clock,
            rng=random.Random(options.seed),
            should_stop=should_stop,
            stopped=stopped,
        )
        background.cancel_scope.cancel()
    return DestroyOutcome(states=tuple(board.states.values()), notes=tuple(notes))
