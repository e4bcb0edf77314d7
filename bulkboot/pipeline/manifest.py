"""YAML manifest -> ``Manifest``: defaults, groups, templating, files, with every position.

The YAML is composed into nodes (never constructed into Python objects first), so
every value keeps its file, line and column and every problem can point at it. The
node tree is walked once per group against one table of server fields (``FIELDS``),
which type-checks each value and turns it into a *raw* value whose strings are either
literal or compiled ``Template`` objects. A field holding no template is finalised
once per group and the same immutable object is shared by all its servers; only the
fields written with ``{index}``/``{name}`` are rendered per server; ``defaults`` are
read once for all groups and every file once per path. 100,000 servers load in about
one second of CPU (benchmarks/RESULTS.md, "Pipeline").

``read_manifest`` is lenient: it returns what it could build and every problem it
met, so ``bulkboot validate`` can report structural and rule problems together.
``load_manifest`` is the strict form the other commands use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import gc
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulkboot.errors import ManifestError
from bulkboot.identity import member_number
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.spec import (
    FIXED_LIMITS,
    Group,
    Limits,
    Location,
    Manifest,
    Nic,
    Problem,
    ServerSpec,
)
from bulkboot.pipeline.template import Template, TemplateError, compile_template

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
MAX_FILE_BYTES: Final = 16 * 1024 * 1024  # user data and personality are limited to KiBs
MAX_MANIFEST_BYTES: Final = 64 * 1024 * 1024  # 1,000,000 servers fit in a few MiB

TOP_LEVEL_KEYS: Final = ("name", "cloud", "microversion", "defaults", "servers", "limits")
GROUP_KEYS: Final = ("name", "count", "start")
# `nova boot --block-device` keys (novaclient's CLIENT_BDM2_KEYS) and `--nic` keys.
BDM_KEYS: Final = (
    "source", "id", "dest", "bus", "device", "size", "format", "bootindex", "type",
    "shutdown", "tag", "volume_type",
)  # fmt: skip
EPHEMERAL_KEYS: Final = ("size", "format")
NIC_KEYS: Final = ("net-id", "net-name", "port-id", "v4-fixed-ip", "v6-fixed-ip", "tag")
# Fields that name the same thing: a group giving one drops what `defaults` gave for the
# others, so `defaults: {image: x}` plus a group with `boot_volume: y` boots from the volume.
_EXCLUSIVE: Final = (
    frozenset({"image", "image_with", "boot_volume", "snapshot"}),
    frozenset({"user_data", "user_data_text"}),
)
# Fields of which one place (the group, or defaults) may give one only: they fill the
# same ServerSpec attribute, so one would silently win.
_ONE_OF: Final = ("user_data", "user_data_text")
_ONE_OF_MESSAGE: Final = (
    "user_data and user_data_text are both given: give one (user_data names a file, "
    "user_data_text is the text itself)"
)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_CONSTRUCTOR = SafeConstructor()


class _Bad:
    """Marks a value that had a problem (already reported); the field is left out."""

    __slots__ = ()


_BAD: Final = _Bad()


@dataclass(slots=True)
class _RawNic:
    values: dict[str, Any]
    location: Location


Raw: TypeAlias = Any  # str | Template | int | bool | None | list | dict | _RawNic


# ----------------------------------------------------------------- reading context


class _Reader:
    """Per-manifest state: where problems go, locations of the group being read, files."""

    def __init__(self, file: str, base: Path) -> None:
        self.file = file
        self.base = base
        self.problems: list[Problem] = []
        self.subject = "manifest"
        self.locations: dict[str, Location] = {}
        self.files: dict[Path, bytes | str] = {}  # contents, or the error text
        # `defaults` fields, read once for all groups: raw value (or _BAD), the locations
        # it recorded, and (for fields without templates) its finished ServerSpec value.
        self.default_raws: dict[str, Raw] = {}
        self.default_locations: dict[str, dict[str, Location]] = {}
        self.default_finished: dict[str, Any] = {}

    def loc(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def problem(self, where: Node | Location | None, message: str) -> None:
        location = self.loc(where) if isinstance(where, Node) else where
        self.problems.append(Problem(location, self.subject, message))

    def read_file(self, written: str, where: Location | None, what: str) -> bytes | None:
        """Read a file named relative to the manifest, once per path; None on error."""
        path = self.base / os.path.expanduser(written)
        contents = self.files.get(path)
        if contents is None:
            contents = _read_regular(path, MAX_FILE_BYTES)
            self.files[path] = contents
        if isinstance(contents, str):
            self.problems.append(
                Problem(where, self.subject, f"{what}: cannot read {path}: {contents}")
            )
            return None
        return contents


def _read_regular(path: Path, limit: int) -> bytes | str:
    """A regular file's bytes, or why not: never blocks on a FIFO or reads /dev/zero."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return os.strerror(errno.EISDIR)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > limit:
            return f"larger than {limit // (1024 * 1024)} MiB"
        return path.read_bytes()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    except ValueError as exc:  # e.g. an embedded NUL in the path
        return str(exc)


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        _STR: "a string",
        _INT: "an integer",
        _FLOAT: "a number",
        _BOOL: "a boolean",
        _NULL: "nothing (null)",
        _TIMESTAMP: "a date",
    }.get(node.tag, f"a value tagged {node.tag}")


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f": did you mean {close[0]!r}?" if close else ""


