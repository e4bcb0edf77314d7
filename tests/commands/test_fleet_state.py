"""One fleet, one writer: the lock two runs meet on, the state kept per cloud and fleet,
and a fleet name that never comes from a file name by accident."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    apply,
    destroy,
    journal_of,
    run_cli,
    start_apply,
    start_command,
    status,
    wait_for_sends,
    write_fleet,
)

BUSY = re.compile(
    r"bulkboot: error: fleet '(\w+)' on cloud 'simulator' is being changed by PID (\d+) "
    r"\(bulkboot (apply|destroy), since \d\d:\d\d:\d\d UTC\); wait for it to finish or use "
    r"--wait-lock \(its lock: .+\); nothing was sent\n"
)


def _posts(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get("POST /compute/v2.1/servers", {}).values())


def test_two_applies_started_together_one_runs_the_other_sends_nothing(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_fleet(tmp_path, "pair", 200)
    first = start_apply(path, clouds, "--concurrency", "20")
    second = start_apply(path, clouds, "--concurrency", "20")
    results = {}
    for process in (first, second):
        out, err = process.communicate(timeout=120)
        results[process.pid] = (process.returncode, out, err)
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 2], results
    winner = next(pid for pid, (code, _, _) in results.items() if code == 0)
    loser_code, loser_out, loser_err = next(r for r in results.values() if r[0] == 2)
    match = BUSY.fullmatch(loser_err)
    assert match is not None, loser_err
    assert match.group(1) == "pair" and int(match.group(2)) == winner
    assert loser_out == ""  # nothing started, nothing shown
    stats = sim.stats()
    assert stats["servers_total"] == 200 and stats["duplicate_names"] == 0
    assert _posts(sim) == 200


def test_destroy_meets_a_running_apply_then_waits_for_it_when_asked(
    sim: RunningSimulator,
    tmp_path: Path,
    clouds: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim.configure(latency=0.1)  # an apply of 5 s at least: 200 creates, 4 at a time
    path = write_fleet(tmp_path, "meet", 200)
    running = start_apply(path, clouds, "--concurrency", "4")
    wait_for_sends(journal_of(path), 20)
    code, out, err = destroy(capsys, path, fmt="plain")
    match = BUSY.fullmatch(err)
    assert code == 2 and match is not None, err
    assert (match.group(2), match.group(3)) == (str(running.pid), "apply")
    assert "DELETE /compute/v2.1/servers/{server_id}" not in sim.stats()["requests"]
    # status reads without the lock
    code, _, err = status(capsys, path)
    assert code == 1 and "being changed" not in err
    # --wait-lock: waits (and says so), then destroys all the apply made
    waiting = start_command("destroy", path, clouds, "--wait-lock", "2m")
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert re.search(
        rf"fleet 'meet' on cloud 'simulator' is being changed by PID {running.pid} "
        r"\(bulkboot apply, since \d\d:\d\d:\d\d UTC\): waiting up to 120 s for it to finish",
        out,
    ), out
    _, running_err = running.communicate(timeout=60)
    assert running.returncode == 0, running_err
    assert "all 200 servers destroyed" in out
    assert sim.stats()["servers_total"] == 0


def test_a_second_writer_with_another_state_directory_is_seen_in_the_listing(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    # Two machines, or two state directories: no lock is shared. Each run sees servers
    # of the fleet it does not know, created after it began: it stops creating.
    sim.configure(latency=0.1)
    path = write_fleet(tmp_path, "twohosts", 120)
    first = start_apply(path, clouds, "--concurrency", "4", "--state-dir", str(tmp_path / "host-a"))
    wait_for_sends(tmp_path / "host-a" / "simulator" / "twohosts.jsonl", 8)
    second = start_apply(
        path, clouds, "--concurrency", "4", "--state-dir", str(tmp_path / "host-b")
    )
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [first.returncode, second.returncode] == [1, 1], outputs
    for out, _ in outputs:
        assert "another writer: " in out and "server(s) of fleet 'twohosts' appeared" in out
    # both stopped creating long before the fleet was made twice
    assert sim.stats()["servers_total"] < 120 + 40


def test_the_fleet_name_must_be_written_for_commands_that_touch_a_cloud(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "# no name: the file's name must not decide which fleet this is\n"
        "servers:\n  - {name: a, flavor: m1.tiny, image: cirros-0.6.2, networks: none}\n"
    )
    for command in ("apply", "status", "destroy", "plan"):
        code, out, err = run_cli(capsys, command, str(path), "--cloud", "simulator")
        assert code == 2 and out == "", (command, err)
        assert err.startswith(f"{path}:2:1: manifest: 'name' is missing: a command that talks")
        assert err.endswith("add e.g. 'name: lab'\nbulkboot: 1 problem; nothing was sent\n")
    assert sim.stats()["requests_total"] == 0
    # offline, nothing touches a cloud: the file's name stands in
    code, _, _ = run_cli(capsys, "validate", str(path))
    assert code == 0
    code, out, _ = run_cli(capsys, "plan", str(path), "--offline")
    assert code == 0


def test_state_per_cloud_and_fleet_and_an_older_journal_moved(
    sim: RunningSimulator,
    tmp_path: Path,
    clouds: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_fleet(tmp_path, "moved", 3)
    old = tmp_path / ".bulkboot" / "moved.jsonl"  # where an older bulkboot kept it
    old.parent.mkdir()
    old.write_text(
        '{"ev":"run","cmd":"apply","cloud":"simulator"}\n{"ev":"sent","name":"moved-001","t":1}\n'
    )
    code, _, err = apply(capsys, path)
    assert code == 0, err
    assert f"the journal of fleet 'moved' moved from {old} to {journal_of(path)}" in err
    assert not old.exists()
    lines = [json.loads(line) for line in journal_of(path).read_text().splitlines()]
    assert lines[1] == {"ev": "sent", "name": "moved-001", "t": 1}  # the old lines kept
    # --state-dir (or BULKBOOT_STATE_DIR) moves the state; a fresh state knows nothing
    # but finds the fleet by its mark all the same
    elsewhere = tmp_path / "state"
    code, out, err = apply(capsys, path, "--state-dir", str(elsewhere))
    assert code == 0, err
    assert json.loads(out)["summary"]["existed"] == 3
    assert (elsewhere / "simulator" / "moved.jsonl").exists()
    monkeypatch.setenv("BULKBOOT_STATE_DIR", str(tmp_path / "from-env"))
    code, out, err = apply(capsys, path)
    assert code == 0 and json.loads(out)["summary"]["existed"] == 3, err
    assert (tmp_path / "from-env" / "simulator" / "moved.jsonl").exists()
    assert _posts(sim) == 3


def test_a_damaged_journal_never_stops_the_fleet(
    sim: RunningSimulator, tmp_path: Path, clouds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_fleet(tmp_path, "torn", 4)
    code, _, _ = apply(capsys, path)
    assert code == 0
    journal = journal_of(path)
    whole = journal.read_bytes()
    # garbage and invalid UTF-8 in the middle, a torn last line (a full disk, a crash)
    journal.write_bytes(b"garbage\n\xff\xfe\n" + whole + b'{"ev":"sta')
    code, out, err = status(capsys, path, fmt="json")
    assert code == 0 and json.loads(out)["counts"] == {"ACTIVE": 4}
    assert f"{journal}:1:1: the journal line is not JSON (Expecting value); skipped" in err
    assert f"{journal}:2: the journal line is not UTF-8 text; skipped" in err
    assert "the last line is torn" in err
    code, out, err = apply(capsys, path)
    assert code == 0 and json.loads(out)["summary"]["existed"] == 4
    assert "its last line was torn" in err and "was removed (10 bytes)" in err
    assert journal.read_bytes().endswith(b"\n")
    for line in journal.read_bytes().splitlines()[2:]:
        json.loads(line)  # every line after the garbage whole: nothing appended on the tear
    code, out, err = destroy(capsys, path)
    assert code == 0 and json.loads(out)["summary"]["counts"]["deleted"] == 4
    assert sim.stats()["servers_total"] == 0
