"""YAML node -> raw value: the type checks of every kind of manifest value.

A converter takes the node of one value and the path it is written at (``flavor``,
``networks.0.net-name``), records the value's position under that path, and returns
the *raw* value: strings are literal or compiled ``Template`` objects, to be rendered
per server only where a template is used. A value with a problem is reported at its
node and comes back as ``BAD``: the field is left out, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulkboot.pipeline.spec import Location
from bulkboot.pipeline.template import Template, TemplateError, compile_template
from bulkboot.pipeline.yaml_nodes import (
    CONSTRUCTOR,
    TAG_BOOL,
    TAG_FLOAT,
    TAG_INT,
    TAG_NULL,
    TAG_STR,
    TAG_TIMESTAMP,
    Reader,
    kind,
    known_keys,
    pairs,
    suggest,
)

__all__ = [
    "BAD",
    "BDM_KEYS",
    "EPHEMERAL_KEYS",
    "NIC_KEYS",
    "Bad",
    "Converter",
    "RawNic",
    "RawValue",
    "block_devices",
    "boolean",
    "certificates",
    "config_drive",
    "ephemeral",
    "hints",
    "integer",
    "literal",
    "names",
    "networks",
    "secret",
    "string",
    "string_map",
    "text",
]

# `nova boot --block-device` keys (novaclient's CLIENT_BDM2_KEYS) and `--nic` keys.
BDM_KEYS: Final = (
    "source",
    "id",
    "dest",
    "bus",
    "device",
    "size",
    "format",
    "bootindex",
    "type",
    "shutdown",
    "tag",
    "volume_type",
)
EPHEMERAL_KEYS: Final = ("size", "format")
NIC_KEYS: Final = ("net-id", "net-name", "port-id", "v4-fixed-ip", "v6-fixed-ip", "tag")


class Bad:
    """Marks a value that had a problem (already reported); the field is left out."""

    __slots__ = ()


BAD: Final = Bad()


@dataclass(slots=True)
class RawNic:
    """One ``--nic``, its keys as written, with the place of its entry."""

    values: dict[str, RawValue]
    location: Location


RawValue: TypeAlias = (
    "str | Template | int | bool | None | list[RawValue] | dict[str, RawValue] | RawNic"
)
"""A field's value as read: templates not yet rendered, files not yet read."""

Converter: TypeAlias = Callable[[Reader, Node, str], "RawValue | Bad"]


# ----------------------------------------------------------------- scalars


def text(reader: Reader, node: Node, path: str, *, ids: bool = True) -> str | Bad:
    """A string; YAML numbers are taken as written (``flavor: 2`` is "2")."""
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode):
        if node.tag == TAG_STR or (ids and node.tag in (TAG_INT, TAG_FLOAT, TAG_TIMESTAMP)):
            return str(node.value)
        if node.tag == TAG_BOOL:
            reader.problem(
                node,
                f"{path}: expected a string, got the boolean {node.value!r}: "
                f"quote it ('{node.value}') if you mean the word",
            )
            return BAD
    reader.problem(node, f"{path}: expected a string, got {kind(node)}")
    return BAD


def string(reader: Reader, node: Node, path: str) -> str | Template | Bad:
    """A string that may use ``{index}`` and ``{name}``."""
    written = text(reader, node, path)
    if isinstance(written, Bad):
        return written
    try:
        return compile_template(written)
    except TemplateError as exc:
        reader.problem(node, f"{path}: {exc}")
        return BAD


def literal(reader: Reader, node: Node, path: str) -> str | Bad:
    """A string taken as it is, braces included (``user_data_text``)."""
    return text(reader, node, path, ids=False)


def secret(reader: Reader, node: Node, path: str) -> str | Bad:
    """A password: taken as written (braces included), never echoed in a message."""
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode) and node.tag in (TAG_STR, TAG_INT, TAG_FLOAT):
        return str(node.value)
    reader.problem(node, f"{path}: expected a string, got {kind(node)} (quote it)")
    return BAD