def _pairs(r: _Reader, node: MappingNode, what: str) -> dict[str, tuple[Node, Node]]:
    """A mapping's entries by key text, merge keys applied, duplicates reported."""
    try:
        _CONSTRUCTOR.flatten_mapping(node)
    except ConstructorError as exc:
        r.problem(node, f"{what}: {exc.problem}")
    out: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag in (_NULL, _BOOL):
            r.problem(key_node, f"{what}: keys must be strings, got {_kind(key_node)}")
            continue
        key = str(key_node.value)
        if key in out:
            r.problem(key_node, f"{what}: {key!r} is given twice (first at line "
                      f"{out[key][0].start_mark.line + 1})")  # fmt: skip
        out[key] = (key_node, value_node)
    return out


def _known_keys(
    r: _Reader, pairs: Mapping[str, tuple[Node, Node]], known: Sequence[str], what: str
) -> None:
    for key, (key_node, _) in pairs.items():
        if key not in known:
            r.problem(key_node, f"unknown key {key!r} in {what}{_suggest(key, known)}")


# ----------------------------------------------------------------- scalar converters


def _text(r: _Reader, node: Node, path: str, *, ids: bool = True) -> str | _Bad:
    """A string; YAML numbers are taken as written (``flavor: 2`` is "2")."""
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode):
        if node.tag == _STR or (ids and node.tag in (_INT, _FLOAT, _TIMESTAMP)):
            return str(node.value)
        if node.tag == _BOOL:
            r.problem(node, f"{path}: expected a string, got the boolean {node.value!r}: "
                      f"quote it ('{node.value}') if you mean the word")  # fmt: skip
            return _BAD
    r.problem(node, f"{path}: expected a string, got {_kind(node)}")
    return _BAD


def _string(r: _Reader, node: Node, path: str) -> str | Template | _Bad:
    """A string that may use ``{index}`` and ``{name}``."""
    text = _text(r, node, path)
    if isinstance(text, _Bad):
        return text
    try:
        return compile_template(text)
    except TemplateError as exc:
        r.problem(node, f"{path}: {exc}")
        return _BAD


def _literal(r: _Reader, node: Node, path: str) -> str | _Bad:
    """A string taken as it is, braces included (``user_data_text``)."""
    return _text(r, node, path, ids=False)


def _secret(r: _Reader, node: Node, path: str) -> str | _Bad:
    """A password: taken as written (braces included), never echoed in a message."""
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode) and node.tag in (_STR, _INT, _FLOAT):
        return str(node.value)
    r.problem(node, f"{path}: expected a string, got {_kind(node)} (quote it)")
    return _BAD


def _integer(r: _Reader, node: Node, path: str) -> int | _Bad:
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode) and node.tag == _INT:
        try:
            return int(_CONSTRUCTOR.construct_yaml_int(node))
        except (ValueError, ConstructorError):
            pass
    r.problem(node, f"{path}: expected an integer, got {_kind(node)}"
              + (f" {node.value!r}" if isinstance(node, ScalarNode) else ""))  # fmt: skip
    return _BAD


def _boolean(r: _Reader, node: Node, path: str) -> bool | _Bad:
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode) and node.tag == _BOOL:
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))
    r.problem(node, f"{path}: expected true or false, got {_kind(node)}")
    return _BAD


def _config_drive(r: _Reader, node: Node, path: str) -> bool | None | _Bad:
    """As ``nova boot --config-drive``: true/1 -> True, false/0/""/none -> not sent."""
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode):
        if node.tag == _BOOL:
            return True if _CONSTRUCTOR.construct_yaml_bool(node) else None
        word = str(node.value).lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0", "", "none", "null", "~"):
            return None
    shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
    r.problem(node, f"{path}: must be a boolean (true or false), got {_kind(node)}{shown}")
    return _BAD


# ----------------------------------------------------------------- compound converters


def _mapping_of(
    r: _Reader, node: Node, path: str, value: Callable[[_Reader, Node, str], Raw]
) -> dict[str, Raw] | _Bad:
    r.locations[path] = r.loc(node)
    if not isinstance(node, MappingNode):
        r.problem(node, f"{path}: expected a mapping, got {_kind(node)}")
        return _BAD
    out: dict[str, Raw] = {}
    for key, (_key_node, value_node) in _pairs(r, node, path).items():
        converted = value(r, value_node, f"{path}.{key}")
        if not isinstance(converted, _Bad):
            out[key] = converted
    return out


def _string_map(r: _Reader, node: Node, path: str) -> dict[str, Raw] | _Bad:
    return _mapping_of(r, node, path, _string)


def _hint_value(r: _Reader, node: Node, path: str) -> Raw:
    if isinstance(node, SequenceNode):
        return _list_of(r, node, path, _string)
    return _string(r, node, path)


def _hints(r: _Reader, node: Node, path: str) -> dict[str, Raw] | _Bad:
    return _mapping_of(r, node, path, _hint_value)


