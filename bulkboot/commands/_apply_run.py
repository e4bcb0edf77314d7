"""The run of ``bulkboot apply``: from a parsed command line to an exit code.

Kept apart from the command line (``commands/apply.py``) so that its imports, the
cloud client and the engine (half a second, aiohttp among them), are paid only by a
command line that parsed and a manifest that passed the offline checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.resolve import resolve_references
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import _runtime as runtime
from bulkboot.commands._options import resolve_defaults
from bulkboot.commands._reporting import RunRecord
from bulkboot.engine.apply import ApplyOptions, ApplyOutcome, FleetApply
from bulkboot.engine.board import Board
from bulkboot.engine.options import MaxUnavailable
from bulkboot.engine.state import Phase
from bulkboot.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    BaseExceptionGroup,
    BulkbootError,
    RunFailed,
    first_error,
)
from bulkboot.pipeline.validate import check
from bulkboot.ui import steps
from bulkboot.ui.output import make_output
from bulkboot.ui.report import RequestSummary, results_document

if TYPE_CHECKING:
    from bulkboot.engine.statedir import StatePaths
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["run"]


def run(
    args: argparse.Namespace,
    manifest: Manifest,
    requested: str,
    scope: Callable[[str], bool] | None = None,
) -> int:
    """Apply ``manifest``, valid offline at ``requested`` (``apply._checked_manifest``);
    ``scope``: the names of the fleet's servers ``--only`` covers (None: all)."""
    args = resolve_defaults(args)
    output = make_output(args.format)
    work = functools.partial(_apply, args, manifest, output, requested, scope)
    return runtime.run_on_cloud(args.cloud or manifest.cloud, work, output=output)


def _options(args: argparse.Namespace) -> ApplyOptions:
    """The engine's options as the flags set them; ``--poll-interval`` is the pacing's
    base, and the first round comes no later than one base interval."""
    pacing = ApplyOptions().pacing
    count, percent = args.max_unavailable
    return ApplyOptions(
        concurrency=args.concurrency,
        fixed_concurrency=args.fixed_concurrency,
        timeout=args.timeout,
        pacing=dataclasses.replace(
            pacing, base=args.poll_interval, first=min(pacing.first, args.poll_interval)
        ),
        wait=not args.no_wait,
        retry_errors=args.retry_errors,
        rollback_on_failure=args.rollback_on_failure,
        skip_quota_check=args.skip_quota_check,
        replace_changed=args.replace_changed,
        max_unavailable=MaxUnavailable(count=count, percent=percent),
        replace_order=args.replace_order,
        prune=args.prune,
        allow_duplicate_names=args.allow_duplicate_names,
    )


async def _apply(
    args: argparse.Namespace,
    manifest: Manifest,
    output: RunOutput,
    requested: str,
    scope: Callable[[str], bool] | None,
    target: runtime.Target,
) -> int:
    clock = time.monotonic
    started = clock()
    paths = runtime.fleet_state(args, manifest.name, target.config.name)
    # One writer per fleet: taken before anything is sent, held to the end.
    async with runtime.fleet_lock(
        paths, command="apply", wait=args.wait_lock, note=output.note, manifest_file=args.file
    ) as notes:
        return await _locked(
            args, manifest, output, requested, scope, target, paths, notes, started
        )


