"""``bulkboot destroy``: every marked server goes, unmarked ones stay; also after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import run_cli, use_simulator, write_lab

REPO = Path(__file__).resolve().parents[2]


def test_destroy_removes_the_fleet_and_only_the_fleet(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = write_lab(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(path.read_text().replace("name: lab", "name: other"))
    assert (
        run_cli(
            capsys,
            "apply",
            str(path),
            "--cloud",
            "simulator",
            "--format",
            "json",
            "--poll-interval",
            "200ms",
        )[0]
        == 0
    )
    assert (
        run_cli(
            capsys,
            "apply",
            str(other),
            "--cloud",
            "simulator",
            "--format",
            "json",
            "--poll-interval",
            "200ms",
        )[0]
        == 0
    )
    assert sim.stats()["servers_total"] == 12
    code, out, err = run_cli(
        capsys,
        "destroy",
        str(path),
        "--cloud",
        "simulator",
        "--yes",
        "--format",
        "json",
        "--concurrency",
        "3",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["summary"]["command"] == "destroy"
    assert document["summary"]["counts"]["deleted"] == 6 and document["summary"]["ok"]
    assert {s["state"] for s in document["servers"]} == {"deleted"}
    assert sim.stats()["servers_total"] == 6  # the other fleet is untouched
    deletes = sim.stats()["requests"]["DELETE /compute/v2.1/servers/{server_id}"]
    assert sum(deletes.values()) == 6
    journal = (tmp_path / ".bulkboot" / "lab.jsonl").read_text().splitlines()
    assert sum('"ev":"deleted"' in line for line in journal) == 6
    # nothing left: a second destroy is a no-op that succeeds
    code, out, _ = run_cli(
        capsys, "destroy", str(path), "--cloud", "simulator", "--yes", "--format", "plain"
    )
    assert code == 0 and "no servers to delete" in out


def _start_apply(path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulkboot",
            "apply",
            str(path),
            "--cloud",
            "simulator",
            "--format",
            "plain",
            "--concurrency",
            "8",
            "--poll-interval",
            "200ms",
        ],
        cwd=path.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_after_sends(process: subprocess.Popen[bytes], journal: Path, sends: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"ev":"sent"') >= sends:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def test_sigkill_then_apply_then_sigkill_then_destroy(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch)
    sim.configure(latency=0.02, build_time_mean=0.5)
    text = (
        "name: {name}\ndefaults:\n  image: cirros-0.6.2\n  flavor: m1.tiny\n  networks: none\n"
        'servers:\n  - name: "{name}-{{index:03d}}"\n    count: 80\n'
    )
    first = tmp_path / "first.yaml"
    first.write_text(text.format(name="first"))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO))

    _kill_after_sends(_start_apply(first, env), tmp_path / ".bulkboot" / "first.jsonl", 20)
    partial = sim.stats()["servers_total"]
    assert 0 < partial < 80
    code, out, _ = run_cli(
        capsys,
        "apply",
        str(first),
        "--cloud",
        "simulator",
        "--format",
        "json",
        "--poll-interval",
        "200ms",
    )
    document = json.loads(out)
    assert code == 0 and document["summary"]["counts"]["active"] == 80
    assert document["summary"]["existed"] >= partial - 8  # in flight at the kill: found too
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers_total"] == 80

    second = tmp_path / "second.yaml"
    second.write_text(text.format(name="second"))
    _kill_after_sends(_start_apply(second, env), tmp_path / ".bulkboot" / "second.jsonl", 30)
    assert sim.stats()["servers_total"] > 80
    time.sleep(0.1)  # let requests the dead process left in flight land
    for path in (second, first):
        code, out, err = run_cli(
            capsys, "destroy", str(path), "--cloud", "simulator", "--yes", "--format", "json"
        )
        assert code == 0, err
    assert sim.stats()["servers_total"] == 0


class _Terminal:
    """A stdin that says it is a terminal and answers one line."""

    def __init__(self, answer: str) -> None:
        self._answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self._answer + "\n"


def test_destroy_asks_on_a_terminal_unless_yes(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = write_lab(tmp_path)
    assert (
        run_cli(
            capsys,
            "apply",
            str(path),
            "--cloud",
            "simulator",
            "--format",
            "json",
            "--poll-interval",
            "200ms",
            "--yes",
        )[0]
        == 0
    )
    monkeypatch.setattr(sys, "stdin", _Terminal("n"))
    code, out, _ = run_cli(
        capsys, "destroy", str(path), "--cloud", "simulator", "--format", "plain"
    )
    assert code == 1
    assert "delete 6 server(s) of fleet 'lab' on cloud 'simulator'? [y/N]" in out
    assert "nothing deleted" in out
    assert sim.stats()["servers_total"] == 6
    monkeypatch.setattr(sys, "stdin", _Terminal("y"))
    code, out, _ = run_cli(
        capsys, "destroy", str(path), "--cloud", "simulator", "--format", "plain"
    )
    assert code == 0 and sim.stats()["servers_total"] == 0


def test_ctrl_c_twice_stops_at_once_and_leaves_a_whole_journal(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch)
    sim.configure(latency=0.05)
    path = tmp_path / "twice.yaml"
    path.write_text(
        "name: twice\ndefaults:\n  image: cirros-0.6.2\n  flavor: m1.tiny\n  networks: none\n"
        'servers:\n  - name: "t-{index:03d}"\n    count: 150\n'
    )
    journal = tmp_path / ".bulkboot" / "twice.jsonl"
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulkboot",
            "apply",
            str(path),
            "--cloud",
            "simulator",
            "--format",
            "plain",
            "--concurrency",
            "4",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"ev":"sent"') >= 12:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGINT)
    time.sleep(0.02)
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    for line in journal.read_text().splitlines():
        json.loads(line)  # every line whole
    time.sleep(0.2)  # creates cut off in flight may still land in the cloud
    code, out, _ = run_cli(
        capsys,
        "apply",
        str(path),
        "--cloud",
        "simulator",
        "--format",
        "json",
        "--poll-interval",
        "200ms",
    )
    assert code == 0 and json.loads(out)["summary"]["counts"]["active"] == 150
    stats = sim.stats()
    assert stats["servers_total"] == 150 and stats["duplicate_names"] == 0
