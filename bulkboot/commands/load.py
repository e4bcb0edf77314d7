"""``bulkboot load FILE``: load-test a Nova endpoint with the manifest's servers.

Order of work, so that bad input sends nothing: read the manifest (its ``load:``
mapping included), read the flags with the same parsers, combine them (flags
override the manifest), check the servers can be iterations, validate offline; then
open the cloud, validate again at the negotiated microversion, resolve references,
and run (``_load_run``). Unknown metrics, phases the scenario lacks, and settings
that cannot go together are all errors at this point.

Exit status: 0 the run completed and every threshold held; 1 the run failed (no
iteration completed, servers could not be deleted: the summary names them, an error
stopped it, or the report could not be written at the end); 2 invalid input or
configuration, or an output path that cannot be written (nothing sent); 3 a threshold
did not hold
(``--find-capacity``: not even the first step held); 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from bulkboot.commands._options import (
    RUN_FORMATS,
    add_cloud,
    add_in_flight_window,
    add_manifest,
    add_microversion,
    add_state_options,
    check_report_paths,
    parse_duration,
)
from bulkboot.errors import ManifestError, UsageError

if TYPE_CHECKING:
    from bulkboot.engine.load.plan import LoadPlan
    from bulkboot.pipeline.load_spec import LoadSection, Stage, Threshold
    from bulkboot.pipeline.spec import Manifest

__all__ = ["register", "run"]

_SCENARIOS = ("boot", "boot-delete", "boot-list-delete")  # pipeline.load_spec.SCENARIOS


def _typed(parse_name: str) -> Callable[[str], object]:
    """An argparse type from one of ``pipeline.load_spec``'s parsers (imported when used)."""

    def convert(text: str) -> object:
        from bulkboot.pipeline import load_spec

        try:
            return getattr(load_spec, parse_name)(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _iterations_per_second(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"{text!r}: iterations per second must be a number more than 0"
        )
    return value


def _factor(text: str) -> float:
    value = _iterations_per_second(text)
    if not value > 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the factor must be more than 1")
    return value


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "load",
        help="load-test the endpoint: boot (and delete) servers on a schedule, timed per phase",
        description=(
            "Run iterations built from the manifest's servers (boot, wait for ACTIVE, "
            "and per scenario list, delete, wait until gone) on an open loop (--rate: "
            "intended start times, late and dropped counted) or a closed loop "
            "(--concurrency), timing every phase; check thresholds; delete everything "
            "the run created. Settings may also come from the manifest's load: mapping; "
            "flags override it. Exit 3 when a threshold fails."
        ),
    )
    add_manifest(parser)
    add_cloud(parser)
    group = parser.add_argument_group("the load")
    group.add_argument(
        "--scenario",
        choices=_SCENARIOS,
        help="boot: boot and wait for ACTIVE (deleted at the end unless --keep); "
        "boot-delete (default): then delete and wait until gone; boot-list-delete: "
        "list the servers between",
    )
    group.add_argument(
        "--rate",
        type=_iterations_per_second,
        metavar="R",
        help="open loop: start R iterations per second on a fixed schedule (decimals allowed)",
    )
    group.add_argument(
        "--concurrency",
        type=_whole,
        metavar="N",
        help="closed loop: N workers, each starting its next iteration when its last ends",
    )
    group.add_argument(
        "--max-in-flight",
        type=_whole,
        metavar="M",
        help="open loop: an iteration due while M are running is dropped and counted "
        "(default 1000)",
    )
    group.add_argument(
        "--stages",
        type=_typed("parse_stages"),
        metavar="D:T,...",
        help="ramp linearly from --rate (or --concurrency) to each target over each "
        "duration, e.g. 30s:1,60s:5,30s:0",
    )
    group.add_argument(
        "--duration",
        type=parse_duration,
        metavar="D",
        help="start iterations for D (e.g. 90s, 5m); with --iterations, whichever first",
    )
    group.add_argument("--iterations", type=_whole, metavar="K", help="start K iterations at most")
    group.add_argument(
        "--poll-interval",
        type=parse_duration,
        metavar="D",
        help="between polling rounds; ACTIVE and gone are seen at most this much (plus "
        "one round trip) late (default 500ms)",
    )
    group.add_argument(
        "--late-after",
        type=parse_duration,
        metavar="D",
        help="open loop: a start more than D after its intended time counts as late "
        "(default 1ms; the event loop's own timers wake up to ~1 ms late, so on a busy "
        "machine --late-after 10ms counts only a client falling behind; every start's "
        "lag is in schedule_lag besides)",
    )
    group.add_argument(
        "--timeout",
        type=parse_duration,
        metavar="D",
        help="the longest one wait (for ACTIVE, for gone) may last (default 10m)",
    )
    group.add_argument(
        "--keep",
        action="store_true",
        default=None,
        help="boot scenario: leave the servers (bulkboot destroy deletes them later)",
    )
    checks = parser.add_argument_group("thresholds")
    checks.add_argument(
        "--threshold",
        type=_typed("parse_threshold"),
        action="append",
        metavar="EXPR",
        help="e.g. 'p95(post)<2s', 'rate(failed)<1%%', 'count(dropped)==0', 'p99(total)<300s' "
        "(repeatable; exit 3 when one fails)",
    )
    checks.add_argument(
        "--abort-on-fail",
        action="store_true",
        default=None,
        help="stop (and clean up) as soon as a threshold fails with --min-samples behind it",
    )
    checks.add_argument(
        "--min-samples",
        type=_whole,
        metavar="N",
        help="samples a threshold needs before --abort-on-fail acts on it (default 20)",
    )
    capacity = parser.add_argument_group("capacity search")
    capacity.add_argument(
        "--find-capacity",
        action="store_true",
        default=None,
        help="open-loop steps at rising rates until a threshold fails or iterations are "
        "dropped; report the highest rate that held (the knee)",
    )
    capacity.add_argument(
        "--capacity-start", type=_iterations_per_second, metavar="R", help="first rate (1/s)"
    )
    capacity.add_argument(
        "--capacity-factor", type=_factor, metavar="F", help="each step's rate over the last (1.5)"
    )
    capacity.add_argument(
        "--capacity-step", type=parse_duration, metavar="D", help="one step (60s)"
    )
    capacity.add_argument(
        "--capacity-max-steps", type=_whole, metavar="N", help="steps at most (10)"
    )
    capacity.add_argument(
        "--capacity-margin",
        type=_typed("parse_share"),
        metavar="P",
        help="a step fails when its achieved rate (iterations completed per second of "
        "the step) falls short of the offered by more than P (5%%)",
    )
    parser.add_argument(
        "--format",
        choices=RUN_FORMATS,
        default=None,
        help="live view (default on a terminal), plain lines (default otherwise), or the "
        "JSON document",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.json",
        help="write the whole result (docs/load.md's schema; to a regular file: checked "
        "before anything is sent, replaced whole at the end)",
    )
    parser.add_argument(
        "--html",
        metavar="FILE.html",
        help="write the result as one self-contained HTML page (no network, no script; "
        "checked and written as --report is)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_microversion(parser)
    add_state_options(parser, lock=True)
    add_in_flight_window(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    manifest, plan, requested = _checked(args)
    check_report_paths(args)  # found now, not after the run
    from bulkboot.commands import _load_run

    return _load_run.run(args, manifest, plan, requested)


def flags_section(args: argparse.Namespace) -> LoadSection:
    """The flags as a ``LoadSection`` (None where not given), for ``resolve_plan``."""
    from bulkboot.pipeline.load_spec import CapacitySearch, LoadSection

    stages: tuple[Stage, ...] | None = args.stages
    thresholds: tuple[Threshold, ...] | None = tuple(args.threshold) if args.threshold else None
    capacity_flags = {
        "start": args.capacity_start,
        "factor": args.capacity_factor,
        "step": args.capacity_step,
        "max_steps": args.capacity_max_steps,
        "margin": args.capacity_margin,
    }
    given = {key: value for key, value in capacity_flags.items() if value is not None}
    capacity = None
    if args.find_capacity:
        capacity = CapacitySearch(**given)
    elif given:
        names = ", ".join("--capacity-" + key.replace("_", "-") for key in given)
        raise UsageError(f"{names}: only with --find-capacity")
    return LoadSection(
        scenario=args.scenario,
        rate=args.rate,
        concurrency=args.concurrency,
        max_in_flight=args.max_in_flight,
        stages=stages,
        duration=args.duration,
        iterations=args.iterations,
        poll_interval=args.poll_interval,
        late_after=args.late_after,
        timeout=args.timeout,
        thresholds=thresholds,
        abort_on_fail=args.abort_on_fail,
        min_samples=args.min_samples,
        keep=args.keep,
        find_capacity=capacity,
    )


def _checked(args: argparse.Namespace) -> tuple[Manifest, LoadPlan, str]:
    """The manifest, the plan and the microversion asked for, all checked offline."""
    from bulkboot.engine.load.plan import resolve_plan
    from bulkboot.engine.load.templates import template_problems
    from bulkboot.pipeline import microversion as mv
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.pipeline.validate import check

    manifest = load_manifest(args.file, need_name=True)
    plan = resolve_plan(manifest.load, flags_section(args))
    problems = template_problems(manifest)
    if problems:
        raise ManifestError(problems)
    requested: str = args.microversion or manifest.microversion
    try:
        version = mv.offline(requested)
    except ValueError as exc:
        raise UsageError(f"--microversion: {exc}") from None
    check(manifest, version)
    return manifest, plan, requested
