"""Cloud-client fixtures: the simulator's clouds as ``CloudConfig`` values."""

from __future__ import annotations

import pytest

from bulkboot.cloud.config import CloudConfig, config_from_mapping
from bulkboot.simulator import RunningSimulator


@pytest.fixture
def sim_cloud(sim: RunningSimulator) -> CloudConfig:
    """The simulator's password cloud (the simulator reset for this test)."""
    return config_from_mapping(sim.clouds_yaml(), "simulator", source="<simulator>")
