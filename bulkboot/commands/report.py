"""``bulkboot report RUN.json``: a saved report's summary tables (terminal or Markdown)
and its HTML page; ``bulkboot report compare BASE.json NEW.json``: what changed.

Exit status: 0 shown; 2 a file that is not a report bulkboot can read (not JSON, not
a bulkboot report, a newer schema version, truncated) or bad flags; 3 with
``--fail-on-regression``, when a gated aggregate regressed by more than allowed.

The reports themselves are documented in docs/reports.md.
"""

from __future__ import annotations

import argparse
import sys

from bulkboot.commands._options import parse_duration
from bulkboot.errors import EXIT_GATE, UsageError

__all__ = ["register", "run"]

_USAGE = """bulkboot report RUN.json [--format table|markdown] [--html FILE.html]
       bulkboot report compare BASE.json NEW.json [--tolerance 5%%]
              [--tolerance-seconds 1ms] [--fail-on-regression 10%%] [--aggregate p95]
              [--format table|markdown] [--html FILE.html]"""


def percent(text: str) -> float:
    """``10%`` or ``10`` -> 10.0 (argparse type)."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (say 10%)") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: a percentage must be 0 or more")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="show a saved report (tables, Markdown, an HTML page), or compare two",
        usage=_USAGE,
        description=(
            "Show the report an apply, destroy or load run wrote with --report: its "
            "summary tables, as Markdown for a CI job summary, or as one self-contained "
            "HTML page. 'report compare' shows each aggregate's change from BASE to NEW."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="RUN.json", help=argparse.SUPPRESS)
    parser.add_argument(
        "--format",
        choices=("table", "markdown"),
        default="table",
        help="tables in the terminal (default) or Markdown (CI job summaries)",
    )
    parser.add_argument("--html", metavar="FILE.html", help="also write the HTML page")
    compare = parser.add_argument_group("compare")
    compare.add_argument(
        "--tolerance",
        type=percent,
        default=5.0,
        metavar="P%",
        help="flag a change beyond P%% of the base value (default 5%%)",
    )
    compare.add_argument(
        "--tolerance-seconds",
        type=parse_duration,
        default=0.001,
        metavar="DURATION",
        help="and, for durations, beyond this much (default 1ms)",
    )
    compare.add_argument(
        "--fail-on-regression",
        type=percent,
        metavar="P%",
        help="exit 3 when a gated aggregate (--aggregate) got worse by more than P%%",
    )
    compare.add_argument(
        "--aggregate",
        action="append",
        metavar="NAME",
        help="the aggregates --fail-on-regression gates: p95 (every phase's; the "
        "default), or one as PHASE.AGG (post.p99, rate.achieved); may repeat",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files: list[str] = args.files
    if files[0] == "compare":
        if len(files) != 3:
            raise UsageError("report compare takes two reports: BASE.json NEW.json")
        return _compare(args, files[1], files[2])
    if len(files) != 1:
        raise UsageError(
            "report takes one report (RUN.json); to compare two: report compare BASE.json NEW.json"
        )
    for flag, given in (
        ("--fail-on-regression", args.fail_on_regression is not None),
        ("--aggregate", args.aggregate is not None),
    ):
        if given:
            raise UsageError(f"{flag} is for 'report compare BASE.json NEW.json'")
    return _show(args, files[0])


def _show(args: argparse.Namespace, path: str) -> int:
    from bulkboot.ui.report_read import read_report
    from bulkboot.ui.report_terminal import show_report

    document = read_report(path)
    show_report(document, args.format, sys.stdout)
    if args.html:
        from bulkboot.ui.html import render_report, write_html

        write_html(args.html, render_report(document, source=path))
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace, base_path: str, new_path: str) -> int:
    from bulkboot.ui.report_compare import Gate, Tolerance, compare
    from bulkboot.ui.report_read import read_report
    from bulkboot.ui.report_terminal import show_comparison

    base = read_report(base_path)
    new = read_report(new_path)
    gate = Gate(
        percent=args.fail_on_regression,
        aggregates=frozenset(args.aggregate or ["p95"]),
    )
    comparison = compare(
        base,
        new,
        tolerance=Tolerance(percent=args.tolerance, seconds=args.tolerance_seconds),
        gate=gate,
    )
    show_comparison(comparison, base, new, args.format, sys.stdout)
    if args.html:
        from bulkboot.ui.html import render_comparison, write_html

        write_html(
            args.html,
            render_comparison(comparison, base, new, source=f"{base_path} and {new_path}"),
        )
        print(f"wrote {args.html}", file=sys.stderr)
    if comparison.regressions:
        names = ", ".join(c.metric.name for c in comparison.regressions)
        print(f"bulkboot: regression beyond {args.fail_on_regression:g}%: {names}", file=sys.stderr)
        return EXIT_GATE
    return 0
