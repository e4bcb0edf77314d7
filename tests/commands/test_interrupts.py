"""SIGTERM is Ctrl-C: once, the run finishes what is in flight and says what it did; a
second SIGTERM or Ctrl-C stops it now; the terminal is left as it was either way."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from bulkboot.engine.lock import FleetLock
from bulkboot.engine.statedir import state_paths
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    REPO,
    journal_of,
    start_apply,
    start_command,
    wait_for_sends,
    write_fleet,
)

HIDE_CURSOR = b"\x1b[?25l"
SHOW_CURSOR = b"\x1b[?25h"


def _lines(journal: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]  # each whole


def test_sigterm_once_finishes_the_creates_in_flight_and_summarises(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_fleet(tmp_path, "term", 150)
    process = start_apply(path, clouds, "--concurrency", "4")
    wait_for_sends(journal_of(path), 12)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted: finishing the creates in flight" in out
    assert "interrupted: no new creates were sent after Ctrl-C" in out  # the summary
    lines = _lines(journal_of(path))
    sent = sum(line["ev"] == "sent" for line in lines)
    created = sum(line["ev"] == "created" for line in lines)
    assert sent == created < 150  # every create in flight finished and was journaled
    assert sim.stats()["servers_total"] == created
    assert "Traceback" not in err


def test_a_second_sigterm_or_ctrl_c_stops_at_once(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    sim.configure(latency=0.3)
    for second in (signal.SIGTERM, signal.SIGINT):
        path = write_fleet(tmp_path, f"stop{int(second)}", 100)
        process = start_apply(path, clouds, "--concurrency", "20")
        wait_for_sends(journal_of(path), 20)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.02)
        process.send_signal(second)
        started = time.monotonic()
        out, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "Traceback" not in err
        # stopped now: the creates in flight (0.3 s each) were not waited for
        assert time.monotonic() - started < 30
        assert "create(s) were in flight and never answered" in out
        _lines(journal_of(path))


def test_sigterm_while_waiting_for_the_lock_ends_the_command(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    path = write_fleet(tmp_path, "held", 3)
    lock = FleetLock.try_take(state_paths(path, cloud="simulator", fleet="held"), command="apply")
    assert isinstance(lock, FleetLock)
    try:
        process = start_command("destroy", path, clouds, "--wait-lock", "1m")
        deadline = time.monotonic() + 20
        assert process.stdout is not None
        shown = process.stdout.readline()  # "... waiting up to 60 s for it to finish"
        assert "waiting up to 60 s" in shown and time.monotonic() < deadline
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        lock.release()
    assert process.returncode == 130 and err == "bulkboot: interrupted\n"
    # nothing sent: not even an authentication (creates an earlier test's processes
    # left in flight may still be counted as they end)
    stats = sim.stats()
    assert stats["authentications"] == 0
    assert not any(route.startswith("GET") for route in stats["requests"])


def _read_all(fd: int, process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """Everything the child writes on its terminal until it exits."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child's side closed
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    return b"".join(chunks)


def test_the_live_view_gives_the_terminal_back_after_two_sigterms(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    sim.configure(latency=0.3)
    path = write_fleet(tmp_path, "live", 100)
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkboot", "apply", str(path), "--cloud", "simulator"]
        + ["--format", "live", "--yes", "--concurrency", "20"],
        cwd=path.parent,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO)),
        stdin=child,
        stdout=child,
        stderr=child,
    )
    os.close(child)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while HIDE_CURSOR not in seen and time.monotonic() < deadline:
            seen += _read_all(main, process, 0.2)
        assert HIDE_CURSOR in seen, seen[-500:]
        wait_for_sends(journal_of(path), 20)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        seen += _read_all(main, process, 30)
        assert process.wait(timeout=30) == 130
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert seen.rfind(SHOW_CURSOR) > seen.rfind(HIDE_CURSOR), seen[-500:]
    assert b"Traceback" not in seen
