"""What changed: each server of the fleet against the body the manifest plans for its name.

Why a module of its own: ``plan`` (shows the diff) and ``apply`` (acts on it) must agree
server for server; both read a listing through ``inventory.take_inventory``, which asks
this module, per name, which of the listed servers are still what the manifest asks for.

How a server is compared, from the cloud alone (no journal):

- with a spec mark (``bulkboot:spec``, every create since it exists): the mark against
  the planned body's mark, field by field (``pipeline.fingerprint.differing``);
- without one (created by an older bulkboot), or with a mark of another version: by
  what the record shows, the flavor and the image only. The flavor is shown as its id
  before compute 2.47 and as its name from 2.47 (``original_name``), compared with the
  planned flavor's name when the caller knows it (``flavor_names``); the image as its
  id ("" for a server booted from a volume, which tells nothing). What the record does
  not show (user data, networks, metadata as planned ...) is taken as unchanged: such a
  server is replaced only when its flavor or image visibly differ.

Pure: records and bodies in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from bulkboot.engine.fleet import pick
from bulkboot.gcpause import gc_paused
from bulkboot.identity import SPEC_MARK_KEY, spec_mark
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.fingerprint import differing
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import References, ServerSpec

__all__ = [
    "Change",
    "Compared",
    "NameVerdict",
    "Planned",
    "compare",
    "judge_name",
    "needs_flavor_names",
    "plan_servers",
    "planned_of",
]

Compared = Literal["mark", "record"]
_NO_FIELDS: Final[tuple[str, ...]] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """What the manifest plans for one create request, as its body says it.

    ``pinned``: the body asks for a port or a fixed IP, which two servers cannot hold
    at once: such a server can only be replaced by deleting it first.
    """

    mark: str
    image: str | None  # imageRef (None: booted from a volume)
    flavor: str  # flavorRef: the flavor's id
    pinned: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A server of the fleet that is no longer what the manifest plans for its name.

    ``fields``: what differs (manifest words); ``compared``: by its spec mark, or by
    what its record shows (a server without a mark).
    """

    name: str
    server_id: str
    fields: tuple[str, ...]
    compared: Compared = "mark"
    status: str = ""


def planned_of(body: Mapping[str, Any]) -> Planned:
    """The ``Planned`` of one built body."""
    server = body["server"]
    networks = server.get("networks")
    pinned = isinstance(networks, list) and any(
        isinstance(nic, Mapping) and ("port" in nic or "fixed_ip" in nic) for nic in networks
    )
    image = server.get("imageRef")
    return Planned(
        mark=str(server["metadata"][SPEC_MARK_KEY]),
        image=str(image) if image else None,
        flavor=str(server.get("flavorRef", "")),
        pinned=pinned,
    )


def plan_servers(
    specs: Iterable[ServerSpec], refs: References, microversion: Microversion
) -> dict[str, Planned]:
    """The ``Planned`` of every request by its name (one builder, the collector paused:
    this builds every body of the fleet, as the creates would)."""
    build = BodyBuilder(refs, microversion).build
    with gc_paused():
        return {spec.name: planned_of(build(spec)) for spec in specs}


def needs_flavor_names(records: Iterable[Mapping[str, Any]]) -> bool:
    """Does some server without a spec mark show its flavor by name only (2.47+)? Then
    comparing it needs the names of the planned flavors (one flavor listing)."""
    for record in records:
        if spec_mark(record) is None:
            flavor = record.get("flavor")
            if isinstance(flavor, Mapping) and "id" not in flavor and "original_name" in flavor:
                return True
    return False


def compare(
    record: Mapping[str, Any],
    planned: Planned,
    flavor_names: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], Compared]:
    """What differs between a listed server and the plan for its name (empty: nothing),
    and how it was told (see the module docstring)."""
    mark = spec_mark(record)
    if mark is not None:
        fields = differing(planned.mark, mark)
        if fields is not None:
            return fields, "mark"
    return _visible(record, planned, flavor_names or {}), "record"


def _visible(
    record: Mapping[str, Any], planned: Planned, flavor_names: Mapping[str, str]
) -> tuple[str, ...]:
    """The flavor and image a record shows, against the plan; what it hides is equal."""
    fields: list[str] = []
    image = record.get("image")
    shown_image = image.get("id") if isinstance(image, Mapping) else None
    if shown_image and planned.image and str(shown_image) != planned.image:
        fields.append("image")
    flavor = record.get("flavor")
    if isinstance(flavor, Mapping):
        if "id" in flavor:
            if str(flavor["id"]) != planned.flavor:
                fields.append("flavor")
        else:
            shown = flavor.get("original_name")
            name = flavor_names.get(planned.flavor)
            if isinstance(shown, str) and name is not None and shown != name:
                fields.append("flavor")
    return tuple(fields) if fields else _NO_FIELDS


@dataclass(frozen=True, slots=True, kw_only=True)
class NameVerdict:
    """What the servers of one name are, against the plan for it (``judge_name``).

    ``chosen``: the server to account for (the plan's own when one works, else an
    older one); ``changes``: every server of an older spec; ``going``: the servers a
    replacement deletes (the older ones, and a failed one at the plan when the name is
    created anew); ``settled``: the chosen server is at the plan (a replacement, if
    any, is interrupted and only deletions are left); ``twins``: several servers at
    the plan share the name.
    """

    chosen: Mapping[str, Any]
    changes: tuple[Change, ...]
    going: tuple[Mapping[str, Any], ...]
    settled: bool
    twins: bool


def judge_name(
    name: str,
    found: Sequence[Mapping[str, Any]],
    planned: Planned | None,
    flavor_names: Mapping[str, str],
) -> NameVerdict:
    """Sort the fleet's servers of ``name`` (alive, at least one) against ``planned``
    (None: each counts as at the plan)."""
    at_plan: list[Mapping[str, Any]] = []
    changes: list[Change] = []
    older: list[Mapping[str, Any]] = []
    for record in found:
        fields, compared = compare(record, planned, flavor_names) if planned else ((), "mark")
        if not fields:
            at_plan.append(record)
            continue
        changes.append(
            Change(
                name=name,
                server_id=str(record.get("id")),
                fields=fields,
                compared=compared,
                status=str(record.get("status", "")),
            )
        )
        if record.get("status") != "ERROR":
            older.append(record)
    working = [r for r in at_plan if r.get("status") != "ERROR"]
    if working or not older:
        chosen = pick(working or at_plan or found)
    else:
        chosen = pick(older)
    settled = any(r is chosen for r in at_plan)
    olds = [r for r in found if not any(r is a for a in at_plan)]
    return NameVerdict(
        chosen=chosen,
        changes=tuple(changes),
        going=tuple(olds if settled else [*olds, *at_plan]),
        settled=settled,
        twins=len(at_plan) > 1,
    )
