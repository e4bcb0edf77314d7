"""The fleet-wide name rule: every server name unique, Nova's multi-create suffixes counted.

A validation rule over the expanded servers rather than a per-field check: it needs
every group at once. Names are how ``apply`` finds existing servers, so two requests
that would make servers of one name are refused before anything is sent. The member
rule (``<name>-N``, N within the request's count) is ``bulkboot.identity``'s, the one
apply, status and destroy use.
"""

from __future__ import annotations

from collections.abc import Sequence

from bulkboot.identity import member_number
from bulkboot.pipeline.spec import Group, Problem, ServerSpec

__all__ = ["duplicate_names"]


def duplicate_names(servers: Sequence[ServerSpec], groups: Sequence[Group]) -> list[Problem]:
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
    return _problems(clashes, groups)


def _problems(clashes: dict[tuple[int, int], list[str]], groups: Sequence[Group]) -> list[Problem]:
    """One problem per pair of groups, at the later group's name."""
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
