"""The fleet's local state for a command: where it lives, its lock, its journal read
back (and compacted under the lock), opened for a run, and what ``status`` learned.

Kept apart from ``_runtime`` (which re-exports these names for the commands) so that
the rules of the state are read in one place: the journal is compacted only by a run
that holds the fleet's lock (``fleet_lock`` marks it held, ``fleet_journal`` checks),
and ``status``, which holds no lock, writes only what it found gone, under the lock
taken for that moment when it is free (``record_gone``).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import anyio

from bulkboot.engine.compact import compact_if_grown
from bulkboot.engine.journal import Journal
from bulkboot.engine.lock import FleetLock, LockHolder, take_lock
from bulkboot.engine.replay import JournalEntry, load_fleet_journal, read_journal, replay
from bulkboot.engine.statedir import (
    StatePaths,
    adopt_legacy,
    legacy_clouds,
    legacy_journal,
    state_paths,
)
from bulkboot.errors import JournalError

__all__ = [
    "STATE_DIR_ENV",
    "fleet_journal",
    "fleet_lock",
    "fleet_state",
    "record_gone",
    "run_journal",
]

# Where the fleets' journals and locks live when --state-dir is not given.
STATE_DIR_ENV = "BULKBOOT_STATE_DIR"


def fleet_state(args: Any, fleet: str, cloud: str) -> StatePaths:
    """Where the fleet's journal and lock live: ``--state-dir``, else ``$BULKBOOT_STATE_DIR``,
    else ``.bulkboot/`` beside the manifest; per cloud and fleet (see ``statedir``)."""
    state_dir = getattr(args, "state_dir", None) or os.environ.get(STATE_DIR_ENV) or None
    return state_paths(args.file, cloud=cloud, fleet=fleet, state_dir=state_dir)


# The fleets whose lock this task holds (``fleet_lock``): only under it is the journal
# compacted by ``fleet_journal``.
_LOCKED: ContextVar[frozenset[Path]] = ContextVar("bulkboot_locked_fleets", default=frozenset())


def fleet_journal(
    paths: StatePaths, notes: list[str], *, manifest_file: str | None = None
) -> dict[str, JournalEntry]:
    """What the fleet's journal says about each server; its unreadable lines are
    skipped and said in ``notes``. With ``manifest_file`` and no journal in the state
    directory, the journal an older bulkboot kept for this cloud is read where it is
    (``status``, which moves nothing).

    Read by a run that holds the fleet's lock (inside ``fleet_lock``: ``apply``,
    ``destroy``, ``load``), a journal grown well past what its servers need is
    compacted (``engine/compact.py``), said in ``notes``; one that cannot be is kept
    as it was (said too): compaction never stops a run.
    """
    problems: list[str] = []
    journal = load_fleet_journal(paths, problems)
    records: Sequence[dict[str, Any]] = journal.records
    if not records and manifest_file is not None and not paths.journal.exists():
        old = legacy_journal(manifest_file, paths.fleet)
        if old.is_file() and not old.is_symlink():
            if not legacy_clouds(old) - {paths.cloud}:
                records = list(read_journal(old, problems))
    notes.extend(problems)
    entries = replay(records)
    if paths.lock in _LOCKED.get():
        try:
            compacted = compact_if_grown(paths, journal, entries)
        except JournalError as exc:
            compacted = f"{exc}; the journal was not compacted, and is whole as it was"
        if compacted is not None:
            notes.append(compacted)
    return entries


def record_gone(paths: StatePaths, gone: Sequence[tuple[str, str]], notes: list[str]) -> None:
    """Journal the servers ``status`` found gone ((name, id) pairs), so that no later command
    looks them up again, if the fleet's lock is free: taken for these few lines only.
    While a run holds it, nothing is written, and ``notes`` says so (that run, or a
    later command, looks them up and records them); nor when the state cannot be
    written (a read-only folder): said too, never an error, since ``status`` only
    reads. A journal an older bulkboot kept (read where it is) is not written to: the
    next ``apply`` or ``destroy`` moves it."""
    if not gone or not paths.journal.is_file() or paths.journal.is_symlink():
        return
    unrecorded = f"{len(gone)} server(s) in the journal are gone from the cloud; not recorded now"
    try:
        taken = FleetLock.try_take(paths, command="status")
        if isinstance(taken, LockHolder):
            notes.append(
                f"{unrecorded} (the fleet's journal is being written by {taken.describe()}): "
                "the next command to find them gone records them"
            )
            return
        with taken, Journal.open_fleet(paths) as journal:
            if journal.repaired:
                notes.append(journal.repaired)
            journal.write({"ev": "run", "cmd": "status", "cloud": paths.cloud, "pid": os.getpid()})
            journal.record_gone(gone)
    except JournalError as exc:  # a read-only state directory: status still shows
        notes.append(f"{unrecorded} ({exc})")


@asynccontextmanager
async def fleet_lock(
    paths: StatePaths,
    *,
    command: str,
    wait: float | None,
    note: Callable[[str], None],
    manifest_file: str,
) -> AsyncIterator[list[str]]:
    """Hold the fleet's lock for the body (``--wait-lock``: wait up to ``wait`` seconds
    for it, saying so); yields the notes of taking it (an older journal moved)."""

    def waiting(holder: LockHolder) -> None:
        note(
            f"fleet {paths.fleet!r} on cloud {paths.cloud!r} is being changed by "
            f"{holder.describe()}: waiting up to {wait:g} s for it to finish (Ctrl-C to "
            "give up)"
        )

    lock = await take_lock(
        paths,
        command=command,
        wait=wait,
        on_wait=waiting,
        clock=time.monotonic,
        sleep=anyio.sleep,
    )
    with lock:
        moved = adopt_legacy(paths, manifest_file)
        held = _LOCKED.set(_LOCKED.get() | {paths.lock})
        try:
            yield [moved] if moved else []
        finally:
            _LOCKED.reset(held)


@contextmanager
def run_journal(
    paths: StatePaths,
    *,
    command: str,
    cloud: str,
    notes: list[str],
    gone: Sequence[tuple[str, str]] = (),
) -> Iterator[Journal]:
    """The journal, open for this run, which it starts by naming (a torn last line
    repaired, said in ``notes``), then by the servers its listing found gone (``gone``:
    (name, id) pairs from ``fleet.fleet_servers``), which no later command looks up
    again."""
    with Journal.open_fleet(paths) as journal:
        if journal.repaired:
            notes.append(journal.repaired)
        journal.write({"ev": "run", "cmd": command, "cloud": cloud, "pid": os.getpid()})
        if gone:
            journal.record_gone(gone)
        yield journal
