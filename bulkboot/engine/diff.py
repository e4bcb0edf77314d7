"""The diff ``apply`` would make, as ``plan`` shows it and ``apply`` asks and sums it up.

``inventory.take_inventory`` builds one ``Diff`` from a listing (comparing each server
with ``changes``); ``plan`` prints it server by server with its summary line
(``Diff.summary_line``, as Terraform's ``3 to add, 2 to change, 4 to destroy``), and
``apply`` shows that line in its question and acts on it: ``Replacement`` per name to
replace (``--replace-changed``), the extra servers to delete (``--prune``). A name to
create that a server outside the fleet already has is ``name_taken``: such a server is
never adopted, and a second server of its name is created only when asked
(``--allow-duplicate-names``).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bulkboot.engine.changes import Change
from bulkboot.identity import FLEET_MARK_KEY, is_fleet_record, is_gone, is_leaving, member_name
from bulkboot.pipeline.spec import ServerSpec

__all__ = [
    "Diff",
    "Errored",
    "Extra",
    "Replacement",
    "changes_note",
    "drift_note",
    "foreign_by_name",
    "found_note",
    "names_taken",
    "possible_note",
    "server_names",
    "shown_names",
    "wall_time",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Extra:
    """A server of the fleet whose name the manifest no longer holds."""

    name: str
    server_id: str
    status: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Errored:
    """A server of the fleet in ERROR; ``retryable`` unless its fault is a quota's."""

    name: str
    server_id: str
    fault: str | None
    retryable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Replacement:
    """A name whose servers ``apply --replace-changed`` replaces.

    ``old``: the servers of the name to delete, as (id, status). ``settled``: a server
    at the planned spec already exists beside them (a replacement interrupted after its
    create): only their deletion is left, once that server is ACTIVE. ``delete_first``:
    the old ones go before the create (``--replace-order delete-first``, or a port or
    fixed IP that two servers cannot hold).
    """

    name: str
    group: str
    old: tuple[tuple[str, str], ...]
    delete_first: bool
    settled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """What ``apply`` would change, server by server: ``plan`` shows it, ``apply``'s
    question and summary count it.

    ``create``: names to create (a multi-create's members as Nova names them);
    ``replace``: servers that differ from the plan (replaced with ``--replace-changed``);
    ``extra``: servers the manifest no longer names (deleted with ``--prune``, else
    kept); ``errors``: servers in ERROR (``--retry-errors`` replaces them);
    ``name_taken``: names to create that a server outside the fleet already has.
    """

    create: tuple[str, ...] = ()
    replace: tuple[Change, ...] = ()
    extra: tuple[Extra, ...] = ()
    unchanged: tuple[str, ...] = ()
    errors: tuple[Errored, ...] = ()
    prune: bool = False
    name_taken: Mapping[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        """How many servers ``apply`` would create, replace or delete (``--prune``)."""
        return len(self.create) + len(self.replace) + (len(self.extra) if self.prune else 0)

    def summary_line(self) -> str:
        """``3 to create, 2 to replace, 4 to delete, 20 unchanged``, as Terraform's plan
        ends; servers kept that the manifest no longer names, and those in ERROR, after."""
        parts = [
            f"{len(self.create)} to create",
            f"{len(self.replace)} to replace",
            f"{len(self.extra) if self.prune else 0} to delete",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.extra and not self.prune:
            parts.append(f"{len(self.extra)} extra, kept (--prune deletes them)")
        if self.errors:
            retryable = sum(1 for e in self.errors if e.retryable)
            parts.append(f"{len(self.errors)} in ERROR ({retryable} --retry-errors would replace)")
        return ", ".join(parts)


def foreign_by_name(
    records: Iterable[Mapping[str, Any]], fleet: str
) -> dict[str, list[Mapping[str, Any]]]:
    """Alive servers that are not the fleet's (unmarked, or another fleet's), by name:
    never adopted, and a create of their name would make a second server of it."""
    foreign: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        name = record.get("name")
        if not isinstance(name, str) or is_fleet_record(record, fleet):
            continue
        if is_gone(record) or is_leaving(record):
            continue
        foreign.setdefault(name, []).append(record)
    return foreign


def names_taken(
    foreign: Mapping[str, list[Mapping[str, Any]]], names: Iterable[str]
) -> dict[str, str]:
    """Of ``names`` (to create), those a server outside the fleet carries: name -> which
    server (``ID (not marked as a fleet's)``, ``ID (fleet 'x''s)``)."""
    taken: dict[str, str] = {}
    if not foreign:
        return taken
    for name in names:
        records = foreign.get(name)
        if records:
            record = records[0]
            metadata = record.get("metadata")
            owner = metadata.get(FLEET_MARK_KEY) if isinstance(metadata, Mapping) else None
            whose = f"fleet {owner!r}'s" if isinstance(owner, str) else "not marked as a fleet's"
            taken[name] = f"{record.get('id')} ({whose})"
    return taken


def server_names(requests: Iterable[ServerSpec], requested: Container[str]) -> tuple[str, ...]:
    """The servers some create requests make, by name: a multi-create's members as Nova
    names them (but those the manifest names itself, which are not its members)."""
    names: list[str] = []
    for spec in requests:
        if spec.instance_count > 1:
            members = (member_name(spec.name, i) for i in range(1, spec.instance_count + 1))
            names.extend(m for m in members if m not in requested)
        else:
            names.append(spec.name)
    return tuple(names)


def shown_names(names: Sequence[str]) -> str:
    """Names as a note lists them: the first five, then `...`."""
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def drift_note(fleet: str, extra: Sequence[Extra], *, prune: bool) -> str | None:
    """What becomes of the servers the manifest no longer names."""
    if not extra:
        return None
    fate = (
        "are deleted (--prune)" if prune else "were left alone (extra, kept: --prune deletes them)"
    )
    names = list(dict.fromkeys(e.name for e in extra))
    return (
        f"{len(extra)} server(s) of fleet {fleet!r} are no longer in the manifest and "
        f"{fate}: {shown_names(names)}"
    )


def changes_note(diff: Diff, *, replace: bool) -> str | None:
    """What becomes of the servers that differ from the manifest."""
    if not diff.replace:
        return None
    names = list(dict.fromkeys(change.name for change in diff.replace))
    shown = shown_names([f"{c.name} ({', '.join(c.fields)})" for c in diff.replace])
    if replace:
        return f"{len(names)} server(s) changed, to replace (--replace-changed): {shown}"
    return (
        f"{len(names)} server(s) differ from the manifest and were left alone "
        f"(changed, kept: --replace-changed replaces them): {shown}"
    )


def found_note(*, existed: int, retried: int, to_create: int, waiting: int) -> str | None:
    """What the listing found, and what is left to create."""
    if not existed and not waiting:
        return None
    note = (
        f"{existed - retried} server(s) already existed and were left alone; {to_create} to create"
    )
    if retried:
        note += f"; {retried} in ERROR to delete and create again (--retry-errors)"
    if waiting:
        note += f"; {waiting} being deleted (an interrupted destroy?), to create again once gone"
    return note


def possible_note(possible: Mapping[str, float], *, now: float, wall_now: float) -> str | None:
    """Creates of an earlier run that may still land (name -> when, on the run's clock)."""
    if not possible:
        return None
    until = wall_now + max(possible.values()) - now
    return (
        f"{len(possible)} create(s) of an earlier run were sent and never answered (it was "
        f"stopped?): they may still land until {wall_time(until)}, so they are looked "
        f"for by name and fleet mark until then, and created only if they do not "
        f"appear: {shown_names(sorted(possible))}"
    )


def wall_time(moment: float) -> str:
    """A moment of the wall clock as users read it in notes: ``14:02:11 UTC``."""
    return f"{datetime.fromtimestamp(moment, timezone.utc):%H:%M:%S} UTC"
