"""``apply``: find what already exists, create the rest, poll it to ACTIVE, retry, roll back.

The shape of a run, all under one task group, each phase in a module of its own:

- the inventory (``inventory.take_inventory``, pure): one full listing read against
  the manifest, the journal and the planned bodies; the fleet's servers are left
  alone, an ERROR among them replaced only with ``--retry-errors``, a server on its
  way out waited out, a changed one replaced only with ``--replace-changed``; a name
  to create that a server outside the fleet has stops the run before anything is
  sent, unless ``--allow-duplicate-names``;
- with ``--prune``, the fleet's servers the manifest no longer names are deleted
  first (``deletes.delete_and_wait``), before the creates that may need their quota;
- the create workers (``workers.CreateWorkers``): ``concurrency`` at most, through
  the adaptive create window, each create journaled before the POST and after;
- the poll loop (``tracking.poll_loop``): batched rounds at an adaptive interval; it
  applies what it sees, enforces per-server deadlines, starts replacements of ERRORs
  (``replace``), and closes the queue when every server is final;
- the replacements (``rollout.Rollout``), rolling, through the same workers and poll
  loop;
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
from bulkboot.engine.changes import needs_flavor_names, plan_servers
from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.converge import Converged, RolloutWatch, names_taken_message, prune
from bulkboot.engine.diff import Diff, Extra
from bulkboot.engine.inventory import take_inventory
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.poll import SETTLE, Poller
from bulkboot.engine.quota import check_quota, total_need
from bulkboot.engine.replace import rollback, start_replace
from bulkboot.engine.replay import JournalEntry
from bulkboot.engine.rollout import Rollout, RolloutOutcome
from bulkboot.engine.run_state import RunState
from bulkboot.engine.state import Event, Phase, ServerState
from bulkboot.engine.tracking import another_writer_note, earlier_landed_note, poll_loop
from bulkboot.engine.window import CreateWindow, WindowStats
from bulkboot.engine.workers import CreateWorkers
from bulkboot.errors import UsageError
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Manifest, References

__all__ = ["ApplyOptions", "ApplyOutcome", "Converged", "FleetApply"]


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
    converged: Converged = Converged()

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and not self.another_writer
            and self.converged.ok
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
        in_scope: Callable[[str], bool] | None = None,
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
        self.in_scope = in_scope
        window = CreateWindow(
            ceiling=max(1, options.concurrency), adaptive=not options.fixed_concurrency
        )
        # The servers deleted that are not their name's server on the board: a
        # replacement's old ones, and --prune's. Journaled and shown as any.
        self.side = Board(header=board.header, started_at=board.started_at)
        self._side_emit = emitter(self.side, journal, observers)
        self._rollout: Rollout | None = None
        self.diff = Diff()
        self._extra: tuple[Extra, ...] = ()
        self._pruned: list[str] = []
        self._prune_failed: list[tuple[str, str]] = []
        self._run = RunState(
            compute=compute,
            fleet=manifest.name,
            board=board,
            journal=journal,
            options=options,
            clock=clock,
            emit=emitter(board, journal, [*observers, RolloutWatch(lambda: self._rollout)]),
            poller=Poller(compute, fleet=manifest.name, clock=clock, settle=SETTLE),
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
    def will_change(self) -> bool:
        """Will the run replace or delete servers (besides creating)? Known after
        ``inventory``."""
        return self._rollout is not None or bool(self._extra)

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
        """Account for the fleet's servers already in the cloud; return the names to create.

        A name to create (or to create anew) that a server outside the fleet has is a
        ``UsageError`` here, before anything is sent, unless ``allow_duplicate_names``.
        """
        run = self._run
        listed_at = self.clock()
        records = await self.compute.list_servers(None, detail=True)
        run.poller.note_listing(records, self.clock() - listed_at)
        cloud_now = http_date(self.compute.cloud_date)
        flavor_names: dict[str, str] = {}
        if needs_flavor_names(records):  # a server without a spec mark shows a flavor name
            flavor_names = {
                str(f.get("id")): str(f.get("name")) for f in await self.compute.flavors()
            }
        plan = take_inventory(
            self.manifest,
            records,
            self.entries,
            self.options,
            now=self.clock(),
            cloud_now=cloud_now,
            wall_now=self.wall_clock(),
            window=run.in_flight_window,
            planned=plan_servers(self.manifest.servers, self.refs, self.microversion),
            flavor_names=flavor_names,
            in_scope=self.in_scope,
        )
        self.diff = plan.diff
        if plan.diff.name_taken and not self.options.allow_duplicate_names:
            raise UsageError(names_taken_message(self.manifest.name, plan.diff.name_taken))
        run.may_land.update(plan.may_land)
        run.earlier_creates = plan.earlier_creates
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
                run.groups_at[name] = run.clock()
        for watch in plan.watches:
            run.poller.watch(watch.server_id, watch.name, at=watch.since)
        run.poller.reorder()
        self.notes.extend(plan.notes)
        self._replace_now = plan.replace
        if self.options.prune:
            self._extra = plan.diff.extra
        if plan.replacements:
            group_sizes: dict[str, int] = {}
            for spec in self.manifest.servers:
                group_sizes[spec.group] = group_sizes.get(spec.group, 0) + spec.instance_count
            self._rollout = Rollout(
                run,
                plan.replacements,
                side=self.side,
                side_emit=self._side_emit,
                limit=self.options.max_unavailable,
                group_sizes=group_sizes,
            )
            run.side_gone = self._rollout.side_gone
            run.side_overdue = self._rollout.side_overdue
            run.replaced.update(r.name for r in plan.replacements)
            for replacement in plan.replacements:  # the old ones' ids are not its creates'
                old = frozenset(server_id for server_id, _ in replacement.old)
                run.exclude[replacement.name] = old
        return list(plan.to_create)

    async def prune(self) -> None:
        """Delete the fleet's servers the manifest no longer names (``--prune``)."""
        if self._extra:
            self._pruned, self._prune_failed = await prune(
                self._run, self._extra, side=self.side, side_emit=self._side_emit
            )

    async def check_quota(self, names: Sequence[str]) -> None:
        if not names or self.options.skip_quota_check:
            return
        flavors = {str(f.get("id")): f for f in await self.compute.flavors()}
        absolute = await self.compute.limits()
        items = []
        # create-first replacements make a server before deleting one: at most the
        # rollout's share of each group at once
        extra = self._rollout.surge() if self._rollout is not None else []
        for name in [*names, *extra]:
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
                    await self.prune()
                    async with anyio.create_task_group() as tasks:
                        run.tasks = tasks
                        if self.options.wait:  # a replacement is finished by the poll loop
                            for name in self._replace_now:
                                start_replace(run, name)
                        rollout = self._rollout
                        if rollout is not None and not run.stopping:
                            rollout.start()
                        later = len(self._replace_now) + len(run.leaving) + len(run.possible)
                        later += len(rollout) if rollout is not None else 0
                        room = max(1, min(self.options.concurrency, len(names) + later))
                        self._workers.start(receive, room=room)
                        # a deletion must be seen done, an earlier run's create looked for
                        if self.options.wait or run.leaving or run.possible or rollout:
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
        for note in (another_writer_note(run), earlier_landed_note(run)):
            if note is not None:
                self.notes.append(note)
        now = self.clock()
        pending = [until for until in run.unanswered.values() if until > now]
        until = self.wall_clock() + max(pending) - now if pending else None
        converged = Converged(
            rollout=self._rollout.outcome() if self._rollout is not None else RolloutOutcome(),
            pruned=tuple(self._pruned),
            prune_failed=tuple(self._prune_failed),
            extra_kept=0 if self.options.prune else len(self.diff.extra),
            changed_kept=0
            if self.options.replace_changed
            else len({c.name for c in self.diff.replace}),
        )
        self.notes.extend(converged.notes())
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
            converged=converged,
        )