def _list_of(
    r: _Reader, node: Node, path: str, item: Callable[[_Reader, Node, str], Raw]
) -> list[Raw] | _Bad:
    r.locations[path] = r.loc(node)
    if not isinstance(node, SequenceNode):
        r.problem(node, f"{path}: expected a list, got {_kind(node)}")
        return _BAD
    out = [item(r, child, f"{path}.{i}") for i, child in enumerate(node.value)]
    kept = [i for i, x in enumerate(out) if not isinstance(x, _Bad)]
    if len(kept) < len(out):
        _renumber(r, path, kept)
    return [out[i] for i in kept]


def _renumber(r: _Reader, path: str, kept: Sequence[int]) -> None:
    """Re-key a list's item locations after bad items were dropped (``path.2`` -> ``path.1``).

    Rules address items by their index in the kept list; only a list that lost items
    pays for this.
    """
    new_index = {str(old): str(new) for new, old in enumerate(kept)}
    prefix = path + "."
    moved: dict[str, Location] = {}
    for key in [k for k in r.locations if k.startswith(prefix)]:
        location = r.locations.pop(key)
        index, dot, rest = key[len(prefix) :].partition(".")
        if index in new_index:
            moved[f"{prefix}{new_index[index]}{dot}{rest}"] = location
    r.locations.update(moved)


def _names(r: _Reader, node: Node, path: str) -> list[Raw] | _Bad:
    """A list of strings, or one comma-separated string as ``nova boot`` takes it."""
    if isinstance(node, ScalarNode) and node.tag == _STR:
        r.locations[path] = r.loc(node)
        parts: list[Raw] = []
        for part in str(node.value).split(","):
            try:
                parts.append(compile_template(part))
            except TemplateError as exc:
                r.problem(node, f"{path}: {exc}")
        return parts
    return _list_of(r, node, path, _string)


def _certificates(r: _Reader, node: Node, path: str) -> list[Raw] | _Bad:
    if isinstance(node, ScalarNode) and node.tag != _NULL:
        one = _string(r, node, path)
        return _BAD if isinstance(one, _Bad) else [one]
    return _list_of(r, node, path, _string)


def _device_spec(
    r: _Reader, node: Node, path: str, known: Sequence[str], what: str
) -> dict[str, Raw] | _Bad:
    """One ``--block-device``/``--ephemeral``/``--nic`` as a mapping or "k=v,k=v" text."""
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode) and node.tag == _STR:
        out: dict[str, Raw] = {}
        for part in str(node.value).split(","):
            key, sep, value = part.partition("=")
            if not sep:
                r.problem(node, f"{path}: {part!r} is not a key=value pair")
                return _BAD
            if key not in known:
                r.problem(node, f"unknown key {key!r} in {what}{_suggest(key, known)}")
                return _BAD
            if key in out:
                r.problem(node, f"{path}: {key!r} is given twice")
                return _BAD
            r.locations[f"{path}.{key}"] = r.loc(node)
            try:
                out[key] = compile_template(value)
            except TemplateError as exc:
                r.problem(node, f"{path}.{key}: {exc}")
                return _BAD
        return out
    if not isinstance(node, MappingNode):
        r.problem(node, f"{path}: expected a mapping, got {_kind(node)}")
        return _BAD
    mark = len(r.problems)
    pairs = _pairs(r, node, path)
    _known_keys(r, pairs, known, what)
    converted = {
        key: _string(r, value_node, f"{path}.{key}")
        for key, (_, value_node) in pairs.items()
        if key in known
    }
    if len(r.problems) > mark:
        # The item is left out whole (its siblings are kept): checking what is left of
        # it would only add misleading problems (`idd: x` -> "needs an 'id'").
        return _BAD
    return converted


def _block_devices(r: _Reader, node: Node, path: str) -> list[Raw] | _Bad:
    return _list_of(
        r, node, path, lambda r, n, p: _device_spec(r, n, p, BDM_KEYS, "a block device")
    )


def _ephemeral(r: _Reader, node: Node, path: str) -> list[Raw] | _Bad:
    return _list_of(
        r, node, path, lambda r, n, p: _device_spec(r, n, p, EPHEMERAL_KEYS, "an ephemeral disk")
    )


def _networks(r: _Reader, node: Node, path: str) -> Raw:
    """The networks: "auto", "none", or a list of ``--nic`` mappings (or "k=v,..." texts)."""
    r.locations[path] = r.loc(node)
    if isinstance(node, ScalarNode) and node.tag == _STR and node.value in ("auto", "none"):
        return str(node.value)
    if not isinstance(node, SequenceNode):
        r.problem(node, f"{path}: expected 'auto', 'none' or a list of nics, got {_kind(node)}"
                  + (f" {node.value!r}" if isinstance(node, ScalarNode) else ""))  # fmt: skip
        return _BAD
    nics: list[Raw] = []
    kept: list[int] = []
    for i, child in enumerate(node.value):
        item_path = f"{path}.{i}"
        if isinstance(child, ScalarNode) and child.value in ("auto", "none"):
            r.locations[item_path] = r.loc(child)
            if len(node.value) == 1:
                return str(child.value)
            r.problem(child, f"{item_path}: 'auto' or 'none' cannot be used with any "
                      "other nic")  # fmt: skip
            continue  # the other nics are still checked
        values = _device_spec(r, child, item_path, NIC_KEYS, "a nic")
        if not isinstance(values, _Bad):
            nics.append(_RawNic(values, r.loc(child)))
            kept.append(i)
    if len(kept) < len(node.value):
        _renumber(r, path, kept)
    return nics


