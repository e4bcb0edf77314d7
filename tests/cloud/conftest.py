"""Cloud-client fixtures: the simulator's clouds as ``CloudConfig`` values, and virtual
time shared by the client and the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bulkboot.cloud.config import CloudConfig, config_from_mapping
from bulkboot.simulator import RunningSimulator
from tests.cloud.fake_time import VirtualTime


@pytest.fixture
def sim_cloud(sim: RunningSimulator) -> CloudConfig:
    """The simulator's password cloud (the simulator reset for this test)."""
    return config_from_mapping(sim.clouds_yaml(), "simulator", source="<simulator>")


def drive_simulator_clock(
    sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch, clock: Callable[[], float]
) -> None:
    """Let ``clock`` (wall-clock seconds) be the simulator's for this test: its tokens
    expire and its rate limit refills on the test's time. The next ``sim`` resets it."""
    monkeypatch.setattr(sim._state, "clock", clock)


@pytest.fixture
def sim_time(sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    """Virtual time for the client and the simulator together (pass ``clock`` and
    ``sleep`` to ``open_cloud`` and drive it with ``run``)."""
    virtual = VirtualTime(start=time.time())
    drive_simulator_clock(sim, monkeypatch, virtual.clock)
    return virtual
