"""Chaos: ``apply`` killed at random moments, followed at once by ``apply`` or ``destroy``.

On the simulator with slow creates (so that creates are in flight at every kill) and a
short request timeout (the window in which a create sent and never answered may land),
20 rounds, seeded: an ``apply`` in a process of its own is stopped after a random
number of journal lines by SIGKILL, Ctrl-C twice or SIGTERM, and at once an ``apply`` or
a ``destroy`` runs. Then two pairs of runs started together (``apply`` + ``apply``,
``apply`` + ``destroy``). What must hold, every time:

- no duplicate: no two servers of the fleet share a name (the simulator counts them);
- no orphan: after a ``destroy``, and after the final one, no server of the fleet is left;
- every server accounted for: after an ``apply``, the fleet is exactly the manifest's
  servers, each id in the journal;
- an interrupted run's summary is true: the creates it says may still appear are the
  journal's unanswered ones, its "created" and "existed" counts are the journal's, and
  every server of the fleet in the cloud right after it is one the journal knows or one
  of those it said may appear.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bulkboot.engine.replay import read_journal, replay
from bulkboot.identity import FLEET_MARK_KEY
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    apply,
    destroy,
    journal_of,
    start_apply,
    start_command,
    use_simulator,
)

ROUNDS = 20
SEED = 20_251
API_TIMEOUT = 0.5  # seconds: the window of a create in flight
FLEET = "chaos"
# Each round's manifest has 4 to 16 nodes (and a group of 3): a round that grows the
# fleet has creates to kill, one that shrinks it leaves drift for destroy to take.
MANIFEST = """name: chaos
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: pool
    min_count: 3
    max_count: 3
  - name: "node-{{index:02d}}"
    count: {count}
"""
POOL = {"pool-1", "pool-2", "pool-3"}
RUN_FLAGS = ("--concurrency", "5", "--poll-interval", "100ms")
IN_FLIGHT = re.compile(r"^(\d+) create\(s\) were in flight and never answered", re.MULTILINE)
CREATED = re.compile(r"^(\d+) created by this run, (\d+) already existed", re.MULTILINE)


def _fleet(sim: RunningSimulator) -> list[dict[str, Any]]:
    """The fleet's servers in the cloud now (not those already gone), read from the
    simulator's own records (a listing through the API would cost an authentication)."""
    state = sim._state

    def read() -> list[dict[str, Any]]:
        now = state.clock()
        return [
            {"id": r.id, "name": r.name, "status": r.status(now)}
            for r in state.records
            if r.metadata.get(FLEET_MARK_KEY) == FLEET and r.status(now) != "DELETED"
        ]

    return sim._call(read)


def _records(journal: Path) -> list[Mapping[str, Any]]:
    return list(read_journal(journal))


def _this_run(journal: Path, lines_before: int) -> list[dict[str, Any]]:
    """The journal lines written by the run that began after ``lines_before`` lines."""
    return [json.loads(line) for line in journal.read_text().splitlines()[lines_before:]]


def _check_interrupted_summary(
    sim: RunningSimulator, journal: Path, lines_before: int, out: str, err: str, stopped_at: float
) -> dict[str, int]:
    """The interrupted run's own account against the journal and the cloud."""
    if CREATED.search(out) is None:  # stopped before its run began: nothing was sent
        assert err.endswith("bulkboot: interrupted\n"), (out, err)
        assert not any(r.get("ev") == "sent" for r in _this_run(journal, lines_before))
        return {"said_in_flight": 0, "before_the_run": 1}
    entries = replay(_records(journal))
    unanswered = {n for n, e in entries.items() if e.unconfirmed}
    live = {
        n
        for n, e in entries.items()
        if e.unconfirmed
        and e.last_sent_at is not None
        and e.last_sent_at + API_TIMEOUT > stopped_at + 0.5
    }
    match = IN_FLIGHT.search(out)
    said = int(match.group(1)) if match else 0
    # what it said may still appear: the journal's unanswered creates, those in their
    # window when it stopped (a second later, some windows may have closed)
    assert len(live) <= said <= len(unanswered), (said, unanswered, out[-2000:])
    mine = _this_run(journal, lines_before)
    counts = CREATED.search(out)
    assert counts is not None, out[-2000:]
    created = {r["name"] for r in mine if r.get("ev") == "created" and r.get("id")}
    found = {r["name"] for r in mine if r.get("ev") == "found"}
    assert int(counts.group(1)) == len(created), (counts.group(0), created)
    assert int(counts.group(2)) == len(found), (counts.group(0), found)
    # every server of the fleet in the cloud is one the journal knows, or one of the
    # creates it said may still appear
    known = {i for e in entries.values() for i in e.ids}
    strangers = sorted(r["name"] for r in _fleet(sim) if str(r["id"]) not in known)
    # a multi-create answered (its members are the fleet's by the mark; the journal has
    # their names once a poll round has seen them)
    answered = POOL if "pool" in entries and not entries["pool"].unconfirmed else set()
    unknown = [name for name in strangers if name not in answered]
    assert set(unknown) <= unanswered | POOL and len(unknown) <= said + 3 * (
        "pool" in unanswered
    ), (
        strangers,
        said,
        unanswered,
        out[-3000:],
        journal.read_text()[-3000:],
    )
    return {"said_in_flight": said, "before_the_run": 0}


