"""``defaults``, read once for all groups, and a group's fields laid over them.

Why apart from the manifest's reader: the defaults are read once (their problems
reported once, as "defaults"), and each group starts from them by rules of its own
(mappings merged key by key, fields that name the same thing dropping each other,
values already read shared rather than read again per group).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode

from bulkboot.pipeline.convert import BAD, Bad, RawValue
from bulkboot.pipeline.fields import EXCLUSIVE, FIELDS, GROUP_KEYS, ONE_OF, ONE_OF_MESSAGE
from bulkboot.pipeline.spec import Location
from bulkboot.pipeline.yaml_nodes import TAG_NULL, Reader, kind, pairs, suggest

__all__ = ["Defaults", "Pairs", "merged", "raw_values", "read_defaults", "unusable"]

Pairs = dict[str, tuple[Node, Node]]


@dataclass(slots=True)
class Defaults:
    """``defaults``, read once for all groups.

    Per field: its key and value nodes, its raw value (``BAD`` if it had a problem,
    reported once, as "defaults"), the locations it recorded, and (for fields without
    templates, once a group has needed it) its finished ServerSpec value.
    """

    pairs: Pairs = field(default_factory=dict)
    raws: dict[str, RawValue | Bad] = field(default_factory=dict)
    locations: dict[str, dict[str, Location]] = field(default_factory=dict)
    finished: dict[str, object] = field(default_factory=dict)
    # Fields a misspelt key stood for (`flavour:` -> flavor): reported once, as an
    # unknown key of defaults, and not again as missing from every group.
    misspelt: set[str] = field(default_factory=set)
    span: tuple[Location, Location] | None = None


def read_defaults(reader: Reader, node: Node) -> Defaults:
    reader.subject = "defaults"
    defaults = Defaults()
    end = node.end_mark
    defaults.span = (reader.loc(node), Location(reader.file, end.line + 1, end.column + 1))
    if not isinstance(node, MappingNode):
        if not (isinstance(node, ScalarNode) and node.tag == TAG_NULL):
            reader.problem(node, f"defaults: expected a mapping of server fields, got {kind(node)}")
        return defaults
    found = pairs(reader, node, "defaults")
    for key, (key_node, _) in list(found.items()):
        if key in GROUP_KEYS:
            reader.problem(key_node, f"{key!r} belongs in a group under 'servers', not in defaults")
            del found[key]
        elif key not in FIELDS:
            reader.problem(key_node, f"unknown key {key!r} in defaults{suggest(key, FIELDS)}")
            defaults.misspelt.update(difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.6))
            del found[key]
    if all(key in found for key in ONE_OF):
        later = max((found[key][0] for key in ONE_OF), key=lambda n: n.start_mark.index)
        reader.problem(later, ONE_OF_MESSAGE)
    # Read once here: problems in defaults are reported once, as "defaults", and every
    # group that keeps a default shares its value.
    for key, (_, value_node) in found.items():
        reader.locations = {}
        mark = len(reader.problems)
        raw = FIELDS[key].convert(reader, value_node, key)
        defaults.raws[key] = BAD if unusable(raw, len(reader.problems) > mark) else raw
        defaults.locations[key] = reader.locations
    reader.locations = {}
    defaults.pairs = found
    return defaults


def merged(reader: Reader, found: Pairs, defaults: Defaults, broken: set[str]) -> Pairs:
    """The group's fields over ``defaults``: mappings merged, exclusive fields dropped."""
    given = defaults.pairs
    merged: Pairs = dict(given)
    for key, pair in found.items():
        if key not in FIELDS:
            continue
        for family in EXCLUSIVE:
            if key in family:
                for other in family - {key}:
                    if other in given and merged.get(other) is given[other]:
                        del merged[other]
        if key in merged:
            pair = (pair[0], _merge(merged[key][1], pair[1]))
        merged[key] = pair

    both = [key for key in ONE_OF if key in merged]
    if len(both) > 1:
        # Both written in this group (or both in defaults, reported there, once).
        if any(merged[key] is not given.get(key) for key in both):
            later = max((merged[key][0] for key in both), key=lambda n: n.start_mark.index)
            reader.problem(later, ONE_OF_MESSAGE)
        for key in both:
            del merged[key]
            broken.add(key)
    return merged


def _merge(base: Node, over: Node) -> Node:
    """Mappings merge key by key (recursively); anything else: ``over`` replaces."""
    if not (isinstance(base, MappingNode) and isinstance(over, MappingNode)):
        return over
    merged: Pairs = {}
    for key_node, value_node in (*base.value, *over.value):
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else repr(key_node)
        if key in merged:
            merged[key] = (key_node, _merge(merged[key][1], value_node))
        else:
            merged[key] = (key_node, value_node)
    return MappingNode(over.tag, list(merged.values()), over.start_mark, over.end_mark)


def raw_values(
    reader: Reader, merged: Pairs, defaults: Defaults, broken: set[str]
) -> tuple[dict[str, RawValue], set[str]]:
    """Each field's raw value (defaults' read once), and which came from ``defaults``."""
    given = defaults.pairs
    raws: dict[str, RawValue] = {}
    from_defaults: set[str] = set()
    for key, (_, value_node) in merged.items():
        mark = len(reader.problems)
        raw: RawValue | Bad
        if key in given and merged[key] is given[key]:
            raw = defaults.raws[key]  # its problems were reported once, at the defaults
            reader.locations.update(defaults.locations[key])
            from_defaults.add(key)
        else:
            raw = FIELDS[key].convert(reader, value_node, key)
        if isinstance(raw, Bad) or unusable(raw, len(reader.problems) > mark):
            broken.add(key)  # a value with a problem is left out, not guessed at
        else:
            raws[key] = raw
    return raws, from_defaults


def unusable(raw: RawValue | Bad, had_problems: bool) -> bool:
    """Whether a field is left out: a bad value, or a collection whose every item was bad.

    A collection that lost only some items (each reported) keeps the others, so their
    rules are checked too: one bad nic does not hide its siblings' problems.
    """
    if isinstance(raw, Bad):
        return True
    return had_problems and (raw is None or raw == "" or raw == [] or raw == {})