def integer(reader: Reader, node: Node, path: str) -> int | Bad:
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode) and node.tag == TAG_INT:
        try:
            return int(CONSTRUCTOR.construct_yaml_int(node))
        except (ValueError, ConstructorError):
            pass
    shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
    reader.problem(node, f"{path}: expected an integer, got {kind(node)}{shown}")
    return BAD


def boolean(reader: Reader, node: Node, path: str) -> bool | Bad:
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode) and node.tag == TAG_BOOL:
        return bool(CONSTRUCTOR.construct_yaml_bool(node))
    reader.problem(node, f"{path}: expected true or false, got {kind(node)}")
    return BAD


def config_drive(reader: Reader, node: Node, path: str) -> bool | None | Bad:
    """As ``nova boot --config-drive``: true/1 -> True, false/0/""/none -> not sent."""
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode):
        if node.tag == TAG_BOOL:
            return True if CONSTRUCTOR.construct_yaml_bool(node) else None
        word = str(node.value).lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0", "", "none", "null", "~"):
            return None
    shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
    reader.problem(node, f"{path}: must be a boolean (true or false), got {kind(node)}{shown}")
    return BAD


# ----------------------------------------------------------------- collections


def mapping_of(
    reader: Reader, node: Node, path: str, value: Converter
) -> dict[str, RawValue] | Bad:
    reader.locations[path] = reader.loc(node)
    if not isinstance(node, MappingNode):
        reader.problem(node, f"{path}: expected a mapping, got {kind(node)}")
        return BAD
    out: dict[str, RawValue] = {}
    for key, (_key_node, value_node) in pairs(reader, node, path).items():
        converted = value(reader, value_node, f"{path}.{key}")
        if not isinstance(converted, Bad):
            out[key] = converted
    return out


def string_map(reader: Reader, node: Node, path: str) -> dict[str, RawValue] | Bad:
    return mapping_of(reader, node, path, string)


def _hint_value(reader: Reader, node: Node, path: str) -> RawValue | Bad:
    if isinstance(node, SequenceNode):
        return list_of(reader, node, path, string)
    return string(reader, node, path)


def hints(reader: Reader, node: Node, path: str) -> dict[str, RawValue] | Bad:
    return mapping_of(reader, node, path, _hint_value)


def list_of(reader: Reader, node: Node, path: str, item: Converter) -> list[RawValue] | Bad:
    reader.locations[path] = reader.loc(node)
    if not isinstance(node, SequenceNode):
        reader.problem(node, f"{path}: expected a list, got {kind(node)}")
        return BAD
    out: list[RawValue] = []
    kept: list[int] = []
    for i, child in enumerate(node.value):
        converted = item(reader, child, f"{path}.{i}")
        if not isinstance(converted, Bad):
            out.append(converted)
            kept.append(i)
    if len(kept) < len(node.value):
        _renumber(reader, path, kept)
    return out


def _renumber(reader: Reader, path: str, kept: Sequence[int]) -> None:
    """Re-key a list's item locations after bad items were dropped (``path.2`` -> ``path.1``).

    Rules address items by their index in the kept list; only a list that lost items
    pays for this.
    """
    new_index = {str(old): str(new) for new, old in enumerate(kept)}
    prefix = path + "."
    moved: dict[str, Location] = {}
    for key in [k for k in reader.locations if k.startswith(prefix)]:
        location = reader.locations.pop(key)
        index, dot, rest = key[len(prefix) :].partition(".")
        if index in new_index:
            moved[f"{prefix}{new_index[index]}{dot}{rest}"] = location
    reader.locations.update(moved)


def names(reader: Reader, node: Node, path: str) -> list[RawValue] | Bad:
    """A list of strings, or one comma-separated string as ``nova boot`` takes it."""
    if isinstance(node, ScalarNode) and node.tag == TAG_STR:
        reader.locations[path] = reader.loc(node)
        parts: list[RawValue] = []
        for part in str(node.value).split(","):
            try:
                parts.append(compile_template(part))
            except TemplateError as exc:
                reader.problem(node, f"{path}: {exc}")
        return parts
    return list_of(reader, node, path, string)