# ----------------------------------------------------------------- the server fields


@dataclass(frozen=True, slots=True)
class _Field:
    convert: Callable[[_Reader, Node, str], Raw]
    attr: str  # the ServerSpec attribute it fills
    finish: Callable[[Raw], Any] | None = None  # raw (rendered) -> ServerSpec value
    reads: str | None = None  # "user_data" / "files": names local files


def _tuple(raw: Raw) -> Any:
    return tuple(raw)


def _hint_map(raw: Raw) -> Any:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _nics(raw: Raw) -> Any:
    if isinstance(raw, str):
        return raw
    return tuple(
        Nic(
            net_id=n.values.get("net-id"),
            net_name=n.values.get("net-name"),
            port_id=n.values.get("port-id"),
            v4_fixed_ip=n.values.get("v4-fixed-ip"),
            v6_fixed_ip=n.values.get("v6-fixed-ip"),
            tag=n.values.get("tag"),
            location=n.location,
        )
        for n in raw
    )


def _text_bytes(raw: Raw) -> Any:
    return str(raw).encode("utf-8")


FIELDS: Final[Mapping[str, _Field]] = {
    "image": _Field(_string, "image"),
    "image_with": _Field(_string_map, "image_with"),
    "flavor": _Field(_string, "flavor"),
    "min_count": _Field(_integer, "min_count"),
    "max_count": _Field(_integer, "max_count"),
    "return_reservation_id": _Field(_boolean, "return_reservation_id"),
    "metadata": _Field(_string_map, "metadata"),
    "files": _Field(_string_map, "files", reads="files"),
    "key_name": _Field(_string, "key_name"),
    "user_data": _Field(_string, "user_data", reads="user_data"),
    "user_data_text": _Field(_literal, "user_data", _text_bytes),
    "availability_zone": _Field(_string, "availability_zone"),
    "security_groups": _Field(_names, "security_groups", _tuple),
    "block_device_mapping": _Field(_string_map, "block_device_mapping"),
    "block_devices": _Field(_block_devices, "block_devices", _tuple),
    "boot_volume": _Field(_string, "boot_volume"),
    "snapshot": _Field(_string, "snapshot"),
    "ephemeral": _Field(_ephemeral, "ephemeral", _tuple),
    "swap": _Field(_integer, "swap"),
    "networks": _Field(_networks, "networks", _nics),
    "scheduler_hints": _Field(_hints, "scheduler_hints", _hint_map),
    "config_drive": _Field(_config_drive, "config_drive"),
    "admin_pass": _Field(_secret, "admin_pass"),
    "disk_config": _Field(_string, "disk_config"),
    "access_ip_v4": _Field(_string, "access_ip_v4"),
    "access_ip_v6": _Field(_string, "access_ip_v6"),
    "description": _Field(_string, "description"),
    "tags": _Field(_names, "tags", _tuple),
    "trusted_image_certificates": _Field(_certificates, "trusted_image_certificates", _tuple),
    "host": _Field(_string, "host"),
    "hypervisor_hostname": _Field(_string, "hypervisor_hostname"),
    "hostname": _Field(_string, "hostname"),
}
_ALL_GROUP_KEYS: Final = (*GROUP_KEYS, *FIELDS)
# Fields whose raw value is already the ServerSpec value (no finish, no file to read).
_DIRECT: Final = frozenset(k for k, f in FIELDS.items() if f.finish is None and f.reads is None)


# ----------------------------------------------------------------- fast ServerSpec


