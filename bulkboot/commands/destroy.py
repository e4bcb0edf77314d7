"""``bulkboot destroy FILE``: delete every server of the fleet and wait until they are gone.

Only servers carrying the fleet mark are touched; with ``--only GROUP``, only those of
the groups (or servers) named. On a terminal it asks first, showing
how many servers will go, unless ``--yes``; with no terminal to ask on (a script, cron,
CI) it refuses without ``--yes``, before anything is sent. Deletes run under the same
concurrency and rate limits as creates.

Exit status: 0 every server gone, 1 any left (or creates of an earlier run still to
wait for), 2 invalid input or configuration, or another run holding the fleet's lock
(nothing deleted), 130 interrupted (Ctrl-C or SIGTERM).

This module is the command line; the run is ``_destroy_run``, loaded only once the
manifest has loaded.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bulkboot.commands._options import (
    EngineDefault,
    add_cloud,
    add_in_flight_window,
    add_manifest,
    add_only,
    add_report_options,
    add_run_options,
    add_state_options,
    check_report_paths,
    format_duration,
    parse_duration,
)

if TYPE_CHECKING:
    from bulkboot.engine.options import DestroyOptions

__all__ = ["register", "run"]


def _engine() -> DestroyOptions:
    """The engine's defaults (imported here: see ``EngineDefault``)."""
    from bulkboot.engine.options import DestroyOptions

    return DestroyOptions()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "destroy",
        help="delete every server of the fleet",
        description=(
            "Delete every server that carries the fleet's mark (and those the journal "
            "says this fleet created), then wait until they are gone."
        ),
    )
    add_manifest(parser)
    add_cloud(parser)
    add_run_options(
        parser,
        concurrency=EngineDefault(lambda: _engine().concurrency),
        requests="deletes (DELETE /servers/ID)",
        deletes=True,
    )
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=EngineDefault(lambda: _engine().timeout, format_duration),
        metavar="DURATION",
        help="per server, from its DELETE to gone (default %(default)s)",
    )
    add_state_options(parser, lock=True)
    add_in_flight_window(parser)
    add_report_options(parser)
    add_only(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bulkboot.pipeline.manifest import load_manifest

    # before the run's imports: bad input fails at once
    manifest = load_manifest(args.file, need_name=True)
    scope = None
    if args.only:  # part of the fleet: the servers of those groups (or those servers)
        from bulkboot.engine.selector import parse_only, select

        scope = select(manifest, parse_only(args.only)).covers
    from bulkboot.commands._prompt import refuse_unattended

    refuse_unattended(
        "destroy", yes=args.yes, cloud=args.cloud or manifest.cloud, what="delete servers"
    )
    check_report_paths(args)
    from bulkboot.commands import _destroy_run

    return _destroy_run.run(args, manifest, scope)
