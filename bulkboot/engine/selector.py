"""``--only GROUP[,GROUP]``: part of a fleet, for ``apply``, ``plan``, ``status``, ``destroy``.

A word names a group as the manifest writes it (its ``name:``, ``web-{index:02d}``), or
that name's fixed start (``web``: the text before the first ``{``, without a trailing
``-``, ``_`` or ``.``), or one server (``web-03``, a multi-create's member ``pool-2``).
A word that names nothing is an error that lists the groups, before anything is sent:
a typo must never widen or empty the selection silently.

What a selection covers, beyond the manifest's servers it picks: the fleet's servers
whose names a picked group would give (``web-07`` after ``count`` went from 8 to 5),
so that ``destroy --only web`` deletes the group's servers the manifest no longer
names too, and ``apply --only web --prune`` prunes within the group only. A server
the selection does not cover is never touched (nor reported as drift).

Pure: the manifest and the words in, a ``Selection`` out.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from bulkboot.engine.members import member_index, member_spec
from bulkboot.errors import UsageError
from bulkboot.pipeline.spec import Manifest, ServerSpec

__all__ = ["Selection", "parse_only", "select"]

_STEM_END = "-_. "


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The servers ``--only`` picked: the manifest's requests (a member picked alone is a
    request of its own) and the names its groups may give."""

    words: tuple[str, ...]
    specs: tuple[ServerSpec, ...]
    names: frozenset[str]  # the servers picked by name
    patterns: tuple[re.Pattern[str], ...]  # the names a picked group gives

    def covers(self, name: str) -> bool:
        """Is a server of this name in the selection (picked, or its group's)?"""
        return name in self.names or any(p.fullmatch(name) for p in self.patterns)

    def manifest(self, manifest: Manifest) -> Manifest:
        """The manifest cut down to what was picked (its groups' details dropped: they
        index the whole manifest's servers)."""
        return dataclasses.replace(manifest, servers=self.specs, groups=())


def parse_only(text: str | None) -> tuple[str, ...]:
    """``--only`` as written (``web,db``, repeatable) -> its words, in order, once each."""
    if text is None:
        return ()
    return tuple(dict.fromkeys(w.strip() for w in text.split(",") if w.strip()))


def select(manifest: Manifest, words: Sequence[str]) -> Selection:
    """The selection ``words`` make in ``manifest``; ``UsageError`` for a word that names
    no group and no server (see the module docstring)."""
    by_group: dict[str, list[ServerSpec]] = {}
    for spec in manifest.servers:
        by_group.setdefault(spec.group, []).append(spec)
    stems: dict[str, list[str]] = {}
    for group in by_group:
        stem = _stem(group)
        if stem and stem != group:
            stems.setdefault(stem, []).append(group)
    servers = {spec.name: spec for spec in manifest.servers}
    picked: dict[str, ServerSpec] = {}
    groups: list[str] = []
    names: set[str] = set()
    unknown: list[str] = []
    for word in words:
        hit = False
        for group in ([word] if word in by_group else []) + stems.get(word, []):
            hit = True
            groups.append(group)
            for spec in by_group[group]:
                picked.setdefault(spec.name, spec)
        if word in servers:
            hit = True
            picked.setdefault(word, servers[word])
            names.add(word)
        else:
            for spec in manifest.servers:
                if spec.instance_count > 1 and member_index(spec, word) is not None:
                    hit = True
                    picked.setdefault(word, member_spec(spec, word))
                    names.add(word)
                    break
        if not hit:
            unknown.append(word)
    if unknown:
        raise UsageError(_unknown(unknown, by_group))
    order = {spec.name: i for i, spec in enumerate(manifest.servers)}
    specs = sorted(picked.values(), key=lambda s: order.get(s.name, order.get(_request(s), 0)))
    patterns = tuple(_pattern(group, by_group[group]) for group in dict.fromkeys(groups))
    return Selection(
        words=tuple(words), specs=tuple(specs), names=frozenset(names), patterns=patterns
    )


def _request(spec: ServerSpec) -> str:
    """A member picked alone sorts with its request (``pool-2`` with ``pool``)."""
    return spec.name.rpartition("-")[0]


def _stem(template: str) -> str:
    """The fixed start of a group's name: ``web`` for ``web-{index:02d}``."""
    literal = template.split("{", 1)[0]
    return literal.rstrip(_STEM_END)


def _pattern(group: str, specs: Sequence[ServerSpec]) -> re.Pattern[str]:
    """Every name the group gives, at any count: its template with ``{index}`` as digits
    (a multi-create: its name, and its members ``name-N``)."""
    parts: list[str] = []
    try:
        for literal, field, _, _ in string.Formatter().parse(group):
            parts.append(re.escape(literal))
            if field is not None:
                parts.append(r"-?[0-9]+" if field == "index" else r".+?")
    except ValueError:  # not a template str.format reads: the name as written
        parts = [re.escape(group)]
    pattern = "".join(parts)
    if any(spec.instance_count > 1 for spec in specs):
        pattern = f"{pattern}(?:-[1-9][0-9]*)?"
    return re.compile(pattern)


def _unknown(words: Sequence[str], by_group: dict[str, list[ServerSpec]]) -> str:
    shown = ", ".join(
        f"{group} ({_stem(group)})" if _stem(group) and _stem(group) != group else group
        for group in by_group
    )
    which = ", ".join(repr(w) for w in words)
    return (
        f"--only: {which} names no group and no server of the manifest; its groups are: "
        f"{shown} (a group by its name as written or its start, or one server by its name)"
    )
