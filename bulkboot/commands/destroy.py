"""``bulkboot destroy FILE``: delete every server of the fleet and wait until they are gone.

Only servers carrying the fleet mark are touched. On a terminal it asks first, showing
how many servers will go, unless ``--yes``. Deletes run under the same concurrency and
rate limits as creates.

Exit status: 0 every server gone, 1 any left, 2 invalid input or configuration,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from bulkboot.commands.apply import add_cloud_options
from bulkboot.errors import EXIT_FAILURE, EXIT_INTERRUPTED

if TYPE_CHECKING:
    from bulkboot.engine.session import Target
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "destroy",
        help="delete every server of the fleet",
        description=(
            "Delete every server that carries the fleet's mark (and those the journal "
            "says this fleet created), then wait until they are gone."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the fleet manifest (YAML)")
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from bulkboot.engine.session import cloud_target
    from bulkboot.errors import first_error
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.ui.output import make_output

    manifest = load_manifest(args.file)
    output = make_output(args.format)
    with cloud_target(args.cloud or manifest.cloud) as target:
        try:
            return anyio.run(_destroy, args, manifest, target, output, backend="asyncio")
        except BaseExceptionGroup as group:
            raise first_error(group) from None


async def _destroy(
    args: argparse.Namespace, manifest: Manifest, target: Target, output: RunOutput
) -> int:
    import anyio
    import anyio.to_thread

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.commands.apply import _confirm
    from bulkboot.engine.board import Board, RunHeader
    from bulkboot.engine.destroy import DestroyOptions, destroy_fleet, fleet_servers
    from bulkboot.engine.journal import Journal, journal_path, read_journal, replay
    from bulkboot.engine.session import (
        EMBEDDED_NOTE,
        feed_snapshots,
        quiet_gc,
        watch_interrupts,
    )
    from bulkboot.ui.report import results_document, summarize

    clock = time.monotonic
    started = clock()
    path = journal_path(args.file, manifest.name)
    entries = replay(read_journal(path))
    options = HttpOptions(concurrency=args.concurrency + 4, rate=args.rate)
    async with open_cloud(target.config, options=options) as cloud:
        await cloud.compute.negotiate("auto")
        found = await fleet_servers(cloud.compute, manifest.name, entries)
        notes = [EMBEDDED_NOTE] if target.embedded else []
        notes += found[2]
        count = len(found[1])
        header = RunHeader(
            command="destroy",
            fleet=manifest.name,
            cloud=cloud.cloud_name + (" (embedded)" if target.embedded else ""),
            endpoint=cloud.endpoint,
            microversion=str(cloud.compute.microversion),
            concurrency=args.concurrency,
            rate=args.rate,
        )
        if count and not (args.yes or target.embedded) and sys.stdin.isatty():
            question = (
                f"delete {count} server(s) of fleet {manifest.name!r} "
                f"on cloud {cloud.cloud_name!r}?"
            )
            if not await anyio.to_thread.run_sync(_confirm, question):
                output.note("nothing deleted")
                return EXIT_FAILURE
        board = Board(header=header, started_at=started)
        stopping = False
        interrupted = False
        stopped = anyio.Event()  # abandons the deletes still waiting for a --rate slot

        def first() -> None:
            nonlocal stopping, interrupted
            stopping = interrupted = True
            stopped.set()
            board.note = "interrupted: finishing the deletes in flight (Ctrl-C again to stop now)"
            output.note(board.note)

        with Journal.open(path) as journal:
            journal.write({"ev": "run", "cmd": "destroy", "cloud": cloud.cloud_name})
            output.start(header, board.snapshot(clock()), notes)
            with anyio.CancelScope() as scope:

                def second() -> None:
                    nonlocal interrupted
                    interrupted = True
                    scope.cancel()

                async with anyio.create_task_group() as background:
                    background.start_soon(watch_interrupts, first, second)
                    if output.refresh_interval is not None:
                        background.start_soon(
                            feed_snapshots, board, output.tick, output.refresh_interval, clock
                        )
                    with quiet_gc():
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
                    background.cancel_scope.cancel()
        auth_seconds = [t.seconds for t in cloud.auth_timings]
    states = tuple(board.states.values())
    summary = summarize(
        states,
        command="destroy",
        fleet=manifest.name,
        elapsed=clock() - started,
        auth_seconds=auth_seconds,
        interrupted=interrupted,
    )
    if not states:
        output.note(f"fleet {manifest.name!r}: no servers to delete")
    document: dict[str, Any] = results_document(summary, states, header=header)
    output.finish(summary, board.snapshot(clock(), done=True), document)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if summary.ok else EXIT_FAILURE
