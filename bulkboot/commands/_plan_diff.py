"""The online ``plan``: resolve, list the fleet, read the journal, and take the diff.

Kept apart from the command line (``commands/plan.py``) so that its imports (the cloud
client, the engine) are paid only by an online plan whose manifest loaded. The diff
is ``apply``'s own: the same ``take_inventory`` on the same listing and journal, with
the flags that change it (``--prune``, ``--only``). Nothing is locked or written: a
plan may run beside an ``apply`` (it then shows a moment of that run).

Not a command (``bulkboot.cli`` skips ``_`` modules).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.resolve import resolve_references
from bulkboot.cloud.retry import http_date
from bulkboot.cloud.session import HttpOptions
from bulkboot.commands._runtime import Target, fleet_journal, fleet_state, in_flight_window
from bulkboot.commands.plan import Plan, make_plan
from bulkboot.engine.changes import needs_flavor_names, plan_servers
from bulkboot.engine.inventory import take_inventory
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.selector import parse_only, select
from bulkboot.pipeline.validate import check
from bulkboot.ui import steps

if TYPE_CHECKING:
    from bulkboot.pipeline.spec import Manifest
    from bulkboot.ui.steps import Steps

__all__ = ["online_plan"]


async def online_plan(
    args: argparse.Namespace,
    manifest: Manifest,
    requested: str,
    target: Target,
    *,
    shown: Steps,
    notes: list[str],
    options: HttpOptions | None = None,
) -> Plan:
    """Authenticate, negotiate, resolve, list; the plan with its diff (GETs only)."""
    paths = fleet_state(args, manifest.name, target.config.name)
    entries = fleet_journal(paths, notes, manifest_file=args.file)
    scope = select(manifest, parse_only(args.only)).covers if args.only else None
    authenticating = steps.authenticating(target.config)
    if authenticating is not None:
        shown.step(authenticating)
    async with open_cloud(target.config, options=options or HttpOptions()) as cloud:
        shown.step(steps.negotiating(cloud.endpoint))
        version = await cloud.compute.negotiate(requested)
        check(manifest, version)
        shown.step(steps.resolving(manifest))
        refs = await resolve_references(cloud, manifest)
        shown.step(steps.LISTING)
        records = await cloud.compute.list_servers(None, detail=True)
        cloud_now = http_date(cloud.compute.cloud_date)
        flavor_names: dict[str, str] = {}
        if needs_flavor_names(records):
            flavors = await cloud.compute.flavors()
            flavor_names = {str(f.get("id")): str(f.get("name")) for f in flavors}
        window = in_flight_window(cloud, getattr(args, "in_flight_window", None))
    inventory = take_inventory(
        manifest,
        records,
        entries,
        ApplyOptions(prune=args.prune),
        now=time.monotonic(),
        cloud_now=cloud_now,
        wall_now=time.time(),
        window=window,
        planned=plan_servers(manifest.servers, refs, version),
        flavor_names=flavor_names,
        in_scope=scope,
    )
    return make_plan(
        manifest,
        version,
        refs,
        offline=False,
        diff=inventory.diff,
        possible=tuple(sorted(inventory.possible)),
    )
