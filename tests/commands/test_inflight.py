"""Creates in flight when a run dies: never sent again while they may land, and never
left behind by a destroy (Nova has no idempotency key: a create whose client has gone
is still carried out, as the simulator does)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bulkboot.engine.replay import read_journal, replay
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    apply,
    destroy,
    interrupt,
    journal_of,
    kill,
    start_apply,
    use_simulator,
    wait_for_sends,
    write_fleet,
)

FLEET = 100
# The cloud's request timeout: how long a create sent and never answered may land.
API_TIMEOUT = 5.0


def _killed_with_creates_in_flight(
    sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fleet of 100 whose apply was SIGKILLed with its 100 creates in flight on a slow
    API (0.3 s, and 0.02 s more per other create being handled): the path."""
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=API_TIMEOUT)
    sim.configure(latency=0.3, create_queueing=0.02)
    path = write_fleet(tmp_path, "inflight", FLEET)
    process = start_apply(
        path, clouds, "--concurrency", str(FLEET), "--fixed-concurrency", capture=False
    )
    wait_for_sends(journal_of(path), FLEET)
    time.sleep(0.2)  # the last requests leave
    kill(process)
    assert sim.stats()["servers_created"] < FLEET // 2  # most still in the API's hands
    return path


def test_reapply_at_once_after_a_kill_makes_no_duplicate(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _killed_with_creates_in_flight(sim, tmp_path, monkeypatch)
    code, out, err = apply(capsys, path)
    assert code == 0, err
    assert "create(s) of an earlier run were sent and never answered" in err
    document = json.loads(out)
    assert document["summary"]["counts"]["active"] == FLEET
    time.sleep(0.5)  # anything still on its way lands
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers_total"] == FLEET
    assert sum(stats["requests"]["POST /compute/v2.1/servers"].values()) == FLEET


def test_destroy_at_once_after_a_kill_leaves_nothing(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _killed_with_creates_in_flight(sim, tmp_path, monkeypatch)
    code, out, err = destroy(capsys, path)
    assert code == 0, err
    assert "this destroy waits for them and deletes each that appears" in err
    document = json.loads(out)
    assert document["summary"]["counts"]["deleted"] == FLEET
    time.sleep(0.5)  # anything still on its way would land now
    assert sim.stats()["servers_total"] == 0


def test_an_interrupted_run_says_how_many_creates_may_still_appear(
    sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=API_TIMEOUT)
    sim.configure(latency=0.3, create_queueing=0.02)
    path = write_fleet(tmp_path, "twice", 60)
    process = start_apply(path, clouds, "--concurrency", "30", "--fixed-concurrency")
    wait_for_sends(journal_of(path), 30)
    interrupt(process, times=2)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    match = re.search(
        r"^(\d+) create\(s\) were in flight and never answered: their servers may still "
        r"appear until (\d\d:\d\d:\d\d) UTC \(the next apply or destroy looks for them",
        out,
        re.MULTILINE,
    )
    assert match is not None, out
    entries = replay(read_journal(journal_of(path)))
    unanswered = [e for e in entries.values() if e.unconfirmed]
    assert int(match.group(1)) == len(unanswered) > 0  # the summary and the journal agree
    latest = max(e.last_sent_at or 0.0 for e in unanswered) + API_TIMEOUT
    expected = datetime.fromtimestamp(latest, timezone.utc)
    said = datetime.combine(
        expected.date(), datetime.strptime(match.group(2), "%H:%M:%S").time(), timezone.utc
    )
    # the run counts from its own clock when each create left; the journal stamps its
    # line a moment before: the same second, or the next
    assert abs((said - expected).total_seconds()) <= 1.0


def _until_in(text: str) -> float:
    """Seconds from now to the ``until HH:MM:SS UTC`` a note names (today, UTC)."""
    match = re.search(r"until (\d\d):(\d\d):(\d\d) UTC", text)
    assert match is not None, text
    now = datetime.now(timezone.utc)
    until = now.replace(
        hour=int(match[1]), minute=int(match[2]), second=int(match[3]), microsecond=0
    )
    return (until - now).total_seconds()


def test_the_in_flight_window_is_its_own_setting_for_plan_and_destroy(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--in-flight-window``: how long a create sent and never answered may still land,
    apart from the request timeout (Nova may act on a request later than its client
    waits for an answer)."""
    from bulkboot.engine.journal import Journal
    from bulkboot.engine.state import CreateSent
    from tests.commands.cli_helpers import run_cli

    use_simulator(sim, tmp_path, monkeypatch, api_timeout=API_TIMEOUT)
    path = write_fleet(tmp_path, "window", 2)
    with Journal.open(journal_of(path)) as journal:  # a killed run's create, just sent
        journal.record(CreateSent(name="window-001", at=0.0))
    plan = ("plan", str(path), "--cloud", "simulator", "--in-flight-window")
    code, out, err = run_cli(capsys, *plan, "10m")
    assert code == 0, err
    assert "window-001: an earlier run's create was sent and never answered" in out
    time.sleep(0.01)
    code, out, err = run_cli(capsys, *plan, "5ms")  # its window has passed: create it
    assert code == 0, err
    assert "never answered" not in out
    code, out, err = destroy(capsys, path, "--in-flight-window", "1s", fmt="plain")
    assert code == 0, err
    assert "sent and never answered" in out + err and _until_in(out + err) <= 2
    assert sim.stats()["servers_total"] == 0