def certificates(reader: Reader, node: Node, path: str) -> list[RawValue] | Bad:
    if isinstance(node, ScalarNode) and node.tag != TAG_NULL:
        one = string(reader, node, path)
        return BAD if isinstance(one, Bad) else [one]
    return list_of(reader, node, path, string)


# ----------------------------------------------------------------- devices and nics


def _device_spec(
    reader: Reader, node: Node, path: str, known: Sequence[str], what: str
) -> dict[str, RawValue] | Bad:
    """One ``--block-device``/``--ephemeral``/``--nic`` as a mapping or "k=v,k=v" text."""
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode) and node.tag == TAG_STR:
        out: dict[str, RawValue] = {}
        for part in str(node.value).split(","):
            key, sep, value = part.partition("=")
            if not sep:
                reader.problem(node, f"{path}: {part!r} is not a key=value pair")
                return BAD
            if key not in known:
                reader.problem(node, f"unknown key {key!r} in {what}{suggest(key, known)}")
                return BAD
            if key in out:
                reader.problem(node, f"{path}: {key!r} is given twice")
                return BAD
            reader.locations[f"{path}.{key}"] = reader.loc(node)
            try:
                out[key] = compile_template(value)
            except TemplateError as exc:
                reader.problem(node, f"{path}.{key}: {exc}")
                return BAD
        return out
    if not isinstance(node, MappingNode):
        reader.problem(node, f"{path}: expected a mapping, got {kind(node)}")
        return BAD
    mark = len(reader.problems)
    found = pairs(reader, node, path)
    known_keys(reader, found, known, what)
    converted: dict[str, RawValue] = {}
    for key, (_, value_node) in found.items():
        if key in known:
            item = string(reader, value_node, f"{path}.{key}")
            if not isinstance(item, Bad):
                converted[key] = item
    if len(reader.problems) > mark:
        # The item is left out whole (its siblings are kept): checking what is left of
        # it would only add misleading problems (`idd: x` -> "needs an 'id'").
        return BAD
    return converted


def _block_device(reader: Reader, node: Node, path: str) -> dict[str, RawValue] | Bad:
    return _device_spec(reader, node, path, BDM_KEYS, "a block device")


def _ephemeral_disk(reader: Reader, node: Node, path: str) -> dict[str, RawValue] | Bad:
    return _device_spec(reader, node, path, EPHEMERAL_KEYS, "an ephemeral disk")


def block_devices(reader: Reader, node: Node, path: str) -> list[RawValue] | Bad:
    return list_of(reader, node, path, _block_device)


def ephemeral(reader: Reader, node: Node, path: str) -> list[RawValue] | Bad:
    return list_of(reader, node, path, _ephemeral_disk)


def networks(reader: Reader, node: Node, path: str) -> str | list[RawValue] | Bad:
    """The networks: "auto", "none", or a list of ``--nic`` mappings (or "k=v,..." texts)."""
    reader.locations[path] = reader.loc(node)
    if isinstance(node, ScalarNode) and node.tag == TAG_STR and node.value in ("auto", "none"):
        return str(node.value)
    if not isinstance(node, SequenceNode):
        shown = f" {node.value!r}" if isinstance(node, ScalarNode) else ""
        reader.problem(
            node, f"{path}: expected 'auto', 'none' or a list of nics, got {kind(node)}{shown}"
        )
        return BAD
    nics: list[RawValue] = []
    kept: list[int] = []
    for i, child in enumerate(node.value):
        item_path = f"{path}.{i}"
        if isinstance(child, ScalarNode) and child.value in ("auto", "none"):
            reader.locations[item_path] = reader.loc(child)
            if len(node.value) == 1:
                return str(child.value)
            reader.problem(
                child, f"{item_path}: 'auto' or 'none' cannot be used with any other nic"
            )
            continue  # the other nics are still checked
        values = _device_spec(reader, child, item_path, NIC_KEYS, "a nic")
        if not isinstance(values, Bad):
            nics.append(RawNic(values, reader.loc(child)))
            kept.append(i)
    if len(kept) < len(node.value):
        _renumber(reader, path, kept)
    return nics