async def _locked(
    args: argparse.Namespace,
    manifest: Manifest,
    output: RunOutput,
    requested: str,
    scope: Callable[[str], bool] | None,
    target: runtime.Target,
    paths: StatePaths,
    notes: list[str],
    started: float,
) -> int:
    clock = time.monotonic
    record = RunRecord.start(args)  # --report, --html
    options = _options(args)
    failure: BaseException | None = None
    output.step(steps.authenticating(target.config))
    async with open_cloud(
        target.config,
        options=HttpOptions(
            concurrency=options.concurrency + runtime.POOL_HEADROOM, rate=args.rate
        ),
        on_request=record.on_request,
        # The longest this run should take: creates paced by --rate, then the last
        # server's deadline. A token that cannot be renewed is judged against it.
        expected_run=(len(manifest.servers) / args.rate if args.rate else 0.0)
        + (options.timeout if options.wait else 0.0),
    ) as cloud:
        output.step(steps.negotiating(cloud.endpoint))
        version = await cloud.compute.negotiate(requested)
        check(manifest, version)
        output.step(steps.resolving(manifest))
        refs = await resolve_references(cloud, manifest)
        header = runtime.run_header(
            "apply",
            manifest.name,
            cloud,
            target,
            microversion=str(version),
            concurrency=options.concurrency,
            rate=args.rate,
        )
        board = Board(header=header, started_at=started)
        entries = runtime.fleet_journal(paths, notes)
        with runtime.run_journal(
            paths, command="apply", cloud=cloud.cloud_name, notes=notes
        ) as journal:
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
                # a create sent and never answered may land until this long after its
                # last send (--in-flight-window, else the request timeout)
                in_flight_window=runtime.in_flight_window(cloud, args.in_flight_window),
                in_scope=scope,
            )
            output.step(steps.LISTING)
            names = await fleet.inventory()
            output.step(None if options.skip_quota_check else steps.QUOTA)
            await fleet.check_quota(names)
            notes = target.notes() + notes + fleet.notes
            fleet.notes.clear()
            diff = fleet.diff
            to_do = names or fleet.will_change
            question = (
                f"{diff.summary_line()}: apply to fleet {manifest.name!r} "
                f"on cloud {cloud.cloud_name!r}?"
            )
            go = await runtime.confirmed(
                question if to_do else None,
                yes=args.yes,
                target=target,
                output=output,
                board=board,
                clock=clock,
            )
            if not go:
                output.note(
                    "nothing created, replaced or deleted"
                    if fleet.will_change
                    else "nothing created"
                )
                return EXIT_FAILURE

            def first() -> None:
                fleet.request_stop()
                output.note(fleet.board.note)

            async with (
                record.sampled(board, clock=clock, window=lambda: fleet.window_size),
                runtime.watched(output, board, notes, clock=clock, first=first, second=fleet.abort),
            ):
                try:
                    outcome = await fleet.run(names=names)
                except (BulkbootError, BaseExceptionGroup) as exc:
                    failure = exc if isinstance(exc, BulkbootError) else first_error(exc)
                    if not isinstance(failure, BulkbootError):
                        raise
                    outcome = fleet.outcome()
            for note in outcome.notes:
                output.note(note)
        auth_seconds = [t.seconds for t in cloud.auth_timings]
        requests_summary = RequestSummary.of(cloud.totals)
    summary = runtime.finish_run(
        output,
        board,
        outcome.states,
        clock=clock,
        auth_seconds=auth_seconds,
        interrupted=outcome.interrupted,
        requests=requests_summary,
        in_flight=runtime.InFlight(outcome.in_flight, outcome.in_flight_until),
        changes=outcome.converged.counts(),
    )
    if record.wanted:  # written when the run failed too: what it did is worth keeping
        report = results_document(summary, outcome.states, header=header, requests=record.requests)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report["run"]["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
        report["run"]["ui_cpu_seconds"] = output.ui_cpu_seconds
        if outcome.window is not None:
            report["run"]["create_window"] = dataclasses.asdict(outcome.window)
        secrets = [s.admin_pass for s in manifest.servers if s.admin_pass]
        record.write(report, args=args, config=target.config, secrets=secrets)
    if failure is not None:
        raise _stopped_by(failure, board)
    return _exit_code(outcome, wait=options.wait)


def _stopped_by(failure: BaseException, board: Board) -> BaseException:
    """The error to end with once the summary is shown: itself when the run had sent
    nothing (its exit status says so), else ``RunFailed`` (exit 1), which says that
    what was created is in the summary and the journal."""
    sent = sum(s.attempt for s in board.states.values())
    if not sent:
        return failure
    return RunFailed(
        f"{failure}\nthe run stopped there, after {sent} create(s) were sent: the summary "
        "above says what exists, and the journal has every one",
        cause=failure,
    )


def _exit_code(outcome: ApplyOutcome, *, wait: bool) -> int:
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if outcome.another_writer:
        return EXIT_FAILURE
    if wait:
        return 0 if outcome.ok else EXIT_FAILURE
    good = (Phase.ACTIVE, Phase.BUILDING)
    fine = outcome.converged.ok and all(s.phase in good for s in outcome.states)
    return 0 if fine else EXIT_FAILURE
