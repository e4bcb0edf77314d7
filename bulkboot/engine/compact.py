"""Compacting the journal: the lines that replay still needs, rewritten whole.

Why: the journal is append-only, and every run adds to it (a no-op ``apply`` of 1,000
servers adds a ``found`` line per server, ~116 KB; a ``load`` run four lines per
iteration), so without compaction it grows for as long as the fleet lives, and every
command reads all of it.

What is kept is decided per server name from what ``replay`` reads (``replay.py``;
change the two together: ``tests/engine/test_compact.py`` replays random journals
before and after and compares every entry):

- a name is *settled* when nothing about it can still matter: every id it had is known
  gone (deleted, or found gone), no create of it may be in flight (``unconfirmed``),
  no DELETE of it waits to be seen done. A settled name is dropped whole, unless it is
  a multi-create member seen since its group was last sent (``members.members_expected``
  counts those), or a multi-create whose members the journal names (their generation
  is told by its last ``sent`` line);
- of every other name, the lines that set what its entry says: every ``sent`` line
  (their count, the last one's time), the last ``attempt`` line of its last create
  (when it was sent again: the window of a create in flight runs from it), the last
  line that confirmed or sent a create, the last that set its status, a line saying
  each dead id is gone, the last DELETE of each id still being deleted, its last line
  (where the journal last spoke of it), and for each of its ids a line naming it, so
  that they come back in their order.

Kept lines are copied byte for byte, in their order, so fields this module does not
read are kept with them, and the order that ``last_line`` and ``last_sent_line`` give
between names holds. The replayed entries are the same before and after, but for
their positions (renumbered, in the same order) and the names dropped. What is lost:
``run`` lines, unreadable lines (already skipped, and said when read), and for a
name dropped, its history (``status`` then calls it "not created yet"); a member of a
multi-create that this journal never sent (the group was created elsewhere) is
dropped once gone, so ``apply`` then counts only the members listed.

When: by a run that holds the fleet's lock (``apply``, ``destroy``, ``load``), as it
reads the journal at its start, when the file is over ``COMPACT_FROM_BYTES`` and over
``COMPACT_RATIO`` times its compact form: so the journal stays within about twice
what its servers need, and a compaction happens every few no-op applies, not at each.
How: ``statedir.replace_in_state`` (a new file, fsync, rename, fsync of the folder):
a crash at any point leaves the old journal or the new one, whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from bulkboot.engine.replay import JournalEntry, JournalFile, stamp_of
from bulkboot.engine.statedir import StatePaths, replace_in_state

__all__ = ["COMPACT_FROM_BYTES", "COMPACT_RATIO", "compact_if_grown", "kept_lines"]

# A journal smaller than this is never compacted (a small fleet's, a few runs old).
COMPACT_FROM_BYTES: Final = 16 * 1024
# ... nor one within this many times its compact form.
COMPACT_RATIO: Final = 2


def member_of(name: str) -> str | None:
    """The multi-create request a name would be a member of (``pool`` for ``pool-3``:
    the naming rule of ``identity.member_number``), or None."""
    request, dash, number = name.rpartition("-")
    if not (dash and request and number.isascii() and number.isdigit()) or number[0] == "0":
        return None
    return request


def _settled(entry: JournalEntry) -> bool:
    return not (entry.unconfirmed or entry.deleting or entry.live_ids)


def _dropped(entries: Mapping[str, JournalEntry]) -> set[str]:
    """The settled names no decision reads any more (see the module docstring)."""
    groups = {request for name in entries if (request := member_of(name)) is not None}
    dropped: set[str] = set()
    for name, entry in entries.items():
        if not _settled(entry) or name in groups:
            continue
        request = member_of(name)
        group = entries.get(request) if request is not None else None
        if group is not None and group.last_sent_line < entry.last_line:
            continue  # a member since its group was last sent: apply counts it
        dropped.add(name)
    return dropped


def kept_lines(
    records: Sequence[Mapping[str, Any]], entries: Mapping[str, JournalEntry]
) -> list[int]:
    """The positions of the records to keep, in order (``entries`` is their replay)."""
    last: dict[str, int] = {}
    sent: dict[str, list[int]] = {}
    confirmed: dict[str, int] = {}  # the last line that set ``unconfirmed``
    status: dict[str, int] = {}  # the last line that set ``status``
    carries: dict[tuple[str, str], list[int]] = {}  # each id's lines that name it alive
    gone: dict[tuple[str, str], int] = {}  # each id's last line saying it is gone
    deletes: dict[tuple[str, str], int] = {}  # each id's last DELETE
    # the last ``attempt`` line that set ``last_sent_at`` (its create still unanswered)
    attempt: dict[str, int] = {}
    unanswered: set[str] = set()  # names whose last create is unanswered so far
    for at, record in enumerate(records):
        name = record["name"]
        kind = record.get("ev")
        server_id = record.get("id")
        last[name] = at
        if kind == "attempt":
            if name in unanswered and stamp_of(record) is not None:
                attempt[name] = at
        elif kind == "sent":
            sent.setdefault(name, []).append(at)
            confirmed[name] = status[name] = at
            unanswered.add(name)
            attempt.pop(name, None)
        elif kind in ("created", "found"):
            confirmed[name] = status[name] = at
            unanswered.discard(name)
            if isinstance(server_id, str):
                carries.setdefault((name, server_id), []).append(at)
        elif kind == "refused":
            confirmed[name] = status[name] = at
            unanswered.discard(name)
        elif kind == "status":
            status[name] = at
            if isinstance(server_id, str):
                carries.setdefault((name, server_id), []).append(at)
                if record.get("status") == "DELETED":
                    gone[name, server_id] = at
        elif kind == "delete" and isinstance(server_id, str):
            deletes[name, server_id] = at
        elif kind in ("deleted", "gone") and isinstance(server_id, str):
            gone[name, server_id] = status[name] = at
    dropped = _dropped(entries)
    keep: set[int] = set()
    for name, entry in entries.items():
        if name in dropped:
            continue
        mine = {last[name], *sent.get(name, ())}
        for lines in (confirmed, status, attempt):
            if name in lines:
                mine.add(lines[name])
        mine.update(gone[name, i] for i in entry.deleted)
        mine.update(deletes[name, i] for i in entry.deleting)
        keep |= mine
        keep.update(_introducers(entry.ids, [carries[name, i] for i in entry.ids], mine))
    return sorted(keep)


def _introducers(ids: Sequence[str], carries: Sequence[list[int]], kept: set[int]) -> list[int]:
    """Lines to keep so that ``ids`` come back in their order: replay lists an id where
    a kept line first names it. Each id's earliest line among ``kept`` does, when
    those come in the ids' order (the usual case: one id, named by its last status);
    else each id's first line."""
    chosen = [next((at for at in lines if at in kept), lines[0]) for lines in carries]
    if all(a < b for a, b in zip(chosen, chosen[1:], strict=False)):
        return chosen
    return [lines[0] for lines in carries]


