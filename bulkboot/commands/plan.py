"""``bulkboot plan FILE [--offline]``: print the create requests a fleet would send.

The work is split so that the online mode (``--cloud``: authenticate, negotiate the
microversion, resolve names to IDs) only has to supply a microversion and a
``References`` and then calls the same ``make_plan`` and ``emit``:

    run_offline: load -> pick version -> check -> make_plan(AS_WRITTEN) -> emit
    run_online:  load -> negotiate    -> check -> resolve -> make_plan(resolved) -> emit

Everything that can fail happens before the first byte is printed, so an invalid
manifest leaves stdout empty (exit 2). The admin password is masked in what is
printed: a plan is a report, and secrets never reach one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bulkboot.commands._options import add_cloud, add_manifest, add_microversion, add_table_format
from bulkboot.errors import UsageError
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.body import build_requests
from bulkboot.pipeline.spec import AS_WRITTEN, Manifest, References, ServerSpec

if TYPE_CHECKING:
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.ui.plan_table import PlanRow

__all__ = [
    "MASK",
    "Plan",
    "emit",
    "make_plan",
    "plan_document",
    "register",
    "run",
    "write_json",
]

MASK = "***"  # what the admin password shows as (the same mask as the --debug log)
_SECRET_SERVER_KEYS = ("adminPass",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The requests for a fleet at one microversion, in manifest order."""

    fleet: str
    microversion: mv.Microversion
    specs: tuple[ServerSpec, ...]
    requests: tuple[dict[str, Any], ...]  # {"name", "method", "path", "body"}, one per spec
    offline: bool


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print the create requests a fleet would send",
        description=(
            "Print the POST /servers requests the manifest would send, one per server "
            "(one per multi-create group); none is sent. With --offline, nothing touches "
            "the network and image, flavor and network names are shown as written; "
            "without it, bulkboot authenticates, negotiates the microversion and "
            "resolves the names to IDs (GET requests only)."
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.offline:
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

    manifest = load_manifest(args.file, need_name=True)  # online: it names a cloud
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
    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.resolve import resolve_references
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.commands._runtime import Target, run_on_cloud
    from bulkboot.pipeline.validate import check
    from bulkboot.ui import steps

    shown = steps.on_terminal(sys.stderr)

    async def online(target: Target) -> Plan:
        authenticating = steps.authenticating(target.config)
        if authenticating is not None:
            shown.step(authenticating)
        async with open_cloud(target.config, options=options or HttpOptions()) as cloud:
            shown.step(steps.negotiating(cloud.endpoint))
            version = await cloud.compute.negotiate(requested)
            check(manifest, version)
            shown.step(steps.resolving(manifest))
            refs = await resolve_references(cloud, manifest)
        return make_plan(manifest, version, refs, offline=False)

    try:
        plan = run_on_cloud(args.cloud or manifest.cloud, online)
    finally:
        shown.done()
    emit(plan, args.format, out=out if out is not None else sys.stdout)
    return 0


def run_offline(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    from bulkboot.pipeline.manifest import load_manifest
    from bulkboot.pipeline.validate import check

    manifest = load_manifest(args.file)
    version = offline_version(manifest, args.microversion)
    check(manifest, version)
    plan = make_plan(manifest, version, AS_WRITTEN, offline=True)
    emit(plan, args.format, out=out if out is not None else sys.stdout)
    return 0


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
) -> Plan:
    """Build every request (pure): the manifest must have passed ``check`` at ``version``."""
    requests = tuple(build_requests(manifest.servers, refs, version))
    return Plan(
        fleet=manifest.name,
        microversion=version,
        specs=manifest.servers,
        requests=requests,
        offline=offline,
    )


def plan_document(plan: Plan) -> dict[str, Any]:
    """The ``--format json`` document, the admin password masked."""
    return {
        "fleet": plan.fleet,
        "microversion": str(plan.microversion),
        "requests": [_masked(request) for request in plan.requests],
    }


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
    from bulkboot.ui.plan_table import print_plan_table

    servers = sum(_count(request["body"]["server"])[1] for request in plan.requests)
    noun = "request" if len(plan.requests) == 1 else "requests"
    caption = (
        f"{len(plan.requests)} {noun}, {servers} server{'' if servers == 1 else 's'}; "
        f"compute {plan.microversion}"
        + ("; offline: image, flavor and network names as written" if plan.offline else "")
    )
    print_plan_table(
        table_rows(plan),
        out,
        title=f"fleet {plan.fleet}",
        caption=caption,
    )


# ----------------------------------------------------------------- table rows


def table_rows(plan: Plan) -> list[PlanRow]:
    """Table rows read back from the bodies, so the table shows what would be sent.

    Online, each image, flavor and network shows as written in the manifest with the
    start of the ID it resolved to (``ubuntu-24.04 (7c1d…)``): the name is what the
    user recognises, the short ID tells which one the cloud meant, and the row stays
    one line at 80 columns (the full IDs are in ``--format json``).

    Consecutive one-server requests of a group that show alike fold into one row here
    (``merge_rows`` would do the same, one record per request slower). The servers of a
    group share their bodies' nested values, so texts are worked out once per value.
    """
    from bulkboot.ui.plan_table import PlanRow

    rows: list[PlanRow] = []
    run: list[Any] | None = None  # [group, first name, last name, shown, count]
    seen_networks: tuple[object, object, str] = (object(), object(), "")
    seen_devices: tuple[object, object, str] = (object(), object(), "")
    labels: dict[tuple[str | None, str], str] = {}

    def named(written: str | None, resolved: str) -> str:
        key = (written, resolved)
        label = labels.get(key)
        if label is None:
            label = labels[key] = resolved if plan.offline else _named(written, resolved)
        return label

    for spec, request in zip(plan.specs, plan.requests, strict=True):
        server = request["body"]["server"]
        low, high = _count(server)
        networks = server.get("networks")
        if networks is not seen_networks[0] or spec.networks is not seen_networks[1]:
            seen_networks = (networks, spec.networks, _networks(server, spec, named))
        image = server.get("imageRef")
        if image:
            image = named(_image_as_written(spec), str(image))
        else:
            v2, v1 = server.get("block_device_mapping_v2"), server.get("block_device_mapping")
            if v2 is not seen_devices[0] or v1 is not seen_devices[1]:
                seen_devices = (v2, v1, _image(server, short=not plan.offline))
            image = seen_devices[2]
        flavor = named(spec.flavor, str(server.get("flavorRef", "")))
        shown = (str(image), flavor, seen_networks[2])
        if high == 1 and run is not None and run[0] == spec.group and run[3] == shown:
            run[2] = request["name"]
            run[4] += 1
            continue
        if run is not None:
            rows.append(_row(run))
            run = None
        if low == high == 1:
            run = [spec.group, request["name"], None, shown, 1]
        else:
            image_text, flavor_text, networks_text = shown
            rows.append(
                PlanRow(
                    group=spec.group,
                    name=request["name"],
                    image=image_text,
                    flavor=flavor_text,
                    networks=networks_text,
                    count=high,
                    count_text=str(high) if low == high else f"{low}-{high}",
                )
            )
    if run is not None:
        rows.append(_row(run))
    return rows


def _short(ident: str, keep: int = 4) -> str:
    """The start of an ID (``7c1d…``); short IDs (a flavor's ``2``) whole."""
    return ident if len(ident) <= keep + 4 else ident[:keep] + "…"


def _named(written: str | None, resolved: str) -> str:
    """A reference as written, with the start of the ID it resolved to; an ID written
    as such shows as a longer start of itself (there is no name to show)."""
    if not written or written == resolved:
        return _short(resolved, keep=8)
    return f"{written} ({_short(resolved)})"


def _image_as_written(spec: ServerSpec) -> str | None:
    if spec.image is not None:
        return spec.image
    if spec.image_with:
        return ",".join(f"{k}={v}" for k, v in spec.image_with.items())
    return None


def _row(run: list[Any]) -> PlanRow:
    from bulkboot.ui.plan_table import PlanRow

    group, name, last_name, (image, flavor, networks), count = run
    return PlanRow(
        group=group,
        name=name,
        image=image,
        flavor=flavor,
        networks=networks,
        count=count,
        count_text=str(count),
        last_name=last_name,
    )


def _count(server: dict[str, Any]) -> tuple[int, int]:
    high = int(server.get("max_count", 1))
    return min(int(server.get("min_count", high)), high), high


def _image(server: dict[str, Any], *, short: bool = False) -> str:
    """What a server boots from when it has no image: its boot device."""
    cut = _short if short else str
    for device in server.get("block_device_mapping_v2", ()):
        if str(device.get("boot_index")) == "0":
            return f"{device.get('source_type', '?')} {cut(str(device.get('uuid', '')))}".strip()
    for device in server.get("block_device_mapping", ()):
        source = device.get("volume_id") or device.get("snapshot_id")
        kind = "volume" if "volume_id" in device else "snapshot"
        return f"{kind} {cut(str(source))} ({device.get('device_name')})"
    return "-"


def _networks(
    server: dict[str, Any], spec: ServerSpec, named: Callable[[str | None, str], str]
) -> str:
    """The networks as the body sends them, each named as written (``named``)."""
    networks = server.get("networks")
    if networks is None:
        return "(Nova's default)"
    if isinstance(networks, str):
        return networks
    written = spec.networks if isinstance(spec.networks, tuple) else ()
    nics = list(written) if len(written) == len(networks) else [None] * len(networks)
    shown = []
    for nic, wire in zip(nics, networks, strict=True):
        if "uuid" in wire:
            text = named(None if nic is None else nic.net_name or nic.net_id, str(wire["uuid"]))
        else:
            text = f"port {named(None, str(wire.get('port', '?')))}"
        if "fixed_ip" in wire:
            text += f" {wire['fixed_ip']}"
        shown.append(text)
    return "\n".join(shown) if shown else "[]"
