"""The command-line front: the only place that prints errors and picks exit codes.

Each sub-command lives in ``bulkboot.commands.<name>`` with ``register(subparsers)``;
the modules are discovered, so adding a command touches no other file. Only the
command a command line names is imported, and command modules import their heavy
dependencies (aiohttp, anyio, rich) only in ``run`` (see ``bulkboot.commands``), so
that ``bulkboot validate`` and ``--help`` stay quick to start.

Exit codes: 0 success; 1 the run failed (a server did not reach its goal, the cloud
refused, the report could not be written at the end); 2 invalid input or configuration
(manifest, flags, clouds.yaml, credentials, an output path, a file that is not a
report), nothing sent, and no command at all (the help is printed); 3 a gate failed
(a ``load`` threshold did not hold, or ``report compare --fail-on-regression``); 130
interrupted; 70 an internal error (a bug: please report it with the output of
``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from bulkboot import __version__, commands
from bulkboot.errors import (
    EXIT_FAILURE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    BulkbootError,
    ManifestError,
    ResolveError,
)
from bulkboot.ui.text import printable

__all__ = ["build_parser", "main"]

# Help lists commands in this order; modules not named here follow alphabetically.
_ORDER = ("validate", "plan", "apply", "status", "destroy", "load", "report", "simulator")


class _CommandModule(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def _command_names() -> list[str]:
    found = {info.name for info in pkgutil.iter_modules(commands.__path__) if not info.ispkg}
    found = {name for name in found if not name.startswith("_")}
    return [n for n in _ORDER if n in found] + sorted(found - set(_ORDER))


def _command_modules(names: Sequence[str]) -> list[_CommandModule]:
    return [
        cast(_CommandModule, importlib.import_module(f"bulkboot.commands.{name}")) for name in names
    ]


def _named_command(argv: Sequence[str], names: Sequence[str]) -> str | None:
    """The command ``argv`` names, when it names one (its first word not an option);
    None for help asked before the command (``bulkboot --help apply``), which lists all."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word if word in names else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the command line, only the command it names is loaded.

    Why: each command module imports what its options need (``simulator`` its
    configuration, ``plan`` the body builder); an ``apply`` of 1,000 servers should not
    pay for the others' imports. Help, and a command line that names no known
    command, get every command.
    """
    parser = argparse.ArgumentParser(
        prog="bulkboot",
        description="Boot fleets of OpenStack Nova servers from one YAML manifest.",
    )
    parser.add_argument("--version", action="version", version=f"bulkboot {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log every HTTP request and response (secrets redacted) to stderr",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = _command_names()
    named = None if argv is None else _named_command(argv, names)
    for module in _command_modules([named] if named is not None else names):
        module.register(subparsers)
    return parser


def _print_error(exc: BulkbootError) -> None:
    # An error may quote the cloud (a fault, an error body) or the manifest: printable
    # keeps their escape sequences off the user's terminal.
    if isinstance(exc, ManifestError | ResolveError):
        # Each line already starts with FILE:LINE:COL, as compilers print them.
        print(printable(str(exc), multiline=True), file=sys.stderr)
        count = len(exc.problems)
        noun = "problem" if count == 1 else "problems"
        print(f"bulkboot: {count} {noun}; nothing was sent", file=sys.stderr)
    else:
        print(f"bulkboot: error: {printable(str(exc), multiline=True)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    if not words or words == ["--debug"]:
        # No command: the help says what there is to do (an argparse error would not).
        parser.print_help()
        return EXIT_INVALID
    args = parser.parse_args(words)
    args.command_line = ["bulkboot", *words]  # for reports (secrets masked there)
    if args.debug:
        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
        )
        logging.getLogger("bulkboot").setLevel(logging.DEBUG)
    run = cast(Callable[[argparse.Namespace], int], args.run)
    try:
        return int(run(args))
    except BulkbootError as exc:
        _print_error(exc)
        if getattr(args, "detailed_exitcode", False) and exc.exit_code != EXIT_INTERRUPTED:
            return EXIT_FAILURE  # plan --detailed-exitcode: 2 means "changes", errors are 1
        return exc.exit_code
    except KeyboardInterrupt:
        # The run was torn down mid-await: a close left pending (aiohttp's connector)
        # may be collected as the interpreter exits, and its "never awaited" warning
        # would follow the one line this exit owes the user.
        warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
        print("bulkboot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout went away (`bulkboot plan ... | head`): not an error worth a word.
        return 0
    except Exception as exc:  # a bug; still no bare traceback unless asked for
        if args.debug:
            traceback.print_exc()
        print(
            f"bulkboot: internal error: {type(exc).__name__}: "
            f"{printable(str(exc), multiline=True)}\n"
            "This is a bug in bulkboot; rerun with --debug and report the output.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
