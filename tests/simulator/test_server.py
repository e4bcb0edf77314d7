"""bulkboot/simulator/server.py: starting, configuring, resetting and stopping."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from bulkboot.simulator import RunningSimulator, start_simulator
from bulkboot.simulator.config import PASSWORD


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)


def test_start_listens_on_an_ephemeral_loopback_port_and_stop_frees_it() -> None:
    sim = start_simulator()
    assert sim.port > 0
    assert sim.base_url == f"http://127.0.0.1:{sim.port}"
    assert sim.auth_url == f"{sim.base_url}/identity/v3"
    assert _get(sim.base_url + "/compute/v2.1/") == 200
    sim.stop()
    sim.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", sim.port), timeout=1):
        pass


def test_context_manager_stops() -> None:
    with start_simulator() as sim:
        port = sim.port
        assert _get(sim.base_url + "/_sim/stats") == 200
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_busy_port_raises_oserror(simulator: RunningSimulator) -> None:
    with pytest.raises(OSError):
        start_simulator(port=simulator.port)


def test_clouds_yaml_names_the_simulator_cloud_with_password_auth(sim: RunningSimulator) -> None:
    clouds = sim.clouds_yaml()["clouds"]
    cloud = clouds["simulator"]
    assert cloud["auth"]["auth_url"] == sim.auth_url
    assert cloud["auth"]["password"] == PASSWORD
    assert cloud["auth"]["project_name"] == "demo"
    assert cloud["region_name"] == "RegionOne"
    assert clouds["simulator-appcred"]["auth_type"] == "v3applicationcredential"


def test_configure_swaps_settings_and_reset_restores_the_start_config(
    sim: RunningSimulator,
) -> None:
    start = sim.config
    changed = sim.configure(error_fraction=0.5, latency=0.01)
    assert changed.error_fraction == 0.5
    assert sim.config.latency == 0.01
    sim.reset()
    assert sim.config == start


def test_configure_rejects_bad_values(sim: RunningSimulator) -> None:
    with pytest.raises(ValueError, match="error_fraction"):
        sim.configure(error_fraction=2.0)
    with pytest.raises(TypeError):
        sim.configure(no_such_knob=1)


def test_calls_after_stop_fail_fast() -> None:
    sim = start_simulator()
    sim.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        sim.stats()


@pytest.mark.anyio
async def test_serve_simulator_runs_in_the_callers_loop() -> None:
    import aiohttp

    from bulkboot.simulator import SimConfig, serve_simulator

    async with serve_simulator(SimConfig(seed=3)) as sim:
        async with aiohttp.ClientSession() as session:
            async with session.get(sim.base_url + "/compute/v2.1/") as response:
                assert response.status == 200
        assert sim.stats()["requests_total"] == 1  # called on its own loop: no thread hop
        assert sim.configure(latency=0.0).seed == 3
        port = sim.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_ipv6_loopback_gets_a_bracketed_url() -> None:
    try:
        sim = start_simulator(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with sim:
        assert sim.base_url == f"http://[::1]:{sim.port}"
        assert _get(sim.base_url + "/compute/v2.1/") == 200


def test_a_simulator_runs_on_the_clock_it_is_given(simulator: RunningSimulator) -> None:
    import json

    from bulkboot.simulator import ManualClock
    from bulkboot.simulator.clock import WALL_CLOCK
    from tests.simulator.conftest import password_body

    assert simulator.clock is WALL_CLOCK
    clock = ManualClock(start=1_000_000_000.0)  # 2001-09-09T01:46:40Z
    with start_simulator(clock=clock) as sim:
        assert sim.clock is clock
        request = urllib.request.Request(
            sim.auth_url + "/auth/tokens",
            data=json.dumps(password_body()).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            token = json.load(response)["token"]
    assert token["issued_at"] == "2001-09-09T01:46:40.000000Z"
    assert token["expires_at"] == "2001-09-09T02:46:40.000000Z"  # one hour of that clock