def _at_least(journal: JournalFile, entries: Mapping[str, JournalEntry]) -> int:
    """A lower bound of the compact form's size, from each name that is not settled:
    its last line and its last ``sent`` line are kept. Per name, not per line (and
    exact for a fleet that only sees no-op applies: a ``sent`` and a ``found`` each)."""
    lines = journal.lines
    total = 0
    for entry in entries.values():
        if _settled(entry):
            continue
        total += len(lines[entry.last_line]) + 1
        if 0 <= entry.last_sent_line != entry.last_line:
            total += len(lines[entry.last_sent_line]) + 1
    return total


def _size(count: float) -> str:
    return f"{count / 1024:,.0f} KB" if count >= 1024 else f"{count:.0f} bytes"


def compact_if_grown(
    paths: StatePaths,
    journal: JournalFile,
    entries: Mapping[str, JournalEntry],
    *,
    step: Callable[[str], None] | None = None,
) -> str | None:
    """Compact the fleet's journal when it has grown (see the module docstring); the
    note saying so, or None when it was left as it is. The caller holds the fleet's
    lock, and read ``journal`` (and replayed it into ``entries``) under it. ``step``
    is told each step of the rewrite before it is taken (tests stop there)."""
    if journal.size <= COMPACT_FROM_BYTES:
        return None
    if journal.size <= COMPACT_RATIO * _at_least(journal, entries):
        return None  # most runs: the full count below is as dear as a replay
    keep = kept_lines(journal.records, entries)
    header = json.dumps(
        {
            "ev": "run",
            "cmd": "compact",
            "cloud": paths.cloud,
            "t": round(time.time(), 3),
            "from_bytes": journal.size,
            "from_lines": journal.line_count,
        },
        separators=(",", ":"),
    ).encode()
    lines = [header, *(journal.lines[i] for i in keep)]
    size = sum(len(line) + 1 for line in lines)
    if journal.size <= COMPACT_RATIO * size:
        return None
    replace_in_state(
        paths, paths.journal.name, b"\n".join(lines) + b"\n", expect_size=journal.size, step=step
    )
    return (
        f"the journal {paths.journal} was compacted from {journal.line_count:,} lines "
        f"({_size(journal.size)}) to {len(lines):,} ({_size(size)}): what may still exist "
        "or land is kept, servers known gone and superseded lines are not"
    )