def _check_complete(sim: RunningSimulator, journal: Path, count: int) -> set[str]:
    """After an apply: the manifest's servers, once each (beside drift: nodes an earlier,
    bigger manifest named), each known to the journal."""
    servers = _fleet(sim)
    names = sorted(r["name"] for r in servers)
    wanted = POOL | {f"node-{i:02d}" for i in range(1, count + 1)}
    assert len(names) == len(set(names)) and wanted <= set(names), names
    assert set(names) - wanted <= {f"node-{i:02d}" for i in range(count + 1, 17)}, names
    known = {i for e in replay(_records(journal)).values() for i in e.live_ids}
    assert {str(r["id"]) for r in servers} <= known
    assert sim.stats()["duplicate_names"] == 0
    return set(names)


def _check_gone(sim: RunningSimulator) -> None:
    assert _fleet(sim) == [], _fleet(sim)


def _stop(process: subprocess.Popen[str], how: str) -> tuple[str, str]:
    if process.poll() is not None:  # it ended first: nothing left to stop
        return process.communicate()
    if how == "SIGKILL":
        os.kill(process.pid, signal.SIGKILL)
    elif how == "SIGINT2":
        os.kill(process.pid, signal.SIGINT)
        time.sleep(0.02)  # two pending at once are one
        os.kill(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM)
    return process.communicate(timeout=60)


def _wait_for_sends(
    journal: Path, lines_before: int, count: int, process: subprocess.Popen[str]
) -> None:
    """Until the run that began after ``lines_before`` lines has begun (its ``run``
    line: past Python's own start, which no program can guard) and sent ``count``
    creates, or has ended."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists():
            lines = journal.read_text().splitlines()[lines_before:]
            if lines and sum('"ev":"sent"' in line for line in lines) >= count:
                return
        time.sleep(0.005)


def test_chaos_kills_then_apply_or_destroy_no_duplicate_no_orphan(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=API_TIMEOUT)
    # creates slow to answer (0.08 s, +0.03 s per other create in the API's hands)
    sim.configure(latency=0.08, create_queueing=0.03, build_time_mean=0.15, delete_delay=0.1)
    path = tmp_path / "chaos.yaml"
    journal = journal_of(path)
    rng = random.Random(SEED)
    figures = dict.fromkeys(
        ("rounds", "summaries_checked", "stopped_before_the_run", "in_flight_said", "killed"), 0
    )
    started = time.monotonic()
    present: set[str] = set()  # the fleet's server names after the last round
    for _ in range(ROUNDS):
        how = rng.choice(("SIGKILL", "SIGINT2", "SIGTERM"))
        then = rng.choice(("apply", "destroy"))
        count = rng.randint(4, 16)
        path.write_text(MANIFEST.format(count=count))
        # the creates this apply has to send: the nodes missing, and the group
        nodes = {f"node-{i:02d}" for i in range(1, count + 1)}
        work = len(nodes - present) + (not POOL <= present)
        lines_before = journal.read_text().count("\n") if journal.exists() else 0
        process = start_apply(path, clouds, *RUN_FLAGS)
        # stopped after a random number of its creates were sent, and a random moment
        _wait_for_sends(journal, lines_before, rng.randrange(0, max(1, work)), process)
        time.sleep(rng.uniform(0.0, 0.1))
        out, err = _stop(process, how)
        stopped_at = time.time()
        assert "Traceback" not in err, err
        if how == "SIGKILL":
            assert process.returncode in (0, -signal.SIGKILL)
            figures["killed"] += process.returncode == -signal.SIGKILL
        else:
            # 0 or a death by the signal itself: the run had ended and Python was
            # shutting down when the signal came (its handlers already gone)
            ended = (0, -signal.SIGINT, -signal.SIGTERM)
            assert process.returncode in (130, *ended), (how, process.returncode, err)
            if process.returncode == 130:
                checked = _check_interrupted_summary(
                    sim, journal, lines_before, out, err, stopped_at
                )
                figures["summaries_checked"] += 1 - checked["before_the_run"]
                figures["stopped_before_the_run"] += checked["before_the_run"]
                figures["in_flight_said"] += checked["said_in_flight"]
        if then == "apply":
            code, _, err = apply(capsys, path, *RUN_FLAGS[:2], poll="100ms")
            assert code == 0, err
            present = _check_complete(sim, journal, count)
        else:
            code, _, err = destroy(capsys, path)
            assert code == 0, err
            _check_gone(sim)
            present = set()
        assert sim.stats()["duplicate_names"] == 0
        figures["rounds"] += 1

    # Two runs started together, twice: one runs, the other sends nothing (or they
    # happen one after the other); the fleet ends whole or gone, never half, never twice.
    for pair in (("apply", "apply"), ("apply", "destroy")):
        processes = [
            start_command(command, path, clouds, *(RUN_FLAGS if command == "apply" else ()))
            for command in pair
        ]
        outputs = [p.communicate(timeout=60) for p in processes]
        results = [
            (p.returncode, out, err) for p, (out, err) in zip(processes, outputs, strict=True)
        ]
        for code, _, err in results:
            assert code in (0, 2), results
            assert code == 0 or "is being changed by PID" in err, err
        assert any(code == 0 for code, _, _ in results)
        names = sorted(r["name"] for r in _fleet(sim))
        wanted = sorted(POOL | {f"node-{i:02d}" for i in range(1, count + 1)})
        assert names == [] or (wanted == sorted(set(names) & set(wanted))), names
        assert sim.stats()["duplicate_names"] == 0

    code, _, err = destroy(capsys, path)
    assert code == 0, err
    time.sleep(API_TIMEOUT)  # anything still in flight anywhere lands now
    _check_gone(sim)
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers_total"] == 0
    print(
        f"chaos figures: {figures}, servers created in all: {stats['servers_created']}, "
        f"{time.monotonic() - started:.1f} s"
    )
