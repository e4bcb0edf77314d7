"""How big a group will be once expanded, known before it is expanded.

Why: a manifest is small and its expansion is not. 28 KB of YAML (100,000 servers,
127 templated values each) asked for more than 3 GB; a 5 KB one took 1 GB to say that
one templated value was too long, because every server was rendered before any was
checked. Here, from a group as read (its templates, ``start`` and ``count``):

- ``longest`` renders a template at the few indexes where a rendering can be longest
  (the ends of the range, and every place where a number gains a digit in base 2, 8,
  10 or 16), so a value that some server would get too long is reported once, at its
  line, without rendering the others; the field is then left out of the expansion. For
  the usual formats (``{index}``, ``{index:03d}``, ``{index:x}``, ``{name}``) this is
  exact; for a rare one (``{index:g}``) a longer rendering may hide between, and the
  per-server check after expansion still finds it.
- ``leaves`` counts the values each server gets a copy of (a templated mapping is
  copied whole per server), so the manifest's total can be bounded (``MAX_RENDERED``,
  ``MAX_RENDERED_BYTES``) before the memory is spent.

Pure: no I/O (problems go to the manifest's ``Reader``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Final

from yaml.nodes import Node

from bulkboot.pipeline.convert import RawNic, RawValue
from bulkboot.pipeline.template import Template
from bulkboot.pipeline.yaml_nodes import Reader

__all__ = [
    "MAX_NAME",
    "MAX_RENDERED",
    "MAX_RENDERED_BYTES",
    "GroupSize",
    "candidates",
    "leaves",
    "limit_of",
    "longest",
    "measure",
    "over_budget",
    "templates",
]

# Values rendered for the servers of one manifest (servers x values each server gets
# its own copy of): 1,000,000 servers with four templated values fit; 100,000 with 127
# templated metadata items (12.8 million, 1.4 GB to validate) do not.
MAX_RENDERED: Final = 5_000_000
# Characters of templated text rendered in all (the longest rendering of each).
MAX_RENDERED_BYTES: Final = 256 * 1024 * 1024

MAX_NAME: Final = 255  # Nova's server name (and every string bulkboot sends but these:)
_LIMITS: Final = {"tags": 60, "tag": 60}  # a tag (server, nic, block device): 60
# Fields without one length limit in Nova's schema: local file paths, free-form
# scheduler hints, legacy block device strings, certificate IDs.
_UNBOUNDED: Final = frozenset(
    {
        "user_data",
        "files",
        "scheduler_hints",
        "block_device_mapping",
        "trusted_image_certificates",
    }
)


def limit_of(path: str) -> int | None:
    """The longest a value at ``path`` (``metadata.role``, ``networks.0.tag``) may be;
    None where there is no one limit."""
    parts = path.split(".")
    if parts[0] in _UNBOUNDED:
        return None
    for part in reversed(parts):
        if part in _LIMITS:
            return _LIMITS[part]
    return MAX_NAME


def candidates(start: int, count: int) -> list[int]:
    """The indexes of ``range(start, start + count)`` where a rendering can be longest."""
    if count <= 0:
        return []
    last = start + count - 1
    found = {start, last}
    reach = max(abs(start), abs(last))
    for base in (2, 8, 10, 16):
        power = 1
        while power <= reach * base:
            for value in (power - 1, power, -power, 1 - power):
                if start <= value <= last:
                    found.add(value)
            power *= base
    return sorted(found)


def longest(template: Template, name: str | Template, indexes: list[int]) -> tuple[int, int, str]:
    """The longest rendering over ``indexes``: (its length, its index, the server name).

    ``name`` is the group's name template (or its one name): ``{name}`` renders as the
    server's name at the same index.
    """
    best = (-1, 0, "")
    for index in indexes:
        server = name if isinstance(name, str) else name.render(index, "")
        length = len(template.render(index, server))
        if length > best[0]:
            best = (length, index, server)
    return best


def templates(raw: RawValue, path: str) -> Iterator[tuple[str, Template]]:
    """Every template inside a raw value, with its path (``metadata.role``)."""
    if isinstance(raw, Template):
        yield path, raw
    elif isinstance(raw, dict):
        for key, value in raw.items():
            yield from templates(value, f"{path}.{key}")
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from templates(value, f"{path}.{i}")
    elif isinstance(raw, RawNic):
        yield from templates(raw.values, path)


def leaves(raw: RawValue) -> int:
    """How many values a server gets its own copy of when ``raw`` is rendered for it."""
    if isinstance(raw, dict):
        return sum(leaves(value) for value in raw.values()) or 1
    if isinstance(raw, list):
        return sum(leaves(value) for value in raw) or 1
    if isinstance(raw, RawNic):
        return leaves(raw.values)
    return 1


# ----------------------------------------------------------------- one group, read


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSize:
    """What one server of a group costs once expanded, and the fields left out."""

    values: int  # values each server gets its own copy of (its name included)
    chars: int  # characters of templated text rendered for each server, at most
    too_long: frozenset[str]  # fields with a rendering over their limit (reported)


def measure(
    reader: Reader,
    *,
    name: str | Template,
    name_at: Node | None,
    start: int,
    count: int,
    raws: Mapping[str, RawValue],
    from_defaults: Set[str],
) -> GroupSize | None:
    """Check every templated value of a group against its limit before it is expanded
    (each problem once, at its value's line), and size the expansion. None when the
    name itself would be too long: the group cannot be expanded at all."""
    indexes = candidates(start, count)
    chars = 0
    values = 1
    if isinstance(name, Template):
        length, index, server = longest(name, name, indexes)
        if length > MAX_NAME:
            reader.problem(
                name_at,
                f"name: renders up to {length} characters ({server[:40]}... at index "
                f"{index}), more than the {MAX_NAME} Nova takes",
            )
            return None
        chars += length
    too_long: set[str] = set()
    subject = reader.subject
    for key, raw in raws.items():
        field_chars = 0
        for path, template in templates(raw, key):
            length, index, server = longest(template, name, indexes)
            field_chars += length
            limit = limit_of(path)
            if limit is None or length <= limit or key in too_long:
                continue
            too_long.add(key)
            reader.subject = f"defaults (for {subject})" if key in from_defaults else subject
            reader.problem(
                reader.locations.get(path) or reader.locations.get(key),
                f"{path}: renders up to {length} characters (for {server} at index {index}), "
                f"more than the {limit} Nova takes",
            )
            reader.subject = subject
        if key not in too_long:  # a field left out is not rendered
            values += leaves(raw)
            chars += field_chars
    return GroupSize(values=values, chars=chars, too_long=frozenset(too_long))


def over_budget(values: int, chars: int, *, count: int, size: GroupSize) -> str | None:
    """Why a manifest that renders ``values`` values of ``chars`` characters in all is
    too big, naming the group that took it over (``count`` servers of ``size``); None
    when it is not too big."""
    group = f"this group: {count:,} servers x {size.values} values each"
    if values > MAX_RENDERED:
        return (
            f"the manifest would render {values:,} values, more than the {MAX_RENDERED:,} "
            f"bulkboot takes ({group}: the name, and every value of a field that holds a "
            "template, copied per server): template fewer values, or split the fleet"
        )
    if chars > MAX_RENDERED_BYTES:
        return (
            f"the manifest's templates would render up to {chars:,} characters, more than "
            f"the {MAX_RENDERED_BYTES:,} bulkboot takes ({group}, up to {size.chars:,} "
            "characters each): shorten them, or split the fleet"
        )
    return None
