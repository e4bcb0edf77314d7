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
from typing import TYPE_CHECKING

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.resolve import resolve_references
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands import _runtime as runtime
from bulkboot.commands._options import resolve_defaults
from bulkboot.commands._reporting import RunRecord
from bulkboot.engine.apply import ApplyOptions, ApplyOutcome, FleetApply
from bulkboot.engine.board import Board
from bulkboot.engine.state import Phase
from bulkboot.errors import EXIT_FAILURE, EXIT_INTERRUPTED
from bulkboot.pipeline.validate import check
from bulkboot.ui import steps
from bulkboot.ui.output import make_output
from bulkboot.ui.report import RequestSummary, results_document

if TYPE_CHECKING:
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.output import RunOutput

__all__ = ["run"]


def run(args: argparse.Namespace, manifest: Manifest, requested: str) -> int:
    """Apply ``manifest``, valid offline at ``requested`` (``apply._checked_manifest``)."""
    args = resolve_defaults(args)
    output = make_output(args.format)
    work = functools.partial(_apply, args, manifest, output, requested)
    return runtime.run_on_cloud(args.cloud or manifest.cloud, work, output=output)


def _options(args: argparse.Namespace) -> ApplyOptions:
    """The engine's options as the flags set them; ``--poll-interval`` is the pacing's
    base, and the first round comes no later than one base interval."""
    pacing = ApplyOptions().pacing
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
    )


async def _apply(
    args: argparse.Namespace,
    manifest: Manifest,
    output: RunOutput,
    requested: str,
    target: runtime.Target,
) -> int:
    clock = time.monotonic
    started = clock()
    record = RunRecord.start(args)  # --report, --html
    options = _options(args)
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
        path, entries = runtime.fleet_journal(args.file, manifest.name)
        with runtime.run_journal(path, command="apply", cloud=cloud.cloud_name) as journal:
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
            output.step(steps.LISTING)
            names = await fleet.inventory()
            output.step(None if options.skip_quota_check else steps.QUOTA)
            await fleet.check_quota(names)
            notes = target.notes() + fleet.notes
            fleet.notes.clear()
            question = (
                f"create {len(names)} server request(s) of fleet {manifest.name!r} "
                f"on cloud {cloud.cloud_name!r}?"
            )
            go = await runtime.confirmed(
                question if names else None,
                yes=args.yes,
                target=target,
                output=output,
                board=board,
                clock=clock,
            )
            if not go:
                output.note("nothing created")
                return EXIT_FAILURE

            def first() -> None:
                fleet.request_stop()
                output.note(fleet.board.note)

            async with (
                record.sampled(board, clock=clock, window=lambda: fleet.window_size),
                runtime.watched(output, board, notes, clock=clock, first=first, second=fleet.abort),
            ):
                outcome = await fleet.run(names=names)
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
    )
    if record.wanted:
        report = results_document(summary, outcome.states, header=header, requests=record.requests)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report["run"]["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
        report["run"]["ui_cpu_seconds"] = output.ui_cpu_seconds
        if outcome.window is not None:
            report["run"]["create_window"] = dataclasses.asdict(outcome.window)
        secrets = [s.admin_pass for s in manifest.servers if s.admin_pass]
        record.write(report, args=args, config=target.config, secrets=secrets)
    return _exit_code(outcome, wait=options.wait)


def _exit_code(outcome: ApplyOutcome, *, wait: bool) -> int:
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if wait:
        return 0 if outcome.ok else EXIT_FAILURE
    good = (Phase.ACTIVE, Phase.BUILDING)
    return 0 if all(s.phase in good for s in outcome.states) else EXIT_FAILURE
