"""``apply``: find what already exists, create the rest, poll it to ACTIVE, retry, roll back.

The shape of a run, all under one task group, each phase in a module of its own:

- the inventory (``inventory.take_inventory``, pure): one full listing read against
  the manifest and the journal; the fleet's servers are left alone, an ERROR among
  them replaced only with ``--retry-errors``, a server on its way out waited out;
- the create workers (``workers.CreateWorkers``): ``concurrency`` at most, through
  the adaptive create window, each create journaled before the POST and after;
- the poll loop (``tracking.poll_loop``): batched rounds at an adaptive interval; it
  applies what it sees, enforces per-server deadlines, starts replacements of ERRORs
  (``replace``), and closes the queue when every server is final;
- then, with ``--rollback-on-failure`` and a failure, the rollback (``replace``).

What the phases share is one ``run_state.RunState``.

Stopping: ``request_stop()`` (first Ctrl-C) stops sending creates; creates in flight
finish and are journaled; the run then ends without waiting for builds. ``abort()``
(second Ctrl-C) cancels everything at once; the journal is whole because every line
is written with a single ``write`` before the request it describes. Creates cut off
in flight (or whose answer was lost) may still land for ``in_flight_window`` seconds
after they were sent: the outcome counts them (``in_flight``, ``in_flight_until``),
and the next run looks for them rather than sending them again.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import anyio

from bulkboot.cloud.retry import http_date
from bulkboot.engine.board import Board, Observer, emitter
from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.inventory import take_inventory
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.poll import Poller
from bulkboot.engine.quota import check_quota, total_need
from bulkboot.engine.replace import rollback, start_replace
from bulkboot.engine.replay import JournalEntry
from bulkboot.engine.run_state import RunState
from bulkboot.engine.state import Event, Phase, ServerState
from bulkboot.engine.tracking import another_writer_note, poll_loop
from bulkboot.engine.window import CreateWindow, WindowStats
from bulkboot.engine.workers import CreateWorkers
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Manifest, References

__all__ = ["ApplyOptions", "ApplyOutcome", "FleetApply"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOutcome:
    """How a run ended. ``in_flight``: creates sent and never answered (cut off, lost,
    answered without an id, or an earlier run's not yet seen) whose servers may still
    appear, until ``in_flight_until`` (wall clock, seconds since the epoch) at the
    latest. ``another_writer``: the run stopped because another writer changed the fleet.
    """

    states: tuple[ServerState, ...]
    notes: tuple[str, ...]
    interrupted: bool
    rolled_back: int
    poll_rounds: int
    window: WindowStats | None = None
    in_flight: int = 0
    in_flight_until: float | None = None
    another_writer: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and not self.another_writer
            and all(s.phase is Phase.ACTIVE for s in self.states)
        )

    @property
    def failures(self) -> tuple[ServerState, ...]:
        """Every server that failed, rolled back (now DELETED) or not: its ``failure``
        and ``message`` say why. Summaries group these, not the ERROR/TIMEOUT/GONE
        phases, which a rollback turns into DELETED."""
        return tuple(s for s in self.states if s.failure is not None)


class FleetApply:
    """One ``apply`` run. Construct, then ``await run()``; ``board`` is live throughout.

    ``clock`` times the run (deadlines, latencies, the journal's times); ``cpu_clock``
    is the process's CPU time, read by the create window; ``wall_clock`` the time the
    journal stamps its lines with. ``in_flight_window`` is how long a create sent and
    never answered may still land: the cloud client's request timeout, which the caller
    knows (``Transport.attempt_timeout``).
    """

    def __init__(
        self,
        compute: ComputeApi,
        manifest: Manifest,
        refs: References,
        microversion: Microversion,
        *,
        board: Board,
        journal: Journal,
        options: ApplyOptions,
        observers: Iterable[Observer] = (),
        in_flight_window: float,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        wall_clock: Callable[[], float] = time.time,
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
        self.clock = clock
        self.wall_clock = wall_clock
        window = CreateWindow(
            ceiling=max(1, options.concurrency), adaptive=not options.fixed_concurrency
        )
        self._run = RunState(
            compute=compute,
            fleet=manifest.name,
            board=board,
            journal=journal,
            options=options,
            clock=clock,
            emit=emitter(board, journal, observers),
            poller=Poller(compute, fleet=manifest.name, clock=clock),
            window=window,
            limiter=anyio.CapacityLimiter(window.size),
            rng=random.Random(options.seed),
            specs={s.name: s for s in manifest.servers},
            in_flight_window=in_flight_window,
        )
        self.notes: list[str] = self._run.notes
        self._workers = CreateWorkers(self._run, refs, microversion, cpu_clock=cpu_clock)
        self._replace_now: Sequence[str] = ()  # existing ERRORs to replace (--retry-errors)
        self._scope: anyio.CancelScope | None = None
        self.interrupted = False

    @property
    def window_size(self) -> int:
        """Creates allowed in flight now (the create window), for a report's series."""
        return self._run.window.size

    def emit(self, event: Event) -> ServerState | None:
        """Apply an event; journal it and tell the sinks when it changed something."""
        return self._run.emit(event)

    def request_stop(self) -> None:
        """First Ctrl-C: send no new create; finish what is in flight."""
        run = self._run
        if not run.stopping:
            self.interrupted = True
            self.board.note = (
                "interrupted: finishing the creates in flight (Ctrl-C again to stop now)"
            )
            run.stop()
            run.wake.set()

    def abort(self) -> None:
        """Second Ctrl-C: cancel everything now."""
        self.interrupted = True
        self._run.stop()
        if self._scope is not None:
            self._scope.cancel()

    async def inventory(self) -> list[str]:
        """Account for the fleet's servers already in the cloud; return the names to create."""
        run = self._run
        listed_at = self.clock()
        records = await self.compute.list_servers(None, detail=True)
        run.poller.note_listing(records, self.clock() - listed_at)
        cloud_now = http_date(self.compute.cloud_date)
        plan = take_inventory(
            self.manifest,
            records,
            self.entries,
            self.options,
            now=self.clock(),
            cloud_now=cloud_now,
            wall_now=self.wall_clock(),
            window=run.in_flight_window,
        )
        run.cloud_started = cloud_now
        run.known_ids.update(plan.known_ids)
        for name, spec in plan.member_specs.items():
            run.specs.setdefault(name, spec)
        self.board.add(plan.states)
        for event in plan.found:
            run.emit(event)
        run.leaving.update(plan.leaving)
        run.possible.update(plan.possible)
        run.unanswered.update(plan.possible)
        for name in plan.possible:  # an earlier run's multi-create: look for its members
            state = self.board.get(name)
            if state is not None and run.specs[name].instance_count > 1:
                run.groups[name] = state
        for watch in plan.watches:
            run.poller.watch(watch.server_id, watch.name, at=watch.since)
        run.poller.reorder()
        self.notes.extend(plan.notes)
        self._replace_now = plan.replace
        return list(plan.to_create)

    async def check_quota(self, names: Sequence[str]) -> None:
        if not names or self.options.skip_quota_check:
            return
        flavors = {str(f.get("id")): f for f in await self.compute.flavors()}
        absolute = await self.compute.limits()
        items = []
        for name in names:
            spec = self._run.specs[name]
            flavor = flavors.get(self.refs.flavor(spec.flavor)) if spec.flavor else None
            items.append((spec.instance_count, flavor))
        check_quota(total_need(items), absolute, fleet=self.manifest.name)

    async def run(self, *, names: Sequence[str] | None = None) -> ApplyOutcome:
        """Inventory (unless ``names`` is given), quota check, create, wait, retry, roll back."""
        if names is None:
            names = await self.inventory()
            await self.check_quota(names)
        run = self._run
        send, receive = anyio.create_memory_object_stream[str](math.inf)
        run.queue = send
        for name in names:
            send.send_nowait(name)
        rolled_back = 0
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with anyio.create_task_group() as outer:
                    outer.start_soon(self.journal.sync_every)
                    async with anyio.create_task_group() as tasks:
                        run.tasks = tasks
                        if self.options.wait:  # a replacement is finished by the poll loop
                            for name in self._replace_now:
                                start_replace(run, name)
                        later = len(self._replace_now) + len(run.leaving) + len(run.possible)
                        room = max(1, min(self.options.concurrency, len(names) + later))
                        self._workers.start(receive, room=room)
                        # a deletion must be seen done, an earlier run's create looked for
                        if self.options.wait or run.leaving or run.possible:
                            tasks.start_soon(poll_loop, run)
                        else:
                            send.close()
                    receive.close()
                    self._workers.close()
                    failed = any(
                        s.phase in (Phase.ERROR, Phase.TIMEOUT, Phase.GONE)
                        for s in self.board.states.values()
                    )
                    if self.options.rollback_on_failure and not self.interrupted and failed:
                        rolled_back = await rollback(run)
                    outer.cancel_scope.cancel()
        finally:  # closed however the run ends (an error leaves them open)
            send.close()
            receive.close()
        self._scope = None
        return self.outcome(rolled_back=rolled_back)

    def outcome(self, *, rolled_back: int = 0) -> ApplyOutcome:
        """The run as it stands: at its end, or when an error stopped it half-way."""
        run = self._run
        window = run.window.stats()
        if window.shrinks:
            self.notes.append(
                f"the API queued or refused creates (POST latency over "
                f"{run.window.tolerance:g}x its lowest, or 429/503/no answer): "
                f"{window.low}-{window.high} were kept in flight, of --concurrency "
                f"{window.ceiling} (--fixed-concurrency keeps {window.ceiling})"
            )
        if run.id_less_answers:
            self.notes.append(
                f"{run.id_less_answers} create(s) were accepted with an answer that names no "
                "server (a reservation id only, or not the compute API's answer: a proxy?); "
                "each was looked for by its name and fleet mark instead"
            )
        writer = another_writer_note(run)
        if writer is not None:
            self.notes.append(writer)
        now = self.clock()
        pending = [until for until in run.unanswered.values() if until > now]
        until = self.wall_clock() + max(pending) - now if pending else None
        return ApplyOutcome(
            states=tuple(self.board.states.values()),
            notes=tuple(self.notes),
            interrupted=self.interrupted,
            rolled_back=rolled_back,
            poll_rounds=run.rounds,
            window=window,
            in_flight=len(pending),
            in_flight_until=until,
            another_writer=bool(run.other_writer),
        )
