"""Fixtures of the command tests: a folder whose clouds.yaml names the session
simulator, and the lab manifest in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import use_simulator, write_lab


@pytest.fixture
def clouds(sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, made the current one, with a clouds.yaml whose cloud
    "simulator" is the session simulator (reset): the commands talk to it, not to an
    embedded one. Its path."""
    return use_simulator(sim, tmp_path, monkeypatch)


@pytest.fixture
def lab(clouds: Path) -> Path:
    """The lab manifest (``cli_helpers.LAB``: six servers) beside ``clouds``."""
    return write_lab(clouds.parent)
