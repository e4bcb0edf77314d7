"""bulkboot/simulator/app.py: every fault knob, observed through a real HTTP client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from bulkboot.simulator import ManualClock, RunningSimulator
from tests.simulator.conftest import Api, get_token, until

pytestmark = pytest.mark.anyio


async def _statuses(api: Api, count: int) -> list[int]:
    return [(await api.call("GET", "/compute/v2.1/flavors"))[0] for _ in range(count)]


async def _delayed_call(api: Api, clock: ManualClock) -> tuple[float, int]:
    """One GET held in the simulator's latency sleep: the delay it drew, and its status
    once the clock has been moved past that delay (and not before)."""
    call = asyncio.ensure_future(api.call("GET", "/compute/v2.1/flavors"))
    await until(lambda: bool(clock.pending_sleeps()), "the request to reach its latency")
    (delay,) = clock.pending_sleeps()
    clock.advance(delay * 0.99)
    assert clock.pending_sleeps() == [delay]  # still waiting: no answer before its time
    assert not call.done()
    clock.advance(delay * 0.02)
    status, _, _ = await call
    return delay, status


async def test_fixed_latency_delays_every_answer(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(latency=0.15)
    delay, status = await _delayed_call(api, sim_clock)
    assert status == 200
    assert delay == 0.15


async def test_jitter_varies_within_bounds(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(latency=0.01, jitter=0.1)
    delays = [(await _delayed_call(api, sim_clock))[0] for _ in range(6)]
    assert min(delays) >= 0.01
    assert max(delays) - min(delays) > 0.01  # not one fixed value
    assert max(delays) <= 0.11


async def test_rate_limit_with_retry_after(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(rate_limit=5)
    answers = []
    for _ in range(8):
        answers.append(await api.call("GET", "/compute/v2.1/flavors"))
    statuses = [a[0] for a in answers]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    limited = next(a for a in answers if a[0] == 429)
    assert limited[1]["Retry-After"] == "1"
    assert limited[2]["overLimit"]["code"] == 429
    assert limited[2]["overLimit"]["retryAfter"] == "1"
    sim_clock.advance(1.0)
    assert (await api.call("GET", "/compute/v2.1/flavors"))[0] == 200
    assert sim.stats()["requests"]["GET /compute/v2.1/flavors"]["429"] >= 1


async def test_rate_limit_without_retry_after(api: Api, sim: RunningSimulator) -> None:
    sim.configure(rate_limit=2, rate_limit_retry_after=False)
    answers = [await api.call("GET", "/compute/v2.1/flavors") for _ in range(4)]
    limited = [a for a in answers if a[0] == 429]
    assert limited
    assert "Retry-After" not in limited[0][1]
    assert "retryAfter" not in limited[0][2]["overLimit"]


async def test_rate_limit_counts_creates_as_they_arrive_not_after_queueing(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    """A rate limit sits in front of the API: 12 creates at once against 4 per second
    get 4 through, whatever the API's queue would have made them wait (counted after
    their queueing delay, spread over ~3 s, nearly all would pass)."""
    sim.configure(rate_limit=4, latency=0.05, create_queueing=0.25)
    calls = asyncio.gather(
        *(
            api.call("POST", "/compute/v2.1/servers", json={"server": _server(f"q{i}")})
            for i in range(12)
        )
    )
    await until(lambda: len(sim_clock.pending_sleeps()) == 12, "all 12 creates to arrive")
    sim_clock.advance(max(sim_clock.pending_sleeps()))
    answers = await calls
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(202) <= 5 and statuses.count(429) >= 7
    assert sim.stats()["servers_created"] == statuses.count(202)
    # the refused ones never reached the API: not in flight there
    assert sim.stats()["creates_in_flight_peak"] == statuses.count(202)


async def test_rate_limit_spares_keystone(api: Api, sim: RunningSimulator) -> None:
    sim.configure(rate_limit=1)
    await _statuses(api, 3)
    async with api.session.get(sim.auth_url) as response:
        assert response.status == 200


async def test_conflict_fraction_409_and_nothing_created(api: Api, sim: RunningSimulator) -> None:
    sim.configure(conflict_fraction=1.0)
    status, _, body = await api.call("POST", "/compute/v2.1/servers", json={"server": _server("c")})
    assert status == 409
    assert body["conflictingRequest"]["message"].endswith("is still in use.")
    assert sim.stats()["servers_created"] == 0


async def test_500_fraction(api: Api, sim: RunningSimulator) -> None:
    sim.configure(error_500_fraction=1.0)
    status, _, body = await api.call("GET", "/compute/v2.1/servers")
    assert status == 500
    assert body["computeFault"]["code"] == 500


async def test_503_fraction(api: Api, sim: RunningSimulator) -> None:
    sim.configure(unavailable_fraction=1.0)
    status, headers, body = await api.call("GET", "/compute/v2.1/servers")
    assert status == 503
    assert body["serviceUnavailable"]["code"] == 503
    assert "Retry-After" not in headers
    sim.configure(unavailable_retry_after=3)
    status, headers, _ = await api.call("GET", "/compute/v2.1/servers")
    assert (status, headers["Retry-After"]) == (503, "3")


async def test_partial_fraction_is_reproducible_with_the_seed(
    api: Api, sim: RunningSimulator
) -> None:
    sim.configure(error_500_fraction=0.5, seed=7)
    first = await _statuses(api, 20)
    sim.configure(seed=8)
    other = await _statuses(api, 20)
    sim.configure(seed=7)
    again = await _statuses(api, 20)
    assert first == again
    assert set(first) == {200, 500}
    assert other != first


async def test_lost_response_creates_the_server_but_closes_the_connection(
    api: Api, sim: RunningSimulator
) -> None:
    sim.configure(lost_response_fraction=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "/compute/v2.1/servers", json={"server": _server("lost")})
    sim.configure(lost_response_fraction=0.0)
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"name": "^lost$"})
    assert [s["name"] for s in body["servers"]] == ["lost"]
    stats = sim.stats()
    assert stats["requests"]["POST /compute/v2.1/servers"] == {"lost": 1}
    assert stats["faults"]["lost_response"] == 1


async def test_naive_retry_after_lost_response_shows_as_duplicate(
    api: Api, sim: RunningSimulator
) -> None:
    sim.configure(lost_response_fraction=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "/compute/v2.1/servers", json={"server": _server("dup")})
    sim.configure(lost_response_fraction=0.0)
    await api.boot("dup")
    assert sim.stats()["duplicate_names"] == 1


async def test_quota_instances_403_in_novas_words(api: Api, sim: RunningSimulator) -> None:
    sim.configure(quota_instances=2)
    await api.boot("q", min_count=2, max_count=2)
    status, _, body = await api.call("POST", "/compute/v2.1/servers", json={"server": _server("x")})
    assert status == 403
    assert body["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    )


async def test_quota_cores_and_ram(api: Api, sim: RunningSimulator) -> None:
    sim.configure(quota_cores=4, quota_ram=8192)
    status, _, body = await api.call(
        "POST", "/compute/v2.1/servers", json={"server": _server("big", flavorRef="5")}
    )
    assert status == 403
    assert body["forbidden"]["message"].startswith(
        "Quota exceeded for cores, ram: Requested 8, 16384"
    )


async def test_quota_with_a_range_builds_what_fits(api: Api, sim: RunningSimulator) -> None:
    sim.configure(quota_instances=3)
    body = await api.boot("range", min_count=2, max_count=5, return_reservation_id=True)
    _, _, listed = await api.call(
        "GET", "/compute/v2.1/servers", params={"reservation_id": body["reservation_id"]}
    )
    assert len(listed["servers"]) == 3


@pytest.mark.parametrize(("quota", "shown"), [(None, 200_000), (7, 7)])
async def test_late_quota_failure_is_202_then_error(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock, quota: int | None, shown: int
) -> None:
    """The conductor's recheck, worded from the real quota (it once read "1 of 0");
    Nova's recheck passes zero deltas as the headroom, so "used" is the quota itself."""
    if quota is not None:
        sim.configure(quota_instances=quota)
    await api.boot("before")  # usage is not what Nova's recheck message shows
    sim.configure(late_quota_fraction=1.0)
    server_id = (await api.boot("late", min_count=2, max_count=2))["server"]["id"]
    sim_clock.advance(0.1)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "ERROR"
    assert body["server"]["fault"]["message"] == (
        f"Quota exceeded for instances: Requested 2, but already used {shown} of {shown} instances"
    )
    assert body["server"]["fault"]["code"] == 413


