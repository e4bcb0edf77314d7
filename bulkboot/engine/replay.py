"""Reading the journal back: its records, and what they say about each server name.

The writer is ``journal.py``; this is every reader's side (``apply``'s inventory,
``status``, ``destroy``). A line that cannot be read (torn, not JSON, not UTF-8, not a
record) is skipped and said, never an error: a damaged journal loses what those lines
said, which the fleet mark recovers from the cloud, and never stops a command. The file
is opened without following a symbolic link (``statedir``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkboot.engine.statedir import StatePaths, open_in_state
from bulkboot.errors import JournalError

__all__ = [
    "JournalEntry",
    "JournalFile",
    "load_fleet_journal",
    "possibly_created",
    "read_fleet_journal",
    "read_journal",
    "replay",
    "stamp_of",
    "with_gone",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_SHOWN_PROBLEMS = 5  # unreadable lines named one by one; the rest are counted


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    """What the journal says about one server name, across every run.

    ``ids`` holds every server id ever created under the name (oldest first);
    ``deleted`` those known gone: a deletion seen done, or found gone (``gone`` lines:
    a look-up answered 404 or DELETED; a ``status`` line saying DELETED), which
    nothing looks up again; ``unconfirmed`` is True when the last
    create was sent but its answer never recorded (the run died, or the answer was
    lost): that server may exist, and only the cloud can say. ``deleting`` holds the
    ids whose DELETE was journaled but whose disappearance was not (a ``destroy`` or a
    retry killed mid-way): they may be on their way out, and must not be counted as
    the fleet's servers while they are (``apply`` waits for them to go).
    """

    name: str
    ids: tuple[str, ...] = ()
    deleted: frozenset[str] = frozenset()
    sent: int = 0
    unconfirmed: bool = False
    status: str | None = None
    deleting: frozenset[str] = frozenset()
    last_line: int = -1  # where the journal last spoke of the name (a line's position)
    last_sent_line: int = -1  # ... and where its last create was sent
    # ... and when it last went on the wire (wall clock, seconds since the epoch): its
    # ``sent`` line's time, or its last ``attempt`` line's when it was sent again
    last_sent_at: float | None = None

    @property
    def live_ids(self) -> tuple[str, ...]:
        return tuple(i for i in self.ids if i not in self.deleted)


def read_journal(path: Path, problems: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """The journal's records in order (none when it does not exist).

    A line that cannot be read (torn, not JSON, not UTF-8, not a record) is skipped,
    and said in ``problems`` (``FILE:LINE: ...``) when given: a damaged journal never
    stops a command (see the module docstring).
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror}") from exc
    yield from _records(path, _read_all(path, fd), problems)


def read_fleet_journal(
    paths: StatePaths, problems: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """``read_journal`` of the fleet's journal in its state directory (see ``statedir``)."""
    yield from load_fleet_journal(paths, problems).records


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalFile:
    """The fleet's journal as read: its records, and each one's line as written (what
    compaction keeps, byte for byte); ``size`` and ``line_count`` are the whole file's,
    unreadable lines and ``run`` lines included."""

    records: tuple[dict[str, Any], ...]
    lines: tuple[bytes, ...]  # lines[i] is the line of records[i], without its newline
    size: int = 0
    line_count: int = 0


def load_fleet_journal(paths: StatePaths, problems: list[str] | None = None) -> JournalFile:
    """The fleet's journal in its state directory (see ``statedir``), read once;
    empty when there is none. Unreadable lines are skipped as ``read_journal`` does."""
    fd = open_in_state(paths, paths.journal.name, os.O_RDONLY, create=False)
    if fd is None:
        return JournalFile(records=(), lines=())
    data = _read_all(paths.journal, fd)
    lines: list[bytes] = []
    records = tuple(_records(paths.journal, data, problems, lines))
    return JournalFile(
        records=records, lines=tuple(lines), size=len(data), line_count=data.count(b"\n")
    )


def _read_all(path: Path, fd: int) -> bytes:
    try:
        with os.fdopen(fd, "rb") as file:
            return file.read()
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror}") from exc


