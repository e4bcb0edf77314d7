"""open_cloud: endpoints from the catalog or overrides, failures before any API request."""

from __future__ import annotations

import dataclasses

import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import CloudConfig
from bulkboot.errors import EndpointNotFound
from bulkboot.simulator import RunningSimulator

pytestmark = pytest.mark.anyio


async def test_endpoints_from_the_catalog(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with open_cloud(sim_cloud) as cloud:
        assert cloud.endpoint == f"{sim.base_url}/compute/v2.1"
        assert cloud.api_root("image") == f"{sim.base_url}/image/v2"
        assert cloud.api_root("network") == f"{sim.base_url}/network/v2.0"
        assert cloud.cloud_name == "simulator"
        assert cloud.authentications == 1


async def test_an_override_beats_the_catalog(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    config = dataclasses.replace(
        sim_cloud, compute_endpoint_override=f"{sim.base_url}/compute/v2.1/"
    )
    async with open_cloud(config) as cloud:
        assert cloud.endpoint == f"{sim.base_url}/compute/v2.1"
        await cloud.compute.limits()


async def test_a_region_the_catalog_lacks_fails_before_any_api_request(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    config = dataclasses.replace(sim_cloud, region_name="Atlantis")
    with pytest.raises(EndpointNotFound) as info:
        async with open_cloud(config):
            pass
    assert "no public compute endpoint in region 'Atlantis'" in str(info.value)
    assert "compute (public, RegionOne)" in str(info.value)
    assert set(sim.stats()["requests"]) == {"POST /identity/v3/auth/tokens"}
