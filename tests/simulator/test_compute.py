"""bulkboot/simulator/compute.py through a real socket: Nova's wire behaviour."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest

from bulkboot.simulator import ManualClock, RunningSimulator
from bulkboot.simulator.config import DEFAULT_QUOTA_INSTANCES
from tests.simulator.conftest import Api, password_body

pytestmark = pytest.mark.anyio

CIRROS = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
PRIVATE = "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d"


async def test_versions_document_at_root_and_v21(api: Api) -> None:
    status, _, body = await api.call("GET", "/compute/")
    assert status == 200
    # as Nova 34: the deprecated v2.0 (no microversions), then v2.1
    legacy, version = body["versions"]
    assert (legacy["id"], legacy["status"], legacy["version"]) == ("v2.0", "DEPRECATED", "")
    assert legacy["links"] == [{"rel": "self", "href": api.sim.base_url + "/compute/v2/"}]
    assert (version["min_version"], version["version"]) == ("2.1", "2.104")
    status, _, body = await api.call("GET", "/compute/v2.1/")
    assert body["version"]["id"] == "v2.1"
    assert body["version"]["links"][0]["href"] == api.sim.base_url + "/compute/v2.1/"


async def test_microversion_echoed_in_both_headers(api: Api) -> None:
    _, headers, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="2.60")
    assert headers["OpenStack-API-Version"] == "compute 2.60"
    assert headers["X-OpenStack-Nova-API-Version"] == "2.60"
    assert headers["X-OpenStack-Request-ID"].startswith("req-")


async def test_legacy_header_latest_and_default(api: Api) -> None:
    _, headers, _ = await api.call(
        "GET",
        "/compute/v2.1/flavors",
        microversion="",
        headers={"X-OpenStack-Nova-API-Version": "latest"},
    )
    assert headers["OpenStack-API-Version"] == "compute 2.104"
    _, headers, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="")
    assert headers["OpenStack-API-Version"] == "compute 2.1"


async def test_new_header_wins_over_legacy(api: Api) -> None:
    _, headers, _ = await api.call(
        "GET",
        "/compute/v2.1/flavors",
        microversion="2.50",
        headers={"X-OpenStack-Nova-API-Version": "2.10"},
    )
    assert headers["X-OpenStack-Nova-API-Version"] == "2.50"


async def test_version_outside_range_is_406(api: Api) -> None:
    status, _, body = await api.call("GET", "/compute/v2.1/flavors", microversion="2.200")
    assert status == 406
    assert "Version 2.200 is not supported by the API" in body["computeFault"]["message"]


async def test_flavors_are_the_m1_set(api: Api) -> None:
    status, _, body = await api.call("GET", "/compute/v2.1/flavors/detail")
    assert status == 200
    got = {(f["id"], f["name"], f["vcpus"], f["ram"]) for f in body["flavors"]}
    assert got == {
        ("1", "m1.tiny", 1, 512),
        ("2", "m1.small", 1, 2048),
        ("3", "m1.medium", 2, 4096),
        ("4", "m1.large", 4, 8192),
        ("5", "m1.xlarge", 8, 16384),
    }
    status, _, body = await api.call("GET", "/compute/v2.1/flavors/3")
    assert body["flavor"]["name"] == "m1.medium"
    status, _, body = await api.call("GET", "/compute/v2.1/flavors/99")
    assert status == 404
    assert body == {"itemNotFound": {"code": 404, "message": "Flavor 99 could not be found."}}


async def test_create_then_build_then_active_with_address(api: Api, sim_clock: ManualClock) -> None:
    status, headers, body = await api.call(
        "POST",
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "web-1",
                "imageRef": CIRROS,
                "flavorRef": "2",
                "networks": [{"uuid": PRIVATE}],
                "metadata": {"bulkboot:fleet": "lab"},
            }
        },
    )
    assert status == 202
    server_id = body["server"]["id"]
    assert headers["Location"].endswith(f"/compute/v2.1/servers/{server_id}")
    assert body["server"]["adminPass"]
    status, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert status == 200
    server = body["server"]
    assert server["status"] == "BUILD"
    assert server["OS-EXT-STS:task_state"] == "scheduling"  # Nova's build request, first
    sim_clock.advance(0.11)  # past the session config's scheduling_time (0.1 s)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    server = body["server"]
    assert server["status"] == "BUILD"
    assert server["OS-EXT-STS:task_state"] == "spawning"
    assert server["metadata"] == {"bulkboot:fleet": "lab"}
    assert server["addresses"] == {}
    sim_clock.advance(0.5)
    _, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    server = body["server"]
    assert server["status"] == "ACTIVE"
    assert server["progress"] == 100
    assert server["addresses"]["private"][0]["addr"].startswith("10.0.")
    assert server["flavor"]["original_name"] == "m1.small"
    assert server["updated"] >= server["created"]


async def test_multi_create_names_and_reservation(api: Api) -> None:
    body = await api.boot("multi", min_count=2, max_count=3, return_reservation_id=True)
    reservation = body["reservation_id"]
    assert reservation.startswith("r-")
    status, _, body = await api.call(
        "GET", "/compute/v2.1/servers", params={"reservation_id": reservation}
    )
    assert sorted(s["name"] for s in body["servers"]) == ["multi-1", "multi-2", "multi-3"]


async def test_detail_paging_with_marker_newest_first(api: Api) -> None:
    for index in range(7):
        await api.boot(f"page-{index}")
    seen: list[str] = []
    params = {"limit": "3"}
    while True:
        _, _, body = await api.call("GET", "/compute/v2.1/servers/detail", params=params)
        seen += [s["name"] for s in body["servers"]]
        links = body.get("servers_links")
        if not links:
            break
        marker = links[0]["href"].split("marker=")[1]
        params = {"limit": "3", "marker": marker}
    assert seen == [f"page-{i}" for i in reversed(range(7))]


async def test_limit_clamped_to_1000(api: Api) -> None:
    await api.boot("bulk", min_count=1001, max_count=1001)
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"limit": "5000"})
    assert len(body["servers"]) == 1000
    assert "servers_links" in body


async def test_bad_marker_is_400(api: Api) -> None:
    status, _, body = await api.call("GET", "/compute/v2.1/servers", params={"marker": "not-there"})
    assert status == 400
    assert body["badRequest"]["message"] == "marker [not-there] not found"


async def test_changes_since_returns_only_changed_and_deleted(
    api: Api, sim_clock: ManualClock
) -> None:
    old = (await api.boot("old"))["server"]["id"]
    sim_clock.advance(0.6)  # old is ACTIVE and unchanged from here on
    # seconds-resolution marks: move into the next second so `old` is out of the window
    sim_clock.advance(1.05)
    mark = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sim_clock.time()))
    new = (await api.boot("new"))["server"]["id"]
    status, _, _ = await api.call("DELETE", f"/compute/v2.1/servers/{old}")
    assert status == 204
    sim_clock.advance(0.2)
    _, _, body = await api.call(
        "GET", "/compute/v2.1/servers/detail", params={"changes-since": mark}
    )
    by_id = {s["id"]: s["status"] for s in body["servers"]}
    assert by_id == {new: "BUILD", old: "DELETED"} or by_id == {new: "ACTIVE", old: "DELETED"}
    # without changes-since a deleted server is gone
    _, _, body = await api.call("GET", "/compute/v2.1/servers")
    assert [s["id"] for s in body["servers"]] == [new]
    status, _, _ = await api.call("GET", f"/compute/v2.1/servers/{old}")
    assert status == 404


async def test_delete_is_asynchronous(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(delete_delay=0.3)
    server_id = (await api.boot("doomed"))["server"]["id"]
    sim_clock.advance(0.11)  # scheduled: a delete now goes the usual way
    status, _, _ = await api.call("DELETE", f"/compute/v2.1/servers/{server_id}")
    assert status == 204
    status, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert status == 200
    assert body["server"]["OS-EXT-STS:task_state"] == "deleting"
    sim_clock.advance(0.4)
    status, _, body = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert status == 404
    assert body["itemNotFound"]["message"] == f"Instance {server_id} could not be found."


async def test_a_server_deleted_while_scheduled_vanishes_without_a_trace(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    """As Nova's build request: deleted before a host was chosen, the server is gone at
    once, 404, and no changes-since listing ever shows it as DELETED."""
    created = await api.boot("quick")
    server_id = created["server"]["id"]
    _, _, shown = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    since = shown["server"]["created"]
    assert shown["server"]["OS-EXT-STS:task_state"] == "scheduling"
    status, _, _ = await api.call("DELETE", f"/compute/v2.1/servers/{server_id}")
    assert status == 204
    status, _, _ = await api.call("GET", f"/compute/v2.1/servers/{server_id}")
    assert status == 404
    sim_clock.advance(5)
    _, _, listed = await api.call(
        "GET", "/compute/v2.1/servers/detail", params={"changes-since": since}
    )
    assert listed["servers"] == []
    status, _, _ = await api.call("DELETE", f"/compute/v2.1/servers/{server_id}")
    assert status == 404
    assert sim.stats()["servers_total"] == 0


async def test_filters_name_regex_and_status(api: Api, sim: RunningSimulator) -> None:
    await api.boot("alpha-1")
    await api.boot("alpha-2")
    await api.boot("beta-1")
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"name": "^alpha"})
    assert sorted(s["name"] for s in body["servers"]) == ["alpha-1", "alpha-2"]
    _, _, body = await api.call("GET", "/compute/v2.1/servers/detail", params={"status": "BUILD"})
    assert len(body["servers"]) == 3
    _, _, body = await api.call("GET", "/compute/v2.1/servers/detail", params={"status": "ACTIVE"})
    assert body["servers"] == []
    status, _, _ = await api.call("GET", "/compute/v2.1/servers", params={"status": "bogus"})
    assert status == 400


async def test_tags_filter(api: Api) -> None:
    await api.boot("tagged", tags=["run-1", "web"])
    await api.boot("other", tags=["run-2"])
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"tags": "run-1,web"})
    assert [s["name"] for s in body["servers"]] == ["tagged"]


async def test_limits_report_usage(api: Api, sim: RunningSimulator) -> None:
    sim.configure(quota_instances=10, quota_cores=20, quota_ram=51200)
    await api.boot("a", flavorRef="3")
    _, _, body = await api.call("GET", "/compute/v2.1/limits")
    absolute = body["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == 10
    assert absolute["totalInstancesUsed"] == 1
    assert absolute["totalCoresUsed"] == 2
    assert absolute["totalRAMUsed"] == 4096
    assert absolute["maxTotalRAMSize"] == 51200


async def test_default_quota_is_finite_and_shown(api: Api) -> None:
    _, _, body = await api.call("GET", "/compute/v2.1/limits")
    absolute = body["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == DEFAULT_QUOTA_INSTANCES == 200_000
    assert absolute["maxTotalCores"] == absolute["maxTotalRAMSize"] == -1  # unlimited


_MEMORY_CAP = 1 << 30  # the simulator below gets 1 GiB: a regression fails, not the machine


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_CAP, _MEMORY_CAP))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def capped_simulator() -> Iterator[tuple[int, str]]:
    """``bulkboot simulator`` in its own process with its address space capped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkboot", "simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=_cap_memory,
    )
    assert process.stdout is not None
    try:
        base = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert base.startswith("http://127.0.0.1:"), base
        yield process.pid, base
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()


