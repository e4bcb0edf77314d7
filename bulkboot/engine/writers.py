"""Another writer of the fleet, seen in the poll rounds of an ``apply``.

A server of the fleet that this run does not know (not listed at its start, not
created, adopted or found by it, not one of its creates in flight, not one an earlier
run's create may still land as), created after the run began on the cloud's clock, was
made by someone else: another run on another machine, or with another state
directory, which no local lock sees. Two writers each create what the other has not
finished, so the run stops creating at once (as after a first Ctrl-C), says so, and
ends failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkboot.engine.members import member_index
from bulkboot.engine.poll import nova_time
from bulkboot.engine.run_state import RunState
from bulkboot.identity import is_gone, is_leaving

__all__ = ["another_writer", "another_writer_note", "stop_for_another_writer"]


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
    run.other_writer[server_id] = name
    return True


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


def another_writer_note(run: RunState) -> str | None:
    """What to say at the end of a run that met another writer (None if it did not)."""
    if not run.other_writer:
        return None
    names = sorted(run.other_writer.values())
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return (
        f"another writer: {len(names)} server(s) of fleet {run.fleet!r} appeared that this "
        f"run did not create, created after it began ({shown}): another bulkboot is "
        "changing this fleet (on another machine, or with another --state-dir). This run "
        "stopped creating and finished the creates in flight; see `bulkboot status` "
        "before going on"
    )
