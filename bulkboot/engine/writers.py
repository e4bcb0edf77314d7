"""Another writer of the fleet, seen in the poll rounds of an ``apply``.

A server of the fleet that this run does not know (not listed at its start, not
created, adopted or found by it, not one of its creates in flight, not one an earlier
run's create may still land as), created after the run began on the cloud's clock, was
made by someone else: another run on another machine, or with another state
directory, which no local lock sees. Two writers each create what the other has not
finished, so the run stops creating at once (as after a first Ctrl-C), says so, and
ends failed.

A server whose name the manifest no longer asks for (a group's count lowered, a group
removed, a ``load`` run's server) but that the journal says an earlier run of this
fleet sent a create of (the name, or the multi-create it is a member of:
``RunState.earlier_creates``) is that earlier create landing late, not another
writer's: it is drift, kept (``--prune`` deletes it next time) and said at the end
(``earlier_landed_note``). A name the manifest asks for is never excused this way
(only while its own earlier create may still land): that is where a second writer of
the same manifest shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkboot.engine.diff import shown_names
from bulkboot.engine.members import member_index
from bulkboot.engine.poll import nova_time
from bulkboot.engine.run_state import RunState
from bulkboot.identity import is_gone, is_leaving, member_number

__all__ = [
    "another_writer",
    "another_writer_note",
    "earlier_landed_note",
    "stop_for_another_writer",
]

_ANY_COUNT = 2**31  # the member naming rule alone, whatever the group's size


def another_writer(run: RunState, record: Mapping[str, Any]) -> bool:
    """Is this record of the fleet (not watched, not taken by this run) another
    writer's: unknown to this run, alive, created after the run began, and not one of
    the run's own creates still in flight?"""
    server_id = str(record.get("id"))
    if server_id in run.known_ids or server_id in run.other_writer or run.cloud_started is None:
        return False
    if is_gone(record) or is_leaving(record):
        return False
    created = record.get("created")
    moment = nova_time(created) if isinstance(created, str) else None
    name = record.get("name")
    if moment is None or moment < run.cloud_started or not isinstance(name, str):
        return False
    if _ours_in_flight(run, name):
        return False
    if _an_earlier_create(run, name):
        run.earlier_landed[server_id] = name
        return False
    run.other_writer[server_id] = name
    return True


def _an_earlier_create(run: RunState, name: str) -> bool:
    """Is ``name`` one the manifest no longer asks for, that an earlier run of the
    fleet sent a create of (itself, or the multi-create it is a member of)?"""
    earlier = run.earlier_creates
    if not earlier or name in run.specs:
        return False
    if name in earlier:
        return True
    request, _, _ = name.rpartition("-")
    if request not in earlier or member_number(request, name, _ANY_COUNT) is None:
        return False
    spec = run.specs.get(request)
    # its group is gone from the manifest, or no longer counts this member
    return spec is None or spec.instance_count == 1 or member_index(spec, name) is None


def _ours_in_flight(run: RunState, name: str) -> bool:
    """Could a server of this name be one of this run's own creates, not yet answered?"""
    if name in run.unsure or name in run.possible or name in run.unanswered:
        return True
    if name in run.may_land:  # an earlier run's create of it, unanswered, in its window
        return True
    state = run.board.get(name)
    if state is not None and state.server_id is None and state.sent_at is not None:
        return True  # sent, and no answer told its id (in flight, lost, or a group)
    for request in run.unanswered.keys() | run.groups.keys():
        spec = run.specs.get(request)
        if spec is not None and spec.instance_count > 1 and member_index(spec, name):
            return True
    return False


def stop_for_another_writer(run: RunState, names: list[str]) -> None:
    """Stop creating: another writer is changing the fleet (see the module docstring);
    the run's end says which servers (``another_writer_note``)."""
    if not run.stopping:
        run.board.note = (
            f"another writer is changing fleet {run.fleet!r} ({', '.join(sorted(names)[:3])} "
            "...): stopped creating, finishing the creates in flight"
        )
    run.stop()
    run.wake.set()


def earlier_landed_note(run: RunState) -> str | None:
    """What to say of servers an earlier run's creates made during this run, that the
    manifest does not name (None if none landed)."""
    if not run.earlier_landed:
        return None
    names = sorted(run.earlier_landed.values())
    shown = shown_names(names)
    return (
        f"{len(names)} server(s) of fleet {run.fleet!r} that the manifest does not name "
        f"appeared during the run ({shown}): creates an earlier run sent (the journal has "
        "them) that Nova carried out late; kept (`bulkboot plan` shows them, `apply "
        "--prune` deletes them)"
    )


def another_writer_note(run: RunState) -> str | None:
    """What to say at the end of a run that met another writer (None if it did not)."""
    if not run.other_writer:
        return None
    names = sorted(run.other_writer.values())
    shown = shown_names(names)
    return (
        f"another writer: {len(names)} server(s) of fleet {run.fleet!r} appeared that this "
        f"run did not create, created after it began ({shown}): another bulkboot is "
        "changing this fleet (on another machine, or with another --state-dir). This run "
        "stopped creating and finished the creates in flight; see `bulkboot status` "
        "before going on"
    )
