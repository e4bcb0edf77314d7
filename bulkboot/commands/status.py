"""``bulkboot status FILE``: every server of the fleet, its status and addresses, plus
servers with the fleet mark that the manifest no longer names (drift).

Read-only: nothing is created or deleted. Exit status 0 when every server the
manifest names is ACTIVE, 1 otherwise, 2 for invalid input or configuration.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bulkboot.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from bulkboot.engine.session import Target
    from bulkboot.pipeline.spec import Manifest

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
    parser.add_argument("file", metavar="FILE", help="the fleet manifest (YAML)")
    parser.add_argument("--cloud", metavar="NAME", help="the clouds.yaml cloud to ask")
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or JSON"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from bulkboot.engine.session import cloud_target
    from bulkboot.errors import first_error
    from bulkboot.pipeline.manifest import load_manifest

    manifest = load_manifest(args.file)
    with cloud_target(args.cloud or manifest.cloud) as target:
        try:
            return anyio.run(_status, args, manifest, target, backend="asyncio")
        except BaseExceptionGroup as group:
            raise first_error(group) from None


async def _status(args: argparse.Namespace, manifest: Manifest, target: Target) -> int:
    from rich.console import Console

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.engine.destroy import fleet_servers
    from bulkboot.engine.journal import journal_path, read_journal, replay
    from bulkboot.engine.session import EMBEDDED_NOTE
    from bulkboot.engine.status import status_rows
    from bulkboot.ui.status_table import print_status_json, print_status_table

    entries = replay(read_journal(journal_path(args.file, manifest.name)))
    async with open_cloud(target.config, options=HttpOptions(concurrency=8)) as cloud:
        await cloud.compute.negotiate("auto")
        _, mine, notes = await fleet_servers(cloud.compute, manifest.name, entries)
        name = cloud.cloud_name
    rows = status_rows(manifest, mine, entries)
    if target.embedded:
        notes.insert(0, EMBEDDED_NOTE + ": it has none of your servers")
    for note in notes:
        print(note, file=sys.stderr)
    if args.format == "json":
        print_status_json(sys.stdout, manifest.name, name, rows)
    else:
        print_status_table(Console(), manifest.name, name, rows)
    wanted = [row for row in rows if row.in_manifest]
    return 0 if wanted and all(row.status == "ACTIVE" for row in wanted) else EXIT_FAILURE
