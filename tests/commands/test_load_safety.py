"""``bulkboot load`` keeps the promises apply and destroy keep: the question on the
terminal and stdout one JSON document, the run's clock from the answer, what it
prepares shown, SIGTERM as Ctrl-C (once: clean-up and report; twice: stop now, the
journal holding every server, which ``destroy`` then deletes, creates in flight
included), 429/503 answers counted, and an error mid-run (a token that cannot be
renewed, the cloud gone) ending in the summary and exit 1.

Real time on the simulator, in child processes where a signal or a terminal is
needed; no assertion bounds how long anything takes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import anyio
import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import config_from_mapping
from bulkboot.engine.replay import read_journal, replay
from bulkboot.isotime import parse_iso
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    destroy,
    given_token_cloud,
    journal_of,
    kill,
    run_cli,
    use_simulator,
    wait_for_sends,
)
from tests.commands.load_helpers import load, start_load, write_load_fleet
from tests.commands.terminal import TerminalRun

QUESTION = "It creates and deletes servers of fleet 'lab' [y/N] "
SLOW_BUILDS = {"build_time_mean": 30.0, "build_time_stddev": 0.0, "latency": 0.01}


@pytest.fixture
def fleet(clouds: Path) -> Path:
    return write_load_fleet(clouds.parent)


def _names_in_the_cloud(sim: RunningSimulator) -> set[str]:
    """Every server the cloud holds, by name (listed through the client, as a user would)."""

    async def listed() -> set[str]:
        config = config_from_mapping(sim.clouds_yaml(), "simulator")
        async with open_cloud(config) as cloud:
            records = await cloud.compute.list_servers(None, detail=True)
        return {str(r["name"]) for r in records if r.get("status") != "DELETED"}

    return anyio.run(listed)


def _sent_names(journal: Path) -> set[str]:
    return {name for name, entry in replay(read_journal(journal)).items() if entry.last_sent_at}


# ----------------------------------------------------------------- the terminal and stdout


def _on_terminal(fleet: Path, clouds: Path, *flags: str) -> TerminalRun:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))
    return TerminalRun(
        ["load", str(fleet), "--cloud", "simulator", "--poll-interval", "100ms", *flags],
        cwd=fleet.parent,
        env=env,
    )


def test_json_on_a_terminal_asks_there_and_stdout_is_one_json_document(
    sim: RunningSimulator, fleet: Path, clouds: Path
) -> None:
    run = _on_terminal(fleet, clouds, "--rate", "20", "--iterations", "4", "--format", "json")
    run.wait_for(QUESTION)
    run.type(b"y\n")
    code, out = run.finish()
    assert code == 0, run.screen
    document = json.loads(out)  # the whole of stdout is one JSON document
    assert document["kind"] == "load" and document["iterations"]["completed"] == 4
    assert "[y/N]" not in out and QUESTION in run.screen
    # what it prepares is shown on the terminal (stderr), never in the document
    assert "authenticating at" in run.screen and "resolving 1 image, 1 flavor" in run.screen
    assert "authenticating" not in out


def test_no_at_the_question_sends_nothing_of_the_load(
    sim: RunningSimulator, fleet: Path, clouds: Path
) -> None:
    run = _on_terminal(fleet, clouds, "--rate", "20", "--iterations", "4", "--format", "plain")
    run.wait_for(QUESTION)
    run.type(b"n\n")
    code, out = run.finish()
    assert code == 1 and "nothing sent" in out and "[y/N]" not in out
    assert "POST /compute/v2.1/servers" not in sim.stats()["requests"]


def test_time_at_the_question_is_not_run_time(
    sim: RunningSimulator, fleet: Path, clouds: Path, tmp_path: Path
) -> None:
    """The load's clock (its report's start, ``elapsed_seconds``) starts at the answer.
    Not a measure of speed: the run can only have begun after the answer was typed and
    ended before the test saw it exit, however slow the machine."""
    report = tmp_path / "report.json"
    run = _on_terminal(
        fleet, clouds, "--rate", "20", "--iterations", "3", "--format", "json",
        "--report", str(report),
    )  # fmt: skip
    run.wait_for(QUESTION)
    time.sleep(1.5)  # a user thinking: run time only if counted from the question
    answered, answered_wall = time.monotonic(), datetime.now(timezone.utc)
    run.type(b"y\n")
    code, out = run.finish()
    ended = time.monotonic()
    assert code == 0, run.screen
    for document in (json.loads(out), json.loads(report.read_text())):
        assert 0 < document["elapsed_seconds"] <= ended - answered
        started = parse_iso(document["run"]["started_at"])
        assert started >= answered_wall.replace(
            microsecond=answered_wall.microsecond // 1000 * 1000
        )


def test_plain_lines_show_each_preparing_step_before_the_run(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = load(capsys, fleet, "--rate", "20", "--iterations", "2", "--format", "plain")
    assert code == 0, err
    lines = out.splitlines()
    steps = [
        next(i for i, line in enumerate(lines) if line.startswith(prefix))
        for prefix in ("authenticating at ", "negotiating the compute", "resolving 1 image")
    ]
    header = next(i for i, line in enumerate(lines) if line.startswith("bulkboot load  fleet"))
    assert steps == sorted(steps) and steps[-1] < header


# ----------------------------------------------------------------- SIGTERM is Ctrl-C


def test_sigterm_once_cleans_up_reports_and_exits_130(
    sim: RunningSimulator, fleet: Path, clouds: Path
) -> None:
    sim.configure(**SLOW_BUILDS)
    report = fleet.parent / "run.json"
    process = start_load(fleet, clouds, "--rate", "40", "--duration", "60", "--report", str(report))
    wait_for_sends(journal_of(fleet), 8)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted: starting nothing more" in out and "LEFT BEHIND" not in out
    document = json.loads(report.read_text())
    assert document["outcome"]["interrupted"] is True and document["outcome"]["exit_code"] == 130
    assert document["cleanup"]["left"] == [] and document["cleanup"]["deleted"] >= 8
    assert sim.stats()["servers_total"] == 0


def test_sigterm_twice_stops_now_the_journal_holds_every_server_and_destroy_takes_them(
    sim: RunningSimulator,
    fleet: Path,
    clouds: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # answers slow enough that the clean-up the first SIGTERM starts has deleted
    # nothing when the second comes
    sim.configure(**{**SLOW_BUILDS, "latency": 0.1})
    report = fleet.parent / "run.json"
    process = start_load(fleet, clouds, "--rate", "40", "--duration", "60", "--report", str(report))
    wait_for_sends(journal_of(fleet), 12)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "stopped at once: run `bulkboot destroy" in out
    # the creates still in flight (0.1 s each at 40/s): said, in the report, and the
    # same as the journal's sent-and-never-answered
    unanswered = [e for e in replay(read_journal(journal_of(fleet))).values() if e.unconfirmed]
    document = json.loads(report.read_text())
    assert document["in_flight"]["creates"] == len(unanswered) > 0
    assert f"{len(unanswered)} create(s) were in flight and never answered" in out
    assert out.index("were in flight") < out.index("iterations: ")  # the summary last
    time.sleep(0.3)  # any create the process left in flight lands
    in_the_cloud = _names_in_the_cloud(sim)
    assert len(in_the_cloud) >= 8
    assert in_the_cloud <= _sent_names(journal_of(fleet))  # every server is in the journal
    code, _, err = destroy(capsys, fleet)
    assert code == 0, err
    assert sim.stats()["servers_total"] == 0


# ----------------------------------------------------------------- creates in flight


def test_killed_with_creates_in_flight_destroy_waits_for_them_and_leaves_nothing(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nova carries out a create whose client has gone: the journal's sent-and-never-
    answered lines make ``destroy`` wait for those servers (the request timeout) and
    delete each that appears."""
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=5.0)
    fleet = write_load_fleet(tmp_path)
    sim.configure(latency=0.3, create_queueing=0.02, build_time_mean=30.0)
    process = start_load(fleet, clouds, "--rate", "200", "--duration", "60", capture=False)
    wait_for_sends(journal_of(fleet), 60)
    kill(process)
    created_at_kill = sim.stats()["servers_created"]
    unanswered = [e for e in replay(read_journal(journal_of(fleet))).values() if e.unconfirmed]
    assert len(unanswered) >= 20  # the creates the kill left in the API's hands
    code, out, err = destroy(capsys, fleet)
    assert code == 0, err
    assert "this destroy waits for them and deletes each that appears" in err
    time.sleep(0.5)  # anything still on its way would land now
    stats = sim.stats()
    assert stats["servers_total"] == 0
    # creates in the API's hands at the kill landed during the destroy's wait, and were
    # deleted (a create journaled but killed before it left never lands: not counted)
    posts = sum(stats["requests"]["POST /compute/v2.1/servers"].values())
    assert stats["servers_created"] == posts > created_at_kill


