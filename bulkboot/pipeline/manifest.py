"""YAML manifest -> ``Manifest``: the top level, ``limits``, ``defaults`` and each group.

The document is composed into nodes (``yaml_nodes``), so every value keeps its file,
line and column and every problem can point at it. Each group is walked once against
the table of server fields (``fields``), whose converters (``convert``) type-check each
value into a raw value; ``defaults`` are read once for all groups (``defaults``), and a
group's fields that hold no template are finished once for the group. Before a group
is expanded, ``bounds`` checks its templated values' longest renderings and sizes it,
so the manifest's total is bounded before the memory is spent. ``expand`` then makes
the group's servers, and the fleet-wide name rule (``names``) runs over all of them.
Figures for 100,000 servers are in benchmarks/RESULTS.md ("Pipeline").

``read_manifest`` is lenient: it returns what it could build and every problem it
met, so ``bulkboot validate`` can report structural and rule problems together.
``load_manifest`` is the strict form the other commands use.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path
from typing import Final

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulkboot.errors import ManifestError, MicroversionSyntaxError
from bulkboot.gcpause import gc_paused
from bulkboot.pipeline import bounds
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.convert import BAD, BDM_KEYS, NIC_KEYS, Bad, integer, text
from bulkboot.pipeline.defaults import Defaults, Pairs, merged, raw_values, read_defaults
from bulkboot.pipeline.expand import POSITION, Plan, Renderer, expand, has_template, renderer
from bulkboot.pipeline.fields import (
    ALL_GROUP_KEYS,
    FIELDS,
    finish,
)
from bulkboot.pipeline.names import duplicate_names
from bulkboot.pipeline.spec import (
    FIXED_LIMITS,
    Limits,
    Location,
    Manifest,
    Problem,
    ServerSpec,
    sort_problems,
)
from bulkboot.pipeline.template import Template, TemplateError, compile_template
from bulkboot.pipeline.yaml_nodes import (
    TAG_NULL,
    Reader,
    compose,
    kind,
    known_keys,
    pairs,
    read_regular,
    suggest,
)

__all__ = [
    "BDM_KEYS",
    "FIELDS",
    "MAX_SERVERS",
    "NIC_KEYS",
    "TOP_LEVEL_KEYS",
    "load_manifest",
    "read_manifest",
    "sort_problems",
]

MAX_SERVERS: Final = 1_000_000  # a typo like `count: 1000000000` must not eat the machine
MAX_MANIFEST_BYTES: Final = 64 * 1024 * 1024  # 1,000,000 servers fit in a few MiB

TOP_LEVEL_KEYS: Final = (
    "name",
    "cloud",
    "microversion",
    "defaults",
    "servers",
    "limits",
    "load",
)

# ----------------------------------------------------------------- entry points


def read_manifest(
    path: str | os.PathLike[str], *, need_name: bool = False
) -> tuple[Manifest, tuple[Problem, ...]]:
    """Read and expand a manifest; return it with every problem found, in file order.

    With problems, the manifest holds the groups that could be read in full, so rule
    checks can still run on them. Never raises for bad input. ``need_name``: a missing
    top-level ``name`` is a problem (see ``_FLEET_NAME_MISSING``), as it is for every
    command that touches a cloud; without it, the name defaults to the file's stem.
    """
    file = os.fspath(path)
    reader = Reader(file, Path(file).parent)
    stem = Path(file).stem
    data = read_regular(Path(file), MAX_MANIFEST_BYTES)
    if isinstance(data, str):
        return _empty(file, stem), (Problem(None, file, f"cannot read the manifest: {data}"),)
    root = compose(reader, data)
    if root is None:
        if not reader.problems:
            reader.problem(
                Location(file, 1, 1),
                "the manifest is empty: expected a mapping with 'servers' (a list of groups)",
            )
        return _empty(file, stem), tuple(reader.problems)
    try:
        # Expansion allocates ~3 objects per server and frees none: the collector's
        # passes over the growing heap would find nothing.
        with gc_paused():
            manifest = _read_root(reader, root, file, stem, need_name)
    except RecursionError:
        reader.subject = "manifest"
        reader.problem(None, "the YAML is nested too deeply")
        manifest = _empty(file, stem)
    unique: dict[tuple[Location | None, str], Problem] = {}
    for problem in reader.problems:
        unique.setdefault((problem.location, problem.message), problem)
    return manifest, tuple(sort_problems(unique.values()))


def load_manifest(path: str | os.PathLike[str], *, need_name: bool = False) -> Manifest:
    """Read and expand a manifest; raise ``ManifestError`` listing every problem."""
    manifest, problems = read_manifest(path, need_name=need_name)
    if problems:
        raise ManifestError(sort_problems(problems))
    return manifest


def _empty(path: str, name: str) -> Manifest:
    return Manifest(
        path=path, name=name, cloud=None, microversion="auto", limits=Limits(), servers=()
    )


# ----------------------------------------------------------------- the top level


def _read_root(reader: Reader, root: Node, file: str, stem: str, need_name: bool) -> Manifest:
    if not isinstance(root, MappingNode):
        reader.problem(root, f"the manifest must be a mapping with 'servers', got {kind(root)}")
        return _empty(file, stem)
    top = pairs(reader, root, "manifest")
    known_keys(reader, top, TOP_LEVEL_KEYS, "the manifest")
    if need_name and "name" not in top:
        reader.subject = "manifest"
        reader.problem(root, _FLEET_NAME_MISSING)
    fleet = _read_fleet_name(reader, top, file, stem)
    cloud: str | None = None
    if "cloud" in top and not (top["cloud"][1].tag == TAG_NULL):
        written = text(reader, top["cloud"][1], "cloud")
        cloud = written if isinstance(written, str) else None
    version = "auto"
    if "microversion" in top:
        node = top["microversion"][1]
        written = text(reader, node, "microversion")
        if isinstance(written, str):
            try:
                mv.offline(written)
                lowered = written.strip().lower()
                version = lowered if lowered == "auto" else written
            except MicroversionSyntaxError as exc:
                reader.problem(node, f"microversion: {exc}")
    limits = _read_limits(reader, top["limits"][1]) if "limits" in top else Limits()
    load = None
    if "load" in top:  # read only where written: apply and destroy pay nothing for it
        from bulkboot.pipeline.load_section import read_load_section

        load = read_load_section(reader, top["load"][1])
    defaults = read_defaults(reader, top["defaults"][1]) if "defaults" in top else Defaults()

    reader.subject = "manifest"
    plans: list[Plan] = []
    if "servers" not in top:
        reader.problem(root, "'servers' is missing: list the groups of servers to boot")
    else:
        node = top["servers"][1]
        if not isinstance(node, SequenceNode) or not node.value:
            what = "an empty list" if isinstance(node, SequenceNode) else kind(node)
            reader.problem(node, f"servers: expected a list of groups, got {what}")
        else:
            total = values = chars = 0
            for number, group_node in enumerate(node.value, 1):
                plan = _read_group(reader, group_node, number, defaults)
                if plan is not None:
                    total += plan.count
                    values += plan.count * plan.size.values
                    chars += plan.count * plan.size.chars
                    if total > MAX_SERVERS:
                        reader.problem(
                            plan.location,
                            f"the manifest expands to more than {MAX_SERVERS:,} servers",
                        )
                        break
                    too_big = bounds.over_budget(values, chars, count=plan.count, size=plan.size)
                    if too_big is not None:
                        reader.subject = plan.template
                        reader.problem(plan.location, too_big)
                        break
                    plans.append(plan)

    servers: list[ServerSpec] = []
    groups = [expand(reader, plan, fleet, servers) for plan in plans]
    reader.problems.extend(duplicate_names(servers, groups))
    return Manifest(
        path=file,
        name=fleet,
        cloud=cloud,
        microversion=version,
        limits=limits,
        servers=tuple(servers),
        groups=tuple(groups),
        defaults_at=defaults.span,
        load=load,
    )


_FLEET_NAME_MISSING: Final = (
    "'name' is missing: a command that talks to a cloud needs the fleet's name written "
    "here (every server carries it as its bulkboot:fleet mark, so a name taken from the "
    "file's name could reach another fleet of that name); add e.g. 'name: lab'"
)


def _read_fleet_name(reader: Reader, top: Pairs, file: str, stem: str) -> str:
    fleet = stem
    if "name" in top:
        written = text(reader, top["name"][1], "name")
        fleet = written if isinstance(written, str) else stem
    where = top["name"][1] if "name" in top else Location(file, 1, 1)
    if not 1 <= len(fleet) <= 255:
        reader.problem(
            where,
            f"name: the fleet name must be 1 to 255 characters, got {len(fleet)} "
            "(it is the value of the bulkboot:fleet metadata mark)",
        )
    elif not fleet.isprintable():
        # Nova would take it, but the fleet name is shown in every summary and report.
        reader.problem(
            where, f"name: the fleet name {fleet!r} holds a control or invisible character"
        )
    return fleet


def _read_limits(reader: Reader, node: Node) -> Limits:
    if not isinstance(node, MappingNode):
        reader.problem(node, f"limits: expected a mapping, got {kind(node)}")
        return Limits()
    known = [f.name for f in dataclasses.fields(Limits)]
    values: dict[str, int] = {}
    for key, (key_node, value_node) in pairs(reader, node, "limits").items():
        if key in FIXED_LIMITS:
            reader.problem(
                key_node,
                f"limits.{key} cannot be raised: it is fixed by Nova's API "
                f"({FIXED_LIMITS[key]} on every cloud; not a quota)",
            )
        elif key not in known:
            hint = suggest(key, known)
            listed = "" if hint else f" (the quotas a manifest may raise: {', '.join(known)})"
            reader.problem(key_node, f"unknown key {key!r} in limits{hint}{listed}")
        else:
            value = integer(reader, value_node, f"limits.{key}")
            if isinstance(value, int) and value < 0:
                reader.problem(value_node, f"limits.{key}: must be 0 or more, got {value}")
            elif isinstance(value, int):
                values[key] = value
    return Limits(**values)


# ----------------------------------------------------------------- one group


def _read_group(reader: Reader, node: Node, number: int, defaults: Defaults) -> Plan | None:
    reader.subject = f"servers[{number}]"
    reader.locations = {}
    if not isinstance(node, MappingNode):
        reader.problem(node, f"expected a mapping with a 'name' (a group), got {kind(node)}")
        return None
    location = reader.loc(node)
    for key_node, value_node in node.value:  # name the group in every problem, even these
        if key_node.value == "name" and isinstance(value_node, ScalarNode) and value_node.value:
            reader.subject = str(value_node.value)
    found = pairs(reader, node, "group")

    name: str | Template | Bad = BAD
    template = reader.subject
    if "name" not in found:
        reader.problem(node, "a group needs a 'name' (a template like \"web-{index:02d}\")")
    else:
        name_node = found["name"][1]
        written = text(reader, name_node, "name")
        if not isinstance(written, Bad):
            # An empty name is reported (validate), under the group's place in the list.
            template = reader.subject = written or f"servers[{number}]"
            try:
                name = compile_template(written, allowed=("index",))
            except TemplateError as exc:
                reader.problem(name_node, f"name: {exc}")
    broken: set[str] = set()
    for key, (key_node, _) in found.items():
        if key not in ALL_GROUP_KEYS:
            hint = suggest(key, ALL_GROUP_KEYS)
            reader.problem(key_node, f"unknown key {key!r} in a group{hint}")
            close = difflib.get_close_matches(key, ALL_GROUP_KEYS, n=1, cutoff=0.6)
            broken.update(close)  # `flavour:` given: do not also say flavor is missing
    count = integer(reader, found["count"][1], "count") if "count" in found else 1
    if isinstance(count, int) and count < 0:
        reader.problem(found["count"][1], f"count: must be 0 or more, got {count}")
        count = BAD
    start = integer(reader, found["start"][1], "start") if "start" in found else 1
    if isinstance(name, str) and isinstance(count, int) and count > 1:
        example = '"' + name + '-{index}"'
        reader.problem(
            found["name"][1],
            f"name: {count} servers would all be named {name!r}: "
            f"use {{index}} in the name (e.g. {example})",
        )
        name = BAD

    broken.update(defaults.misspelt - found.keys())  # reported once, at the defaults
    given = merged(reader, found, defaults, broken)
    raws, from_defaults = raw_values(reader, given, defaults, broken)
    if isinstance(name, Bad) or isinstance(count, Bad) or isinstance(start, Bad):
        return None
    # Before anything is rendered: a value too long for some server is reported once,
    # and the group's size is known (bounds).
    size = bounds.measure(
        reader,
        name=name,
        name_at=found["name"][1],
        start=start,
        count=count,
        raws={key: raw for key, raw in raws.items() if has_template(raw)},
        from_defaults=from_defaults,
    )
    if size is None:
        return None
    broken |= size.too_long

    constants: list[tuple[int, object]] = []
    varying: list[tuple[int, str, Renderer]] = []
    for key, raw in raws.items():
        position = POSITION[FIELDS[key].attr]
        mark = len(reader.problems)
        if key in size.too_long:
            continue  # left out: reported, and not worth rendering per server
        if has_template(raw):
            varying.append((position, key, renderer(raw)))
            continue
        if key in from_defaults:
            if key not in defaults.finished:
                defaults.finished[key] = finish(reader, key, raw)
            value = defaults.finished[key]
        else:
            value = finish(reader, key, raw)
        constants.append((position, value))
        if not value and len(reader.problems) > mark:
            broken.add(key)  # e.g. the only user_data file is unreadable
    return Plan(
        template=template,
        name=name,
        location=location,
        count=count,
        start=start,
        constants=constants,
        varying=varying,
        locations=reader.locations,
        broken=frozenset(broken),
        size=size,
    )
