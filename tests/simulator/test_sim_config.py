"""``GET/POST /_sim/config`` over a real socket: the knobs changed while the simulator runs.

A load test drives a running simulator from outside (another process, another
language): it turns latency, build times, create queueing and faults up and down over
HTTP, and a refused change must say why and change nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bulkboot.simulator import ManualClock, RunningSimulator
from tests.simulator.conftest import Api, until

pytestmark = pytest.mark.anyio


async def _post_config(api: Api, body: Any) -> tuple[int, Any]:
    async with api.session.post(api.sim.base_url + "/_sim/config", json=body) as response:
        return response.status, await response.json()


async def _post_raw(api: Api, data: bytes) -> tuple[int, Any]:
    async with api.session.post(api.sim.base_url + "/_sim/config", data=data) as response:
        return response.status, await response.json()


async def test_get_shows_the_config_in_force(api: Api, sim: RunningSimulator) -> None:
    async with api.session.get(sim.base_url + "/_sim/config") as response:
        assert response.status == 200
        shown = await response.json()
    assert shown["build_time_mean"] == 0.2  # the session's config
    assert shown["max_limit"] == 1000
    assert shown["rate_limit"] is None


async def test_post_answers_the_whole_new_config(api: Api, sim: RunningSimulator) -> None:
    status, shown = await _post_config(
        api, {"latency": 0.25, "build_time_mean": 3, "build_time_stddev": 0.5}
    )
    assert status == 200
    assert (shown["latency"], shown["build_time_mean"], shown["build_time_stddev"]) == (
        0.25,
        3,
        0.5,
    )
    assert shown["error_fraction"] == 0.0  # untouched fields stay
    assert (sim.config.latency, sim.config.build_time_mean) == (0.25, 3)


async def test_latency_changed_over_http_delays_the_next_answer(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    status, _ = await _post_config(api, {"latency": 0.4})
    assert status == 200
    call = asyncio.ensure_future(api.call("GET", "/compute/v2.1/flavors"))
    await until(lambda: bool(sim_clock.pending_sleeps()), "the request to reach its latency")
    assert sim_clock.pending_sleeps() == [0.4]
    sim_clock.advance(0.4)
    assert (await call)[0] == 200
    status, _ = await _post_config(api, {"latency": 0.0})  # /_sim itself is never delayed
    assert status == 200
    assert (await api.call("GET", "/compute/v2.1/flavors"))[0] == 200
    assert sim_clock.pending_sleeps() == []


async def test_create_queueing_changed_over_http_slows_concurrent_creates(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    status, _ = await _post_config(api, {"latency": 0.1, "create_queueing": 0.5})
    assert status == 200
    creates = asyncio.gather(*(api.boot(f"q{i}") for i in range(3)))
    await until(lambda: len(sim_clock.pending_sleeps()) == 3, "the three creates to wait")
    # the latency, plus 0.5 s for each create already in the API when one arrives
    assert sim_clock.pending_sleeps() == pytest.approx([0.1, 0.6, 1.1])
    sim_clock.advance(1.1)
    await creates
    assert sim.stats()["creates_in_flight_peak"] == 3


async def test_member_stagger_lists_a_multi_creates_members_one_by_one(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    """Nova writes a multi-create's members one by one before it answers: a listing
    meanwhile shows some of them."""
    status, _ = await _post_config(api, {"member_stagger": 0.3})
    assert status == 200

    async def names() -> list[str]:
        _, _, body = await api.call("GET", "/compute/v2.1/servers")
        return sorted(s["name"] for s in body["servers"])

    create = asyncio.ensure_future(api.boot("pool", min_count=3, max_count=3))
    await until(lambda: bool(sim_clock.pending_sleeps()), "the create to write its first member")
    assert await names() == ["pool-1"] and not create.done()
    sim_clock.advance(0.3)
    await until(lambda: sim.stats()["servers_total"] == 2, "the second member")
    assert await names() == ["pool-1", "pool-2"]
    sim_clock.advance(0.3)
    await create  # answered once every member is written
    assert await names() == ["pool-1", "pool-2", "pool-3"]


async def test_build_time_and_faults_changed_over_http(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    status, _ = await _post_config(
        api, {"build_time_mean": 5.0, "build_time_stddev": 0.0, "error_fraction": 1.0}
    )
    assert status == 200
    server_id = (await api.boot("slow"))["server"]["id"]
    sim_clock.advance(4.9)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "BUILD"
    sim_clock.advance(0.2)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "ERROR"
    status, _ = await _post_config(
        api, {"error_fraction": 0.0, "error_500_fraction": 1.0, "build_time_mean": 0.0}
    )
    assert status == 200
    status, _, body = await api.call("GET", "/compute/v2.1/servers")
    assert status == 500
    status, _ = await _post_config(api, {"error_500_fraction": 0.0, "unavailable_fraction": 1.0})
    assert status == 200
    assert (await api.call("GET", "/compute/v2.1/servers"))[0] == 503
    assert sim.stats()["faults"] == {"error_500": 1, "unavailable": 1}


async def test_max_limit_changed_over_http_cuts_list_pages(api: Api, sim: RunningSimulator) -> None:
    await api.boot("page", min_count=5, max_count=5)
    status, _ = await _post_config(api, {"max_limit": 2})
    assert status == 200
    _, _, body = await api.call("GET", "/compute/v2.1/servers")
    assert [s["name"] for s in body["servers"]] == ["page-5", "page-4"]
    assert "marker=" in body["servers_links"][0]["href"]
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"limit": "4"})
    assert len(body["servers"]) == 2
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"limit": "1"})
    assert len(body["servers"]) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"latency": "fast"}, "latency must be a number, not 'fast'"),
        ({"latency": True}, "latency must be a number, not True"),
        ({"build_time_mean": -1}, "build_time_mean must not be negative"),
        ({"build_time_stddev": None}, "build_time_stddev must be a number, not None"),
        ({"create_queueing": [1]}, "create_queueing must be a number, not [1]"),
        ({"error_fraction": 1.5}, "error_fraction must be between 0 and 1, not 1.5"),
        ({"quota_cores": 2.5}, "quota_cores must be a whole number or None (null in JSON)"),
        ({"rate_limit_retry_after": "yes"}, "rate_limit_retry_after must be true or false"),
        ({"max_limit": 0}, "max_limit must be from 1 to 1000000, not 0"),
        ({"lattency": 0.1}, "no such SimConfig field: lattency (the fields are seed, latency"),
        ([["latency", 0.1]], "the body must be a JSON object of SimConfig fields to change"),
    ],
)
async def test_a_refused_change_is_400_and_changes_nothing(
    api: Api, sim: RunningSimulator, body: Any, words: str
) -> None:
    before = sim.config
    # a good change beside the bad one is not applied either: all or nothing
    sent = {"jitter": 0.5, **body} if isinstance(body, dict) else body
    status, answer = await _post_config(api, sent)
    assert status == 400
    assert words in answer["error"]
    assert sim.config == before


async def test_a_body_that_is_not_json_is_400(api: Api, sim: RunningSimulator) -> None:
    before = sim.config
    status, answer = await _post_raw(api, b"latency=0.5")
    assert status == 400
    assert answer == {
        "error": "the body must be a JSON object of SimConfig fields to change: it is not JSON"
    }
    assert sim.config == before


async def test_reset_goes_back_to_the_start_config(api: Api, sim: RunningSimulator) -> None:
    start = sim.config
    status, _ = await _post_config(api, {"latency": 0.3, "error_fraction": 0.5})
    assert status == 200
    async with api.session.post(sim.base_url + "/_sim/reset") as response:
        assert response.status == 204
    assert sim.config == start
