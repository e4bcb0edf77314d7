"""``destroy``: delete every server of the fleet, gently, and wait until they are gone.

Which servers: those the cloud lists with the fleet mark (``bulkboot:fleet``), plus
those the journal says this fleet created that the listing did not show (each is
looked up by id and deleted only if it still carries the mark). A server without the
mark is never touched, whatever its name.

How: at most ``concurrency`` DELETEs in flight (``CapacityLimiter``); the cloud
client's rate limit paces them (mass deletes can hurt a cloud: REFERENCE P21); then
batched polling (``changes-since`` shows deleted servers as DELETED) until each is
gone or its deadline passes. The journal records each DELETE and each disappearance.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from bulkboot.engine.board import Board
from bulkboot.engine.journal import Journal, JournalEntry
from bulkboot.engine.pacing import PollPacing
from bulkboot.engine.poll import Poller, sleep_interval
from bulkboot.engine.state import (
    DeadlinePassed,
    Deleted,
    DeleteRefused,
    DeleteSent,
    Event,
    Phase,
    ServerState,
)
from bulkboot.errors import AuthError, CloudError, EndpointNotFound, NotFound
from bulkboot.identity import claim_partial, is_fleet_record

if TYPE_CHECKING:
    from bulkboot.cloud.compute import Compute
    from bulkboot.engine.apply import Observer

__all__ = ["DestroyOptions", "DestroyOutcome", "delete_and_wait", "destroy_fleet", "fleet_servers"]

_FATAL = (AuthError, EndpointNotFound)
_LOOKERS = 16  # journal ids looked up at once (the client caps it lower, with --rate too)


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOptions:
    concurrency: int = 100
    timeout: float = 600.0  # per server, from its DELETE to gone
    pacing: PollPacing = PollPacing()
    seed: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOutcome:
    states: tuple[ServerState, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(s.phase is Phase.DELETED for s in self.states)


async def fleet_servers(
    compute: Compute, fleet: str, journal: Mapping[str, JournalEntry]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Every server of the fleet: (all listed records, the fleet's records, notes).

    Journal ids missing from the listing are looked up, all at once (servers whose
    listing raced with their creation or deletion, or deleted behind our back). A partial
    record (a down cell, microversion 2.69+: no metadata, maybe no name) is the
    fleet's when the journal says this fleet created its id; it is returned under the
    journal's name, so it is deleted and shown rather than left as an orphan.
    """
    records = await compute.list_servers(None, detail=True)
    by_id = {i: e.name for e in journal.values() for i in e.live_ids} if journal else {}
    mine: list[dict[str, Any]] = []
    partial: list[str] = []
    for record in records:
        if is_fleet_record(record, fleet):
            mine.append(record)
        else:
            name = claim_partial(record, by_id)
            if name is not None:
                mine.append({**record, "name": record.get("name") or name})
                partial.append(name)
    listed = {str(r.get("id")) for r in records}
    notes: list[str] = []
    if partial:
        shown = ", ".join(partial[:5]) + (" ..." if len(partial) > 5 else "")
        notes.append(
            f"{len(partial)} server(s) listed without their details (a cell out of reach) "
            f"are the fleet's by the journal: {shown}"
        )
    missing: dict[str, str] = {}  # id -> the journal's name (an id once, whatever names)
    for entry in journal.values():
        for server_id in entry.live_ids:
            if server_id not in listed:
                missing.setdefault(server_id, entry.name)
    found: dict[str, dict[str, Any] | None] = {}
    failure: list[CloudError] = []
    pending = iter(list(missing))

    async def look() -> None:
        # A few lookers, not a task per id: after servers were deleted behind the
        # journal's back, every later status or destroy looks for each of them.
        for server_id in pending:
            if failure:  # one failure says it all: the others stop asking
                return
            try:
                found[server_id] = await compute.get_server(server_id)
            except NotFound:
                found[server_id] = None
            except CloudError as exc:  # said plainly below, not inside a task group
                failure.append(exc)
                return

    async with anyio.create_task_group() as group:
        for _ in range(min(_LOOKERS, len(missing))):
            group.start_soon(look)
    if failure:
        raise failure[0]
    for server_id, name in missing.items():
        looked = found.get(server_id)
        if looked is None or str(looked.get("status", "")).upper() == "DELETED":
            continue
        if is_fleet_record(looked, fleet):
            mine.append(looked)
        else:
            notes.append(
                f"{name} ({server_id}): in the journal but no longer marked as "
                f"fleet {fleet!r}; left alone"
            )
    return records, mine, notes


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
    compute: Compute,
    targets: Sequence[tuple[str, str]],
    *,
    emit: Callable[[Event], ServerState | None],
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
    gone = 0
    in_flight = len(targets)
    rated = bool(getattr(compute, "rate_limited", False))
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
                    existed = await compute.delete_server(server_id)
                except _FATAL:
                    raise
                except CloudError as exc:
                    message = getattr(exc, "message", None) or str(exc)
                    emit(DeleteRefused(name=name, at=clock(), message=message))
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
    compute: Compute,
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
    notify = tuple(o.event for o in observers)

    def emit(event: Event) -> ServerState | None:
        new = board.apply(event)
        if new is not None:
            journal.record(event)
            for observer in notify:
                observer(event, new)
        return new

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