async def test_a_request_for_2_to_the_70_servers_is_403_and_allocates_nothing(
    capped_simulator: tuple[int, str],
) -> None:
    """max_count 2**70 once built records until the OOM killer came: now it is Nova's
    403 from the (always finite) instance quota, with nothing allocated."""
    pid, base = capped_simulator
    huge = 2**70
    server = {"name": "x", "imageRef": CIRROS, "flavorRef": "1", "networks": "auto"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(base + "/identity/v3/auth/tokens", json=password_body()) as r:
            headers = {
                "X-Auth-Token": r.headers["X-Subject-Token"],
                "OpenStack-API-Version": "compute 2.96",
            }
        before = _rss_kib(pid)
        for count in (huge, str(huge)):  # the schema takes integers and digit strings
            body = {"server": {**server, "min_count": count, "max_count": count}}
            async with session.post(
                base + "/compute/v2.1/servers", json=body, headers=headers
            ) as r:
                assert r.status == 403, await r.text()
                message = (await r.json())["forbidden"]["message"]
            assert message == (
                f"Quota exceeded for instances: Requested {huge}, "
                f"but already used 0 of {DEFAULT_QUOTA_INSTANCES} instances"
            )
        assert _rss_kib(pid) - before < 16 * 1024  # KiB: nothing was built
        async with session.get(base + "/compute/v2.1/limits", headers=headers) as r:
            absolute = (await r.json())["limits"]["absolute"]
    assert absolute["totalInstancesUsed"] == 0


async def test_a_count_of_5000_digits_is_novas_500_not_a_crash(
    api: Api, sim: RunningSimulator
) -> None:
    server = {"name": "d", "imageRef": CIRROS, "flavorRef": "1", "networks": "none"}
    server["min_count"] = "9" * 5000
    status, _, body = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
    assert status == 500
    assert body["computeFault"]["message"].startswith("Unexpected API Error.")
    assert body["computeFault"]["message"].endswith("<class 'ValueError'>")
    assert sim.stats()["servers_created"] == 0


async def test_a_range_up_to_2_to_the_70_builds_only_the_headroom(
    api: Api, sim: RunningSimulator
) -> None:
    """Nova's check_num_instances_quota: min..max is cut down to what fits."""
    sim.configure(quota_instances=4)
    await api.boot("one")
    body = await api.boot("many", min_count=1, max_count=2**70, return_reservation_id=True)
    _, _, listed = await api.call(
        "GET", "/compute/v2.1/servers", params={"reservation_id": body["reservation_id"]}
    )
    assert sorted(s["name"] for s in listed["servers"]) == ["many-1", "many-2", "many-3"]


async def test_blank_volume_without_a_size_is_novas_400(api: Api, sim: RunningSimulator) -> None:
    root = {"source_type": "image", "destination_type": "local", "uuid": CIRROS, "boot_index": 0}
    blank: dict[str, object] = {"source_type": "blank", "destination_type": "volume"}
    server = {
        "name": "bv",
        "imageRef": CIRROS,
        "flavorRef": "1",
        "networks": "auto",
        "block_device_mapping_v2": [root, blank],
    }
    status, _, body = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
    assert (status, body) == (
        400,
        {
            "badRequest": {
                "code": 400,
                "message": "Blank volumes (source: 'blank', dest: 'volume') need to have "
                "non-zero size",
            }
        },
    )
    assert sim.stats()["servers_created"] == 0
    # A zero size never gets that far: the schema's minimum (numeric on strings too).
    for zero in (0, "0"):
        blank["volume_size"] = zero
        status, _, body = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
        assert status == 400
        assert body["badRequest"]["message"].startswith(
            "Invalid input for field/attribute volume_size."
        )
    blank["volume_size"] = 2
    await api.boot("bv", block_device_mapping_v2=[root, blank])
    # A blank local disk (ephemeral) needs no size: the flavor's is used.
    ephemeral = {"source_type": "blank", "destination_type": "local"}
    await api.boot("eph", block_device_mapping_v2=[root, ephemeral])


async def test_blank_volume_size_is_checked_after_the_quota(
    api: Api, sim: RunningSimulator
) -> None:
    """Nova's order: check_num_instances_quota, then _validate_bdm per instance."""
    sim.configure(quota_instances=0)
    bdm = {"source_type": "blank", "destination_type": "volume", "boot_index": 0}
    server = {"name": "bv", "flavorRef": "1", "networks": "auto", "block_device_mapping_v2": [bdm]}
    status, _, _ = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
    assert status == 403


async def test_unknown_query_parameters_refused_from_2_75(api: Api) -> None:
    status, _, _ = await api.call(
        "GET", "/compute/v2.1/servers", params={"bogus": "1"}, microversion="2.74"
    )
    assert status == 200
    status, _, body = await api.call(
        "GET", "/compute/v2.1/servers", params={"bogus": "1"}, microversion="2.75"
    )
    assert status == 400
    # Nova's words: the server lists' schema lets keys starting with "_" through
    assert body["badRequest"]["message"] == "'bogus' does not match any of the regexes: '^_'"
    status, _, body = await api.call(
        "GET", "/compute/v2.1/servers", params={"b": "1", "a": "2", "_c": "3"}, microversion="2.75"
    )
    assert body["badRequest"]["message"] == "'a', 'b' do not match any of the regexes: '^_'"


async def test_changes_before_from_2_66(
    api: Api, sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(build_time_mean=60.0, build_time_stddev=0.0)
    first = (await api.boot("first"))["server"]["id"]
    sim_clock.advance(1.1)
    cut = datetime.fromtimestamp(sim_clock.time() - 0.5, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    await api.boot("second")
    _, _, body = await api.call(
        "GET", "/compute/v2.1/servers", params={"changes-before": cut}, microversion="2.66"
    )
    assert [s["id"] for s in body["servers"]] == [first]
    status, _, _ = await api.call(
        "GET",
        "/compute/v2.1/servers",
        params={"changes-before": cut, "changes-since": "2099-01-01T00:00:00Z"},
        microversion="2.66",
    )
    assert status == 400


async def test_microversion_range_is_a_knob(api: Api, sim: RunningSimulator) -> None:
    sim.configure(min_microversion="2.10", max_microversion="2.60")
    _, _, body = await api.call("GET", "/compute/v2.1/", microversion="")
    assert (body["version"]["min_version"], body["version"]["version"]) == ("2.10", "2.60")
    _, headers, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="latest")
    assert headers["OpenStack-API-Version"] == "compute 2.60"
    _, headers, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="")
    assert headers["OpenStack-API-Version"] == "compute 2.10"
    status, _, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="2.61")
    assert status == 406
    status, _, _ = await api.call("GET", "/compute/v2.1/flavors", microversion="2.9")
    assert status == 406


async def test_sort_dir_asc_lists_oldest_first(api: Api) -> None:
    for name in ("one", "two", "three"):
        await api.boot(name)
    _, _, body = await api.call("GET", "/compute/v2.1/servers", params={"sort_dir": "asc"})
    assert [s["name"] for s in body["servers"]] == ["one", "two", "three"]


async def test_server_groups_only_in_show_from_2_71(api: Api) -> None:
    server_id = (await api.boot("grouped"))["server"]["id"]
    path = f"/compute/v2.1/servers/{server_id}"
    _, _, body = await api.call("GET", path, microversion="2.70")
    assert "server_groups" not in body["server"]
    _, _, body = await api.call("GET", path, microversion="2.71")
    assert body["server"]["server_groups"] == []
    _, _, body = await api.call("GET", "/compute/v2.1/servers/detail", microversion="2.71")
    assert "server_groups" not in body["servers"][0]
