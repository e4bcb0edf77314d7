"""``apply``: find what already exists, create the rest, poll it to ACTIVE, retry, roll back.

The shape of a run, all under one task group:

- ``inventory``: one full listing; the fleet's servers (by the ``bulkboot:fleet`` mark
  and their names) are left alone and reported as already there; an existing server in
  ERROR is replaced only with ``--retry-errors``. A server on its way out (``task_state``
  deleting, or a DELETE journaled and never seen done: a killed ``destroy``) is not
  the fleet's any more: the poll loop waits for it to go, then it is created again.
- ``workers``: ``concurrency`` tasks take names from one queue; each create is
  journaled (and flushed to disk) before the POST and after the answer, and holds the
  ``CapacityLimiter`` while in flight. The limiter's size is the create window
  (``window.CreateWindow``): ``concurrency`` is the ceiling, and the window stays
  below it while the API is queueing (``fixed_concurrency`` keeps it at the ceiling).
  Requests per second are the cloud client's business (``open_cloud(rate=...)``), so
  creates, polls and deletes share one budget; with ``--rate`` a create first waits
  for its slot (``Compute.rate_turn``, one create at a time), and only then is
  journaled as sent and timed: a Ctrl-C abandons the wait, and neither the journal
  nor the timings count our own queueing as Nova's.
- ``poll loop``: batched rounds (``poll.Poller``) at an adaptive interval; it applies
  what it sees, enforces per-server deadlines, starts replacements of ERRORs, and
  closes the queue when every server is final.

Stopping: ``request_stop()`` (first Ctrl-C) stops sending creates; creates in flight
finish and are journaled; the run then ends without waiting for builds. ``abort()``
(second Ctrl-C) cancels everything at once; the journal is whole because every line
is written with a single ``write`` before the request it describes.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bulkboot.cloud.compute import CreateRequest
from bulkboot.cloud.retry import http_date
from bulkboot.engine.board import Board
from bulkboot.engine.journal import Journal, JournalEntry
from bulkboot.engine.members import member_index, members_expected
from bulkboot.engine.pacing import PollPacing
from bulkboot.engine.poll import Poller, PollRound, fault_message, nova_time, sleep_interval
from bulkboot.engine.quota import check_quota, total_need
from bulkboot.engine.state import (
    Created,
    CreateRefused,
    CreateSent,
    DeadlinePassed,
    Deleted,
    DeleteRefused,
    DeleteSent,
    Event,
    Found,
    Phase,
    Requeued,
    ServerState,
    StatusSeen,
    Vanished,
)
from bulkboot.engine.window import CreateWindow, WindowStats
from bulkboot.errors import (
    AuthError,
    CloudError,
    CreateUncertain,
    EndpointNotFound,
    MicroversionError,
    OverQuota,
    RateLimited,
    Unavailable,
)
from bulkboot.identity import (
    claim_partial,
    is_fleet_record,
    is_gone,
    is_leaving,
    member_name,
)
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Manifest, References, ServerSpec

if TYPE_CHECKING:
    from bulkboot.cloud.compute import Compute

__all__ = ["ApplyOptions", "ApplyOutcome", "FleetApply", "Observer", "claim_records"]

# Errors that mean the run itself cannot go on (not one server's problem).
_FATAL = (AuthError, EndpointNotFound, MicroversionError)


class Observer(Protocol):
    """A sink: sees every event that changed a state, with the new state."""

    def event(self, event: Event, state: ServerState) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    concurrency: int = 100
    fixed_concurrency: bool = False  # no adaptive window: always ``concurrency`` in flight
    timeout: float = 1800.0  # per server, from its create to ACTIVE
    pacing: PollPacing = field(default_factory=PollPacing)
    wait: bool = True
    retry_errors: int = 0
    rollback_on_failure: bool = False
    skip_quota_check: bool = False
    seed: int | None = None  # for the poll jitter (tests)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOutcome:
    states: tuple[ServerState, ...]
    notes: tuple[str, ...]
    interrupted: bool
    rolled_back: int
    poll_rounds: int
    window: WindowStats | None = None

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(s.phase is Phase.ACTIVE for s in self.states)

    @property
    def failures(self) -> tuple[ServerState, ...]:
        """Every server that failed, rolled back (now DELETED) or not: its ``failure``
        and ``message`` say why. Summaries group these, not the ERROR/TIMEOUT/GONE
        phases, which a rollback turns into DELETED."""
        return tuple(s for s in self.states if s.failure is not None)


def _age(record: Mapping[str, Any], cloud_now: datetime | None) -> float:
    """Seconds since Nova created the server, on the cloud's clock (0 when unknown)."""
    created = record.get("created")
    moment = nova_time(created) if isinstance(created, str) else None
    if cloud_now is None or moment is None:
        return 0.0
    return max(0.0, (cloud_now - moment).total_seconds())


