"""The flags several commands share, declared once, and the value types of every flag.

``--cloud`` means the same and says the same in ``apply``, ``destroy``, ``status`` and
``plan`` because it is declared here only. Flags whose defaults are engine settings
(``--concurrency``, ``--timeout``...) read them from the engine's option dataclasses
(``ApplyOptions``, ``DestroyOptions``): those are the one home of the numbers.

Not a command: ``bulkboot.cli`` skips modules whose name starts with ``_``. Light on
purpose (argparse, the standard library and ``pipeline.durations``), since every
command line that names one of these commands loads it before anything else.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The duration syntax has one home (pipeline.durations); the flags' names for it:
from bulkboot.pipeline.durations import format_seconds as format_duration
from bulkboot.pipeline.durations import parse_seconds

__all__ = [
    "RUN_FORMATS",
    "EngineDefault",
    "add_cloud",
    "add_manifest",
    "add_microversion",
    "add_only",
    "add_report_options",
    "add_run_options",
    "add_state_options",
    "add_table_format",
    "format_duration",
    "max_unavailable",
    "non_negative_int",
    "parse_duration",
    "positive_int",
    "positive_rate",
    "resolve_defaults",
]

# How long ``--wait-lock`` with no value waits for another run of the fleet to end.
DEFAULT_LOCK_WAIT = 600.0

# What ``ui.output.make_output`` draws (a test holds the two equal; importing the ui
# here would cost ``bulkboot --help`` a tenth of a second).
RUN_FORMATS = ("live", "plain", "json")

# ----------------------------------------------------------------- value types


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``500ms``, ``30m``, ``1.5h`` -> seconds (argparse type; the
    syntax is ``pipeline.durations``')."""
    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must not be negative")
    return value


def max_unavailable(text: str) -> tuple[int, float | None]:
    """``--max-unavailable``: ``K`` servers of a group, or ``P%`` of it (argparse type)
    -> (count, percent or None)."""
    value = text.strip()
    if value.endswith("%"):
        try:
            percent = float(value[:-1])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of servers or a percentage (2, or 25%)"
            ) from None
        if not 0 < percent <= 100 or math.isnan(percent):
            raise argparse.ArgumentTypeError(
                f"{text!r}: a percentage must be more than 0 and at most 100"
            )
        return 1, percent
    return positive_int(value), None


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


# ----------------------------------------------------------------- defaults from the engine


@dataclass(frozen=True, slots=True)
class EngineDefault:
    """A flag's default that lives in an engine option dataclass, read when first needed.

    Why not read it when the parser is built: importing ``bulkboot.engine.apply`` loads
    the cloud client and aiohttp (half a second) that ``bulkboot --help`` or a mistyped
    flag should not pay. argparse shows a default with ``str`` (only for ``--help``)
    and leaves a non-string default as it is in the namespace when the flag is not
    given; ``resolve_defaults`` then swaps it for the value.
    """

    read: Callable[[], Any]
    show: Callable[[Any], str] = str

    def __str__(self) -> str:
        return self.show(self.read())


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every flag left at its ``EngineDefault`` set to the engine's value."""
    for name, value in vars(args).items():
        if isinstance(value, EngineDefault):
            setattr(args, name, value.read())
    return args


# ----------------------------------------------------------------- shared flags


def add_manifest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the fleet manifest (YAML)")


def add_cloud(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cloud",
        metavar="NAME",
        help="the clouds.yaml cloud (overrides the manifest's cloud:); 'simulator' with no "
        "such cloud defined runs the embedded simulator",
    )


def add_microversion(parser: argparse.ArgumentParser, *, offline: bool = False) -> None:
    """``--microversion``; ``offline``: the command can plan without a cloud, where
    'auto' has no server to agree with."""
    parser.add_argument(
        "--microversion",
        metavar="2.N",
        help="the compute microversion (default: the manifest's)"
        + ("; 'auto' offline means the newest bulkboot supports" if offline else ""),
    )


