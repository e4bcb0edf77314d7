"""The append-only journal: one JSON line per create, status change and delete.

Why: a run can die at any moment (Ctrl-C twice, SIGKILL, a lost laptop lid). The
cloud knows every server by its fleet mark, but not the creates whose answer never
came back, nor which run made what. The journal is written *before* every create
(``sent``; ``attempt`` before each later send of it, when the API turned it away and
it is sent again) and after it (``created`` with the id), so a later ``apply``, ``status`` or
``destroy`` can account for every server with no duplicate and no orphan.

Each line is one ``os.write`` on an ``O_APPEND`` descriptor: once ``record`` returns,
the line survives the death of this process (SIGKILL included: it is in the kernel),
which is the guarantee ``apply`` relies on before sending a create. Surviving a crash
of the machine is ``fsync``'s job, and it is not done per line: here it costs ~3 ms
of waiting and 0.2-0.6 ms of CPU each (0.5 ms from the worker thread), more than a
whole create. ``sync_every`` runs beside the engine and flushes at most every
``interval`` (one second) when lines were written; ``sync()`` flushes now (concurrent
callers share one ``fsync``); closing flushes what is left. So a machine crash can
lose at most the last second of lines, and those servers still carry the fleet mark
by which the next ``apply``, ``status`` and ``destroy`` find them in the cloud. (At
every 100 ms the flushes cost ~3 % of a 1,000-server run's CPU, for no server that
the fleet mark would not find anyway.)

No secrets ever reach the journal: events carry names, ids, statuses and Nova's
fault messages only (never adminPass, never a token).

The journal never blocks the fleet. A line torn by a crash or a full disk is the last
one (lines are appended whole, one writer at a time: the fleet's lock): opening the
journal to write cuts it off (``repaired`` says so), so no record is ever appended
onto a partial line; a write that fails half-way is cut off the same way, and the
journal then refuses every later line (so no request goes out unrecorded). Reading
skips any line it cannot read (torn, not JSON, not UTF-8) with a warning naming
``FILE:LINE``: a damaged journal loses what those lines said, which the fleet mark
recovers from the cloud, and never stops ``apply``, ``status`` or ``destroy``. The
file is opened without following a symbolic link (``statedir``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

# Reading back lives in ``replay.py``; its names are here too, for callers that open
# and read a journal together.
from bulkboot.engine.replay import JournalEntry, read_fleet_journal, read_journal, replay
from bulkboot.engine.state import (
    Created,
    CreateRefused,
    CreateSent,
    DeadlinePassed,
    Deleted,
    DeleteRefused,
    DeleteSent,
    Event,
    Found,
    Requeued,
    StatusSeen,
    Vanished,
)
from bulkboot.engine.statedir import StatePaths, open_in_state
from bulkboot.errors import JournalError

__all__ = ["Journal", "JournalEntry", "read_fleet_journal", "read_journal", "replay"]

_quote = json.encoder.encode_basestring  # the C string escaper json.dumps uses
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WRITE_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT


def _record(event: Event) -> dict[str, Any] | None:
    """The journal line for an event, or ``None`` for events not worth a line."""
    if isinstance(event, CreateSent):
        return {"ev": "sent", "name": event.name}
    if isinstance(event, Created):
        if event.uncertain:  # sent, and nothing says what became of it
            return {"ev": "unanswered", "name": event.name}
        return {"ev": "created", "name": event.name, "id": event.server_id}
    if isinstance(event, StatusSeen):
        line: dict[str, Any] = {
            "ev": "status",
            "name": event.name,
            "id": event.server_id,
            "status": event.status,
        }
        if event.fault:
            line["fault"] = event.fault
        return line
    if isinstance(event, Found):
        return {"ev": "found", "name": event.name, "id": event.server_id, "status": event.status}
    if isinstance(event, CreateRefused):
        return {"ev": "refused", "name": event.name, "message": event.message}
    if isinstance(event, DeleteSent):
        return {"ev": "delete", "name": event.name, "id": event.server_id}
    if isinstance(event, DeleteRefused):
        return {"ev": "delete-refused", "name": event.name, "message": event.message}
    if isinstance(event, Deleted):
        return {"ev": "deleted", "name": event.name, "id": event.server_id}
    if isinstance(event, DeadlinePassed):
        return {"ev": "timeout", "name": event.name}
    if isinstance(event, Vanished):
        return {"ev": "gone", "name": event.name}
    if isinstance(event, Requeued):
        return {"ev": "requeued", "name": event.name}
    return None


class Journal:
    """An open journal file; use as a context manager (``with Journal.open(path) as j``).

    ``repaired`` is the note to show when opening cut off a torn last line (else None).
    """

    __slots__ = (
        "_broken",
        "_dumps",
        "_fd",
        "_path",
        "_size",
        "_synced_upto",
        "_syncing",
        "_written",
        "repaired",
    )

    def __init__(self, path: Path, fd: int) -> None:
        self._path = path
        self._fd = fd
        self._written = 0  # lines written
        self._synced_upto = 0  # lines known to be on disk
        self._syncing: anyio.Event | None = None
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._broken: str | None = None  # why no line may be written any more
        self.repaired: str | None = None
        try:
            self._size = os.fstat(fd).st_size
            self.repaired = self._repair()
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"cannot read the journal {path}: {exc.strerror}") from exc

    @classmethod
    def open(cls, path: Path) -> Journal:
        """Open ``path`` to append (made with its folders if missing; not through a link)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, _WRITE_FLAGS | _NOFOLLOW | _CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {path}: {exc.strerror}") from exc
        return cls(path, fd)

    @classmethod
    def open_fleet(cls, paths: StatePaths) -> Journal:
        """Open the fleet's journal in its state directory (see ``statedir``)."""
        fd = open_in_state(paths, paths.journal.name, _WRITE_FLAGS, create=True)
        if fd is None:  # pragma: no cover - O_CREAT in a directory just opened
            raise JournalError(f"cannot open the journal {paths.journal}")
        return cls(paths.journal, fd)

    def _repair(self) -> str | None:
        """Cut off a torn last line (no newline after it); the note saying so, or None."""
        size = self._size
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return None
        end = size
        keep = 0
        while end > 0:  # the last newline, reading backwards a block at a time
            start = max(0, end - 65536)
            block = os.pread(self._fd, end - start, start)
            at = block.rfind(b"\n")
            if at >= 0:
                keep = start + at + 1
                break
            end = start
        os.ftruncate(self._fd, keep)
        self._size = keep
        return (
            f"{self._path}: its last line was torn (a write cut short by a crash or a full "
            f"disk) and was removed ({size - keep} bytes): each line is written whole "
            "before the request it describes, so no request went out on its account"
        )

    @property
    def path(self) -> Path:
        return self._path

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            if self._synced_upto < self._written:
                os.fsync(self._fd)
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = -1

    def write(self, fields: dict[str, Any]) -> None:
        """Append one line now (one ``write`` system call), stamped with wall-clock time."""
        fields["t"] = round(time.time(), 3)
        self._line(self._dumps(fields) + "\n")

    def record(self, event: Event) -> None:
        """Append the line for ``event`` (if it has one)."""
        # The lines every server writes are formatted by hand (this runs three times
        # per server, five per load iteration); names and ids still go through JSON
        # string escaping.
        if isinstance(event, CreateSent):
            self._line(f'{{"ev":"sent","name":{_quote(event.name)},"t":{time.time():.3f}}}\n')
        elif isinstance(event, StatusSeen) and not event.fault:
            self._line(
                f'{{"ev":"status","name":{_quote(event.name)},"id":{_quote(event.server_id)},'
                f'"status":{_quote(event.status)},"t":{time.time():.3f}}}\n'
            )
        elif isinstance(event, Created) and event.server_id is not None:
            self._line(
                f'{{"ev":"created","name":{_quote(event.name)},'
                f'"id":{_quote(event.server_id)},"t":{time.time():.3f}}}\n'
            )
        elif isinstance(event, DeleteSent | Deleted):  # a load run's two other lines
            kind = "delete" if isinstance(event, DeleteSent) else "deleted"
            self._line(
                f'{{"ev":"{kind}","name":{_quote(event.name)},'
                f'"id":{_quote(event.server_id)},"t":{time.time():.3f}}}\n'
            )
        else:
            fields = _record(event)
            if fields is not None:
                self.write(fields)

    def record_attempt(self, name: str) -> None:
        """Append an ``attempt`` line: ``name``'s create is being sent again (a 429, a
        503 or 500 sent again) and goes on the wire now. Nova may act on this send late,
        so replay counts the create's window from its last ``attempt`` (``replay.py``).
        """
        self._line(f'{{"ev":"attempt","name":{_quote(name)},"t":{time.time():.3f}}}\n')

    def record_gone(self, gone: Iterable[tuple[str, str]]) -> None:
        """Append a ``gone`` line per server found gone ((name, id): a look-up answered
        404, or DELETED): replay counts it deleted, and it is never looked up again."""
        for name, server_id in gone:
            self.write({"ev": "gone", "name": name, "id": server_id})

    def _line(self, text: str) -> None:
        if self._broken is not None:
            raise JournalError(self._broken)
        data = text.encode()
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # only on a full disk or a signal; finish the line
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            self._broken = self._cut_short(exc)
            raise JournalError(self._broken) from exc
        self._size += len(data)
        self._written += 1

    def _cut_short(self, exc: OSError) -> str:
        """A write failed, maybe half-way: remove what it left, so that no later line (of
        this run, or the next) is appended onto a partial one; the reason to refuse more."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            pass  # the next open repairs it
        return (
            f"cannot write the journal {self._path}: {exc.strerror or exc}; nothing more is "
            "sent without its line"
        )

    async def sync(self) -> None:
        """Return once every line written so far is on disk; concurrent calls share fsyncs."""
        target = self._written
        while self._synced_upto < target:
            if self._syncing is not None:
                await self._syncing.wait()
                continue
            self._syncing = done = anyio.Event()
            upto = self._written
            try:
                await anyio.to_thread.run_sync(os.fsync, self._fd, abandon_on_cancel=False)
                self._synced_upto = max(self._synced_upto, upto)
            except OSError as exc:
                raise JournalError(f"cannot flush the journal {self._path}: {exc}") from exc
            finally:
                self._syncing = None
                done.set()

    async def sync_every(self, interval: float = 1.0) -> None:
        """Flush to disk at most every ``interval`` seconds while lines come; until cancelled."""
        while True:
            await anyio.sleep(interval)
            if self._synced_upto < self._written:
                await self.sync()