def _pick(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Of several servers with one name, the one to account for: ACTIVE, else BUILD, else any."""
    for wanted in ("ACTIVE", "BUILD"):
        for record in records:
            if record.get("status") == wanted:
                return record
    return records[0]


def claim_records(
    records: Iterable[Mapping[str, Any]],
    fleet: str,
    entries: Mapping[str, JournalEntry],
) -> dict[str, list[Mapping[str, Any]]]:
    """The fleet's servers in a listing, by name.

    A server is the fleet's when it carries the fleet mark, or when it is a partial
    record (a down cell, microversion 2.69+: no name, no metadata, status UNKNOWN)
    whose id the journal says this fleet created: it must not be created again.
    """
    by_id = {i: e.name for e in entries.values() for i in e.live_ids} if entries else {}
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        name = record.get("name")
        if is_fleet_record(record, fleet):
            if isinstance(name, str):
                by_name.setdefault(name, []).append(record)
        else:
            claimed = claim_partial(record, by_id)
            if claimed is not None:
                by_name.setdefault(claimed, []).append(record)
    return by_name


class FleetApply:
    """One ``apply`` run. Construct, then ``await run()``; ``board`` is live throughout."""

    def __init__(
        self,
        compute: Compute,
        manifest: Manifest,
        refs: References,
        microversion: Microversion,
        *,
        board: Board,
        journal: Journal,
        options: ApplyOptions,
        observers: Iterable[Observer] = (),
        clock: Callable[[], float] = time.monotonic,
        entries: Mapping[str, JournalEntry] | None = None,
    ) -> None:
        self.compute = compute
        self.entries: Mapping[str, JournalEntry] = entries or {}
        self.manifest = manifest
        self.refs = refs
        self.microversion = microversion
        self.board = board
        self.journal = journal
        self.options = options
        self._observers = tuple(o.event for o in observers)
        self.clock = clock
        self.notes: list[str] = []
        self._specs: dict[str, ServerSpec] = {s.name: s for s in manifest.servers}
        # multi-create requests whose members are being discovered: name -> its state
        self._groups: dict[str, ServerState] = {}
        # creates whose answer was lost and whose server had not shown up yet: never
        # re-sent; adopted from a poll round by exact name and fleet mark, or TIMEOUT.
        self._unsure: set[str] = set()
        self._poller = Poller(compute, fleet=manifest.name, clock=clock)
        self._window = CreateWindow(
            ceiling=max(1, options.concurrency), adaptive=not options.fixed_concurrency
        )
        self._limiter = anyio.CapacityLimiter(self._window.size)
        self._send: MemoryObjectSendStream[str] | None = None
        self._receive: MemoryObjectReceiveStream[str] | None = None
        self._workers = 0
        self._worker_room = 0
        self._stopping = False
        self._stopped = anyio.Event()  # set with ``_stopping``: abandons a wait for --rate
        self._rated = bool(getattr(compute, "rate_limited", False))
        self._rate_lock = anyio.Lock()
        self._wake = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._tasks: TaskGroup | None = None
        self._deletes_in_flight = 0
        self._rounds = 0
        self._rng = random.Random(options.seed)
        self._build = BodyBuilder(refs, microversion).build
        self._replace_now: list[str] = []  # existing ERRORs to replace (--retry-errors)
        # servers found on their way out (a killed destroy): id -> the name to create once
        # it is gone; for a multi-create, the request's name once all its members are gone
        self._leaving: dict[str, str] = {}
        self.interrupted = False

    # ------------------------------------------------------------------ plumbing

    def emit(self, event: Event) -> ServerState | None:
        """Apply an event; journal it and tell the sinks when it changed something."""
        new = self.board.apply(event)
        if new is not None:
            self.journal.record(event)
            for observer in self._observers:
                observer(event, new)
        return new

    def request_stop(self) -> None:
        """First Ctrl-C: send no new create; finish what is in flight."""
        if not self._stopping:
            self._stopping = True
            self.interrupted = True
            self.board.note = (
                "interrupted: finishing the creates in flight (Ctrl-C again to stop now)"
            )
            self._stopped.set()
            self._wake.set()

    def abort(self) -> None:
        """Second Ctrl-C: cancel everything now."""
        self.interrupted = True
        self._stopping = True
        self._stopped.set()
        if self._scope is not None:
            self._scope.cancel()

    # ------------------------------------------------------------------ inventory

    async def inventory(self) -> list[str]:
        """Account for the fleet's servers already in the cloud; return the names to create."""
        listed_at = self.clock()
        records = await self.compute.list_servers(None, detail=True)
        self._poller.note_listing(records, self.clock() - listed_at)
        cloud_now = http_date(getattr(self.compute, "cloud_date", None))
        fleet = self.manifest.name
        by_name = claim_records(records, fleet, self.entries)
        leaving = self._sort_out_leaving(by_name)
        now = self.clock()
        to_create: list[str] = []
        replace: list[str] = []
        accounted: set[str] = set(leaving)
        requested = {s.name for s in self.manifest.servers}
        self.board.add(ServerState(name=s.name, group=s.group) for s in self.manifest.servers)
        for spec in self.manifest.servers:
            if spec.instance_count > 1:
                # a server that the manifest names itself (``pool-2`` beside ``pool``) is
                # not a member, nor one numbered past the count (drift)
                def member_at(name: str, spec: ServerSpec = spec) -> int:
                    at = member_index(spec, name)
                    return 0 if at is None or name in requested else at

                members = sorted((n for n in by_name if member_at(n)), key=member_at)
                if not members:
                    gone = [(i, n) for n, i in leaving.items() if member_at(n)]
                    if gone:  # created again as one request once every member is gone
                        for server_id, member in gone:
                            self._leaving[server_id] = spec.name
                            self._poller.watch(server_id, member, at=now)
                    else:
                        to_create.append(spec.name)
                    continue
                self.board.remove(spec.name)
                self.board.add(ServerState(name=n, group=spec.group) for n in members)
                for member in members:
                    self._add_member(spec.name, member)
                names = members
                # The group's other members were deleted (a destroy killed half-way):
                # each is made again on its own name, once its old server is gone.
                present = [*members, *(n for n in leaving if member_at(n))]
                for index in range(1, members_expected(spec, present, self.entries) + 1):
                    member = member_name(spec.name, index)
                    if member not in by_name and member not in requested:
                        self._add_member(spec.name, member)
                        accounted.add(member)
                        self.board.add([ServerState(name=member, group=spec.group)])
                        if self._missing(member, spec.group, leaving.get(member), now):
                            to_create.append(member)
            else:
                if spec.name not in by_name:
                    if self._missing(spec.name, spec.group, leaving.get(spec.name), now):
                        to_create.append(spec.name)
                    continue
                names = [spec.name]
            for name in names:
                accounted.add(name)
                found = by_name[name]
                if len(found) > 1:
                    self.notes.append(
                        f"{name}: {len(found)} servers of the fleet carry this name; "
                        "accounting for one (see `bulkboot status`)"
                    )
                chosen = _pick(found)
                state = self.emit(
                    Found(
                        name=name,
                        at=now,
                        server_id=str(chosen["id"]),
                        status=str(chosen.get("status", "UNKNOWN")),
                        fault=fault_message(chosen),
                    )
                )
                if state is None:
                    continue
                if state.phase is Phase.BUILDING and state.server_id:
                    # its deadline runs from its creation, as for the servers this run
                    # creates, not from now: a re-apply does not give a stuck build more time
                    age = _age(chosen, cloud_now)
                    self._poller.watch(state.server_id, name, at=now - age)
                elif (
                    state.phase is Phase.ERROR
                    and state.failure != "quota"
                    and self.options.retry_errors > 0
                ):
                    replace.append(name)
        self._poller.reorder()
        drift = sorted(set(by_name) - accounted)
        if drift:
            shown = ", ".join(drift[:5]) + (" ..." if len(drift) > 5 else "")
            self.notes.append(
                f"{len(drift)} server(s) of fleet {fleet!r} are no longer in the manifest "
                f"and were left alone: {shown}"
            )
        existed = self.board.existed
        if existed or self._leaving:
            note = (
                f"{existed - len(replace)} server(s) already existed and were left alone; "
                f"{len(to_create)} to create"
            )
            if replace:
                note += f"; {len(replace)} in ERROR to delete and create again (--retry-errors)"
            waiting = len(set(self._leaving.values()))
            if waiting:
                note += (
                    f"; {waiting} being deleted (an interrupted destroy?), to create again "
                    "once gone"
                )
            self.notes.append(note)
        self._replace_now = replace
        return to_create

    def _missing(self, name: str, group: str, old_id: str | None, now: float) -> bool:
        """A server the fleet lacks: True to create it now; False when its old server is
        still on its way out (shown as deleting, queued by the poll loop once gone)."""
        if old_id is None:
            return True
        self._leaving[old_id] = name
        self.board.remove(name)
        self.board.add(
            [ServerState(name=name, group=group, phase=Phase.DELETING, server_id=old_id)]
        )
        self._poller.watch(old_id, name, at=now)
        return False

    def _sort_out_leaving(self, by_name: dict[str, list[Mapping[str, Any]]]) -> dict[str, str]:
        """Take the servers on their way out (or deleted) out of ``by_name``; return the
        names that have nothing else, with the id of the one to wait for."""
        pending: set[str] = set()
        for entry in self.entries.values():
            if entry.deleting:
                pending.update(entry.deleting)
        leaving: dict[str, str] = {}
        for name in list(by_name):
            found = by_name[name]
            alive = [r for r in found if not is_gone(r) and not is_leaving(r, pending)]
            if len(alive) == len(found):
                continue
            if alive:
                by_name[name] = alive
                continue
            del by_name[name]
            going = [r for r in found if not is_gone(r)]
            if going:
                leaving[name] = str(going[0]["id"])
        return leaving

    async def check_quota(self, names: Sequence[str]) -> None:
        if not names or self.options.skip_quota_check:
            return
        flavors = {str(f.get("id")): f for f in await self.compute.flavors()}
        absolute = await self.compute.limits()
        items = []
        for name in names:
            spec = self._specs[name]
            flavor = flavors.get(self.refs.flavor(spec.flavor)) if spec.flavor else None
            items.append((spec.instance_count, flavor))
        check_quota(total_need(items), absolute, fleet=self.manifest.name)

    # ------------------------------------------------------------------ the run

    async def run(self, *, names: Sequence[str] | None = None) -> ApplyOutcome:
        """Inventory (unless ``names`` is given), quota check, create, wait, retry, roll back."""
        if names is None:
            names = await self.inventory()
            await self.check_quota(names)
        send, receive = anyio.create_memory_object_stream[str](math.inf)
        self._send = send
        for name in names:
            send.send_nowait(name)
        rolled_back = 0
        with anyio.CancelScope() as scope:
            self._scope = scope
            async with anyio.create_task_group() as outer:
                outer.start_soon(self.journal.sync_every)
                async with anyio.create_task_group() as tasks:
                    self._tasks = tasks
                    if self.options.wait:  # a replacement is finished by the poll loop
                        for name in self._replace_now:
                            self._start_replace(name)
                    # Workers for the window as it is; more start as it grows (a worker
                    # blocked on the limiter would cost a wake-up per create for nothing).
                    later = len(self._replace_now) + len(self._leaving)
                    self._worker_room = max(1, min(self.options.concurrency, len(names) + later))
                    self._receive = receive
                    self._add_workers(self._window.size)
                    if self.options.wait or self._leaving:  # a deletion must be seen done
                        tasks.start_soon(self._poll_loop)
                    else:
                        send.close()
                receive.close()
                self._receive = None
                failed = any(
                    s.phase in (Phase.ERROR, Phase.TIMEOUT, Phase.GONE)
                    for s in self.board.states.values()
                )
                if self.options.rollback_on_failure and not self.interrupted and failed:
                    rolled_back = await self._rollback()
                outer.cancel_scope.cancel()
        self._scope = None
        window = self._window.stats()
        if window.shrinks:
            self.notes.append(
                f"the API queued or refused creates (POST latency over "
                f"{self._window.tolerance:g}x its lowest, or 429/503/no answer): "
                f"{window.low}-{window.high} were kept in flight, of --concurrency "
                f"{window.ceiling} (--fixed-concurrency keeps {window.ceiling})"
            )
        return ApplyOutcome(
            states=tuple(self.board.states.values()),
            notes=tuple(self.notes),
            interrupted=self.interrupted,
            rolled_back=rolled_back,
            poll_rounds=self._rounds,
            window=window,
        )

    async def _worker(self, receive: MemoryObjectReceiveStream[str]) -> None:
        # ``receive_nowait`` first: anyio's ``receive`` yields to the loop even when a
        # name is waiting, and this runs once per server. The create's own I/O is the
        # checkpoint that keeps the worker cancellable.
        async with receive:
            while True:
                try:
                    name = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        name = await receive.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if not self._stopping:
                    await self._create(name)

    async def _create(self, name: str) -> None:
        spec = self._specs.get(name)
        if spec is None:  # only manifest requests are ever queued
            return
        body = self._build(spec)
        # Take the limiter without a checkpoint when it is free (the common case: workers
        # start as the window grows); it is short when the window shrank below the
        # workers or a retry's DELETE holds a token.
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()
        try:
            if self._stopping:
                return
            if self._rated and not await self._rate_turn():
                return  # stopped while waiting for --rate: not sent, not journaled
            # Journaled (in the kernel: survives SIGKILL) before the request leaves; with
            # --rate, once its slot has come, so "sent" and the timings start when it goes.
            if self.emit(CreateSent(name=name, at=self.clock())) is None:
                return
            sent = self.clock()
            try:
                created = await self.compute.create_server(
                    CreateRequest(
                        body=body,
                        name=name,
                        instance_count=spec.instance_count,
                        fleet=self.manifest.name,
                        secrets=(spec.admin_pass,) if spec.admin_pass else (),
                    )
                )
            except _FATAL:
                raise
            except CreateUncertain:
                # The POST may have reached Nova: re-sending could make a duplicate, so
                # the server is looked for by name in the poll rounds instead.
                self._resize(self._window.overloaded(self.clock()))
                request = self.emit(
                    Created(
                        name=name,
                        at=self.clock(),
                        server_id=None,
                        post_seconds=self.clock() - sent,
                        http_attempts=1,
                    )
                )
                if request is not None and spec.instance_count > 1:
                    self._groups[name] = request
                elif request is not None:
                    self._unsure.add(name)
                return
            except OverQuota as exc:
                self.emit(
                    CreateRefused(name=name, at=self.clock(), message=exc.message, quota=True)
                )
                return
            except CloudError as exc:
                if isinstance(exc, RateLimited | Unavailable):  # still, after the retries
                    self._resize(self._window.overloaded(self.clock()))
                message = getattr(exc, "message", None) or str(exc)
                self.emit(CreateRefused(name=name, at=self.clock(), message=message))
                return
        finally:
            self._limiter.release()
            if self._rated:
                self.compute.drop_rate_turn()
        timing = created.timing
        if created.recovered or timing.attempts > 1:
            # retried (429, 503, a lost answer looked up): its time is mostly back-off and
            # look-ups, not a latency; it says the API is struggling
            self._resize(self._window.overloaded(self.clock()))
        elif spec.instance_count == 1:  # a multi-create's POST is slower by nature
            self._resize(self._window.answered(timing.seconds, self.clock(), time.process_time()))
        if spec.instance_count > 1:
            request = self.emit(
                Created(
                    name=name,
                    at=self.clock(),
                    server_id=None,
                    post_seconds=timing.seconds,
                    http_attempts=timing.attempts,
                )
            )
            if request is not None:
                self._groups[name] = request
            return
        state = self.emit(
            Created(
                name=name,
                at=self.clock(),
                server_id=created.id,
                post_seconds=timing.seconds,
                http_attempts=timing.attempts,
            )
        )
        if state is not None and created.id is not None:
            self._poller.watch(created.id, name)

    def _resize(self, size: int) -> None:
        if size != self._limiter.total_tokens:
            self._limiter.total_tokens = size
            if size > self._workers:
                self._add_workers(size)

    def _add_workers(self, size: int) -> None:
        """Workers up to ``size``, never more than the creates there could be."""
        if self._receive is None or self._tasks is None:
            return
        while self._workers < min(size, self._worker_room):
            self._workers += 1
            self._tasks.start_soon(self._worker, self._receive.clone())

    async def _rate_turn(self) -> bool:
        """Wait for this create's --rate slot; False when the run was stopped meanwhile.

        One create waits at a time, so the slots reserved ahead never run more than one
        interval past now: a poll round or a DELETE asking for a slot gets one next,
        not after every queued create.
        """
        async with self._rate_lock:
            if self._stopping:
                return False
            return await self.compute.rate_turn(self._stopped)

    # ------------------------------------------------------------------ polling

    def _finished(self) -> bool:
        if self._deletes_in_flight:
            return False
        board = self.board
        if self._stopping:
            return board.count(Phase.CREATING) == 0
        if not self.options.wait:  # --no-wait: only servers on their way out are waited for
            return not self._leaving
        return board.pending() == 0

    async def _poll_loop(self) -> None:
        interval: float | None = None
        news = False
        size = len(self.board.states)
        while not self._finished():
            interval = await sleep_interval(
                self.options.pacing,
                interval,
                news=news,
                fleet_size=size,
                rng=self._rng,
                wake=self._wake,
            )
            if self._wake.is_set():
                self._wake = anyio.Event()
            if self._finished():
                break
            if self._poller.watching() == 0 and not self._groups and not self._unsure:
                news = False
                continue
            result = await self._poller.round()
            self._rounds += 1
            news = self._apply_round(result)
            self._check_deadlines()
        assert self._send is not None
        self._send.close()

    def _apply_round(self, result: PollRound) -> bool:
        news = False
        now = self.clock()
        for record in result.unknown:
            if self._unsure and record.get("name") in self._unsure:
                news |= self._adopt(record, now)
            else:
                news |= self._maybe_member(record, now)
        if self._groups:
            # Nova makes every member of a multi-create before answering the POST, so
            # once a round has shown members, the request has all it will ever have.
            for group in [g for g in self._groups if g not in self.board.states]:
                del self._groups[group]
        for sighting in result.sightings:
            state = self.board.get(sighting.key)
            if state is None:
                if sighting.server_id in self._leaving and sighting.status == "DELETED":
                    self._left(sighting.server_id, sighting.key, now)
                elif sighting.server_id not in self._leaving:
                    self._poller.unwatch(sighting.server_id)
                continue
            if state.phase is Phase.DELETING:
                if sighting.status == "DELETED":
                    self._deleted(sighting.key, sighting.server_id, now)
                    news = True
                continue
            new = self.emit(
                StatusSeen(
                    name=sighting.key,
                    at=now,
                    server_id=sighting.server_id,
                    status=sighting.status,
                    fault=sighting.fault,
                )
            )
            if new is None:
                continue
            news = True
            if new.final:
                self._poller.unwatch(sighting.server_id)
                self._after_failure(new)
        for server_id, key in result.missing:
            self._poller.unwatch(server_id)
            state = self.board.get(key)
            if state is None:
                if server_id in self._leaving:
                    self._left(server_id, key, now)
                continue
            news = True
            if state.phase is Phase.DELETING:
                self._deleted(key, server_id, now)
            else:
                self.emit(Vanished(name=key, at=now))
        return news

    def _adopt(self, record: Mapping[str, Any], now: float) -> bool:
        """The server of a create whose answer was lost has shown up: watch it."""
        name = str(record["name"])
        self._unsure.discard(name)
        state = self.board.get(name)
        server_id = str(record["id"])
        self.journal.record(
            Created(
                name=name,
                at=now,
                server_id=server_id,
                post_seconds=(state.post_seconds if state else None) or 0.0,
                http_attempts=state.http_attempts if state else 1,
            )
        )
        new = self._sighted(name, server_id, record, now)
        if new is not None and new.final:
            self._after_failure(new)
        return True

    def _sighted(
        self, name: str, server_id: str, record: Mapping[str, Any], now: float
    ) -> ServerState | None:
        """A newly found server's first status: watched until it is final."""
        self._poller.watch(server_id, name)
        status = record.get("status")
        new = self.emit(
            StatusSeen(
                name=name,
                at=now,
                server_id=server_id,
                status=status if isinstance(status, str) else "UNKNOWN",
                fault=fault_message(record),
            )
        )
        if new is not None and new.final:
            self._poller.unwatch(server_id)
        return new

    def _maybe_member(self, record: Mapping[str, Any], now: float) -> bool:
        """A record with the fleet mark we do not watch: a member of a multi-create?"""
        name = record.get("name")
        if not isinstance(name, str) or not self._groups or name in self.board.states:
            return False
        specs = self._specs
        group = next(
            (g for g in self._groups if member_index(specs[g], name)),
            None,
        )
        if group is None:
            return False
        template = self._groups[group]
        server_id = str(record["id"])
        if group in self.board.states:
            self.board.remove(group)  # the request is now its members
        self._add_member(group, name)
        member = ServerState(
            name=name,
            group=template.group,
            phase=Phase.BUILDING,
            status="BUILD",
            server_id=server_id,
            attempt=max(1, template.attempt),
            http_attempts=template.http_attempts,
            sent_at=template.sent_at,
            post_seconds=template.post_seconds,
        )
        self.board.add([member])
        self.journal.record(
            Created(
                name=name,
                at=now,
                server_id=server_id,
                post_seconds=template.post_seconds or 0.0,
                http_attempts=template.http_attempts,
            )
        )
        self._sighted(name, server_id, record, now)
        return True

    def _add_member(self, request: str, member: str) -> None:
        """A multi-create's member, once it exists, is a server like any other: one that
        goes to ERROR is deleted and created again on its own (one server, its own
        name), not by sending the whole request again."""
        spec = self._specs.get(request)
        if spec is not None and member not in self._specs:
            self._specs[member] = dataclasses.replace(
                spec, name=member, min_count=None, max_count=None, return_reservation_id=False
            )

    def _check_deadlines(self) -> None:
        now = self.clock()
        for server_id, key in self._poller.watched_before(now - self.options.timeout):
            state = self.board.get(key)
            self._poller.unwatch(server_id)
            if server_id in self._leaving:
                name = self._leaving.pop(server_id)
                if state is None:  # a multi-create's old member still there: create anyway
                    self._release(name)
            if state is not None and state.phase in (Phase.BUILDING, Phase.DELETING):
                self.emit(DeadlinePassed(name=key, at=now))
        if self._groups:
            for group, request in list(self._groups.items()):
                if request.sent_at is not None and now - request.sent_at > self.options.timeout:
                    del self._groups[group]
                    self.emit(DeadlinePassed(name=group, at=now))
        for name in list(self._unsure):
            state = self.board.get(name)
            if state is None or state.sent_at is None or now - state.sent_at > self.options.timeout:
                self._unsure.discard(name)
                if state is not None and state.phase is Phase.BUILDING:
                    self.emit(DeadlinePassed(name=name, at=now))

    # ------------------------------------------------------------------ retries

    def _after_failure(self, state: ServerState) -> None:
        if (
            state.phase is Phase.ERROR
            and self.options.wait
            and state.failure == "fault"
            and state.attempt <= self.options.retry_errors
            and not self._stopping
            and state.server_id is not None
            and state.name in self._specs
        ):
            self._start_replace(state.name)

    def _start_replace(self, name: str) -> None:
        state = self.board.get(name)
        if state is None or state.server_id is None or self._tasks is None:
            return
        if self.emit(DeleteSent(name=name, at=self.clock(), server_id=state.server_id)) is None:
            return
        self._deletes_in_flight += 1
        self._tasks.start_soon(self._delete_for_retry, name, state.server_id)

    async def _delete_for_retry(self, name: str, server_id: str) -> None:
        try:
            async with self._limiter:
                existed = await self.compute.delete_server(server_id)
        except _FATAL:
            raise
        except CloudError as exc:  # locked, forbidden...: this server ends here, not the run
            message = getattr(exc, "message", None) or str(exc)
            self.emit(DeleteRefused(name=name, at=self.clock(), message=message))
            return
        finally:
            self._deletes_in_flight -= 1
        if existed:
            self._poller.watch(server_id, name)  # the poll loop sees it go
        else:
            self._deleted(name, server_id, self.clock())

    def _left(self, server_id: str, member: str, now: float) -> None:
        """A multi-create's old member, found on its way out, is gone."""
        name = self._leaving.pop(server_id)
        self._poller.unwatch(server_id)
        self.journal.record(Deleted(name=member, at=now, server_id=server_id))
        self._release(name)

    def _release(self, name: str) -> None:
        """Queue a request that waited for its old servers to go."""
        if name not in self._leaving.values() and not self._stopping and self._send is not None:
            self._send.send_nowait(name)

    def _deleted(self, name: str, server_id: str, now: float) -> None:
        self._leaving.pop(server_id, None)
        self._poller.unwatch(server_id)
        self.emit(Deleted(name=name, at=now, server_id=server_id))
        if self._stopping or self._send is None:
            return
        if self.emit(Requeued(name=name, at=now)) is not None:
            self._send.send_nowait(name)

    # ------------------------------------------------------------------ rollback

    async def _rollback(self) -> int:
        """Delete every server this run created (``--rollback-on-failure``)."""
        from bulkboot.engine.destroy import delete_and_wait

        mine = [
            s
            for s in self.board.states.values()
            if not s.existed and s.server_id is not None and s.phase is not Phase.DELETED
        ]
        self.notes.append(f"rolling back: deleting the {len(mine)} server(s) this run created")
        self._stopping = True  # deletions below must not requeue anything
        return await delete_and_wait(
            self.compute,
            [(s.name, s.server_id) for s in mine if s.server_id is not None],
            emit=self.emit,
            # all of --concurrency: the create window is about creates, and none is left
            limiter=anyio.CapacityLimiter(self._window.ceiling),
            poller=self._poller,
            pacing=self.options.pacing,
            deadline=self.options.timeout,
            clock=self.clock,
            rng=self._rng,
        )