async def test_build_errors_carry_a_fault(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(error_fraction=1.0, build_time_mean=0.05, build_time_stddev=0.0)
    server_id = (await api.boot("bad"))["server"]["id"]
    sim_clock.advance(0.1)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    server = body["server"]
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"].startswith("No valid host was found.")
    assert server["fault"]["created"].endswith("Z")
    assert "progress" not in server


async def test_never_finishing_builds_stay_in_build(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(never_finish_fraction=1.0, build_time_mean=0.05, build_time_stddev=0.0)
    server_id = (await api.boot("stuck"))["server"]["id"]
    sim_clock.advance(0.2)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "BUILD"
    assert body["server"]["progress"] == 0


async def test_build_time_distribution(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(build_time_mean=0.3, build_time_stddev=0.0)
    server_id = (await api.boot("timed"))["server"]["id"]
    sim_clock.advance(0.15)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "BUILD"
    assert 30 <= body["server"]["progress"] <= 80
    sim_clock.advance(0.2)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["status"] == "ACTIVE"


async def test_stats_count_requests_by_route_and_servers_by_status(
    api: Api, sim: RunningSimulator
) -> None:
    sim.configure(build_time_mean=0.0, build_time_stddev=0.0)
    await api.boot("s1")
    await api.call("GET", "/compute/v2.1/servers/not-there")
    async with api.session.get(sim.base_url + "/_sim/stats") as response:
        stats = await response.json()
    assert stats["requests"]["POST /compute/v2.1/servers"] == {"202": 1}
    assert stats["requests"]["GET /compute/v2.1/servers/{server_id}"] == {"404": 1}
    assert stats["requests"]["POST /identity/v3/auth/tokens"] == {"201": 1}
    assert stats["requests_total"] == 3
    assert stats["servers"] == {"ACTIVE": 1}
    assert stats["servers_total"] == 1
    assert stats["authentications"] == 1


async def test_reset_over_http(api: Api, sim: RunningSimulator) -> None:
    await api.boot("gone")
    async with api.session.post(sim.base_url + "/_sim/reset") as response:
        assert response.status == 204
    assert sim.stats()["servers_created"] == 0
    assert sim.stats()["requests_total"] == 0


async def test_unknown_route_is_a_json_404(api: Api) -> None:
    """As Nova's router answers it: webob's 404 as JSON, no fault name, no microversion
    headers; a known path with a method it has no route for is the same 404."""
    for method, path in (("GET", "/compute/v2.1/no-such-thing"), ("PUT", "/compute/v2.1/flavors")):
        status, headers, body = await api.call(method, path)
        assert status == 404
        assert body == {
            "message": "The resource could not be found.<br /><br />\n\n\n",
            "code": "404 Not Found",
            "title": "Not Found",
        }
        assert "OpenStack-API-Version" not in headers
        assert headers["X-OpenStack-Request-ID"].startswith("req-")


async def test_nova_faults_are_json_in_utf_8_and_a_406_echoes_the_version(api: Api) -> None:
    status, headers, body = await api.call(
        "GET", "/compute/v2.1/servers/nope", microversion="2.105"
    )
    assert status == 406
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert headers["OpenStack-API-Version"] == "compute 2.105"
    assert headers["X-OpenStack-Nova-API-Version"] == "2.105"
    assert "OpenStack-API-Version" in headers["Vary"]
    assert body["computeFault"]["message"] == (
        "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
    )
    status, headers, _ = await api.call("GET", "/compute/v2.1/servers/nope", microversion="2.x")
    assert status == 400 and "OpenStack-API-Version" not in headers


async def test_the_root_document_has_no_microversion(api: Api) -> None:
    status, headers, _ = await api.call("GET", "/compute/", microversion="2.x")
    assert status == 200
    assert "OpenStack-API-Version" not in headers and "Vary" not in headers


def _server(name: str, **fields: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        "name": name,
        "imageRef": "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
        "flavorRef": "1",
        "networks": "auto",
    }
    server.update(fields)
    return server


async def test_quota_message_for_a_range_names_min_max(api: Api, sim: RunningSimulator) -> None:
    sim.configure(quota_instances=1)
    status, _, body = await api.call(
        "POST",
        "/compute/v2.1/servers",
        json={"server": _server("r", min_count=2, max_count=4)},
    )
    assert status == 403
    assert body["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 2-4, but already used 0 of 1 instances"
    )


async def test_same_seed_same_ids_and_outcomes(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    async def run() -> list[tuple[str, str]]:
        sim.configure(seed=11, error_fraction=0.5, build_time_mean=0.0, build_time_stddev=0.0)
        ids = [(await api.boot(f"s{i}"))["server"]["id"] for i in range(8)]
        sim_clock.advance(0.05)
        statuses = []
        for server_id in ids:
            _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
            statuses.append(body["server"]["status"])
        return list(zip(ids, statuses, strict=True))

    first = await run()
    sim.reset()
    api.token = await get_token(api.session, sim)
    assert await run() == first
    assert {status for _, status in first} == {"ACTIVE", "ERROR"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"max_microversion": "2.200"}, "max_microversion must be 2.104 at most"),
        ({"rate_limit": float("nan")}, "rate_limit must be a finite number, not nan"),
        ({"build_time_mean": float("inf")}, "build_time_mean must be a finite number, not inf"),
        ({"quota_instances": 2**70}, "quota_instances must be from 0 to 1000000"),
    ],
)
async def test_impossible_settings_are_refused_over_http(
    api: Api, sim: RunningSimulator, changes: dict[str, Any], words: str
) -> None:
    """Refused settings change nothing: 2.200 was once advertised and a create at 2.150
    accepted; NaN and inf were taken too."""
    async with api.session.post(sim.base_url + "/_sim/config", json=changes) as response:
        assert response.status == 400
        assert words in (await response.json())["error"]
    _, _, body = await api.call("GET", "/compute/", microversion="")
    assert body["versions"][-1]["version"] == "2.104"
    status, _, body = await api.call(
        "POST", "/compute/v2.1/servers", json={"server": _server("v")}, microversion="2.150"
    )
    assert status == 406
    assert body["computeFault"]["message"].endswith("Minimum is 2.1 and maximum is 2.104.")
    config = sim.config
    assert (config.rate_limit, config.build_time_mean) == (None, 0.2)
