"""One writer per fleet on this machine: an exclusive lock on the fleet's state.

Two runs that change one fleet at once (two ``apply``, or ``apply`` and ``destroy``)
each read the cloud and the journal, then act on what they read: both create the
same missing servers, or ``destroy`` deletes what it listed while ``apply`` creates
more. So every command that changes a fleet holds ``fcntl.flock(LOCK_EX)`` on
``<fleet>.lock`` beside the fleet's journal for its whole run. The kernel drops the
lock when the process ends, however it ends (SIGKILL included): a lock is never left
behind by a dead run, and the lock file is never deleted (deleting it would let a
third run lock a new file while the second still holds the old one).

The holder writes who it is into the file (PID, command, host, start time), so a
second run can say who is in the way. ``status`` reads without the lock; it takes it
only for a moment, when it is free, to journal the servers it found gone, and a run
that meets it then waits for it (``STATUS_GRACE``) instead of giving up.

A lock on this machine cannot see a run on another machine: that case is the
listing's to catch (see ``engine/tracking.py``, "another writer").
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeGuard

from bulkboot.engine.statedir import StatePaths, open_in_state
from bulkboot.errors import FleetBusy, JournalError

__all__ = ["FleetLock", "LockHolder", "take_lock"]

# How often a waiting run tries the lock again (``--wait-lock``).
RETRY_INTERVAL = 0.25
# How long a run waits, without --wait-lock, for a ``status`` that holds the lock
# (only while it journals the servers it found gone: a few lines).
STATUS_GRACE = 5.0
# A run that finds the lock taken reads who holds it again for up to 0.1 s while the
# file does not say (the holder writes it just after taking the lock).
_HOLDER_READS = 10
_HOLDER_PAUSE = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class LockHolder:
    """Who holds a fleet's lock, as the holder wrote it (any field may be unknown: the
    holder writes it just after taking the lock)."""

    pid: int | None = None
    command: str | None = None
    host: str | None = None
    since: float | None = None  # seconds since the epoch

    def describe(self) -> str:
        """``PID 1234 (bulkboot apply, since 14:02:11 UTC)``, and the host if not this one."""
        who = f"PID {self.pid}" if self.pid is not None else "another bulkboot process"
        details = [f"bulkboot {self.command}"] if self.command else []
        if self.since is not None:
            moment = datetime.fromtimestamp(self.since, timezone.utc)
            shown = (
                "%H:%M:%S"
                if moment.date() == datetime.now(timezone.utc).date()
                else "%Y-%m-%d %H:%M:%S"
            )
            details.append(f"since {moment.strftime(shown)} UTC")
        if self.host and self.host != socket.gethostname():
            details.append(f"on host {self.host}")
        return who + (f" ({', '.join(details)})" if details else "")


def _read_holder(fd: int) -> LockHolder:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return LockHolder()
    if not isinstance(data, dict):
        return LockHolder()
    pid, command, host, since = (data.get(k) for k in ("pid", "command", "host", "since"))
    return LockHolder(
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        command=command if isinstance(command, str) else None,
        host=host if isinstance(host, str) else None,
        since=float(since) if _is_number(since) else None,
    )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FleetLock:
    """A held lock; ``release`` (or the process's end) lets the next run in."""

    __slots__ = ("_fd", "paths")

    def __init__(self, paths: StatePaths, fd: int) -> None:
        self.paths = paths
        self._fd = fd

    @classmethod
    def try_take(cls, paths: StatePaths, *, command: str) -> FleetLock | LockHolder:
        """The lock, taken now; or, when another run holds it, who that is."""
        fd = open_in_state(paths, paths.lock.name, os.O_RDWR | os.O_CREAT, create=True)
        if fd is None:  # pragma: no cover - O_CREAT on a directory just opened
            raise JournalError(f"cannot open the lock {paths.lock}")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            for _ in range(_HOLDER_READS):  # it writes who it is just after locking
                if holder.pid is not None:
                    break
                time.sleep(_HOLDER_PAUSE)
                holder = _read_holder(fd)
            os.close(fd)
            return holder
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"cannot lock {paths.lock}: {exc.strerror or exc}") from exc
        me = {
            "pid": os.getpid(),
            "command": command,
            "host": socket.gethostname(),
            "since": round(time.time(), 3),
        }
        data = (json.dumps(me) + "\n").encode()
        try:  # over the last holder's words, then cut: never an empty file to read
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        except OSError:
            pass  # who holds it is a courtesy to the next run; the lock itself is held
        return cls(paths, fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = -1

    def __enter__(self) -> FleetLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _busy(paths: StatePaths, holder: LockHolder, waited: float | None) -> FleetBusy:
    after = f" after waiting {waited:g} s" if waited else ""
    return FleetBusy(
        f"fleet {paths.fleet!r} on cloud {paths.cloud!r} is being changed by "
        f"{holder.describe()}{after}; wait for it to finish or use --wait-lock "
        f"(its lock: {paths.lock}); nothing was sent"
    )


async def take_lock(
    paths: StatePaths,
    *,
    command: str,
    wait: float | None,
    on_wait: Callable[[LockHolder], None],
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> FleetLock:
    """The fleet's lock; ``FleetBusy`` when another run holds it (after waiting up to
    ``wait`` seconds for it, when given; ``on_wait`` is told once who is waited for)."""
    taken = FleetLock.try_take(paths, command=command)
    if isinstance(taken, FleetLock):
        return taken
    if not wait and taken.command == "status":
        # ``status`` holds it only to journal what it found gone: a moment, not a run
        again = await _wait_for(paths, command, STATUS_GRACE, clock, sleep)
        if isinstance(again, FleetLock):
            return again
        taken = again
    if not wait:
        raise _busy(paths, taken, None)
    on_wait(taken)
    again = await _wait_for(paths, command, wait, clock, sleep)
    if isinstance(again, FleetLock):
        return again
    raise _busy(paths, again, wait)


async def _wait_for(
    paths: StatePaths,
    command: str,
    wait: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> FleetLock | LockHolder:
    """The lock, tried again every ``RETRY_INTERVAL`` for up to ``wait`` seconds; or
    who held it last."""
    deadline = clock() + wait
    while True:
        await sleep(min(RETRY_INTERVAL, max(0.0, deadline - clock())))
        again = FleetLock.try_take(paths, command=command)
        if isinstance(again, FleetLock) or clock() >= deadline:
            return again
