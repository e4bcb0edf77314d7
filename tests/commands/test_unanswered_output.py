"""A create that was never answered is said as such in plain output ("sent, no answer"),
never as accepted: on the simulator, creates queued past the request timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, use_simulator, write_fleet


def test_a_create_never_answered_is_said_sent_with_no_answer(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # four creates at once; each waits 2 s more per other create being handled: all but
    # the first outlast the 1.5 s request timeout and the look-up after it, and land later
    use_simulator(sim, tmp_path, monkeypatch, api_timeout=1.5)
    sim.configure(latency=0.1, create_queueing=2.0)
    path = write_fleet(tmp_path, "quiet", 4)
    code, out, err = apply(capsys, path, "--concurrency", "4", "--fixed-concurrency", fmt="plain")
    assert code == 0, err
    unanswered = [line for line in out.splitlines() if "create sent, no answer" in line]
    assert unanswered, out
    assert all(line.endswith("(may still appear; looked for by name)") for line in unanswered)
    assert "accepted (reservation)" not in out
    assert sim.stats()["duplicate_names"] == 0 and sim.stats()["servers_total"] == 4