def _records(
    path: Path, data: bytes, problems: list[str] | None, raw: list[bytes] | None = None
) -> Iterator[dict[str, Any]]:
    """The records in ``data``; each one's line is appended to ``raw`` when given."""
    lines = data.split(b"\n")
    last = len(lines) - 1
    skipped: list[str] = []
    for number, raw_line in enumerate(lines, 1):
        if not raw_line.strip():
            continue
        if number - 1 == last:  # no newline after it: a write cut short
            skipped.append(
                f"{path}:{number}: the last line is torn (a write cut short); skipped "
                "(the next apply or destroy removes it)"
            )
            break
        try:
            record = json.loads(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            skipped.append(f"{path}:{number}: the journal line is not UTF-8 text; skipped")
            continue
        except json.JSONDecodeError as exc:
            skipped.append(
                f"{path}:{number}:{exc.colno}: the journal line is not JSON ({exc.msg}); skipped"
            )
            continue
        if isinstance(record, dict) and isinstance(record.get("name"), str):
            if raw is not None:
                raw.append(raw_line)
            yield record
        elif not (isinstance(record, dict) and record.get("ev") == "run"):
            skipped.append(f"{path}:{number}:1: the journal line is not a server's record; skipped")
    if problems is not None and skipped:
        problems.extend(skipped[:_SHOWN_PROBLEMS])
        if len(skipped) > _SHOWN_PROBLEMS:
            problems.append(
                f"{path}: {len(skipped) - _SHOWN_PROBLEMS} more unreadable line(s) skipped"
            )


def replay(records: Iterable[dict[str, Any]]) -> dict[str, JournalEntry]:
    """Fold journal records into one entry per server name."""
    ids: dict[str, list[str]] = {}
    deleted: dict[str, set[str]] = {}
    sent: dict[str, int] = {}
    unconfirmed: dict[str, bool] = {}
    status: dict[str, str | None] = {}
    deleting: dict[str, set[str]] = {}
    last_line: dict[str, int] = {}
    last_sent_line: dict[str, int] = {}
    last_sent_at: dict[str, float] = {}
    for line, record in enumerate(records):
        name = record["name"]
        kind = record.get("ev")
        server_id = record.get("id")
        ids.setdefault(name, [])
        last_line[name] = line
        if kind == "unanswered":  # its create's fate unknown: still unconfirmed
            continue
        if kind == "attempt":  # its create sent again: Nova may act on this send
            stamp = stamp_of(record)
            if unconfirmed.get(name) and stamp is not None:
                last_sent_at[name] = stamp
            continue
        if kind == "sent":
            last_sent_line[name] = line
            stamp = stamp_of(record)
            if stamp is not None:
                last_sent_at[name] = stamp
            else:  # an older line without its time: this create's is unknown
                last_sent_at.pop(name, None)
            sent[name] = sent.get(name, 0) + 1
            unconfirmed[name] = True
            status[name] = None
        elif kind in ("created", "found"):
            unconfirmed[name] = False
            if isinstance(server_id, str) and server_id not in ids[name]:
                ids[name].append(server_id)
            if name in deleting and isinstance(server_id, str):
                deleting[name].discard(server_id)  # seen alive later: the DELETE did not take
            status[name] = record.get("status", "BUILD")
        elif kind == "refused":
            unconfirmed[name] = False
            status[name] = "REFUSED"
        elif kind == "status":
            if isinstance(server_id, str) and server_id not in ids[name]:
                ids[name].append(server_id)
            status[name] = record.get("status")
            if status[name] == "DELETED" and isinstance(server_id, str):  # seen deleted
                deleted.setdefault(name, set()).add(server_id)
                if name in deleting:
                    deleting[name].discard(server_id)
        elif kind == "delete" and isinstance(server_id, str):
            deleting.setdefault(name, set()).add(server_id)
        elif kind == "delete-refused":
            deleting.pop(name, None)
        elif kind in ("deleted", "gone") and isinstance(server_id, str):
            deleted.setdefault(name, set()).add(server_id)
            if name in deleting:
                deleting[name].discard(server_id)
            status[name] = "DELETED"
    return {
        name: JournalEntry(
            name=name,
            ids=tuple(server_ids),
            deleted=frozenset(deleted.get(name, ())),
            sent=sent.get(name, 0),
            unconfirmed=unconfirmed.get(name, False),
            status=status.get(name),
            deleting=frozenset(deleting.get(name, ())),
            last_line=last_line[name],
            last_sent_line=last_sent_line.get(name, -1),
            last_sent_at=last_sent_at.get(name),
        )
        for name, server_ids in ids.items()
    }


def stamp_of(record: Mapping[str, Any]) -> float | None:
    """A line's wall-clock time (``t``), None when it has none."""
    stamp = record.get("t")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp)
    return None


def with_gone(
    entries: Mapping[str, JournalEntry], gone: Iterable[tuple[str, str]]
) -> dict[str, JournalEntry]:
    """``entries`` as they replay once ``gone`` lines for these (name, id) pairs are
    appended (``Journal.record_gone``): so that a command shows what it just learned as
    the next one will read it."""
    dead: dict[str, set[str]] = {}
    for name, server_id in gone:
        dead.setdefault(name, set()).add(server_id)
    result = dict(entries)
    for name, ids in dead.items():
        entry = result.get(name)
        if entry is not None:
            result[name] = dataclasses.replace(
                entry,
                deleted=entry.deleted | ids,
                deleting=entry.deleting - ids,
                status="DELETED",
            )
    return result


def possibly_created(entry: JournalEntry | None, *, wall_now: float, window: float) -> float | None:
    """Seconds left in the window of ``entry``'s last create when it was never answered
    and last went on the wire (its ``sent`` line, or its last ``attempt``: a send after
    a 429 or a 500) less than ``window`` seconds ago (on the wall clock the journal keeps);
    None when it is not possibly created. A sent time in the future (the clock was set
    back) counts as just sent."""
    if entry is None or not entry.unconfirmed or entry.last_sent_at is None or window <= 0:
        return None
    age = max(0.0, wall_now - entry.last_sent_at)
    return window - age if age < window else None