# ----------------------------------------------------------------- what the API says


def test_429s_and_their_waits_are_counted_in_the_summary_and_the_report(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(rate_limit=10.0)
    report = fleet.parent / "run.json"
    code, out, err = load(
        capsys, fleet, "--rate", "30", "--iterations", "10", "--format", "plain",
        "--report", str(report),
    )  # fmt: skip
    assert code == 0, err
    client = json.loads(report.read_text())["requests"]["client"]
    turned_away = sum(
        n for route in sim.stats()["requests"].values() for status, n in route.items()
        if status == "429"
    )  # fmt: skip
    assert client["throttled"] == turned_away > 0  # every 429 the simulator sent
    assert client["retried"] > 0 and client["waited_seconds"] > 0
    assert f"{client['throttled']} answered 429/503 (turned away)" in out
    assert sim.stats()["servers_total"] == 0


# ----------------------------------------------------------------- an error mid-run


def test_a_token_that_cannot_be_renewed_ends_with_the_summary_and_exit_1(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    given_token_cloud(sim, tmp_path, monkeypatch, lifetime=2.0)
    sim.configure(build_time_mean=60.0)  # still building when the token runs out
    fleet = write_load_fleet(tmp_path)
    report = tmp_path / "run.json"
    argv = ["load", str(fleet), "--cloud", "given", "--yes", "--format", "json"]
    code, out, err = run_cli(
        capsys, *argv, "--rate", "10", "--duration", "60", "--poll-interval", "200ms",
        "--report", str(report),
    )  # fmt: skip
    assert code == 1, err
    document = json.loads(out)  # the summary of what was measured and what is left
    assert json.loads(report.read_text()) == document
    assert document["outcome"]["error"].startswith("cannot authenticate to cloud 'given'")
    assert document["iterations"]["started"] >= 10
    left = document["cleanup"]["left"]
    assert left and all("cannot authenticate" in item["reason"] for item in left)
    error = err.splitlines()
    assert error[-2].startswith("bulkboot: error: cannot authenticate to cloud 'given' at ")
    assert error[-1].startswith("the load run stopped there, after ")
    assert "Traceback" not in err
    # what it could not delete is all in the journal: destroy with a good token takes it
    names = {item["name"] for item in left}
    assert names <= _sent_names(journal_of(fleet, "given"))
    assert sim.stats()["servers_total"] == len(names)


def test_the_cloud_gone_mid_run_ends_with_the_summary_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulkboot.simulator import SimConfig, start_simulator

    with start_simulator(SimConfig(build_time_mean=60.0)) as own:
        clouds = use_simulator(own, tmp_path, monkeypatch, api_timeout=2.0)
        fleet = write_load_fleet(tmp_path)
        process = start_load(fleet, clouds, "--rate", "20", "--duration", "60")
        journal = journal_of(fleet)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count('"ev":"created"') >= 10:
                break
            time.sleep(0.01)
        own.stop()  # the cloud goes: every request now finds no one to answer
        out, err = process.communicate(timeout=300)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "iterations: " in out and "LEFT BEHIND" in out  # the summary, naming what is left
    assert "stopped by an error: " in out
    assert err.startswith("bulkboot: error: ")
    assert "the load run stopped there, after " in err
    for line in journal.read_text().splitlines():
        json.loads(line)
