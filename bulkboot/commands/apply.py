"""``bulkboot apply FILE``: converge the fleet on the manifest.

Order of work, so that bad input sends nothing and a fleet that cannot fit creates
nothing: load and validate the manifest offline; open the cloud (authenticate),
negotiate the microversion and validate again at it; resolve every reference once;
list what exists and compare it with the plan; check the quota for what is missing;
then (``--prune``) delete what the manifest no longer names, create, replace what
changed (``--replace-changed``, rolling), and wait.

Exit status: 0 every server ACTIVE (with ``--no-wait``: every create accepted), 1 any
failed (or the report could not be written at the end, or another writer met, or an
error after creates were sent), 2 invalid input or configuration, an output path that
cannot be written, or another run holding the fleet's lock (nothing created), 130
interrupted (Ctrl-C or SIGTERM).

This module is the command line and the offline checks; the run is ``_apply_run``,
loaded only once those have passed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from bulkboot.commands._options import (
    EngineDefault,
    add_cloud,
    add_in_flight_window,
    add_manifest,
    add_microversion,
    add_only,
    add_report_options,
    add_run_options,
    add_state_options,
    check_report_paths,
    format_duration,
    max_unavailable,
    non_negative_int,
    parse_duration,
)
from bulkboot.errors import UsageError

if TYPE_CHECKING:
    from bulkboot.engine.options import ApplyOptions
    from bulkboot.pipeline.spec import Manifest

__all__ = ["register", "run"]


def _engine() -> ApplyOptions:
    """The engine's defaults (imported here: see ``EngineDefault``)."""
    from bulkboot.engine.options import ApplyOptions

    return ApplyOptions()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="converge the fleet: create what is missing, replace what changed, prune",
        description=(
            "Create the manifest's servers that do not exist yet (found by the fleet "
            "mark and their names) and wait until they are ACTIVE. Re-running it after "
            "an interrupted run creates only what is missing. Servers that differ from "
            "the manifest are replaced with --replace-changed (rolling), servers the "
            "manifest no longer names deleted with --prune; `bulkboot plan` shows what "
            "it would do."
        ),
    )
    add_manifest(parser)
    add_cloud(parser)
    add_run_options(
        parser,
        concurrency=EngineDefault(lambda: _engine().concurrency),
        requests="creates (POST /servers)",
    )
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=EngineDefault(lambda: _engine().timeout, format_duration),
        metavar="DURATION",
        help="per server, from its create to ACTIVE; bounds every wait of the run "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--poll-interval",
        type=parse_duration,
        default=EngineDefault(lambda: _engine().pacing.base, format_duration),
        metavar="DURATION",
        help="base interval between polling rounds; adapts around it (default %(default)s)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="return once every create is accepted"
    )
    parser.add_argument(
        "--fixed-concurrency",
        action="store_true",
        help="keep exactly --concurrency creates in flight (load tests); by default fewer "
        "are sent while the API is queueing (its latency doubles)",
    )
    parser.add_argument(
        "--retry-errors",
        type=non_negative_int,
        default=EngineDefault(lambda: _engine().retry_errors),
        metavar="K",
        help="delete a server that went to ERROR and create it again, up to K times "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--rollback-on-failure",
        action="store_true",
        help="when any server fails, delete every server this run created",
    )
    parser.add_argument(
        "--replace-changed",
        action="store_true",
        help="replace the servers that differ from the manifest (flavor, image, networks, "
        "user data, metadata ...): a new one is created, then the old one deleted once "
        "the new one is ACTIVE",
    )
    parser.add_argument(
        "--max-unavailable",
        type=max_unavailable,
        default=(1, None),
        metavar="K|P%",
        help="replace at most K servers of a group at once, or P%% of the group (default 1)",
    )
    parser.add_argument(
        "--replace-order",
        choices=("create-first", "delete-first"),
        default="create-first",
        help="create the new server before deleting the old one (default; a fixed IP or "
        "port is always deleted first), or delete first",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete the fleet's servers the manifest no longer names (a lowered count, "
        "a removed group); without a terminal, needs --yes",
    )
    parser.add_argument(
        "--allow-duplicate-names",
        action="store_true",
        help="create a server even when a server outside the fleet has its name (Nova "
        "allows two; that one is never taken for the fleet's)",
    )
    add_only(parser)
    add_report_options(parser)
    parser.add_argument(
        "--skip-quota-check",
        action="store_true",
        help="do not check instances, cores and RAM against the quota first",
    )
    add_microversion(parser)
    add_state_options(parser, lock=True)
    add_in_flight_window(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    manifest, requested, scope = _checked_manifest(args)
    if args.replace_changed and args.no_wait:
        raise UsageError(
            "--replace-changed waits for each new server to be ACTIVE before it deletes "
            "the old one: it cannot be used with --no-wait"
        )
    if args.prune:  # it deletes: with nobody to ask, only when told (--yes)
        from bulkboot.commands._prompt import refuse_unattended

        refuse_unattended(
            "apply --prune",
            yes=args.yes,
            cloud=args.cloud or manifest.cloud,
            what="delete the fleet's servers the manifest no longer names",
        )
    check_report_paths(args)  # found now, not after the fleet is built
    from bulkboot.commands import _apply_run

    return _apply_run.run(args, manifest, requested, scope)


def _checked_manifest(
    args: argparse.Namespace,
) -> tuple[Manifest, str, Callable[[str], bool] | None]:
    """The manifest (cut down to ``--only``), valid offline at the microversion asked for,
    that microversion, and which names of the fleet's servers ``--only`` covers.

    Checked before the run's imports (see ``_apply_run``), so that bad input is
    reported at once; nothing is sent either way.
    """
    from bulkboot.pipeline import microversion as mv
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.pipeline.validate import check

    manifest = load_manifest(args.file, need_name=True)
    scope: Callable[[str], bool] | None = None
    if args.only:
        from bulkboot.engine.selector import parse_only, select

        selection = select(manifest, parse_only(args.only))
        manifest, scope = selection.manifest(manifest), selection.covers
    requested: str = args.microversion or manifest.microversion
    try:
        version = mv.offline(requested)
    except ValueError as exc:
        raise UsageError(f"--microversion: {exc}") from None
    check(manifest, version)
    return manifest, requested, scope
