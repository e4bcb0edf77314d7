"""A group, read, -> its ``count`` servers: templates rendered, shared values shared.

A field holding no template was finished once per group and the same immutable object
goes to all its servers; only the fields written with ``{index}``/``{name}`` are
rendered per server, through a renderer compiled once per group. This is the loader's
hot loop (one pass per server), so it builds each ``ServerSpec`` with a generated
positional constructor rather than the dataclass ``__init__``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, cast

from bulkboot.pipeline.bounds import GroupSize
from bulkboot.pipeline.convert import RawNic, RawValue
from bulkboot.pipeline.fields import DIRECT, finish
from bulkboot.pipeline.spec import Group, Location, ServerSpec
from bulkboot.pipeline.template import Template
from bulkboot.pipeline.yaml_nodes import Reader

__all__ = ["POSITION", "Plan", "Renderer", "expand", "has_template", "renderer"]


def _spec_builder() -> tuple[Callable[..., ServerSpec], list[object], dict[str, int]]:
    """A positional ServerSpec constructor that sets the slots directly.

    The dataclass ``__init__`` of a frozen, slotted class with 40 fields costs ~9 us
    (``object.__setattr__`` per field, one ``default_factory`` call per mapping);
    this costs ~2.5 us and builds an equal object. Generated once, as dataclasses
    generate ``__init__`` itself.
    """
    fields = dataclasses.fields(ServerSpec)
    names = [f.name for f in fields]
    defaults: list[object] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            defaults.append(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            defaults.append(f.default_factory())
        else:
            defaults.append(None)
    namespace: dict[str, object] = {"_new": object.__new__, "_cls": ServerSpec}
    lines = [f"def build({', '.join(names)}):", "    o = _new(_cls)"]
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = getattr(ServerSpec, name).__set__
        lines.append(f"    _set{i}(o, {name})")
    lines.append("    return o")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the dataclass fields
    build = cast("Callable[..., ServerSpec]", namespace["build"])
    return build, defaults, {name: i for i, name in enumerate(names)}


_BUILD, _DEFAULT_VALUES, POSITION = _spec_builder()
"""The constructor, every field's default in order, and each field's position."""


# ----------------------------------------------------------------- templates in raw values


def has_template(raw: RawValue) -> bool:
    if isinstance(raw, Template):
        return True
    if isinstance(raw, dict):
        return any(has_template(v) for v in raw.values())
    if isinstance(raw, list):
        return any(has_template(v) for v in raw)
    if isinstance(raw, RawNic):
        return has_template(raw.values)
    return False


Renderer: TypeAlias = Callable[[int, str], RawValue]


def renderer(raw: RawValue) -> Renderer:
    """Compile a raw value holding templates into ``(index, name) -> rendered value``.

    Built once per group: per server, a mapping costs one copy of its literal skeleton
    plus one ``str.format`` per templated entry (key order kept as written).
    """
    if isinstance(raw, Template):
        fmt = raw.text.format
        return lambda index, name: fmt(index=index, name=name)
    if isinstance(raw, dict):
        return _mapping_renderer(raw)
    if isinstance(raw, list):
        items = [renderer(v) if has_template(v) else None for v in raw]
        return lambda index, name: [
            raw[i] if render is None else render(index, name) for i, render in enumerate(items)
        ]
    if isinstance(raw, RawNic):
        values = _mapping_renderer(raw.values)
        location = raw.location
        return lambda index, name: RawNic(values(index, name), location)
    return lambda index, name: raw


def _mapping_renderer(raw: dict[str, RawValue]) -> Callable[[int, str], dict[str, RawValue]]:
    skeleton = dict(raw)
    parts = [(k, renderer(v)) for k, v in raw.items() if has_template(v)]
    if len(parts) == 1:
        key = parts[0][0]
        only = raw[key]
        if isinstance(only, Template):
            fmt = only.text.format

            def one(index: int, name: str) -> dict[str, RawValue]:
                out = skeleton.copy()
                out[key] = fmt(index=index, name=name)
                return out

            return one

    def mapping(index: int, name: str) -> dict[str, RawValue]:
        out = skeleton.copy()
        for k, render in parts:
            out[k] = render(index, name)
        return out

    return mapping


# ----------------------------------------------------------------- expansion


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One group, read: ready to expand into ``count`` servers."""

    template: str
    name: str | Template
    location: Location
    count: int
    start: int
    constants: list[tuple[int, object]]  # (ServerSpec position, shared value)
    varying: list[tuple[int, str, Renderer]]  # (position, field, compiled raw value)
    locations: dict[str, Location]
    broken: frozenset[str]  # fields with a problem, left out
    size: GroupSize  # what each server costs once expanded (bounds.measure)


def expand(reader: Reader, plan: Plan, fleet: str, servers: list[ServerSpec]) -> Group:
    """Append the group's servers to ``servers``; return the group that spans them."""
    values = list(_DEFAULT_VALUES)
    values[POSITION["fleet"]] = fleet
    values[POSITION["location"]] = plan.location
    values[POSITION["group"]] = plan.template
    for position, value in plan.constants:
        values[position] = value
    name_at = POSITION["name"]
    index_at = POSITION["index"]
    first = len(servers)
    build = _BUILD
    append = servers.append
    indexes = range(plan.start, plan.start + plan.count)
    name = plan.name
    if isinstance(name, Template):
        names = [name.text.format(index=i) for i in indexes]
    else:
        names = [name] * plan.count
    if not plan.varying:
        for index, server_name in zip(indexes, names, strict=True):
            values[name_at] = server_name
            values[index_at] = index
            append(build(*values))
    else:
        reader.subject = plan.template
        reader.locations = plan.locations
        # Fields whose ServerSpec value is the rendered raw value as it is (most) skip
        # finish; the others (tuples, Nics, file contents) go through it.
        direct = [(pos, render) for pos, key, render in plan.varying if key in DIRECT]
        other = [(pos, key, render) for pos, key, render in plan.varying if key not in DIRECT]
        for index, server_name in zip(indexes, names, strict=True):
            values[name_at] = server_name
            values[index_at] = index
            for position, render in direct:
                values[position] = render(index, server_name)
            for position, key, render in other:
                values[position] = finish(reader, key, render(index, server_name))
            append(build(*values))
    return Group(
        template=plan.template,
        location=plan.location,
        first=first,
        stop=len(servers),
        varying=frozenset(key for _, key, _ in plan.varying) | {"name"},
        locations=plan.locations,
        broken=plan.broken,
    )
