"""The fleet's servers in a listing: the one home ``apply``, ``status`` and ``destroy`` share.

The rules themselves (the fleet mark, a partial record claimed through the journal,
"on its way out") are ``bulkboot.identity``'s; this module applies them to a listing:

- ``claim_records``: the fleet's servers by name, as ``apply``'s inventory reads them;
- ``split_leaving``: of those, the ones on their way out (a killed ``destroy``), which
  are not the fleet's any more but must be gone before their names are created again;
- ``fleet_servers``: list the cloud, and look up by id the servers the journal knows
  that the listing did not show (``status`` shows them, ``destroy`` deletes them);
  those found gone are handed back to be journaled, and not looked up again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import anyio

from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.poll import nova_time
from bulkboot.engine.replay import JournalEntry
from bulkboot.errors import CloudError, NotFound
from bulkboot.identity import claim_partial, is_fleet_record, is_gone, is_leaving

__all__ = [
    "JOURNAL_LOOKUPS",
    "claim_records",
    "fleet_servers",
    "journal_ids",
    "pick",
    "record_age",
    "split_leaving",
]

# Journal ids looked up at once by ``fleet_servers`` (the client caps it lower, and
# ``--rate`` paces it): a few lookers, not a task per id, since servers deleted behind
# the journal's back are each looked for once (then journaled as gone).
JOURNAL_LOOKUPS: Final = 16

Record = Mapping[str, Any]


def journal_ids(entries: Mapping[str, JournalEntry]) -> dict[str, str]:
    """Every id the journal says this fleet created and never saw deleted, to its name."""
    return {i: e.name for e in entries.values() for i in e.live_ids} if entries else {}


def claim_records(
    records: Iterable[Record],
    fleet: str,
    entries: Mapping[str, JournalEntry],
) -> dict[str, list[Record]]:
    """The fleet's servers in a listing, by name.

    A server is the fleet's when it carries the fleet mark, or when it is a partial
    record (a down cell) whose id the journal says this fleet created: it must not be
    created again.
    """
    by_id = journal_ids(entries)
    by_name: dict[str, list[Record]] = {}
    for record in records:
        name = record.get("name")
        if is_fleet_record(record, fleet):
            if isinstance(name, str):
                by_name.setdefault(name, []).append(record)
        else:
            claimed = claim_partial(record, by_id)
            if claimed is not None:
                by_name.setdefault(claimed, []).append(record)
    return by_name


def split_leaving(
    by_name: Mapping[str, list[Record]], entries: Mapping[str, JournalEntry]
) -> tuple[dict[str, list[Record]], dict[str, str]]:
    """Take the servers on their way out (or deleted) out of ``by_name``.

    Returns the servers that stay (by name, in the same order) and, for each name that
    has nothing else, the id of the server to wait for (none when all are deleted).
    """
    pending: set[str] = set()
    for entry in entries.values():
        if entry.deleting:
            pending.update(entry.deleting)
    staying: dict[str, list[Record]] = {}
    leaving: dict[str, str] = {}
    for name, found in by_name.items():
        alive = [r for r in found if not is_gone(r) and not is_leaving(r, pending)]
        if alive:
            staying[name] = alive
            continue
        going = [r for r in found if not is_gone(r)]
        if going:
            leaving[name] = str(going[0]["id"])
    return staying, leaving


def pick(records: Sequence[Record]) -> Record:
    """Of several servers with one name, the one to account for: ACTIVE, else BUILD, else any."""
    for wanted in ("ACTIVE", "BUILD"):
        for record in records:
            if record.get("status") == wanted:
                return record
    return records[0]


def record_age(record: Record, cloud_now: datetime | None) -> float:
    """Seconds since Nova created the server, on the cloud's clock (0 when unknown)."""
    created = record.get("created")
    moment = nova_time(created) if isinstance(created, str) else None
    if cloud_now is None or moment is None:
        return 0.0
    return max(0.0, (cloud_now - moment).total_seconds())


async def fleet_servers(
    compute: ComputeApi,
    fleet: str,
    journal: Mapping[str, JournalEntry],
    *,
    gone: list[tuple[str, str]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Every server of the fleet: (all listed records, the fleet's records, notes).

    Journal ids missing from the listing are looked up, all at once (servers whose
    listing raced with their creation or deletion, or deleted behind our back). A partial
    record (a down cell, microversion 2.69+: no metadata, maybe no name) is the
    fleet's when the journal says this fleet created its id; it is returned under the
    journal's name, so it is deleted and shown rather than left as an orphan.

    ``gone`` is given the servers the look-ups found gone (404, or DELETED), as
    (journal name, id) pairs: the caller journals them (``Journal.record_gone``) so that no later
    command looks them up again. Only an answer of Nova's counts: absence from a
    listing does not (below microversion 2.69 a down cell's servers are left out).
    """
    records = await compute.list_servers(None, detail=True)
    by_id = journal_ids(journal)
    mine: list[dict[str, Any]] = []
    partial: list[str] = []
    for record in records:
        if is_fleet_record(record, fleet):
            mine.append(record)
        else:
            name = claim_partial(record, by_id)
            if name is not None:
                mine.append({**record, "name": record.get("name") or name})
                partial.append(name)
    listed = {str(r.get("id")) for r in records}
    notes: list[str] = []
    if partial:
        shown = ", ".join(partial[:5]) + (" ..." if len(partial) > 5 else "")
        notes.append(
            f"{len(partial)} server(s) listed without their details (a cell out of reach) "
            f"are the fleet's by the journal: {shown}"
        )
    missing: dict[str, str] = {}  # id -> the journal's name (an id once, whatever names)
    for entry in journal.values():
        for server_id in entry.live_ids:
            if server_id not in listed:
                missing.setdefault(server_id, entry.name)
    found = await _look_up(compute, list(missing))
    dead: set[str] = set()
    for server_id, name in missing.items():
        looked = found.get(server_id)
        if looked is None or str(looked.get("status", "")).upper() == "DELETED":
            dead.add(server_id)
            continue
        if is_fleet_record(looked, fleet):
            mine.append(looked)
        else:
            notes.append(
                f"{name} ({server_id}): in the journal but no longer marked as "
                f"fleet {fleet!r}; left alone"
            )
    if gone is not None and dead:
        gone.extend((e.name, i) for e in journal.values() for i in e.live_ids if i in dead)
    return records, mine, notes


async def _look_up(compute: ComputeApi, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """Each server by id (None when Nova says it does not exist), ``JOURNAL_LOOKUPS`` at
    once; the first failure is raised as itself, not inside a task group's."""
    found: dict[str, dict[str, Any] | None] = {}
    failure: list[CloudError] = []
    pending = iter(ids)

    async def look() -> None:
        for server_id in pending:
            if failure:  # one failure says it all: the others stop asking
                return
            try:
                found[server_id] = await compute.get_server(server_id)
            except NotFound:
                found[server_id] = None
            except CloudError as exc:
                failure.append(exc)
                return

    async with anyio.create_task_group() as group:
        for _ in range(min(JOURNAL_LOOKUPS, len(ids))):
            group.start_soon(look)
    if failure:
        raise failure[0]
    return found
