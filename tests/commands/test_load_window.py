"""``load``'s clean-up waits out its creates sent and never answered, within the window
of creates in flight (``--in-flight-window``), deleting each server that lands: a
load run leaves nothing behind that Nova carries out after its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import use_simulator
from tests.commands.load_helpers import load, write_load_fleet


def test_the_clean_up_waits_for_creates_that_land_after_the_run(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # four creates at once, each 2 s slower than the one before: all but the first
    # outlast the 1.5 s request timeout and the look-up after it; Nova carries them out
    # at about 2, 4 and 6 s, after the run's iterations have given up on them
    use_simulator(sim, tmp_path, monkeypatch, api_timeout=1.5)
    sim.configure(latency=0.1, create_queueing=2.0)
    fleet = write_load_fleet(tmp_path)
    code, out, err = load(
        capsys,
        fleet,
        "--iterations",
        "4",
        "--concurrency",
        "4",
        "--in-flight-window",
        "10s",
        "--format",
        "json",
    )
    assert code == 0, err
    stats = sim.stats()
    assert stats["servers_created"] == 4  # every create landed...
    assert stats["servers_total"] == 0  # ... and was deleted: nothing left behind
    assert "create(s) of this run were sent and never answered" in err
    assert "the clean-up waits for them and deletes each that appears" in err
