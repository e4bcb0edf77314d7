"""Nova calls against the simulator: negotiation, creates that never duplicate, paging."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from aiohttp import web

from bulkboot.cloud.client import Cloud, open_cloud
from bulkboot.cloud.compute import version_range
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.create import regex_literal
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import CreateRecovery, HttpOptions
from bulkboot.errors import (
    BadRequest,
    Conflict,
    CreateUncertain,
    MicroversionError,
    NotFound,
    OverQuota,
)
from bulkboot.pipeline.microversion import Microversion
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import FLAVORS
from tests.cloud.bodies import body, request
from tests.cloud.fake_time import JumpTime
from tests.cloud.stubs import stub_config, stub_nova

pytestmark = pytest.mark.anyio
FAST = HttpOptions(retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05))


LOOK_ONCE = CreateRecovery(lookup_settle=0.0)


@asynccontextmanager
async def nova(config: CloudConfig, options: HttpOptions | None = None) -> AsyncIterator[Cloud]:
    """The cloud, speaking Nova's highest version, looking once after a lost create."""
    options = dataclasses.replace(options or HttpOptions(), recovery=LOOK_ONCE)
    async with open_cloud(config, options=options) as cloud:
        await cloud.compute.negotiate("auto")
        yield cloud


async def test_negotiate_auto_and_explicit(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with open_cloud(sim_cloud) as cloud:
        assert await cloud.compute.negotiate("auto") == Microversion(2, 104)
        assert cloud.compute.server_range == (Microversion(2, 1), Microversion(2, 104))
        assert await cloud.compute.negotiate("2.74") == Microversion(2, 74)
        # both headers go out with every request from now on
        assert cloud.compute._headers == {
            "X-OpenStack-Nova-API-Version": "2.74",
            "OpenStack-API-Version": "compute 2.74",
        }
        await cloud.compute.create_server(
            request(body("tagged", tags=["a"]), fleet="f")
        )  # 2.52+ field


async def test_version_outside_servers_range_fails_before_any_create(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    sim.configure(max_microversion="2.60")
    async with open_cloud(sim_cloud) as cloud:
        assert await cloud.compute.negotiate("auto") == Microversion(2, 60)
        with pytest.raises(MicroversionError) as info:
            await cloud.compute.negotiate("2.74")
    assert "outside the server's range (2.1 to 2.60)" in str(info.value)
    assert "POST /compute/v2.1/servers" not in sim.stats()["requests"]


async def test_os_compute_api_version_stands_in_for_auto(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    config = dataclasses.replace(sim_cloud, compute_api_version="2.60")
    async with open_cloud(config) as cloud:
        assert await cloud.compute.negotiate("auto") == Microversion(2, 60)
        assert await cloud.compute.negotiate("2.74") == Microversion(2, 74)  # the manifest wins
    latest = dataclasses.replace(sim_cloud, compute_api_version="2.latest")
    async with open_cloud(latest) as cloud:
        assert await cloud.compute.negotiate("auto") == Microversion(2, 104)


def test_version_range_reads_nova_documents() -> None:
    doc = {"version": {"id": "v2.1", "version": "2.96", "min_version": "2.1"}}
    assert version_range(doc) == (Microversion(2, 1), Microversion(2, 96))
    assert version_range({"version": {"version": "", "min_version": ""}}) is None  # legacy v2
    assert version_range(None) is None


async def test_create_get_delete(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with open_cloud(sim_cloud) as cloud:
        await cloud.compute.negotiate("auto")
        created = await cloud.compute.create_server(
            request(body("one", adminPass="pw-9"), fleet="f")
        )
        assert created.id and created.admin_pass == "pw-9" and not created.recovered
        assert "pw-9" not in repr(created)
        server = await cloud.compute.get_server(created.id)
        assert server["metadata"]["bulkboot:fleet"] == "f"
        assert await cloud.compute.delete_server(created.id) is True
        await anyio.sleep(0.3)  # the simulator's delete delay
        assert await cloud.compute.delete_server(created.id) is False
        with pytest.raises(NotFound):
            await cloud.compute.get_server(created.id)


async def test_reservation_id_create(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with nova(sim_cloud) as cloud:
        created = await cloud.compute.create_server(
            request(body("multi", min_count=3, max_count=3, return_reservation_id=True), fleet="f")
        )
    assert created.id is None and created.reservation_id


async def test_lost_response_makes_no_duplicate(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with nova(sim_cloud, FAST) as cloud:
        sim.configure(lost_response_fraction=1.0)  # every create is made, its answer lost
        single = await cloud.compute.create_server(request(body("lost"), fleet="f"))
        multi = await cloud.compute.create_server(
            request(body("grp", min_count=3, max_count=3), fleet="f")
        )
    assert single.recovered and single.id
    assert multi.recovered and multi.id
    stats = sim.stats()
    assert stats["servers_total"] == 4
    assert stats["duplicate_names"] == 0
    assert sum(stats["requests"]["POST /compute/v2.1/servers"].values()) == 2  # none re-sent


async def test_many_lost_and_failed_creates_no_duplicates(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with nova(sim_cloud, FAST) as cloud:
        sim.configure(lost_response_fraction=0.3, error_500_fraction=0.2, unavailable_fraction=0.1)
        results = []

        async def create(index: int) -> None:
            results.append(
                await cloud.compute.create_server(request(body(f"s-{index}"), fleet="f"))
            )

        async with anyio.create_task_group() as group:
            for index in range(40):
                group.start_soon(create, index)
    assert len({r.id for r in results}) == 40
    assert any(r.recovered for r in results)
    stats = sim.stats()
    assert stats["servers_total"] == 40
    assert stats["duplicate_names"] == 0


async def test_a_server_of_another_fleet_is_not_taken_for_ours(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with nova(sim_cloud, FAST) as cloud:
        await cloud.compute.create_server(request(body("same", fleet="other"), fleet="other"))
        sim.configure(error_500_fraction=0.5)
        created = await cloud.compute.create_server(request(body("same", fleet="f"), fleet="f"))
    assert not created.recovered
    servers = sim.stats()["servers_total"]
    assert servers == 2


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"conflict_fraction": 1.0}, Conflict),
        ({"quota_instances": 0}, OverQuota),
    ],
)
async def test_final_answers_on_create_are_not_retried(
    sim: RunningSimulator,
    sim_cloud: CloudConfig,
    changes: dict[str, object],
    error: type[Exception],
) -> None:
    async with nova(sim_cloud, FAST) as cloud:
        sim.configure(**changes)
        with pytest.raises(error):
            await cloud.compute.create_server(request(body("x"), fleet="f"))
    posts = sim.stats()["requests"]["POST /compute/v2.1/servers"]
    assert sum(posts.values()) == 1


async def test_bad_request_keeps_novas_message(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with nova(sim_cloud) as cloud:
        with pytest.raises(BadRequest) as info:
            await cloud.compute.create_server(
                request(body("x", flavorRef="no-such-flavor"), fleet="f")
            )
    assert "no-such-flavor" in info.value.message
    assert info.value.request_id
    assert sum(sim.stats()["requests"]["POST /compute/v2.1/servers"].values()) == 1


async def test_list_follows_every_page(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with nova(sim_cloud) as cloud:
        await cloud.compute.create_server(request(body("p", min_count=25, max_count=25), fleet="f"))
        servers = await cloud.compute.list_servers({"limit": "10"})
        names = {s["name"] for s in servers}
        brief = await cloud.compute.list_servers({"limit": "10"}, detail=False)
    assert names == {f"p-{i}" for i in range(1, 26)}
    assert len(servers) == 25 and len(brief) == 25
    assert sim.stats()["requests"]["GET /compute/v2.1/servers/detail"] == {"200": 3}


async def test_limits_and_flavors(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    sim.configure(quota_instances=50)
    async with open_cloud(sim_cloud) as cloud:
        limits = await cloud.compute.limits()
        flavors = await cloud.compute.flavors()
    assert limits["maxTotalInstances"] == 50
    assert {f["name"] for f in flavors} == {f.name for f in FLAVORS}


def test_name_filter_escapes_regex() -> None:
    assert regex_literal("web.1(a)") == "web\\.1\\(a\\)"
    assert regex_literal("web-01_x") == "web-01_x"


async def test_an_echoed_admin_password_is_masked(
    sim: RunningSimulator, sim_cloud: CloudConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """Nova's validation message repeats the bad value; the error and the log must not."""
    with caplog.at_level(logging.DEBUG, logger="bulkboot.http"):
        async with nova(sim_cloud) as cloud:
            with pytest.raises(BadRequest) as info:
                await cloud.compute.create_server(
                    request(body("p", adminPass=987654321), fleet="f")
                )
    assert "adminPass" in str(info.value) and "***" in str(info.value)
    assert "987654321" not in str(info.value)
    assert "RESP: [400]" in caplog.text and "987654321" not in caplog.text


async def test_a_namesake_being_deleted_is_not_taken_for_the_new_server(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    sim.configure(delete_delay=30)  # the old server stays visible, task_state "deleting"
    async with nova(sim_cloud, FAST) as cloud:
        old = await cloud.compute.create_server(request(body("again"), fleet="f"))
        assert old.id is not None
        assert await cloud.compute._creator.find_created("again", "f", 1) is not None
        await cloud.compute.delete_server(old.id)
        assert await cloud.compute._creator.find_created("again", "f", 1) is None
        sim.configure(lost_response_fraction=1.0)
        new = await cloud.compute.create_server(request(body("again"), fleet="f"))
    assert new.recovered and new.id != old.id
    assert sum(sim.stats()["requests"]["POST /compute/v2.1/servers"].values()) == 2


# ---------------------------------------------------------------- creates whose answer is lost


async def until(condition: Callable[[], bool]) -> None:
    """Wait (in real time, 10 s at most) until ``condition()``: for what the simulator
    does on its own thread."""
    for _ in range(1000):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("the simulator did not get there in 10 s")


async def test_a_create_slower_than_the_timeout_is_never_sent_twice(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    """Nova takes 1.2 s, the client gives up after 0.3 s: looked for, never re-sent.

    The simulator keeps handling a create after the client has gone (aiohttp.web does
    not cancel handlers on disconnect), as nova-api does. The look-ups' pauses pass on
    a clock that jumps over them, so every look happens while Nova is still at work.
    """
    config = dataclasses.replace(sim_cloud, api_timeout=0.3)
    time = JumpTime()
    async with open_cloud(config, clock=time.clock, sleep=time.sleep) as cloud:
        await cloud.compute.negotiate("auto")
        sim.configure(latency=1.2)  # the create's delay is fixed when it arrives ...

        async def fast_again() -> None:
            await until(lambda: sim.stats()["creates_in_flight_peak"] == 1)
            sim.configure(latency=0.0)  # ... and the look-ups that follow are quick

        async with anyio.create_task_group() as group:
            group.start_soon(fast_again)
            with pytest.raises(CreateUncertain) as info:
                await cloud.compute.create_server(request(body("slow"), fleet="f"))
    assert info.value.name == "slow" and info.value.fleet == "f"
    assert "not sent again" in str(info.value)
    await until(lambda: sim.stats()["servers_total"] == 1)  # Nova finishes the one create
    stats = sim.stats()
    assert sum(stats["requests"]["POST /compute/v2.1/servers"].values()) == 1
    assert stats["servers_total"] == 1
    assert stats["duplicate_names"] == 0
    assert stats["requests"]["GET /compute/v2.1/servers/detail"]["200"] >= 2  # looked again


async def test_a_create_that_lands_while_we_look_is_recovered(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    config = dataclasses.replace(sim_cloud, api_timeout=1.0)
    options = HttpOptions(recovery=CreateRecovery(lookup_settle=0.2))
    async with open_cloud(config, options=options) as cloud:
        await cloud.compute.negotiate("auto")
        sim.configure(latency=1.5)

        async def fast_again() -> None:
            await anyio.sleep(0.3)
            sim.configure(latency=0.0)

        async with anyio.create_task_group() as group:
            group.start_soon(fast_again)
            created = await cloud.compute.create_server(request(body("late"), fleet="f"))
    assert created.recovered and created.id
    stats = sim.stats()
    assert sum(stats["requests"]["POST /compute/v2.1/servers"].values()) == 1
    assert stats["servers_total"] == 1


class _FakeNova:
    """Servers made by a stub's POST handler, listed by its /servers/detail."""

    def __init__(self) -> None:
        self.servers: list[dict[str, Any]] = []
        self.posts = 0
        self.lookups = 0

    def make(self, payload: dict[str, Any]) -> dict[str, Any]:
        server = payload["server"]
        made = {
            "id": f"id-{len(self.servers)}",
            "name": server["name"],
            "status": "BUILD",
            "metadata": server.get("metadata", {}),
        }
        self.servers.append(made)
        return made

    async def detail(self, request: web.Request) -> web.Response:
        self.lookups += 1
        pattern = request.query.get("name", "")
        found = [s for s in self.servers if re.search(pattern, s["name"])]
        return web.json_response({"servers": found})


async def test_a_bare_503_after_nova_acted_is_looked_up_not_resent() -> None:
    nova_ = _FakeNova()

    async def create(request: web.Request) -> web.Response:
        nova_.posts += 1
        nova_.make(await request.json())  # Nova acted; the proxy answered 503 anyway
        return web.json_response({"message": "Service Unavailable"}, status=503)

    routes = [("POST", "/servers", create), ("GET", "/servers/detail", nova_.detail)]
    async with stub_nova(routes) as url, nova(stub_config(url), FAST) as cloud:
        created = await cloud.compute.create_server(request(body("once"), fleet="f"))
    assert created.recovered and created.id == "id-0"
    assert (nova_.posts, len(nova_.servers)) == (1, 1)


async def test_a_503_with_retry_after_is_sent_again_without_looking() -> None:
    nova_ = _FakeNova()

    async def create(request: web.Request) -> web.Response:
        nova_.posts += 1
        if nova_.posts == 1:  # turned away before Nova, with a "come back in 0 s"
            return web.json_response({}, status=503, headers={"Retry-After": "0"})
        made = nova_.make(await request.json())
        return web.json_response({"server": {"id": made["id"]}}, status=202)

    routes = [("POST", "/servers", create), ("GET", "/servers/detail", nova_.detail)]
    async with stub_nova(routes) as url, open_cloud(stub_config(url), options=FAST) as cloud:
        await cloud.compute.negotiate("auto")
        created = await cloud.compute.create_server(request(body("again"), fleet="f"))
    assert not created.recovered and created.id == "id-0"
    assert (nova_.posts, nova_.lookups) == (2, 0)


async def test_a_504_is_never_resent() -> None:
    """A proxy's 504: Nova may carry on. Looked for over the request timeout, then
    reported as uncertain -- never a second POST."""
    nova_ = _FakeNova()

    async def create(request: web.Request) -> web.Response:
        nova_.posts += 1
        return web.json_response({"message": "Gateway Timeout"}, status=504)

    routes = [("POST", "/servers", create), ("GET", "/servers/detail", nova_.detail)]
    config = stub_config("", api_timeout=0.5)
    options = dataclasses.replace(FAST, recovery=CreateRecovery(lookup_settle=0.1))
    time = JumpTime()
    async with stub_nova(routes) as url:
        config = dataclasses.replace(config, compute_endpoint_override=url)
        async with open_cloud(config, options=options, clock=time.clock, sleep=time.sleep) as cloud:
            await cloud.compute.negotiate("auto")
            with pytest.raises(CreateUncertain, match="Gateway Timeout"):
                await cloud.compute.create_server(request(body("gw"), fleet="f"))
    assert nova_.posts == 1
    assert nova_.lookups >= 3  # looked several times over the 0.5 s window


async def test_an_override_at_novas_root_finds_v21_below_it(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    root = dataclasses.replace(sim_cloud, compute_endpoint_override=f"{sim.base_url}/compute/")
    async with open_cloud(root) as cloud:
        assert await cloud.compute.negotiate("auto") == Microversion(2, 104)
        assert cloud.endpoint == f"{sim.base_url}/compute/v2.1"
        assert "maxTotalInstances" in await cloud.compute.limits()


async def test_an_override_that_is_not_nova_says_what_is_expected(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    bare = dataclasses.replace(sim_cloud, compute_endpoint_override=sim.base_url)
    async with open_cloud(bare, options=FAST) as cloud:
        with pytest.raises(MicroversionError) as info:
            await cloud.compute.negotiate("auto")
    assert f"the compute endpoint {sim.base_url} does not announce" in str(info.value)
    assert "ending in /v2.1" in str(info.value)


async def test_the_last_attempts_500_is_looked_up_before_it_is_reported() -> None:
    nova_ = _FakeNova()

    async def create(request: web.Request) -> web.Response:
        nova_.posts += 1
        nova_.make(await request.json())  # made, then Nova's API fell over
        return web.json_response({"computeFault": {"message": "Unexpected"}}, status=500)

    routes = [("POST", "/servers", create), ("GET", "/servers/detail", nova_.detail)]
    options = dataclasses.replace(FAST, recovery=CreateRecovery(lookup_settle=0.0, max_attempts=1))
    async with stub_nova(routes) as url, open_cloud(stub_config(url), options=options) as cloud:
        await cloud.compute.negotiate("auto")
        created = await cloud.compute.create_server(request(body("last"), fleet="f"))
    assert created.recovered and (nova_.posts, len(nova_.servers)) == (1, 1)


async def test_a_400_that_repeats_the_requests_secrets_never_carries_them() -> None:
    async def create(request: web.Request) -> web.Response:
        server = (await request.json())["server"]
        # Nova's schema errors quote the offending value back.
        message = (
            f"Invalid input for field/attribute adminPass. Value: {server['adminPass']}. "
            f"Also user_data {server['user_data']} is refused."
        )
        return web.json_response({"badRequest": {"code": 400, "message": message}}, status=400)

    routes = [("POST", "/servers", create)]
    async with stub_nova(routes) as url, open_cloud(stub_config(url), options=FAST) as cloud:
        await cloud.compute.negotiate("auto")
        with pytest.raises(BadRequest) as caught:
            await cloud.compute.create_server(
                request(
                    body("leaky", adminPass="pw-Sup3rSecret", user_data="c2VjcmV0PXNlc2FtZQ=="),
                    fleet="f",
                )
            )
    text = str(caught.value) + caught.value.message
    assert "pw-Sup3rSecret" not in text and "c2VjcmV0PXNlc2FtZQ==" not in text
    assert "Invalid input for field/attribute adminPass. Value: ***." in caught.value.message


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"servers": {"id": "x"}}', "application/json"),  # not a list
        ('{"servers": ["x", "y"]}', "application/json"),  # not objects
        ('{"nothing": []}', "application/json"),  # no servers at all
        ("<html>a login page</html>", "text/html"),  # not JSON: a proxy answered
    ],
)
async def test_a_listing_not_in_novas_shape_is_an_error_not_an_empty_fleet(
    text: str, content_type: str
) -> None:
    """Read as empty, such a page would say the fleet has no server, and a re-apply would
    create every one again."""
    from bulkboot.errors import BadAnswer

    async def listing(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type=content_type)

    async with stub_nova([("GET", "/servers/detail", listing)]) as url:
        async with open_cloud(stub_config(url)) as cloud:
            await cloud.compute.negotiate("auto")
            with pytest.raises(BadAnswer) as info:
                await cloud.compute.list_servers(None, detail=True)
    assert str(info.value) == (
        f"GET {url}/servers/detail (HTTP 200): the answer holds no list of 'servers' "
        f"objects, as the compute API's does; is {url} Nova's endpoint?"
    )


async def test_links_not_in_novas_shape_end_the_listing_and_a_server_not_in_it_is_an_error() -> (
    None
):
    from bulkboot.errors import BadAnswer

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"servers": [{"id": "a"}], "servers_links": 5})

    async def one(request: web.Request) -> web.Response:
        return web.json_response({"servers": []})

    routes = [("GET", "/servers/detail", listing), ("GET", "/servers/{id}", one)]
    async with stub_nova(routes) as url:
        async with open_cloud(stub_config(url)) as cloud:
            await cloud.compute.negotiate("auto")
            assert await cloud.compute.list_servers(None, detail=True) == [{"id": "a"}]
            with pytest.raises(BadAnswer, match="holds no 'server' object"):
                await cloud.compute.get_server("a")
