"""The run of ``bulkboot destroy``: from a parsed command line to an exit code.

Kept apart from the command line (``commands/destroy.py``) so that its imports, the
cloud client and the engine, are paid only by a command line that parsed and a
manifest that loaded.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import _runtime as runtime
from bulkboot.commands._options import resolve_defaults
from bulkboot.commands._reporting import RunRecord
from bulkboot.engine.board import Board
from bulkboot.engine.destroy import DestroyOptions, DestroyOutcome, destroy_fleet
from bulkboot.engine.fleet import fleet_servers
from bulkboot.engine.state import Phase
from bulkboot.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    BaseExceptionGroup,
    BulkbootError,
    RunFailed,
    first_error,
)
from bulkboot.ui import steps
from bulkboot.ui.output import make_output
from bulkboot.ui.report import RequestSummary, results_document

if TYPE_CHECKING:
    from bulkboot.engine.statedir import StatePaths
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["run"]


def run(
    args: argparse.Namespace, manifest: Manifest, in_scope: Callable[[str], bool] | None = None
) -> int:
    """Destroy the fleet of ``manifest``; ``in_scope``: the names ``--only`` covers."""
    args = resolve_defaults(args)
    output = make_output(args.format)
    work = functools.partial(_destroy, args, manifest, output, in_scope)
    return runtime.run_on_cloud(args.cloud or manifest.cloud, work, output=output)


async def _destroy(
    args: argparse.Namespace,
    manifest: Manifest,
    output: RunOutput,
    in_scope: Callable[[str], bool] | None,
    target: runtime.Target,
) -> int:
    paths = runtime.fleet_state(args, manifest.name, target.config.name)
    # One writer per fleet: taken before anything is sent, held to the end.
    async with runtime.fleet_lock(
        paths, command="destroy", wait=args.wait_lock, note=output.note, manifest_file=args.file
    ) as notes:
        return await _locked(args, manifest, output, in_scope, target, paths, notes)


async def _locked(
    args: argparse.Namespace,
    manifest: Manifest,
    output: RunOutput,
    in_scope: Callable[[str], bool] | None,
    target: runtime.Target,
    paths: StatePaths,
    notes: list[str],
) -> int:
    clock = time.monotonic
    record = RunRecord.start(args)  # --report, --html
    entries = runtime.fleet_journal(paths, notes)
    pool = args.concurrency + runtime.POOL_HEADROOM
    failure: BulkbootError | None = None
    outcome: DestroyOutcome | None = None
    output.step(steps.authenticating(target.config))
    async with open_cloud(
        target.config,
        options=HttpOptions(concurrency=pool, rate=args.rate),
        on_request=record.on_request,
    ) as cloud:
        output.step(steps.negotiating(cloud.endpoint))
        await cloud.compute.negotiate("auto")
        output.step(steps.LISTING)
        gone: list[tuple[str, str]] = []  # journaled below: never looked up again
        found = await fleet_servers(cloud.compute, manifest.name, entries, gone=gone)
        records, mine, listing_notes = found
        if in_scope is not None:  # --only: the named groups' servers, no other
            mine = [r for r in mine if in_scope(str(r.get("name")))]
            found = (records, mine, listing_notes)
        notes = target.notes() + notes + listing_notes
        count = len(mine)
        header = runtime.run_header(
            "destroy",
            manifest.name,
            cloud,
            target,
            microversion=str(cloud.compute.microversion),
            concurrency=args.concurrency,
            rate=args.rate,
        )
        part = f" (--only {args.only})" if in_scope is not None else ""
        question = (
            f"delete {count} server(s) of fleet {manifest.name!r}{part} on cloud "
            f"{cloud.cloud_name!r}?"
        )
        go = await runtime.confirmed(
            question if count else None, yes=args.yes, target=target, output=output
        )
        if not go:
            output.note("nothing deleted")
            return EXIT_FAILURE
        board = Board(header=header, started_at=clock())  # the run starts at the go-ahead
        stopping = False
        interrupted = False
        stopped = anyio.Event()  # abandons the deletes still waiting for a --rate slot

        def first() -> None:
            nonlocal stopping, interrupted
            stopping = interrupted = True
            stopped.set()
            board.note = "interrupted: finishing the deletes in flight (Ctrl-C again to stop now)"
            output.note(board.note)

        with (
            runtime.run_journal(
                paths, command="destroy", cloud=cloud.cloud_name, notes=notes, gone=gone
            ) as journal,
            anyio.CancelScope() as scope,
        ):

            def second() -> None:
                nonlocal interrupted
                interrupted = True
                scope.cancel()

            async with (
                record.sampled(board, clock=clock),
                runtime.watched(output, board, notes, clock=clock, first=first, second=second),
            ):
                try:
                    outcome = await destroy_fleet(
                        cloud.compute,
                        manifest.name,
                        board=board,
                        journal=journal,
                        entries=entries,
                        options=DestroyOptions(concurrency=args.concurrency, timeout=args.timeout),
                        observers=[output],
                        clock=clock,
                        should_stop=lambda: stopping,
                        stopped=stopped,
                        found=found,
                        note=output.note,
                        # a create sent and never answered may land until this long
                        # after its last send (--in-flight-window, else the timeout)
                        in_flight_window=runtime.in_flight_window(cloud, args.in_flight_window),
                        in_scope=in_scope,
                    )
                except (BulkbootError, BaseExceptionGroup) as exc:
                    error = exc if isinstance(exc, BulkbootError) else first_error(exc)
                    if not isinstance(error, BulkbootError):
                        raise
                    failure = error
        auth_seconds = [t.seconds for t in cloud.auth_timings]
        requests_summary = RequestSummary.of(cloud.totals)
    if outcome is not None:
        for note in outcome.notes:
            output.note(note)
    states = tuple(board.states.values())
    if not states and outcome is not None and not outcome.in_flight:
        output.note(f"fleet {manifest.name!r}: no servers to delete")
    summary = runtime.finish_run(
        output,
        board,
        states,
        clock=clock,
        auth_seconds=auth_seconds,
        interrupted=interrupted,
        requests=requests_summary,
        in_flight=runtime.InFlight(outcome.in_flight, outcome.in_flight_until)
        if outcome is not None
        else None,
    )
    if record.wanted:  # written when the run failed too: what it did is worth keeping
        report = results_document(summary, states, header=header, requests=record.requests)
        record.write(report, args=args, config=target.config)
    if failure is not None:
        sent = sum(1 for s in states if s.phase is not Phase.QUEUED)
        if not sent:
            raise failure
        raise RunFailed(
            f"{failure}\nthe run stopped there, after {sent} delete(s) were sent: the "
            "summary above says what is gone, and the journal has every one",
            cause=failure,
        )
    if interrupted:
        return EXIT_INTERRUPTED
    if outcome is not None and outcome.in_flight:
        return EXIT_FAILURE
    return 0 if summary.ok else EXIT_FAILURE
