"""``bulkboot plan FILE [--offline]``: what ``apply`` would do, and the requests it would send.

The work is split so that the online mode (``--cloud``: authenticate, negotiate the
microversion, resolve names to IDs, list the fleet) only has to supply a microversion,
a ``References`` and the diff, and then calls the same ``make_plan`` and ``emit``:

    run_offline: load -> pick version -> check -> make_plan(AS_WRITTEN) -> emit
    run_online:  load -> negotiate    -> check -> resolve -> list -> make_plan(+diff) -> emit

Online, the diff is the one ``apply`` acts on (``engine.inventory``: the same function
on the same listing and journal): per server ``+`` create, ``~`` replace (what differs),
``=`` unchanged, ``!`` in ERROR, the servers the manifest no longer names (``- delete``
with ``--prune``, else extra and kept), and the summary line. ``--detailed-exitcode``
(as Terraform's): 0 no changes, 2 changes, 1 an error (``cli`` maps every error to 1).

Everything that can fail happens before the first byte is printed, so an invalid
manifest leaves stdout empty (exit 2). The admin password is masked in what is
printed: a plan is a report, and secrets never reach one.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bulkboot.commands._options import (
    add_cloud,
    add_in_flight_window,
    add_manifest,
    add_microversion,
    add_only,
    add_state_options,
    add_table_format,
)
from bulkboot.errors import UsageError
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.body import build_requests
from bulkboot.pipeline.spec import AS_WRITTEN, Manifest, References, ServerSpec

if TYPE_CHECKING:
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.engine.diff import Diff

__all__ = [
    "MASK",
    "EXIT_CHANGES",
    "Plan",
    "emit",
    "make_plan",
    "plan_document",
    "register",
    "run",
    "write_json",
]

MASK = "***"  # what the admin password shows as (the same mask as the --debug log)
EXIT_CHANGES = 2  # --detailed-exitcode: the plan has changes
_SECRET_SERVER_KEYS = ("adminPass",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The requests for a fleet at one microversion, in manifest order."""

    fleet: str
    microversion: mv.Microversion
    specs: tuple[ServerSpec, ...]
    requests: tuple[dict[str, Any], ...]  # {"name", "method", "path", "body"}, one per spec
    offline: bool
    diff: Diff | None = None  # online: what apply would change
    possible: tuple[str, ...] = ()  # creates of an earlier run that may still land


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what apply would change, and the create requests it would send",
        description=(
            "Show what apply would do to the fleet, server by server (+ create, ~ replace "
            "and what differs, = unchanged, ! in ERROR, - delete with --prune), and the "
            "POST /servers requests the manifest would send; nothing is created. Online, "
            "bulkboot authenticates, negotiates the microversion, resolves the names to "
            "IDs and lists the fleet (GET requests only). With --offline, nothing touches "
            "the network: the requests only, names as written."
        ),
    )
    add_manifest(parser)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="plan without a cloud: no authentication, references as written",
    )
    add_table_format(parser)
    add_microversion(parser, offline=True)
    add_cloud(parser)
    parser.add_argument(
        "--prune",
        action="store_true",
        help="plan as apply --prune: the fleet's servers the manifest no longer names "
        "are to delete (else: extra, kept)",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there is nothing to change, 2 when there is, 1 on any error "
        "(as terraform plan -detailed-exitcode)",
    )
    add_only(parser)
    add_state_options(parser, lock=False)
    add_in_flight_window(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.offline:
        for flag, given in (
            ("--detailed-exitcode", args.detailed_exitcode),
            ("--prune", args.prune),
        ):
            if given:
                raise UsageError(f"{flag} needs the cloud: an --offline plan has no diff")
        return run_offline(args)
    return run_online(args)


def run_online(
    args: argparse.Namespace, *, out: TextIO | None = None, options: HttpOptions | None = None
) -> int:
    """Plan against a cloud: authenticate, negotiate, resolve every name; send no create.

    ``--cloud`` (else the manifest's ``cloud:``, else OS_CLOUD ...) picks the cloud;
    "simulator" with no such clouds.yaml entry starts the embedded simulator for the
    duration of the command. Only GETs (and the token request) are sent. ``options``
    replaces the client's defaults (pool, timeouts, retries) for a caller in-process.
    """
    from bulkboot.pipeline.manifest import load_manifest

    manifest = _selected(load_manifest(args.file, need_name=True), args)  # online: it names a cloud
    requested = args.microversion or manifest.microversion
    if args.microversion is not None and args.microversion.strip().lower() not in (
        "auto",
        "latest",
    ):
        try:
            mv.parse(args.microversion)
        except ValueError as exc:
            raise UsageError(f"--microversion: {exc}") from None
    # What the online plan needs (aiohttp, anyio), loaded once the input has passed.
    from bulkboot.commands import _plan_diff
    from bulkboot.commands._runtime import run_on_cloud
    from bulkboot.ui import steps
    from bulkboot.ui.text import printable

    shown = steps.on_terminal(sys.stderr)
    notes: list[str] = []
    try:
        plan = run_on_cloud(
            args.cloud or manifest.cloud,
            lambda target: _plan_diff.online_plan(
                args, manifest, requested, target, shown=shown, notes=notes, options=options
            ),
        )
    finally:
        shown.done()
    for note in notes:
        print(printable(note, multiline=True), file=sys.stderr)
    emit(plan, args.format, out=out if out is not None else sys.stdout)
    changes = plan.diff.changes if plan.diff is not None else 0
    return EXIT_CHANGES if args.detailed_exitcode and changes else 0


def run_offline(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.pipeline.validate import check

    manifest = _selected(load_manifest(args.file), args)
    version = offline_version(manifest, args.microversion)
    check(manifest, version)
    plan = make_plan(manifest, version, AS_WRITTEN, offline=True)
    emit(plan, args.format, out=out if out is not None else sys.stdout)
    return 0


def _selected(manifest: Manifest, args: argparse.Namespace) -> Manifest:
    """The manifest, cut down to ``--only`` when given."""
    words = getattr(args, "only", None)
    if not words:
        return manifest
    from bulkboot.engine.selector import parse_only, select

    return select(manifest, parse_only(words)).manifest(manifest)


def offline_version(manifest: Manifest, flag: str | None) -> mv.Microversion:
    """``--microversion`` if given, else the manifest's; ``auto`` is the newest supported."""
    if flag is not None:
        try:
            return mv.offline(flag)
        except ValueError as exc:
            raise UsageError(f"--microversion: {exc}") from None
    return mv.offline(manifest.microversion)  # the loader has checked it parses


def make_plan(
    manifest: Manifest,
    version: mv.Microversion,
    refs: References,
    *,
    offline: bool,
    diff: Diff | None = None,
    possible: tuple[str, ...] = (),
) -> Plan:
    """Build every request (pure): the manifest must have passed ``check`` at ``version``."""
    requests = tuple(build_requests(manifest.servers, refs, version))
    return Plan(
        fleet=manifest.name,
        microversion=version,
        specs=manifest.servers,
        requests=requests,
        offline=offline,
        diff=diff,
        possible=possible,
    )


def plan_document(plan: Plan) -> dict[str, Any]:
    """The ``--format json`` document, the admin password masked; online, the diff:
    ``summary`` (its line), ``changes`` and the servers in ``errors``."""
    document: dict[str, Any] = {"fleet": plan.fleet, "microversion": str(plan.microversion)}
    diff = plan.diff
    if diff is not None:
        extra = [{"name": e.name, "id": e.server_id} for e in diff.extra]
        document["summary"] = diff.summary_line()
        document["changes"] = {
            "create": list(diff.create),
            "replace": [
                {"name": c.name, "id": c.server_id, "fields": list(c.fields)} for c in diff.replace
            ],
            "delete": extra if diff.prune else [],
            "unchanged": list(diff.unchanged),
            "extra_kept": [] if diff.prune else extra,
        }
        document["errors"] = [
            {"name": e.name, "id": e.server_id, "fault": e.fault, "retryable": e.retryable}
            for e in diff.errors
        ]
        document["names_taken"] = dict(diff.name_taken)
    document["requests"] = [_masked(request) for request in plan.requests]
    return document


def _masked(request: dict[str, Any]) -> dict[str, Any]:
    server = request["body"]["server"]
    if not any(key in server for key in _SECRET_SERVER_KEYS):
        return request  # bodies are shared read-only values: copy only what changes
    masked_server = {k: MASK if k in _SECRET_SERVER_KEYS else v for k, v in server.items()}
    return {**request, "body": {**request["body"], "server": masked_server}}


def write_json(document: dict[str, Any], out: TextIO) -> None:
    """The document with one request per line: readable, and 20 times quicker to write
    than ``indent=2`` (which makes ``json`` fall back from C to Python for everything)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    head = encode({key: value for key, value in document.items() if key != "requests"})
    out.write(head[:-1] + ', "requests": [')
    separator = "\n  "
    for request in document["requests"]:
        out.write(separator + encode(request))
        separator = ",\n  "
    out.write("\n]}\n" if document["requests"] else "]}\n")


def emit(plan: Plan, fmt: str, *, out: TextIO) -> None:
    """Print the plan as ``fmt`` ("table" or "json") on ``out``."""
    if fmt == "json":
        write_json(plan_document(plan), out)
        return
    from bulkboot.ui.plan_rows import change_lines, change_rows, table_rows
    from bulkboot.ui.plan_table import print_plan_table

    servers = sum(int(request["body"]["server"].get("max_count", 1)) for request in plan.requests)
    noun = "request" if len(plan.requests) == 1 else "requests"
    caption = (
        f"{len(plan.requests)} {noun}, {servers} server{'' if servers == 1 else 's'}; "
        f"compute {plan.microversion}"
        + ("; offline: image, flavor and network names as written" if plan.offline else "")
    )
    diff = plan.diff
    if diff is None:
        rows = table_rows(plan.specs, plan.requests, offline=plan.offline)
        print_plan_table(rows, out, title=f"fleet {plan.fleet}", caption=caption)
        return
    print_plan_table(
        change_rows(plan.specs, plan.requests, diff),
        out,
        title=f"fleet {plan.fleet}",
        caption=caption,
        lines=[*change_lines(diff, possible=plan.possible), f"plan: {diff.summary_line()}"],
    )
