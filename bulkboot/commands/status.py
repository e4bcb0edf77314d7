"""``bulkboot status FILE``: every server of the fleet, its status and addresses, plus
servers with the fleet mark that the manifest no longer names (drift).

Read-only: nothing is created or deleted. Exit status 0 when every server the
manifest names is ACTIVE, 1 otherwise, 2 for invalid input or configuration.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bulkboot.commands._options import (
    add_cloud,
    add_manifest,
    add_only,
    add_state_options,
    add_table_format,
)
from bulkboot.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from bulkboot.commands._runtime import Target

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show every server of the fleet, and drift",
        description=(
            "List the fleet's servers (found by the fleet mark) with their status and "
            "addresses, the manifest's servers that are missing, and the fleet's servers "
            "the manifest no longer names."
        ),
    )
    add_manifest(parser)
    add_cloud(parser)
    add_table_format(parser)
    add_state_options(parser, lock=False)
    add_only(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bulkboot.pipeline.manifest import load_manifest

    # before the run's imports: bad input fails at once
    manifest = load_manifest(args.file, need_name=True)
    scope = None
    if args.only:  # part of the fleet: those groups' servers (drift within them too)
        from bulkboot.engine.selector import parse_only, select

        selection = select(manifest, parse_only(args.only))
        manifest, scope = selection.manifest(manifest), selection.covers
    # What the run needs (aiohttp, anyio, rich), loaded once the manifest has loaded.
    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.commands._runtime import (
        EMBEDDED_NOTE,
        POOL_HEADROOM,
        fleet_journal,
        fleet_state,
        record_gone,
        run_on_cloud,
    )
    from bulkboot.engine.fleet import fleet_servers
    from bulkboot.engine.replay import with_gone
    from bulkboot.engine.status import status_rows
    from bulkboot.ui import steps
    from bulkboot.ui.status_table import print_status_json, print_status_table
    from bulkboot.ui.text import printable

    shown = steps.on_terminal(sys.stderr)

    async def status(target: Target) -> int:
        # Read without the fleet's lock: status changes no server, and may run beside
        # an apply (what it shows is then a moment of that run). It takes the lock only
        # to journal the servers it found gone, when the lock is free (``record_gone``).
        notes: list[str] = []
        paths = fleet_state(args, manifest.name, target.config.name)
        entries = fleet_journal(paths, notes, manifest_file=args.file)
        authenticating = steps.authenticating(target.config)
        if authenticating is not None:
            shown.step(authenticating)
        async with open_cloud(
            target.config, options=HttpOptions(concurrency=POOL_HEADROOM)
        ) as cloud:
            shown.step(steps.negotiating(cloud.endpoint))
            await cloud.compute.negotiate("auto")
            shown.step(steps.LISTING)
            gone: list[tuple[str, str]] = []
            _, mine, listing_notes = await fleet_servers(
                cloud.compute, manifest.name, entries, gone=gone
            )
            notes.extend(listing_notes)
            record_gone(paths, gone, notes)  # so that no later run looks them up again
            entries = with_gone(entries, gone)
            if scope is not None:
                mine = [r for r in mine if scope(str(r.get("name")))]
            name = cloud.cloud_name
        shown.done()
        rows = status_rows(manifest, mine, entries)
        if target.embedded:
            notes.insert(0, EMBEDDED_NOTE + ": it has none of your servers")
        for note in notes:
            print(printable(note, multiline=True), file=sys.stderr)
        if args.format == "json":
            print_status_json(sys.stdout, manifest.name, name, rows)
        else:
            print_status_table(sys.stdout, manifest.name, name, rows)
        wanted = [row for row in rows if row.in_manifest]
        return 0 if wanted and all(row.status == "ACTIVE" for row in wanted) else EXIT_FAILURE

    try:
        return run_on_cloud(args.cloud or manifest.cloud, status)
    finally:
        shown.done()
