"""``bulkboot destroy``: every marked server goes, unmarked ones stay; also after SIGKILL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    applied,
    apply,
    destroy,
    interrupted_apply,
    journal_of,
    kill,
    start_apply,
    use_simulator,
    wait_for_sends,
    write_fleet,
)


def test_destroy_removes_the_fleet_and_only_the_fleet(
    sim: RunningSimulator, tmp_path: Path, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(lab.read_text().replace("name: lab", "name: other"))
    applied(capsys, lab)
    # the same names in a second fleet: refused unless asked for (tests/commands/
    # test_apply_converge.py), asked for here
    applied(capsys, other, "--allow-duplicate-names")
    assert sim.stats()["servers_total"] == 12
    code, out, err = destroy(capsys, lab, "--concurrency", "3")
    assert code == 0, err
    document = json.loads(out)
    assert document["summary"]["command"] == "destroy"
    assert document["summary"]["counts"]["deleted"] == 6 and document["summary"]["ok"]
    assert {s["state"] for s in document["servers"]} == {"deleted"}
    assert sim.stats()["servers_total"] == 6  # the other fleet is untouched
    deletes = sim.stats()["requests"]["DELETE /compute/v2.1/servers/{server_id}"]
    assert sum(deletes.values()) == 6
    journal = journal_of(lab).read_text().splitlines()
    assert sum('"ev":"deleted"' in line for line in journal) == 6
    # nothing left: a second destroy is a no-op that succeeds
    code, out, _ = destroy(capsys, lab, fmt="plain")
    assert code == 0 and "no servers to delete" in out


def test_sigkill_then_apply_then_sigkill_then_destroy(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A short request timeout: the creates a kill leaves unanswered are waited for that
    # long by the next apply or destroy.
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=2.0)
    sim.configure(latency=0.02, build_time_mean=0.5)
    flags = ("--concurrency", "8", "--poll-interval", "200ms")

    first = write_fleet(tmp_path, "first", 80)
    process = start_apply(first, clouds, *flags, capture=False)
    wait_for_sends(journal_of(first), 20)
    kill(process)
    partial = sim.stats()["servers_total"]
    assert 0 < partial < 80
    code, out, _ = apply(capsys, first)
    document = json.loads(out)
    assert code == 0 and document["summary"]["counts"]["active"] == 80
    assert document["summary"]["existed"] >= partial - 8  # in flight at the kill: found too
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers_total"] == 80

    second = write_fleet(tmp_path, "second", 80)
    process = start_apply(second, clouds, *flags, capture=False)
    wait_for_sends(journal_of(second), 30)
    kill(process)
    assert sim.stats()["servers_total"] > 80
    time.sleep(0.1)  # let requests the dead process left in flight land
    for path in (second, first):
        code, out, err = destroy(capsys, path)
        assert code == 0, err
    assert sim.stats()["servers_total"] == 0


# Asking first (on a terminal, Ctrl-C and Ctrl-D there, no terminal): test_prompt.py.


def test_ctrl_c_twice_stops_at_once_and_leaves_a_whole_journal(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A short request timeout: a create cut off before it left is waited for that long
    # by the next apply (which may not send it again sooner), not 120 s.
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=2.0)
    sim.configure(latency=0.05)
    path = write_fleet(tmp_path, "twice", 150)
    journal = journal_of(path)
    code, out, err = interrupted_apply(path, clouds, times=2)
    assert code == 130, err
    for line in journal.read_text().splitlines():
        json.loads(line)  # every line whole
    time.sleep(0.2)  # creates cut off in flight may still land in the cloud
    code, out, _ = apply(capsys, path)
    assert code == 0 and json.loads(out)["summary"]["counts"]["active"] == 150
    stats = sim.stats()
    assert stats["servers_total"] == 150 and stats["duplicate_names"] == 0


def test_destroy_timeout_bounds_the_wait_for_servers_to_go(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab)
    sim.configure(delete_delay=60.0)  # the cloud is slow to delete
    code, out, err = destroy(capsys, lab, "--timeout", "500ms")
    assert code == 1, err
    document = json.loads(out)
    assert document["summary"]["counts"]["timeout"] == 6
    assert {s["message"] for s in document["servers"]} == {
        "not gone by the deadline (last status ACTIVE)"
    }
