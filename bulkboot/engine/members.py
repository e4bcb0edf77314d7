"""A multi-create's members: the names Nova gives them, and how many a group should have.

Why one place: ``apply`` creates a group's missing members again and ``status`` shows
them missing; the two must agree on which members are missing. Nova may make fewer
than ``max_count`` (as many as the quota allows, ``min_count`` at least), so a member
is missing only below ``min_count`` or when it is known to exist or to have existed
since the group was last sent: listed now, or in the journal after the group's last
``sent`` line (an older generation of the group, destroyed since, does not count).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bulkboot.engine.journal import JournalEntry
from bulkboot.pipeline.spec import ServerSpec

__all__ = ["member_index", "member_pattern", "members_expected"]


def member_pattern(spec: ServerSpec) -> re.Pattern[str]:
    """Nova names the servers of a multi-create ``<name>-1``, ``<name>-2`` ... (never
    ``-0`` nor a leading zero: ``pool-02`` is some other server)."""
    return re.compile(re.escape(spec.name) + r"-([1-9][0-9]*)")


def member_index(spec: ServerSpec, pattern: re.Pattern[str], name: str) -> int | None:
    """The member number of ``name`` in the group, or None when it is not a member."""
    match = pattern.fullmatch(name)
    if match is None:
        return None
    index = int(match.group(1))
    return index if index <= spec.instance_count else None


def members_expected(
    spec: ServerSpec,
    pattern: re.Pattern[str],
    present: Iterable[str],
    journal: Mapping[str, JournalEntry],
) -> int:
    """How many members a group that has some should have (see the module docstring)."""
    top = spec.min_count or 1
    for name in present:
        index = member_index(spec, pattern, name)
        if index is not None:
            top = max(top, index)
    group = journal.get(spec.name)
    since = group.last_sent_line if group is not None else -1
    for name, entry in journal.items():
        if entry.last_line > since:
            index = member_index(spec, pattern, name)
            if index is not None:
                top = max(top, index)
    return min(top, spec.instance_count)
