"""``destroy``: delete every server of the fleet, gently, and wait until they are gone.

Which servers: those the cloud lists with the fleet mark (``bulkboot:fleet``), plus
those the journal says this fleet created that the listing did not show (each is
looked up by id and deleted only if it still carries the mark): ``fleet.fleet_servers``.
A server without the mark is never touched, whatever its name.

How: ``deletes.delete_and_wait``, at most ``concurrency`` DELETEs in flight (fewer
while the API is turned away or queueing: the same adaptive window as ``apply``'s
creates), each waited for until gone or its deadline (``DestroyOptions.timeout``)
passes.

Creates still in flight: an ``apply`` that died (SIGKILL, Ctrl-C twice) may have left
creates that Nova carries out after its death, for up to the request timeout after
each was sent (``in_flight_window``; the journal has them as sent and never
answered). The fleet is not gone until they have landed or their window has passed:
``destroy`` watches for servers of those names (or their members) with the fleet mark
until then, and deletes each that appears.

``in_scope`` (``--only``): only the fleet's servers whose names it covers are deleted,
waited for and listed again; the others are not touched.

Before it says the fleet is gone, a ``destroy`` that deleted anything lists the
fleet once more: a server of the fleet it missed is deleted too; one created after
the destroy began that is none of those creates is another writer's (another
machine, another state directory) and is reported, not deleted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from bulkboot.cloud.retry import http_date
from bulkboot.engine.board import Board, Emit, Observer, RunHeader, emitter
from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.deletes import delete_and_wait
from bulkboot.engine.fleet import fleet_servers
from bulkboot.engine.inventory import wall_time
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import DestroyOptions
from bulkboot.engine.poll import SETTLE, Poller, nova_time, sleep_interval
from bulkboot.engine.replay import JournalEntry, possibly_created
from bulkboot.engine.state import Phase, ServerState
from bulkboot.identity import is_fleet_record, is_gone, is_leaving, member_number

__all__ = ["DestroyOptions", "DestroyOutcome", "destroy_fleet", "wait_out_creates"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOutcome:
    """How a destroy ended. ``in_flight``: creates of an earlier run that may still land
    (until ``in_flight_until``, wall clock) and were not waited out (the destroy was
    stopped first)."""

    states: tuple[ServerState, ...]
    notes: tuple[str, ...]
    in_flight: int = 0
    in_flight_until: float | None = None
    in_flight_names: tuple[str, ...] = ()  # those creates' names, sorted

    @property
    def ok(self) -> bool:
        return not self.in_flight and all(s.phase is Phase.DELETED for s in self.states)


def _unique_names(
    records: Sequence[Mapping[str, Any]], taken: Mapping[str, object] | None = None
) -> list[str]:
    """Server names, made unique with the id where two servers share one (or where the
    name is ``taken`` already)."""
    counts: dict[str, int] = {}
    for record in records:
        name = str(record.get("name") or record.get("id"))
        counts[name] = counts.get(name, 0) + 1
    names = []
    for record in records:
        name = str(record.get("name") or record.get("id"))
        unique = counts[name] == 1 and (taken is None or name not in taken)
        names.append(name if unique else f"{name} ({str(record.get('id'))[:8]})")
    return names


async def destroy_fleet(
    compute: ComputeApi,
    fleet: str,
    *,
    board: Board,
    journal: Journal,
    entries: Mapping[str, JournalEntry],
    options: DestroyOptions,
    in_flight_window: float,
    observers: Iterable[Observer] = (),
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    should_stop: Callable[[], bool] = lambda: False,
    stopped: anyio.Event | None = None,
    found: tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]] | None = None,
    note: Callable[[str], None] | None = None,
    in_scope: Callable[[str], bool] | None = None,
) -> DestroyOutcome:
    """Delete every server of ``fleet`` and wait until they are gone.

    ``found`` is ``fleet_servers``' answer when the caller already asked (to confirm
    with the user first; its notes are then the caller's to show); otherwise the fleet
    is listed here. ``in_flight_window``: how long a create sent and never answered may
    still land (the cloud client's request timeout, which the caller knows). ``note``
    is told at once what the run will wait for (else it is only in the outcome).
    """
    notes: list[str] = []
    if found is None:
        found = await fleet_servers(compute, fleet, entries)
        notes.extend(found[2])
    records, mine, _ = found
    if in_scope is not None:
        mine = [r for r in mine if in_scope(str(r.get("name")))]
    run = _Destroy(
        compute,
        fleet,
        board=board,
        emit=emitter(board, journal, observers),
        options=options,
        clock=clock,
        should_stop=should_stop,
        stopped=stopped,
        records=records,
        in_scope=in_scope,
    )
    wall_now, now = wall_clock(), clock()
    for name, entry in entries.items():
        if in_scope is not None and not in_scope(name):
            continue
        left = possibly_created(entry, wall_now=wall_now, window=in_flight_window)
        if left is not None:
            run.possible[name] = now + left
    # Landed already: listed under its name (a member's, for a multi-create) with an id
    # the journal did not have for that name (an older server of the name does not count).
    for record in mine:
        request = run.an_earlier_create(record.get("name"))
        known = entries.get(str(record.get("name")))
        if request is not None and (known is None or str(record["id"]) not in known.ids):
            run.possible.pop(request, None)
    if run.possible:
        until = wall_now + max(run.possible.values()) - now
        waiting = (
            f"{len(run.possible)} create(s) of an earlier run were sent and never answered: "
            f"their servers may still appear until {wall_time(until)}; this destroy waits "
            "for them and deletes each that appears"
        )
        board.note = waiting
        if note is not None:
            note(waiting)
        else:
            notes.append(waiting)
    async with anyio.create_task_group() as background:
        background.start_soon(journal.sync_every)
        await run.delete(mine)
        await run.wait_for_possible()
        if mine or run.waited:
            await run.confirm_gone()
        background.cancel_scope.cancel()
    now = clock()
    pending = {name: until for name, until in run.possible.items() if until > now}
    notes.extend(run.notes)
    return DestroyOutcome(
        states=tuple(board.states.values()),
        notes=tuple(notes),
        in_flight=len(pending),
        in_flight_until=wall_clock() + max(pending.values()) - now if pending else None,
        in_flight_names=tuple(sorted(pending)),
    )


async def wait_out_creates(
    compute: ComputeApi,
    fleet: str,
    *,
    header: RunHeader,
    journal: Journal,
    entries: Mapping[str, JournalEntry],
    in_scope: Callable[[str], bool],
    in_flight_window: float,
    stopped: anyio.Event,
    note: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> DestroyOutcome | None:
    """Wait out the creates ``entries`` has as sent and never answered, within their
    window, among the names ``in_scope`` covers (a ``load`` run's, at its clean-up):
    each server that lands is deleted, as ``destroy`` does with the fleet limited to
    those names. None when none is in its window (nothing is sent). ``note`` is told
    at once what is waited for; ``stopped`` ends the wait early: the outcome then
    names the creates not waited out."""
    wall_now = wall_clock()
    waiting = {
        name: entry
        for name, entry in entries.items()
        if in_scope(name)
        and possibly_created(entry, wall_now=wall_now, window=in_flight_window) is not None
    }
    if not waiting:
        return None
    until = max(entry.last_sent_at or wall_now for entry in waiting.values()) + in_flight_window
    note(
        f"{len(waiting)} create(s) of this run were sent and never answered: their servers "
        f"may still appear until {wall_time(until)}; the clean-up waits for them and "
        "deletes each that appears (Ctrl-C stops waiting)"
    )
    return await destroy_fleet(
        compute,
        fleet,
        board=Board(header=header, started_at=clock()),
        journal=journal,
        entries=waiting,
        options=DestroyOptions(),
        in_flight_window=in_flight_window,
        clock=clock,
        wall_clock=wall_clock,
        should_stop=stopped.is_set,
        stopped=stopped,
        note=lambda _: None,  # said above, in a load run's words
        in_scope=in_scope,
    )


class _Destroy:
    """The working state of one ``destroy_fleet`` (never shared)."""

    def __init__(
        self,
        compute: ComputeApi,
        fleet: str,
        *,
        board: Board,
        emit: Emit,
        options: DestroyOptions,
        clock: Callable[[], float],
        should_stop: Callable[[], bool],
        stopped: anyio.Event | None,
        records: list[dict[str, Any]],
        in_scope: Callable[[str], bool] | None = None,
    ) -> None:
        self.compute = compute
        self.in_scope = in_scope
        self.fleet = fleet
        self.board = board
        self.emit = emit
        self.options = options
        self.clock = clock
        self.should_stop = should_stop
        self.stopped = stopped
        self.rng = random.Random(options.seed)
        self.limiter = anyio.CapacityLimiter(max(1, options.concurrency))
        self.poller = Poller(compute, fleet=None, clock=clock, settle=SETTLE)
        # Only deletions sent after this listing matter, so its own duration does not.
        self.poller.note_listing(records, 0.0)
        self.records = records
        self.cloud_started = http_date(compute.cloud_date)
        self.targeted: set[str] = set()
        self.possible: dict[str, float] = {}  # name -> when its window ends (``clock``)
        self.waited = False
        self.notes: list[str] = []

    async def delete(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Put ``records`` on the board, delete them, wait until they are gone."""
        if not records:
            return
        names = _unique_names(records, taken=self.board.states)
        self.board.add(
            ServerState(
                name=name,
                server_id=str(record["id"]),
                status=str(record.get("status", "UNKNOWN")),
                existed=True,
            )
            for name, record in zip(names, records, strict=True)
        )
        self.targeted.update(str(r["id"]) for r in records)
        await delete_and_wait(
            self.compute,
            [(name, str(record["id"])) for name, record in zip(names, records, strict=True)],
            emit=self.emit,
            limiter=self.limiter,
            poller=self.poller,
            pacing=self.options.pacing,
            deadline=self.options.timeout,
            clock=self.clock,
            rng=self.rng,
            should_stop=self.should_stop,
            stopped=self.stopped,
        )

    def an_earlier_create(self, name: object) -> str | None:
        """The possibly-created request a server of this name comes from, if any."""
        if not isinstance(name, str):
            return None
        if name in self.possible:
            return name
        request, _, _ = name.rpartition("-")
        if request in self.possible and member_number(request, name, 2**31) is not None:
            return request
        return None

    async def wait_for_possible(self) -> None:
        """Until every create of an earlier run that may land has landed (and is deleted)
        or its window has passed: rounds of the fleet's changes, on a poller of its own."""
        if not self.possible:
            return
        self.waited = True
        watcher = Poller(self.compute, fleet=self.fleet, clock=self.clock, settle=SETTLE)
        watcher.note_listing(self.records, 0.0)
        interval: float | None = None
        while self.possible and not self.should_stop():
            interval = await sleep_interval(
                self.options.pacing,
                interval,
                news=False,
                fleet_size=len(self.possible),
                rng=self.rng,
                wake=self.stopped,
            )
            if self.should_stop():
                return
            began = self.clock()
            result = await watcher.round()
            landed: list[Mapping[str, Any]] = []
            for record in result.unknown:
                if str(record.get("id")) in self.targeted or is_gone(record):
                    continue
                request = self.an_earlier_create(record.get("name"))
                if request is not None and not is_leaving(record):
                    landed.append(record)
                    if request == record.get("name"):
                        del self.possible[request]  # a single server: it is all there is
            await self.delete(landed)
            for name, until in list(self.possible.items()):
                if until <= began:  # a round begun after its window did not show it
                    del self.possible[name]

    def _created_since_start(self, record: Mapping[str, Any]) -> bool:
        """Did Nova create this server after the destroy's first listing (its clock)?"""
        created = record.get("created")
        moment = nova_time(created) if isinstance(created, str) else None
        return (
            self.cloud_started is not None and moment is not None and moment >= self.cloud_started
        )

    async def confirm_gone(self) -> None:
        """List the fleet once more: delete what was missed, report another writer's."""
        if self.should_stop():
            return
        records = await self.compute.list_servers(None, detail=True)
        missed: list[Mapping[str, Any]] = []
        others: list[Mapping[str, Any]] = []
        scope = self.in_scope
        for record in records:
            if not is_fleet_record(record, self.fleet) or is_gone(record) or is_leaving(record):
                continue
            if str(record.get("id")) in self.targeted:
                continue
            if scope is not None and not scope(str(record.get("name"))):
                continue
            if self._created_since_start(record) and not self.an_earlier_create(record.get("name")):
                others.append(record)
            else:
                missed.append(record)
        await self.delete(missed)
        if others:
            names = _unique_names(others, taken=self.board.states)
            self.board.add(
                ServerState(
                    name=name,
                    server_id=str(record["id"]),
                    status=str(record.get("status", "UNKNOWN")),
                    phase=Phase.ERROR,
                    message="created after this destroy began, by another writer: left alone",
                    failure="refused",
                )
                for name, record in zip(names, others, strict=True)
            )
            shown = ", ".join(sorted(names)[:5]) + (" ..." if len(names) > 5 else "")
            self.notes.append(
                f"another writer: {len(others)} server(s) of fleet {self.fleet!r} were created "
                f"after this destroy began ({shown}): another bulkboot is changing this "
                "fleet (on another machine, or with another --state-dir); they were left "
                "alone, and the fleet is not gone"
            )