def _spec_builder() -> tuple[Callable[..., ServerSpec], list[Any], dict[str, int]]:
    """A positional ServerSpec constructor that sets the slots directly.

    The dataclass ``__init__`` of a frozen, slotted class with 40 fields costs ~9 us
    (``object.__setattr__`` per field, one ``default_factory`` call per mapping);
    this costs ~2.5 us and builds an equal object. Generated once, as dataclasses
    generate ``__init__`` itself.
    """
    fields = dataclasses.fields(ServerSpec)
    names = [f.name for f in fields]
    defaults: list[Any] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            defaults.append(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            defaults.append(f.default_factory())
        else:
            defaults.append(None)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": ServerSpec}
    lines = [f"def build({', '.join(names)}):", "    o = _new(_cls)"]
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = getattr(ServerSpec, name).__set__
        lines.append(f"    _set{i}(o, {name})")
    lines.append("    return o")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the dataclass fields
    build: Callable[..., ServerSpec] = namespace["build"]
    return build, defaults, {name: i for i, name in enumerate(names)}


_BUILD, _DEFAULT_VALUES, _POSITION = _spec_builder()


# ----------------------------------------------------------------- templates in raw values


def _has_template(raw: Raw) -> bool:
    if isinstance(raw, Template):
        return True
    if isinstance(raw, dict):
        return any(_has_template(v) for v in raw.values())
    if isinstance(raw, list):
        return any(_has_template(v) for v in raw)
    if isinstance(raw, _RawNic):
        return _has_template(raw.values)
    return False


Renderer: TypeAlias = Callable[[int, str], Any]


def _renderer(raw: Raw) -> Renderer:
    """Compile a raw value holding templates into ``(index, name) -> rendered value``.

    Built once per group: per server, a mapping costs one copy of its literal skeleton
    plus one ``str.format`` per templated entry (key order kept as written).
    """
    if isinstance(raw, Template):
        fmt = raw.text.format
        return lambda index, name: fmt(index=index, name=name)
    if isinstance(raw, dict):
        skeleton = dict(raw)
        parts = [(k, _renderer(v)) for k, v in raw.items() if _has_template(v)]
        if len(parts) == 1 and isinstance(raw[parts[0][0]], Template):
            key = parts[0][0]
            fmt = raw[key].text.format

            def one(index: int, name: str) -> Any:
                out = skeleton.copy()
                out[key] = fmt(index=index, name=name)
                return out

            return one

        def mapping(index: int, name: str) -> Any:
            out = skeleton.copy()
            for k, render in parts:
                out[k] = render(index, name)
            return out

        return mapping
    if isinstance(raw, list):
        items = [_renderer(v) if _has_template(v) else None for v in raw]
        return lambda index, name: [
            raw[i] if render is None else render(index, name) for i, render in enumerate(items)
        ]
    if isinstance(raw, _RawNic):
        values = _renderer(raw.values)
        location = raw.location
        return lambda index, name: _RawNic(values(index, name), location)
    return lambda index, name: raw


# ----------------------------------------------------------------- merging defaults


def _merge(base: Node, over: Node) -> Node:
    """Mappings merge key by key (recursively); anything else: ``over`` replaces."""
    if not (isinstance(base, MappingNode) and isinstance(over, MappingNode)):
        return over
    merged: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in (*base.value, *over.value):
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else repr(key_node)
        if key in merged:
            merged[key] = (key_node, _merge(merged[key][1], value_node))
        else:
            merged[key] = (key_node, value_node)
    return MappingNode(over.tag, list(merged.values()), over.start_mark, over.end_mark)


# ----------------------------------------------------------------- groups


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    """One group, read: ready to expand into ``count`` servers."""

    template: str
    name: str | Template
    location: Location
    count: int
    start: int
    constants: list[tuple[int, Any]]  # (ServerSpec position, shared value)
    varying: list[tuple[int, str, Renderer]]  # (position, field, compiled raw value)
    locations: dict[str, Location]
    broken: frozenset[str]  # fields with a problem, left out


def _read_files(r: _Reader, field: str, raw: Raw) -> Any:
    """The ServerSpec value of a file-naming field: contents read once per path."""
    if field == "user_data":
        return r.read_file(raw, r.locations.get("user_data"), "user_data")
    pairs = []
    for guest, local in raw.items():
        contents = r.read_file(local, r.locations.get(f"files.{guest}"), f"files.{guest}")
        if contents is not None:
            pairs.append((guest, contents))
    return tuple(pairs)


def _finish(r: _Reader, field: str, raw: Raw) -> Any:
    spec = FIELDS[field]
    if spec.reads:
        return _read_files(r, spec.reads, raw)
    return spec.finish(raw) if spec.finish else raw


def _unusable(raw: Raw, had_problems: bool) -> bool:
    """Whether a field is left out: a bad value, or a collection whose every item was bad.

    A collection that lost only some items (each reported) keeps the others, so their
    rules are checked too: one bad nic does not hide its siblings' problems.
    """
    if isinstance(raw, _Bad):
        return True
    return had_problems and (raw is None or raw == "" or raw == [] or raw == {})


def _read_defaults(r: _Reader, node: Node) -> dict[str, tuple[Node, Node]]:
    r.subject = "defaults"
    if not isinstance(node, MappingNode):
        if not (isinstance(node, ScalarNode) and node.tag == _NULL):
            r.problem(node, f"defaults: expected a mapping of server fields, got {_kind(node)}")
        return {}
    pairs = _pairs(r, node, "defaults")
    for key, (key_node, _) in list(pairs.items()):
        if key in GROUP_KEYS:
            r.problem(key_node, f"{key!r} belongs in a group under 'servers', not in defaults")
            del pairs[key]
        elif key not in FIELDS:
            r.problem(key_node, f"unknown key {key!r} in defaults{_suggest(key, FIELDS)}")
            del pairs[key]
    if all(key in pairs for key in _ONE_OF):
        later = max((pairs[key][0] for key in _ONE_OF), key=lambda n: n.start_mark.index)
        r.problem(later, _ONE_OF_MESSAGE)
    # Read once here: problems in defaults are reported once, as "defaults", and every
    # group that keeps a default shares its value.
    for key, (_, value_node) in pairs.items():
        r.locations = {}
        mark = len(r.problems)
        raw = FIELDS[key].convert(r, value_node, key)
        r.default_raws[key] = _BAD if _unusable(raw, len(r.problems) > mark) else raw
        r.default_locations[key] = r.locations
    r.locations = {}
    return pairs


def _read_group(
    r: _Reader, node: Node, number: int, defaults: Mapping[str, tuple[Node, Node]]
) -> _Plan | None:
    r.subject = f"servers[{number}]"
    r.locations = {}
    if not isinstance(node, MappingNode):
        r.problem(node, f"expected a mapping with a 'name' (a group), got {_kind(node)}")
        return None
    location = r.loc(node)
    for key_node, value_node in node.value:  # name the group in every problem, even these
        if key_node.value == "name" and isinstance(value_node, ScalarNode) and value_node.value:
            r.subject = str(value_node.value)
    pairs = _pairs(r, node, "group")

    name: str | Template | _Bad = _BAD
    template = r.subject
    if "name" not in pairs:
        r.problem(node, "a group needs a 'name' (a template like \"web-{index:02d}\")")
    else:
        name_node = pairs["name"][1]
        text = _text(r, name_node, "name")
        if not isinstance(text, _Bad):
            # An empty name is reported (validate), under the group's place in the list.
            template = r.subject = text or f"servers[{number}]"
            try:
                name = compile_template(text, allowed=("index",))
            except TemplateError as exc:
                r.problem(name_node, f"name: {exc}")
    broken: set[str] = set()
    for key, (key_node, _) in pairs.items():
        if key not in _ALL_GROUP_KEYS:
            hint = _suggest(key, _ALL_GROUP_KEYS)
            r.problem(key_node, f"unknown key {key!r} in a group{hint}")
            close = difflib.get_close_matches(key, _ALL_GROUP_KEYS, n=1, cutoff=0.6)
            broken.update(close)  # `flavour:` given: do not also say flavor is missing
    count = _integer(r, pairs["count"][1], "count") if "count" in pairs else 1
    if isinstance(count, int) and count < 0:
        r.problem(pairs["count"][1], f"count: must be 0 or more, got {count}")
        count = _BAD
    start = _integer(r, pairs["start"][1], "start") if "start" in pairs else 1
    if isinstance(name, str) and isinstance(count, int) and count > 1:
        r.problem(pairs["name"][1], f"name: {count} servers would all be named {name!r}: "
                  "use {index} in the name (e.g. \"" + name + "-{index}\")")  # fmt: skip
        name = _BAD

    merged: dict[str, tuple[Node, Node]] = dict(defaults)
    for key, pair in pairs.items():
        if key not in FIELDS:
            continue
        for family in _EXCLUSIVE:
            if key in family:
                for other in family - {key}:
                    if other in defaults and merged.get(other) is defaults[other]:
                        del merged[other]
        if key in merged:
            pair = (pair[0], _merge(merged[key][1], pair[1]))
        merged[key] = pair

    both = [key for key in _ONE_OF if key in merged]
    if len(both) > 1:
        # Both written in this group (or both in defaults, reported there, once).
        if any(merged[key] is not defaults.get(key) for key in both):
            later = max((merged[key][0] for key in both), key=lambda n: n.start_mark.index)
            r.problem(later, _ONE_OF_MESSAGE)
        for key in both:
            del merged[key]
            broken.add(key)

    raws: dict[str, Raw] = {}
    from_defaults: set[str] = set()
    for key, (_, value_node) in merged.items():
        mark = len(r.problems)
        if key in defaults and merged[key] is defaults[key]:
            raw = r.default_raws[key]  # its problems were reported once, at the defaults
            r.locations.update(r.default_locations[key])
            from_defaults.add(key)
        else:
            raw = FIELDS[key].convert(r, value_node, key)
        if _unusable(raw, len(r.problems) > mark):
            broken.add(key)  # a value with a problem is left out, not guessed at
        else:
            raws[key] = raw
    if isinstance(name, _Bad) or isinstance(count, _Bad) or isinstance(start, _Bad):
        return None

    constants: list[tuple[int, Any]] = []
    varying: list[tuple[int, str, Renderer]] = []
    for key, raw in raws.items():
        position = _POSITION[FIELDS[key].attr]
        mark = len(r.problems)
        if _has_template(raw):
            varying.append((position, key, _renderer(raw)))
            continue
        if key in from_defaults:
            if key not in r.default_finished:
                r.default_finished[key] = _finish(r, key, raw)
            value = r.default_finished[key]
        else:
            value = _finish(r, key, raw)
        constants.append((position, value))
        if not value and len(r.problems) > mark:
            broken.add(key)  # e.g. the only user_data file is unreadable
    return _Plan(
        template=template,
        name=name,
        location=location,
        count=count,
        start=start,
        constants=constants,
        varying=varying,
        locations=r.locations,
        broken=frozenset(broken),
    )


def _expand(r: _Reader, plan: _Plan, fleet: str, servers: list[ServerSpec]) -> Group:
    values = list(_DEFAULT_VALUES)
    values[_POSITION["fleet"]] = fleet
    values[_POSITION["location"]] = plan.location
    values[_POSITION["group"]] = plan.template
    for position, value in plan.constants:
        values[position] = value
    name_at = _POSITION["name"]
    index_at = _POSITION["index"]
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
        r.subject = plan.template
        r.locations = plan.locations
        # Fields whose ServerSpec value is the rendered raw value as it is (most) skip
        # _finish; the others (tuples, Nics, file contents) go through it.
        direct = [(pos, render) for pos, key, render in plan.varying if key in _DIRECT]
        other = [(pos, key, render) for pos, key, render in plan.varying if key not in _DIRECT]
        for index, server_name in zip(indexes, names, strict=True):
            values[name_at] = server_name
            values[index_at] = index
            for position, render in direct:
                values[position] = render(index, server_name)
            for position, key, render in other:
                values[position] = _finish(r, key, render(index, server_name))
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


# ----------------------------------------------------------------- duplicate names


def _duplicates(servers: Sequence[ServerSpec], groups: Sequence[Group]) -> list[Problem]:
    """Names must be unique, counting the -1..-N suffixes Nova gives multi-create servers.

    A suffix is digits, so ``base-k`` equals another ``base'-k'`` only when the bases
    and the numbers are equal: no need to spell out every suffixed name.
    """
    plain: dict[str, int] = {}  # name -> position of its server
    multi: dict[str, tuple[int, int]] = {}  # base -> (position, instance count)
    clashes: dict[tuple[int, int], list[str]] = {}  # (later, earlier) -> names
    for group in groups:
        if group.stop <= group.first:
            continue
        # Counts are never templated: one instance count for the whole group.
        count = servers[group.first].instance_count
        for position in range(group.first, group.stop):
            name = servers[position].name
            if count > 1:
                prior = multi.get(name)
                if prior is not None:
                    clashes.setdefault((position, prior[0]), []).append(
                        f"{name}-1..{min(count, prior[1])}"
                    )
                else:
                    multi[name] = (position, count)
            else:
                same = plain.setdefault(name, position)
                if same != position:
                    clashes.setdefault((position, same), []).append(name)
    if multi:
        # a single server, or another multi-create, named as a member (``pool-3``
        # beside ``pool`` of 5): Nova would make two servers of that name, and the
        # journal could not tell the request from the member
        named = [*plain.items(), *((name, at) for name, (at, _) in multi.items())]
        for name, position in named:
            base = name.rpartition("-")[0]
            if base in multi:
                multi_at, instances = multi[base]
                if member_number(base, name, instances) is not None:
                    pair = (max(position, multi_at), min(position, multi_at))
                    clashes.setdefault(pair, []).append(name)
    if not clashes:
        return []
    group_of: list[int] = []
    for i, group in enumerate(groups):
        group_of.extend([i] * group.count)
    by_groups: dict[tuple[int, int], list[str]] = {}
    for (later, earlier), names in clashes.items():
        by_groups.setdefault((group_of[later], group_of[earlier]), []).extend(names)
    problems = []
    for (g_later, g_earlier), names in sorted(by_groups.items()):
        here, there = groups[g_later], groups[g_earlier]
        more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
        where = (
            "this group"
            if g_later == g_earlier
            else f"group {there.template!r} at {there.location}"
        )
        problems.append(
            Problem(
                here.locations.get("name", here.location),
                here.template,
                f"duplicate server name {names[0]!r}{more}: already used by {where} "
                "(names must be unique: they are how apply finds existing servers)",
            )
        )
    return problems


# ----------------------------------------------------------------- top level


def _compose(r: _Reader, data: bytes) -> Node | None:
    try:
        return yaml.compose(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(r.file, mark.line + 1, mark.column + 1) if mark else None
        context = f"{exc.context}: " if exc.context else ""
        r.problem(where, f"YAML syntax error: {context}{exc.problem}")
    except yaml.reader.ReaderError as exc:
        line = data[: exc.position].count(b"\n") + 1
        r.problem(Location(r.file, line, 1), f"not a YAML text file: {exc.reason}")
    except yaml.YAMLError as exc:
        r.problem(None, f"YAML error: {exc}")
    except RecursionError:
        r.problem(None, "the YAML is nested too deeply")
    return None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while expanding.

    Expansion allocates ~3 tracked objects per server and frees none, so the collector
    would walk the growing heap again and again for nothing: measured, it was a third
    of the load time at 100,000 servers. The objects made here hold no cycles, so
    nothing is left for it to find afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _empty(path: str, name: str) -> Manifest:
    return Manifest(path=path, name=name, cloud=None, microversion="auto", limits=Limits(),
                    servers=(), groups=())  # fmt: skip


def _read_limits(r: _Reader, node: Node) -> Limits:
    if not isinstance(node, MappingNode):
        r.problem(node, f"limits: expected a mapping, got {_kind(node)}")
        return Limits()
    known = [f.name for f in dataclasses.fields(Limits)]
    pairs = _pairs(r, node, "limits")
    values: dict[str, int] = {}
    for key, (key_node, value_node) in pairs.items():
        if key in FIXED_LIMITS:
            r.problem(key_node, f"limits.{key} cannot be raised: it is fixed by Nova's API "
                      f"({FIXED_LIMITS[key]} on every cloud; not a quota)")  # fmt: skip
        elif key not in known:
            hint = _suggest(key, known)
            r.problem(key_node, f"unknown key {key!r} in limits{hint}" + ("" if hint else
                      f" (the quotas a manifest may raise: {', '.join(known)})"))  # fmt: skip
        else:
            value = _integer(r, value_node, f"limits.{key}")
            if isinstance(value, int) and value < 0:
                r.problem(value_node, f"limits.{key}: must be 0 or more, got {value}")
            elif isinstance(value, int):
                values[key] = value
    return Limits(**values)


def read_manifest(path: str | os.PathLike[str]) -> tuple[Manifest, tuple[Problem, ...]]:
    """Read and expand a manifest; return it with every problem found, in file order.

    With problems, the manifest holds the groups that could be read in full, so rule
    checks can still run on them. Never raises for bad input.
    """
    file = os.fspath(path)
    r = _Reader(file, Path(file).parent)
    stem = Path(file).stem
    data = _read_regular(Path(file), MAX_MANIFEST_BYTES)
    if isinstance(data, str):
        return _empty(file, stem), (Problem(None, file, f"cannot read the manifest: {data}"),)
    root = _compose(r, data)
    if root is None:
        if not r.problems:
            r.problem(Location(file, 1, 1), "the manifest is empty: expected a mapping "
                      "with 'servers' (a list of groups)")  # fmt: skip
        return _empty(file, stem), tuple(r.problems)
    try:
        with _gc_paused():
            manifest = _read_root(r, root, file, stem)
    except RecursionError:
        r.subject = "manifest"
        r.problem(None, "the YAML is nested too deeply")
        manifest = _empty(file, stem)
    unique: dict[tuple[Location | None, str], Problem] = {}
    for problem in r.problems:
        unique.setdefault((problem.location, problem.message), problem)
    return manifest, tuple(sort_problems(unique.values()))


def _read_root(r: _Reader, root: Node, file: str, stem: str) -> Manifest:
    if not isinstance(root, MappingNode):
        r.problem(root, f"the manifest must be a mapping with 'servers', got {_kind(root)}")
        return _empty(file, stem)
    top = _pairs(r, root, "manifest")
    _known_keys(r, top, TOP_LEVEL_KEYS, "the manifest")

    fleet = stem
    if "name" in top:
        text = _text(r, top["name"][1], "name")
        fleet = text if isinstance(text, str) else stem
    if not 1 <= len(fleet) <= 255:
        r.problem(top["name"][1] if "name" in top else Location(file, 1, 1),
                  f"name: the fleet name must be 1 to 255 characters, got {len(fleet)} "
                  "(it is the value of the bulkboot:fleet metadata mark)")  # fmt: skip
    elif not fleet.isprintable():
        # Nova would take it, but the fleet name is shown in every summary and report.
        r.problem(top["name"][1] if "name" in top else Location(file, 1, 1),
                  f"name: the fleet name {fleet!r} holds a control or "
                  "invisible character")  # fmt: skip
    cloud: str | None = None
    if "cloud" in top and not (top["cloud"][1].tag == _NULL):
        text = _text(r, top["cloud"][1], "cloud")
        cloud = text if isinstance(text, str) else None
    version = "auto"
    if "microversion" in top:
        node = top["microversion"][1]
        text = _text(r, node, "microversion")
        if isinstance(text, str):
            try:
                mv.offline(text)
                version = text.strip().lower() if text.strip().lower() == "auto" else text
            except ValueError as exc:
                r.problem(node, f"microversion: {exc}")
    limits = _read_limits(r, top["limits"][1]) if "limits" in top else Limits()
    defaults = _read_defaults(r, top["defaults"][1]) if "defaults" in top else {}

    r.subject = "manifest"
    plans: list[_Plan] = []
    if "servers" not in top:
        r.problem(root, "'servers' is missing: list the groups of servers to boot")
    else:
        node = top["servers"][1]
        if not isinstance(node, SequenceNode) or not node.value:
            what = "an empty list" if isinstance(node, SequenceNode) else _kind(node)
            r.problem(node, f"servers: expected a list of groups, got {what}")
        else:
            total = 0
            for number, group_node in enumerate(node.value, 1):
                plan = _read_group(r, group_node, number, defaults)
                if plan is not None:
                    total += plan.count
                    if total > MAX_SERVERS:
                        r.problem(plan.location, f"the manifest expands to more than "
                                  f"{MAX_SERVERS:,} servers")  # fmt: skip
                        break
                    plans.append(plan)

    servers: list[ServerSpec] = []
    groups = [_expand(r, plan, fleet, servers) for plan in plans]
    r.problems.extend(_duplicates(servers, groups))
    return Manifest(
        path=file,
        name=fleet,
        cloud=cloud,
        microversion=version,
        limits=limits,
        servers=tuple(servers),
        groups=tuple(groups),
    )


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and expand a manifest; raise ``ManifestError`` listing every problem."""
    manifest, problems = read_manifest(path)
    if problems:
        raise ManifestError(sort_problems(problems))
    return manifest


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File order (line, column); problems without a place first."""
    return sorted(
        problems,
        key=lambda p: (
            (0, "", 0, 0)
            if p.location is None
            else (1, p.location.file, p.location.line, p.location.column)
        ),
    )
