"""The run of ``bulkboot load``: from a checked plan to an exit code.

Kept apart from the command line (``commands/load.py``) so that the cloud client, the
engine and the views load only once the manifest, the flags and the plan passed.
"""

from __future__ import annotations

import argparse
import functools
import resource
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from bulkboot.cloud.client import Cloud, open_cloud
from bulkboot.cloud.resolve import resolve_references
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import _runtime as runtime
from bulkboot.commands._reporting import RunRecord
from bulkboot.engine.board import Board, RunHeader, RunSnapshot
from bulkboot.engine.destroy import DestroyOutcome, wait_out_creates
from bulkboot.engine.inventory import wall_time
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.requests import RequestLog
from bulkboot.engine.load.result import LoadResult
from bulkboot.engine.load.runner import LoadRun
from bulkboot.engine.load.schedule import stages_length
from bulkboot.engine.load.snapshot import LoadHeader
from bulkboot.engine.load.templates import Templates, new_run_id
from bulkboot.engine.replay import read_fleet_journal, replay
from bulkboot.engine.state import Phase
from bulkboot.errors import EXIT_FAILURE, EXIT_GATE, EXIT_INTERRUPTED, CloudError, RunFailed
from bulkboot.pipeline.validate import check
from bulkboot.ui import steps
from bulkboot.ui.load_output import LoadOutput, make_load_output
from bulkboot.ui.load_report import load_document
from bulkboot.ui.report import RequestSummary, Summary

if TYPE_CHECKING:
    from bulkboot.engine.state import Event, ServerState
    from bulkboot.engine.statedir import StatePaths
    from bulkboot.pipeline.spec import Manifest

__all__ = ["exit_code", "run", "run_load"]


def run(args: argparse.Namespace, manifest: Manifest, plan: LoadPlan, requested: str) -> int:
    feed = _Feed(make_load_output(args.format))
    work = functools.partial(run_load, args, manifest, plan, feed, requested)
    # the feed's preparing steps end however the work ends (an error is never printed
    # under a spinner)
    return runtime.run_on_cloud(args.cloud or manifest.cloud, work, output=feed)


class _Feed:
    """What ``runtime`` drives (``confirmed``, ``watched``, ``run_on_cloud``) as a
    ``RunOutput``, handed on to the load run's own output: the preparing steps and
    notes as they are, and the run's own snapshots (built here, in the event loop, once
    ``run`` is set) instead of the empty board's."""

    ui_cpu_seconds: float | None = None

    def __init__(self, output: LoadOutput) -> None:
        self.output = output
        self.run: LoadRun | None = None
        self.notes: list[str] = []
        self.refresh_interval = output.refresh_interval

    def step(self, text: str | None) -> None:
        self.output.step(text)

    def prepared(self) -> None:
        self.output.prepared()

    def start(self, header: RunHeader, snapshot: RunSnapshot, notes: Iterable[str]) -> None:
        assert self.run is not None
        self.output.start(self.run.header, [*self.notes, *notes])

    def event(self, event: Event, state: ServerState) -> None:
        pass

    def tick(self, snapshot: RunSnapshot) -> None:
        if self.run is not None:
            self.output.tick(self.run.snapshot())

    def close(self) -> None:
        self.output.close()

    def note(self, text: str) -> None:
        self.output.note(text)

    def finish(self, summary: Summary, snapshot: RunSnapshot, document: dict[str, Any]) -> None:
        pass


def _pool(plan: LoadPlan) -> int:
    """Connections: one per iteration in flight (each sends one request at a time),
    plus the polls, lists and clean-up beside them."""
    if plan.open_loop:
        busy = plan.max_in_flight
    else:
        assert plan.concurrency is not None
        busy = max([plan.concurrency, *(int(s.target) for s in plan.stages)])
    return busy + runtime.POOL_HEADROOM


def _expected_seconds(plan: LoadPlan) -> float:
    """How long the run should last (for the token's lifetime check)."""
    if plan.capacity is not None:
        length = plan.capacity.step * plan.capacity.max_steps
    elif plan.stages:
        length = stages_length(plan.stages)
    elif plan.duration is not None:
        length = plan.duration
    else:
        assert plan.iterations is not None
        length = plan.iterations / plan.rate if plan.rate else 0.0
    return length + 2 * plan.timeout


