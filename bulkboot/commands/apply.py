"""``bulkboot apply FILE``: boot the fleet, creating only what is missing.

Order of work, so that bad input sends nothing and a fleet that cannot fit creates
nothing: load and validate the manifest offline; open the cloud (authenticate),
negotiate the microversion and validate again at it; resolve every reference once;
list what exists; check the quota for what is missing; then create and wait.

Exit status: 0 every server ACTIVE (with ``--no-wait``: every create accepted), 1 any
failed, 2 invalid input or configuration (nothing created), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import resource
import sys
import time
from typing import TYPE_CHECKING, Any

from bulkboot.errors import EXIT_FAILURE, EXIT_INTERRUPTED

if TYPE_CHECKING:
    from bulkboot.cloud.timing import RequestTiming
    from bulkboot.engine.apply import ApplyOutcome
    from bulkboot.engine.session import Target
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["parse_duration", "register", "run"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``500ms``, ``30m``, ``1.5h`` -> seconds (argparse type)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: use a number of seconds or 500ms, 90s, 30m, 2h"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be more than zero")
    return seconds


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must not be negative")
    return value


def positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: requests per second must be more than 0")
    if math.isinf(value):  # "no limit" is the default: leave --rate out
        raise argparse.ArgumentTypeError(
            f"{text!r}: requests per second must be a finite number (leave --rate out for no limit)"
        )
    return value


def add_cloud_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cloud",
        metavar="NAME",
        help="the clouds.yaml cloud (overrides the manifest's cloud:); 'simulator' with no "
        "such cloud defined runs the embedded simulator",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=100,
        metavar="N",
        help="at most N requests of this kind in flight (default 100)",
    )
    parser.add_argument(
        "--rate",
        type=positive_rate,
        metavar="R",
        help="at most R API requests per second in all (default: no limit)",
    )
    parser.add_argument(
        "--format",
        choices=("live", "plain", "json"),
        default=None,
        help="live view (default on a terminal), plain lines (default otherwise), or JSON",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="boot the fleet: create what is missing, wait for ACTIVE",
        description=(
            "Create the manifest's servers that do not exist yet (found by the fleet "
            "mark and their names) and wait until they are ACTIVE. Re-running it after "
            "an interrupted run creates only what is missing."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the fleet manifest (YAML)")
    add_cloud_options(parser)
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=1800.0,
        metavar="DURATION",
        help="per server, from its create to ACTIVE (default 30m)",
    )
    parser.add_argument(
        "--poll-interval",
        type=parse_duration,
        default=1.0,
        metavar="DURATION",
        help="base interval between polling rounds; adapts around it (default 1s)",
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
        default=0,
        metavar="K",
        help="delete a server that went to ERROR and create it again, up to K times",
    )
    parser.add_argument(
        "--rollback-on-failure",
        action="store_true",
        help="when any server fails, delete every server this run created",
    )
    parser.add_argument(
        "--report", metavar="FILE.json", help="write per-server results and every timing"
    )
    parser.add_argument(
        "--skip-quota-check",
        action="store_true",
        help="do not check instances, cores and RAM against the quota first",
    )
    parser.add_argument(
        "--microversion", metavar="2.N", help="override the manifest's microversion"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from bulkboot.engine.session import cloud_target
    from bulkboot.errors import first_error
    from bulkboot.pipeline import microversion as mv
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.pipeline.validate import check
    from bulkboot.ui.output import make_output

    manifest = load_manifest(args.file)
    requested = args.microversion or manifest.microversion
    try:
        check(manifest, mv.offline(requested))  # invalid: nothing is sent
    except ValueError as exc:
        from bulkboot.errors import UsageError

        raise UsageError(f"--microversion: {exc}") from None
    output = make_output(args.format)
    with cloud_target(args.cloud or manifest.cloud) as target:
        try:
            return anyio.run(_apply, args, manifest, target, output, requested, backend="asyncio")
        except BaseExceptionGroup as group:
            raise first_error(group) from None


def _confirm(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _apply(
    args: argparse.Namespace,
    manifest: Manifest,
    target: Target,
    output: RunOutput,
    requested: str,
) -> int:
    import anyio
    import anyio.to_thread

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.resolve import resolve_references
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.engine.apply import ApplyOptions, FleetApply
    from bulkboot.engine.board import Board, RunHeader
    from bulkboot.engine.journal import Journal, journal_path, read_journal, replay
    from bulkboot.engine.pacing import PollPacing
    from bulkboot.engine.session import (
        EMBEDDED_NOTE,
        feed_snapshots,
        quiet_gc,
        watch_interrupts,
    )
    from bulkboot.pipeline.validate import check
    from bulkboot.ui.report import results_document, summarize, write_report

    clock = time.monotonic
    started = clock()
    requests: list[RequestTiming] | None = [] if args.report else None
    options = ApplyOptions(
        concurrency=args.concurrency,
        fixed_concurrency=args.fixed_concurrency,
        timeout=args.timeout,
        pacing=PollPacing(base=args.poll_interval, first=min(0.5, args.poll_interval)),
        wait=not args.no_wait,
        retry_errors=args.retry_errors,
        rollback_on_failure=args.rollback_on_failure,
        skip_quota_check=args.skip_quota_check,
    )
    async with open_cloud(
        target.config,
        # room for polls beside the creates in flight
        options=HttpOptions(concurrency=args.concurrency + 8, rate=args.rate),
        on_request=requests.append if requests is not None else None,
        # The longest this run should take: creates paced by --rate, then the last
        # server's deadline. A token that cannot be renewed is judged against it.
        expected_run=(len(manifest.servers) / args.rate if args.rate else 0.0)
        + (0.0 if args.no_wait else args.timeout),
    ) as cloud:
        version = await cloud.compute.negotiate(requested)
        check(manifest, version)
        refs = await resolve_references(cloud, manifest)
        header = RunHeader(
            command="apply",
            fleet=manifest.name,
            cloud=cloud.cloud_name + (" (embedded)" if target.embedded else ""),
            endpoint=cloud.endpoint,
            microversion=str(version),
            concurrency=args.concurrency,
            rate=args.rate,
        )
        board = Board(header=header, started_at=started)
        path = journal_path(args.file, manifest.name)
        entries = replay(read_journal(path))
        with Journal.open(path) as journal:
            journal.write({"ev": "run", "cmd": "apply", "cloud": cloud.cloud_name})
            fleet = FleetApply(
                cloud.compute,
                manifest,
                refs,
                version,
                board=board,
                journal=journal,
                options=options,
                observers=[output],
                clock=clock,
                entries=entries,
            )
            names = await fleet.inventory()
            await fleet.check_quota(names)
            notes = ([EMBEDDED_NOTE] if target.embedded else []) + fleet.notes
            fleet.notes.clear()
            if names and not (args.yes or target.embedded) and sys.stdin.isatty():
                question = (
                    f"create {len(names)} server request(s) of fleet {manifest.name!r} "
                    f"on cloud {cloud.cloud_name!r}?"
                )
                if not await anyio.to_thread.run_sync(_confirm, question):
                    output.note("nothing created")
                    return EXIT_FAILURE
            output.start(header, board.snapshot(clock()), notes)
            async with anyio.create_task_group() as background:

                def first() -> None:
                    fleet.request_stop()
                    output.note(fleet.board.note)

                background.start_soon(watch_interrupts, first, fleet.abort)
                if output.refresh_interval is not None:
                    background.start_soon(
                        feed_snapshots, board, output.tick, output.refresh_interval, clock
                    )
                with quiet_gc():
                    outcome = await fleet.run(names=names)
                background.cancel_scope.cancel()
            for note in outcome.notes:
                output.note(note)
        auth_seconds = [t.seconds for t in cloud.auth_timings]
    summary = summarize(
        outcome.states,
        command="apply",
        fleet=manifest.name,
        elapsed=clock() - started,
        auth_seconds=auth_seconds,
        interrupted=outcome.interrupted,
    )
    document: dict[str, Any] = results_document(summary, outcome.states, header=header)
    last = board.snapshot(clock(), done=True)
    output.finish(summary, last, document)
    if args.report:
        report = results_document(summary, outcome.states, header=header, requests=requests)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report["run"]["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
        report["run"]["ui_cpu_seconds"] = output.ui_cpu_seconds
        if outcome.window is not None:
            report["run"]["create_window"] = dataclasses.asdict(outcome.window)
        write_report(args.report, report)
    return _exit_code(outcome, wait=options.wait)


def _exit_code(outcome: ApplyOutcome, *, wait: bool) -> int:
    from bulkboot.engine.state import Phase

    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if wait:
        return 0 if outcome.ok else EXIT_FAILURE
    good = (Phase.ACTIVE, Phase.BUILDING)
    return 0 if all(s.phase in good for s in outcome.states) else EXIT_FAILURE
