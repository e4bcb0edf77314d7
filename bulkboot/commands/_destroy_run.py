"""The run of ``bulkboot destroy``: from a parsed command line to an exit code.

Kept apart from the command line (``commands/destroy.py``) so that its imports, the
cloud client and the engine, are paid only by a command line that parsed and a
manifest that loaded.
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import TYPE_CHECKING

import anyio

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import _runtime as runtime
from bulkboot.commands._options import resolve_defaults
from bulkboot.commands._reporting import RunRecord
from bulkboot.engine.board import Board
from bulkboot.engine.destroy import DestroyOptions, destroy_fleet
from bulkboot.engine.fleet import fleet_servers
from bulkboot.errors import EXIT_FAILURE, EXIT_INTERRUPTED
from bulkboot.ui import steps
from bulkboot.ui.output import make_output
from bulkboot.ui.report import RequestSummary, results_document

if TYPE_CHECKING:
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["run"]


def run(args: argparse.Namespace, manifest: Manifest) -> int:
    args = resolve_defaults(args)
    output = make_output(args.format)
    work = functools.partial(_destroy, args, manifest, output)
    return runtime.run_on_cloud(args.cloud or manifest.cloud, work, output=output)


async def _destroy(
    args: argparse.Namespace, manifest: Manifest, output: RunOutput, target: runtime.Target
) -> int:
    clock = time.monotonic
    record = RunRecord.start(args)  # --report, --html
    path, entries = runtime.fleet_journal(args.file, manifest.name)
    pool = args.concurrency + runtime.POOL_HEADROOM
    output.step(steps.authenticating(target.config))
    async with open_cloud(
        target.config,
        options=HttpOptions(concurrency=pool, rate=args.rate),
        on_request=record.on_request,
    ) as cloud:
        output.step(steps.negotiating(cloud.endpoint))
        await cloud.compute.negotiate("auto")
        output.step(steps.LISTING)
        found = await fleet_servers(cloud.compute, manifest.name, entries)
        _, mine, listing_notes = found
        notes = target.notes() + listing_notes
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
        question = (
            f"delete {count} server(s) of fleet {manifest.name!r} on cloud {cloud.cloud_name!r}?"
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
            runtime.run_journal(path, command="destroy", cloud=cloud.cloud_name) as journal,
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
                await destroy_fleet(
                    cloud.compute,
                    manifest.name,
                    board=board,
                    journal=journal,
                    entries=entries,
                    options=DestroyOptions(concurrency=args.concurrency),
                    observers=[output],
                    clock=clock,
                    should_stop=lambda: stopping,
                    stopped=stopped,
                    found=found,
                )
        auth_seconds = [t.seconds for t in cloud.auth_timings]
        requests_summary = RequestSummary.of(cloud.totals)
    states = tuple(board.states.values())
    if not states:
        output.note(f"fleet {manifest.name!r}: no servers to delete")
    summary = runtime.finish_run(
        output,
        board,
        states,
        clock=clock,
        auth_seconds=auth_seconds,
        interrupted=interrupted,
        requests=requests_summary,
    )
    if record.wanted:
        report = results_document(summary, states, header=header, requests=record.requests)
        record.write(report, args=args, config=target.config)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if summary.ok else EXIT_FAILURE