def _cloud_facts(cloud: Cloud, version: str, templates: Templates, refs: Any) -> dict[str, Any]:
    """The cloud as the report names it: never a secret."""
    config = cloud.config
    return {
        "name": config.name,
        "auth_url": _plain_url(config.auth_url),
        "region": config.region_name,
        "endpoint": cloud.endpoint,
        "microversion": version,
        **templates.flavors_and_images(refs),
    }


def _plain_url(url: str | None) -> str | None:
    """A URL without user information, query or fragment (where a secret could hide)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _cpu_seconds() -> float:
    """This process's CPU so far (every thread: the live view's drawing counts)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def exit_code(result: LoadResult) -> int:
    """0 all held; 1 the run failed (an error stopped it, servers left, none
    completed); 3 a threshold did not hold; 130 interrupted."""
    if result.fatal is not None:
        return EXIT_FAILURE
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.cleanup is None or not result.cleanup.clean:
        return EXIT_FAILURE
    if result.aborted_by is not None or not result.thresholds_held:
        return EXIT_GATE
    if result.counters.started and not result.counters.completed:
        return EXIT_FAILURE
    return 0


async def run_load(
    args: argparse.Namespace,
    manifest: Manifest,
    plan: LoadPlan,
    feed: _Feed,
    requested: str,
    target: runtime.Target,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> int:
    """The whole run on ``target``'s cloud; ``clock`` and ``sleep`` time it (tests pass
    their own). A load run creates and deletes the fleet's servers: it holds the
    fleet's lock, as ``apply`` and ``destroy`` do."""
    paths = runtime.fleet_state(args, manifest.name, target.config.name)
    async with runtime.fleet_lock(
        paths,
        command="load",
        wait=getattr(args, "wait_lock", None),
        note=feed.note,
        manifest_file=args.file,
    ) as notes:
        return await _locked(
            args, manifest, plan, feed, requested, target, paths, notes, clock=clock, sleep=sleep
        )


async def _locked(
    args: argparse.Namespace,
    manifest: Manifest,
    plan: LoadPlan,
    feed: _Feed,
    requested: str,
    target: runtime.Target,
    paths: StatePaths,
    notes: list[str],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> int:
    log = RequestLog()
    record = RunRecord.start(args, timings=False)  # --report, --html: the run's header
    feed.step(steps.authenticating(target.config))
    async with open_cloud(
        target.config,
        options=HttpOptions(concurrency=_pool(plan)),
        on_request=log,
        clock=clock,
        sleep=sleep,
        expected_run=_expected_seconds(plan),
    ) as cloud:
        feed.step(steps.negotiating(cloud.endpoint))
        version = await cloud.compute.negotiate(requested)
        check(manifest, version)
        feed.step(steps.resolving(manifest))
        refs = await resolve_references(cloud, manifest)
        run_id = new_run_id()
        templates = Templates(manifest.servers, refs, version, fleet=manifest.name, run_id=run_id)
        header = LoadHeader(
            fleet=manifest.name,
            cloud=cloud.cloud_name + (" (embedded)" if target.embedded else ""),
            endpoint=cloud.endpoint,
            microversion=str(version),
            scenario=plan.scenario,
            model=plan.describe(),
            run_id=run_id,
            poll_interval=plan.poll_interval,
        )
        question = (
            f"run a load test on cloud {cloud.cloud_name!r} ({plan.describe()})? It creates "
            f"and deletes servers of fleet {manifest.name!r}"
        )
        feed.notes = [*target.notes(), *notes]
        # the run's clock (LoadRun's start, the report's start) begins after the answer
        if not await runtime.confirmed(question, yes=args.yes, target=target, output=feed):
            feed.note("nothing sent")
            return EXIT_FAILURE
        journal_notes: list[str] = []
        runtime.fleet_journal(paths, journal_notes)  # read: a torn line is said, not fatal
        board = Board(
            header=RunHeader(
                command="load",
                fleet=manifest.name,
                cloud=header.cloud,
                endpoint=cloud.endpoint,
                microversion=str(version),
                concurrency=_pool(plan) - runtime.POOL_HEADROOM,
                rate=plan.rate,
            ),
            started_at=clock(),
        )
        with runtime.run_journal(
            paths, command="load", cloud=cloud.cloud_name, notes=journal_notes
        ) as journal:
            journal.write({"ev": "run", "cmd": "load", "load_run": run_id})
            load = LoadRun(
                cloud.compute,
                templates,
                plan,
                journal=journal,
                header=header,
                clock=clock,
                sleep=sleep,
            )

            window = runtime.in_flight_window(cloud, args.in_flight_window)
            waiting_stopped = anyio.Event()  # Ctrl-C while the clean-up waits out creates

            def first() -> None:
                if waiting:
                    waiting_stopped.set()
                    return
                load.interrupt()
                feed.note(load.note)  # the live view shows it too; plain lines need it said

            def second() -> None:
                waiting_stopped.set()
                load.abort()

            waiting = False
            feed.run = load
            log.start()
            cpu = _cpu_seconds()
            async with runtime.watched(
                feed, board, journal_notes, clock=clock, first=first, second=second
            ):
                result = await load.run()
                waited: DestroyOutcome | CloudError | None = None
                if result.cleanup is not None and not plan.keep and result.fatal is None:
                    # creates sent and never answered may still land: waited out within
                    # their window, each that lands deleted (engine/destroy.py)
                    waiting = True
                    try:
                        waited = await wait_out_creates(
                            cloud.compute,
                            manifest.name,
                            header=board.header,
                            journal=journal,
                            entries=replay(read_fleet_journal(paths)),
                            in_scope=lambda name: f"-{run_id}-" in name,
                            in_flight_window=window,
                            stopped=waiting_stopped,
                            note=feed.note,
                            clock=clock,
                        )
                    except CloudError as exc:  # the cloud gone meanwhile: said below
                        waited = exc
            cpu = _cpu_seconds() - cpu
        facts = _cloud_facts(cloud, str(version), templates, refs)
        client = RequestSummary.of(cloud.totals)
        # a create sent and never answered may land until its window has passed
        in_flight = runtime.InFlight(result.in_flight, time.time() + window)
    code = exit_code(result)
    if isinstance(waited, CloudError):
        feed.note(
            f"the clean-up could not wait out this run's creates sent and never answered "
            f"({waited}): their servers may still appear; run `bulkboot destroy "
            f"{args.file}` to delete them"
        )
        code = code or EXIT_FAILURE
    elif waited is not None:
        for note in waited.notes:
            feed.note(note)
        if waited.in_flight_names or not waited.ok:
            left = [s.name for s in waited.states if s.phase is not Phase.DELETED]
            names = [*waited.in_flight_names, *left]
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
            feed.note(
                f"the clean-up did not wait out {len(names)} create(s) sent and never "
                f"answered, or their servers ({shown}): they may still appear; run "
                f"`bulkboot destroy {args.file}` to delete them"
            )
            code = code or EXIT_FAILURE
    document = load_document(
        result,
        header=header,
        requests=log,
        cloud=facts,
        exit_code=code,
        client=client,
        error=None if result.fatal is None else str(result.fatal),
    )
    record.started = result.started_wall  # the load's start: after the question
    secrets = [s.admin_pass for s in manifest.servers if s.admin_pass]
    record.complete(
        document, args=args, config=target.config, secrets=secrets, now=result.ended_wall
    )
    if in_flight.creates:
        document["in_flight"] = in_flight.document()
    started = result.counters.started
    document["client"] = {
        "cpu_seconds": round(cpu, 6),
        "cpu_per_iteration": round(cpu / started, 9) if started else None,
    }
    if result.cleanup is None:
        feed.note(
            f"stopped at once: run `bulkboot destroy {args.file}` to delete what this "
            "run left (every server is in the journal and carries the fleet mark)"
        )
    if in_flight.creates:
        assert in_flight.until is not None
        feed.note(
            f"{in_flight.creates} create(s) were in flight and never answered: their "
            f"servers may still appear until {wall_time(in_flight.until)} (bulkboot "
            "destroy waits for them and deletes each that appears; the journal has them)"
        )
    feed.output.finish(document)  # the summary last, after what is still in flight
    record.write_files(document)  # after the summary: a failure here is exit 1, said last
    if result.fatal is not None:
        raise RunFailed(
            f"{result.fatal}\nthe load run stopped there, after {started} iteration(s) "
            "started: the summary above says what was measured and what is left, and the "
            "journal has every server",
            cause=result.fatal,
        )
    return code