def only_words(text: str) -> str:
    """``--only`` as written, refused when it names nothing (``""``, ``,``): an unset
    shell variable (``--only "$GROUP"``) must never select the whole fleet, nor none of
    it without a word."""
    if not any(word.strip() for word in text.split(",")):
        raise argparse.ArgumentTypeError(
            f"{text!r} names no group or server (give GROUP[,GROUP]; leave --only out "
            "for the whole fleet)"
        )
    return text


def add_only(parser: argparse.ArgumentParser) -> None:
    """``--only GROUP[,GROUP]``: part of the fleet (``engine.selector``)."""
    parser.add_argument(
        "--only",
        type=only_words,
        metavar="GROUP[,GROUP]",
        help="act on part of the fleet: groups by their name as written in the manifest "
        "(or its fixed start: web for web-{index:02d}), or servers by name",
    )


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """``--report`` and ``--html``: what a run leaves to read later (docs/reports.md)."""
    parser.add_argument(
        "--report",
        metavar="FILE.json",
        help="write the run's report: per-server results, every request's timing, "
        "the sampled time series (to a regular file: checked before anything is sent, "
        "replaced whole at the end)",
    )
    parser.add_argument(
        "--html",
        metavar="FILE.html",
        help="write the run's report as one self-contained HTML page (no network, no "
        "script; checked and written as --report is)",
    )


def check_report_paths(args: argparse.Namespace) -> None:
    """Refuse an output path that cannot take the file now, before anything is sent
    (found after the fleet is built, it would be too late to say "nothing was done")."""
    from bulkboot.ui.outfile import check_output_path

    for flag, path in (("--report", getattr(args, "report", None)), ("--html", args.html)):
        if path is not None:
            check_output_path(path, flag=flag)


def add_table_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table (default) or the JSON document",
    )


def add_run_options(
    parser: argparse.ArgumentParser,
    *,
    concurrency: EngineDefault,
    requests: str,
    deletes: bool = False,
) -> None:
    """The flags of a command that sends work to the cloud and shows it as it goes
    (``apply``, ``destroy``): how much at once, how fast, how it is shown, whether to ask.

    ``requests`` names what ``--concurrency`` counts ("creates (POST /servers)");
    ``deletes``: the command deletes, so without a terminal it needs ``--yes``.
    """
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=concurrency,
        metavar="N",
        help=f"at most N {requests} in flight at once (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=positive_rate,
        metavar="R",
        help="at most R API requests per second in all (default: no limit)",
    )
    parser.add_argument(
        "--format",
        choices=RUN_FORMATS,
        default=None,
        help="live view (default on a terminal), plain lines (default otherwise), or JSON",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for confirmation"
        + ("; needed where there is no terminal to ask on (scripts, cron, CI)" if deletes else ""),
    )


def add_in_flight_window(parser: argparse.ArgumentParser) -> None:
    """``--in-flight-window``: how long Nova may still act on a create sent and never
    answered (``_runtime.in_flight_window`` picks the value)."""
    parser.add_argument(
        "--in-flight-window",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help="how long Nova may still carry out a create sent and never answered: such a "
        "create is looked for, never sent again, and waited for by destroy and by load's "
        "clean-up until this long after its last send (default: in_flight_window in "
        "clouds.yaml, else the request timeout, api_timeout)",
    )


def add_state_options(parser: argparse.ArgumentParser, *, lock: bool) -> None:
    """``--state-dir`` (where the fleet's journal and lock live) and, for a command that
    changes the fleet (``lock``), ``--wait-lock``."""
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where the fleet's journal and lock live, per cloud and fleet (default: "
        "$BULKBOOT_STATE_DIR, else .bulkboot/ beside the manifest)",
    )
    if lock:
        parser.add_argument(
            "--wait-lock",
            type=parse_duration,
            nargs="?",
            const=DEFAULT_LOCK_WAIT,
            default=None,
            metavar="DURATION",
            help="when another run is changing this fleet, wait for it to finish (up to "
            f"DURATION, default {format_duration(DEFAULT_LOCK_WAIT)}) instead of exiting 2; "
            "put it after FILE, or write --wait-lock=DURATION",
        )
