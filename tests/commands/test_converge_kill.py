"""SIGKILL during a rolling replacement, then ``apply`` again: the change is finished.

A fleet of 8 is booted, its flavor changed, and ``apply --replace-changed`` started in a
process of its own on an API slow enough that creates and deletes are in flight; it is
killed (SIGKILL: nothing flushed, nothing finished) once its journal shows a given
step, at once followed by the same ``apply`` in this process. What must hold after it:
no duplicate (one server per name), no orphan (no server of the fleet but the
manifest's, none left on its way out unknown to the journal), every server ACTIVE at
the spec mark its planned body carries now.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, journal_of, kill, run_cli, start_apply, use_simulator

API_TIMEOUT = 0.5  # seconds: the window of a create sent and never answered
MANIFEST = """name: lab
defaults: {{image: cirros-0.6.2, flavor: {flavor}, networks: none}}
servers:
  - {{name: "web-{{index}}", count: 8}}
"""
NAMES = [f"web-{i}" for i in range(1, 9)]


def _servers(sim: RunningSimulator) -> list[dict[str, Any]]:
    """The fleet's servers not deleted yet (a DELETE accepted counts as deleted)."""
    state = sim._state

    def read() -> list[dict[str, Any]]:
        now = state.clock()
        return [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status(now),
                "flavor": r.flavor.name,
                "spec": r.metadata.get(SPEC_MARK_KEY),
            }
            for r in state.records
            if r.metadata.get(FLEET_MARK_KEY) == "lab" and r.deleted_at is None
        ]

    return sim._call(read)


def _wait_for(journal: Path, skip: int, event: str, count: int, timeout: float = 20.0) -> bool:
    """Until the journal, past its first ``skip`` lines, has ``count`` lines of ``event``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = journal.read_text().splitlines()[skip:]
        if sum(1 for line in lines if f'"ev":"{event}"' in line) >= count:
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize(
    ("order", "event", "count"),
    [
        ("create-first", "sent", 1),  # a new server's create in flight
        ("create-first", "created", 2),  # new servers building, the old ones all there
        ("create-first", "delete", 1),  # an old server's DELETE journaled, maybe sent
        ("create-first", "deleted", 3),  # mid-way: some names done, some begun
        ("delete-first", "delete", 2),  # old servers on their way out, names not made
        ("delete-first", "sent", 3),  # names made again, creates in flight
    ],
)
def test_sigkill_during_a_rolling_replace_then_apply_finishes_it(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    order: str,
    event: str,
    count: int,
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=API_TIMEOUT)
    path = tmp_path / "lab.yaml"
    path.write_text(MANIFEST.format(flavor="m1.tiny"))
    code, _, err = apply(capsys, path, "--poll-interval", "100ms")
    assert code == 0, err
    old = {r["id"] for r in _servers(sim)}
    path.write_text(MANIFEST.format(flavor="m1.small"))
    journal = journal_of(path)
    skip = len(journal.read_text().splitlines())
    sim.configure(latency=0.05)  # requests in flight at the kill
    flags = ("--replace-changed", "--max-unavailable", "2", "--replace-order", order)
    process = start_apply(path, clouds, *flags, "--poll-interval", "100ms", capture=False)
    try:
        assert _wait_for(journal, skip, event, count), journal.read_text()[-2000:]
    finally:
        kill(process)
    sim.configure(latency=0.0)
    code, out, err = apply(capsys, path, *flags, "--poll-interval", "100ms")
    assert code == 0, (err, out[-3000:])
    servers = _servers(sim)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for server in servers:
        by_name.setdefault(server["name"], []).append(server)
    assert sorted(by_name) == NAMES  # no orphan: nothing but the manifest's names
    assert all(len(found) == 1 for found in by_name.values()), by_name  # no duplicate
    code, plan, _ = run_cli(capsys, "plan", str(path), "--cloud", "simulator", "--format", "json")
    assert code == 0
    planned = {
        r["name"]: r["body"]["server"]["metadata"][SPEC_MARK_KEY]
        for r in json.loads(plan)["requests"]
    }
    for name, (server,) in by_name.items():
        assert server["status"] == "ACTIVE" and server["flavor"] == "m1.small", server
        assert server["spec"] == planned[name]
    assert not old & {s["id"] for s in servers}  # every old server gone (or going)
    # and the cloud holds nothing of the fleet the journal does not know
    ids = {json.loads(line).get("id") for line in journal.read_text().splitlines()}
    assert {s["id"] for s in servers} <= ids
