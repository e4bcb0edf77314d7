"""A multi-create's members: the names Nova gives them, and how many a group should have.

Why one place: ``apply`` creates a group's missing members again and ``status`` shows
them missing; the two must agree on which members are missing. Nova may make fewer
than ``max_count`` (as many as the quota allows, ``min_count`` at least), so a member
is missing only below ``min_count`` or when it is known to exist or to have existed
since the group was last sent: listed now, or in the journal after the group's last
``sent`` line (an older generation of the group, destroyed since, does not count).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from bulkboot.engine.replay import JournalEntry
from bulkboot.identity import member_number
from bulkboot.pipeline.spec import ServerSpec

__all__ = ["member_index", "member_spec", "members_expected"]


def member_index(spec: ServerSpec, name: str) -> int | None:
    """The member number of ``name`` in the group, or None when it is not a member
    (the naming rule is ``identity.member_number``)."""
    return member_number(spec.name, name, spec.instance_count)


def member_spec(spec: ServerSpec, member: str) -> ServerSpec:
    """A member of the multi-create ``spec`` as a server of its own.

    Once it exists, a member is a server like any other: one that goes to ERROR (or
    that a destroy deleted) is created again on its own name, one server, not by
    sending the whole request again.
    """
    return dataclasses.replace(
        spec, name=member, min_count=None, max_count=None, return_reservation_id=False
    )


def members_expected(
    spec: ServerSpec,
    present: Iterable[str],
    journal: Mapping[str, JournalEntry],
) -> int:
    """How many members a group that has some should have (see the module docstring)."""
    top = spec.min_count or 1
    for name in present:
        index = member_index(spec, name)
        if index is not None:
            top = max(top, index)
    group = journal.get(spec.name)
    since = group.last_sent_line if group is not None else -1
    for name, entry in journal.items():
        if entry.last_line > since:
            index = member_index(spec, name)
            if index is not None:
                top = max(top, index)
    return min(top, spec.instance_count)
