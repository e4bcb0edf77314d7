"""The fleet's lock: one holder at a time, who holds it said, waited for when asked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulkboot.engine.lock import STATUS_GRACE, FleetLock, LockHolder, take_lock
from bulkboot.engine.statedir import state_paths
from bulkboot.errors import FleetBusy


def _paths(tmp_path: Path):  # type: ignore[no-untyped-def]
    return state_paths(tmp_path / "lab.yaml", cloud="prod", fleet="lab")


def test_one_holder_at_a_time_and_the_second_learns_who(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    first = FleetLock.try_take(paths, command="apply")
    assert isinstance(first, FleetLock)
    second = FleetLock.try_take(paths, command="destroy")
    assert isinstance(second, LockHolder)
    assert second.pid == os.getpid() and second.command == "apply"
    assert second.host == socket.gethostname() and second.since is not None
    assert abs(second.since - time.time()) < 60
    described = second.describe()
    assert described.startswith(f"PID {os.getpid()} (bulkboot apply, since ")
    assert described.endswith(" UTC)")
    first.release()
    third = FleetLock.try_take(paths, command="destroy")
    assert isinstance(third, FleetLock)
    third.release()


def test_a_lock_held_by_another_process_and_dropped_when_it_dies(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    code = (
        "import sys, time\n"
        "from bulkboot.engine.lock import FleetLock\n"
        "from bulkboot.engine.statedir import state_paths\n"
        f"lock = FleetLock.try_take(state_paths({str(tmp_path / 'lab.yaml')!r}, cloud='prod', "
        "fleet='lab'), command='apply')\n"
        "print(type(lock).__name__, flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "FleetLock"
            seen = FleetLock.try_take(paths, command="destroy")
            assert isinstance(seen, LockHolder) and seen.pid == holder.pid
        finally:
            holder.kill()  # SIGKILL: no handler runs; the kernel drops the lock
            holder.wait()
    taken = FleetLock.try_take(paths, command="destroy")
    assert isinstance(taken, FleetLock)
    taken.release()


def test_a_holder_that_wrote_nothing_yet_is_still_described(tmp_path: Path) -> None:
    assert LockHolder().describe() == "another bulkboot process"
    assert LockHolder(pid=7, host="elsewhere").describe() == "PID 7 (on host elsewhere)"


@pytest.mark.anyio
async def test_busy_says_who_and_sends_nothing_or_waits_when_asked(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    held = FleetLock.try_take(paths, command="apply")
    assert isinstance(held, FleetLock)
    now = [0.0]
    told: list[LockHolder] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 1.0:
            held.release()  # the other run ends after a second

    with pytest.raises(FleetBusy) as info:
        await take_lock(
            paths,
            command="destroy",
            wait=None,
            on_wait=told.append,
            clock=lambda: now[0],
            sleep=sleep,
        )
    message = str(info.value)
    assert message.startswith(f"fleet 'lab' on cloud 'prod' is being changed by PID {os.getpid()}")
    assert "wait for it to finish or use --wait-lock" in message and info.value.exit_code == 2
    assert told == []
    lock = await take_lock(
        paths, command="destroy", wait=30.0, on_wait=told.append, clock=lambda: now[0], sleep=sleep
    )
    assert len(told) == 1 and told[0].command == "apply" and 1.0 <= now[0] < 2.0
    lock.release()


@pytest.mark.anyio
async def test_waiting_is_bounded(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    held = FleetLock.try_take(paths, command="apply")
    assert isinstance(held, FleetLock)
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(FleetBusy, match="after waiting 5 s"):
        await take_lock(
            paths,
            command="destroy",
            wait=5.0,
            on_wait=lambda _: None,
            clock=lambda: now[0],
            sleep=sleep,
        )
    assert 5.0 <= now[0] < 5.5
    held.release()


@pytest.mark.anyio
async def test_a_status_journaling_what_it_found_gone_is_waited_for_a_moment(
    tmp_path: Path,
) -> None:
    """``status`` takes the lock only for a few lines: a run that meets it waits, even
    without --wait-lock, instead of failing; a status that holds it too long (it never
    should) is reported like any holder."""
    paths = _paths(tmp_path)
    held = FleetLock.try_take(paths, command="status")
    assert isinstance(held, FleetLock)
    now = [0.0]
    told: list[LockHolder] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 0.5:
            held.release()

    lock = await take_lock(
        paths, command="apply", wait=None, on_wait=told.append, clock=lambda: now[0], sleep=sleep
    )
    assert 0.5 <= now[0] < 1.0 and told == []  # waited quietly
    lock.release()

    stuck = FleetLock.try_take(paths, command="status")
    assert isinstance(stuck, FleetLock)
    now[0] = 0.0

    async def forever(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(FleetBusy, match=r"bulkboot status"):
        await take_lock(
            paths,
            command="apply",
            wait=None,
            on_wait=told.append,
            clock=lambda: now[0],
            sleep=forever,
        )
    assert STATUS_GRACE <= now[0] < STATUS_GRACE + 0.5 and told == []
    stuck.release()
