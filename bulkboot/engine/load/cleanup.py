"""The end of every load run: delete whatever it created that is still there.

Which servers: those the iterations created and did not see gone (``Iterations.live``:
a stopped run's servers in flight, the clean-up of a failure that did not work out,
every server of the ``boot`` scenario), plus any the cloud lists with this run's mark
(``bulkboot:load-run``), which finds creates whose answer was lost. Each gets one
DELETE (``CLEANUP_DELETES`` at once, journaled before and after), then the run's
poller waits until every one is gone. What could not be deleted, or was not seen gone
in time, is returned by name and id, for the summary to name: nothing a load run
created is left behind silently.

The cloud may be gone, or the token dead (the error that stopped the run): the first
request it does not answer (``GIVE_UP``: no answer after the client's retries, or an
error every request would meet) ends the clean-up's sending, and every server not yet
deleted is named with that error, instead of each waiting out its own retries.

With ``--keep`` (the ``boot`` scenario) nothing is deleted: the servers are listed as
kept, and ``bulkboot destroy FILE`` deletes them later like any of the fleet's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio

from bulkboot.engine.compute_api import ComputeApi, refusal
from bulkboot.engine.journal import Journal
from bulkboot.engine.load.iteration import FATAL, Iterations
from bulkboot.engine.load.templates import RUN_MARK_KEY
from bulkboot.engine.load.watch import PollHub
from bulkboot.engine.state import Deleted, DeleteRefused, DeleteSent
from bulkboot.errors import CloudError, TransportError
from bulkboot.identity import is_fleet_record, is_gone, is_leaving

__all__ = ["CLEANUP_DELETES", "Cleanup", "Leftover", "sweep"]

CLEANUP_DELETES: Final = 16  # DELETEs in flight at once at the end of a run
GIVE_UP: Final = (*FATAL, TransportError)  # the clean-up sends nothing more after one


@dataclass(frozen=True, slots=True, kw_only=True)
class Leftover:
    """A server the run created that is still there, and why."""

    name: str
    server_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Cleanup:
    """What the end of the run deleted, kept (``--keep``) and could not delete."""

    deleted: int = 0
    found_by_mark: int = 0  # servers only the listing knew of (a lost create answer)
    kept: tuple[tuple[str, str], ...] = ()  # (name, id)
    left: tuple[Leftover, ...] = ()
    listing_failed: str | None = None

    @property
    def clean(self) -> bool:
        return not self.left and self.listing_failed is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "found_by_mark": self.found_by_mark,
            "kept": [{"name": n, "id": i} for n, i in self.kept],
            "left": [{"name": x.name, "id": x.server_id, "reason": x.reason} for x in self.left],
            "listing_failed": self.listing_failed,
        }


def _marked(record: Mapping[str, Any], fleet: str, run_id: str) -> bool:
    metadata = record.get("metadata")
    return (
        isinstance(metadata, Mapping)
        and metadata.get(RUN_MARK_KEY) == run_id
        and is_fleet_record(record, fleet)
    )


async def sweep(
    compute: ComputeApi,
    hub: PollHub,
    journal: Journal,
    iterations: Iterations,
    *,
    fleet: str,
    run_id: str,
    keep: bool,
    clock: Callable[[], float],
    error: CloudError | None = None,
) -> Cleanup:
    """Delete what the run left (see the module docstring); the hub must be running,
    unless ``error`` stopped the run (then nothing is waited for: each server whose
    DELETE was accepted is named with that error)."""
    live = dict(iterations.live)
    deleting = set(iterations.deleting)
    found_by_mark = 0
    listing_failed: str | None = None
    gave_up: CloudError | None = None
    try:
        records = await compute.list_servers(None, detail=True)
    except CloudError as exc:
        records = []
        if isinstance(exc, GIVE_UP):
            gave_up = exc
        listing_failed = (
            f"the servers could not be listed to find this run's ({exc}); run "
            f"`bulkboot destroy` on the manifest to delete what is left"
        )
    for record in records:
        server_id = record.get("id")
        if not isinstance(server_id, str) or not _marked(record, fleet, run_id):
            continue
        if is_gone(record):
            continue
        if server_id not in live:
            live[server_id] = str(record.get("name") or server_id)
            found_by_mark += 1
            if is_leaving(record):
                deleting.add(server_id)
    if keep:
        kept = tuple(sorted((name, i) for i, name in live.items() if i not in deleting))
        live = {i: name for i, name in live.items() if i in deleting}
    else:
        kept = ()
    left: list[Leftover] = []
    gone = 0
    todo = iter([(i, name) for i, name in live.items() if i not in deleting])
    waiting = [(i, name) for i, name in live.items() if i in deleting]

    async def delete_some() -> None:
        nonlocal gave_up
        for server_id, name in todo:
            if gave_up is not None:
                reason = f"not deleted: the clean-up stopped at an error ({refusal(gave_up)})"
                left.append(Leftover(name=name, server_id=server_id, reason=reason))
                continue
            journal.record(DeleteSent(name=name, at=clock(), server_id=server_id))
            try:
                existed = await compute.delete_server(server_id)
            except CloudError as exc:
                if isinstance(exc, GIVE_UP) and gave_up is None:
                    gave_up = exc
                journal.record(DeleteRefused(name=name, at=clock(), message=refusal(exc)))
                left.append(Leftover(name=name, server_id=server_id, reason=refusal(exc)))
                continue
            if existed:
                waiting.append((server_id, name))
            else:
                journal.record(Deleted(name=name, at=clock(), server_id=server_id))
                nonlocal gone
                gone += 1

    async with anyio.create_task_group() as group:
        for _ in range(min(CLEANUP_DELETES, len(live))):
            group.start_soon(delete_some)

    async def wait_gone(server_id: str, name: str) -> None:
        nonlocal gone
        seen = await hub.until_gone(server_id, name)
        if seen.kind == "gone":
            journal.record(Deleted(name=name, at=seen.at, server_id=server_id))
            gone += 1
        else:
            if seen.kind == "timeout":
                reason = f"still there {hub.timeout:g}s after its DELETE"
            elif (stopped_by := gave_up or error) is not None:
                reason = f"DELETE accepted, not seen gone: {refusal(stopped_by)}"
            else:
                reason = "DELETE accepted, not seen gone: the run was stopped"
            left.append(Leftover(name=name, server_id=server_id, reason=reason))

    async with anyio.create_task_group() as group:
        for server_id, name in waiting:
            group.start_soon(wait_gone, server_id, name)
    return Cleanup(
        deleted=gone,
        found_by_mark=found_by_mark,
        kept=kept,
        left=tuple(sorted(left, key=lambda x: x.name)),
        listing_failed=listing_failed,
    )
