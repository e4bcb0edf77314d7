"""Errors and edges as Nova 34 really gives them, and what bulkboot makes of them.

An unknown flavor (bulkboot's resolution, before anything is sent) and an unknown
image (Nova's 400, one server failed, the others built); a quota too small (bulkboot's
own check first, then Nova's 403 when that is skipped); a microversion out of range
(bulkboot's refusal, and Nova's 406 in its words); a bad body (Nova's 400, the message
and request id kept, not sent twice); a delete of a server already gone (404: False);
``changes-since`` after deletes (the deleted server listed as DELETED, which bulkboot's
polling relies on). Every fleet is small and deleted afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.compute import CreateRequest
from bulkboot.cloud.config import CloudConfig
from bulkboot.errors import BadRequest
from tests.realnova.runner import Bulkboot
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.timeout(180)]

GONE = "00000000-0000-4000-8000-000000000000"
POST_SERVERS = "POST /v2.1/servers HTTP/1.1"


def fleet_file(folder: Path, fleet: str, servers: str) -> Path:
    path = folder / f"{fleet}.yaml"
    path.write_text(
        f"name: {fleet}\ncloud: realnova\ndefaults: {{networks: none}}\nservers:\n{servers}"
    )
    return path


@pytest.fixture
def cli(nova: NovaService, tmp_path: Path) -> Bulkboot:
    return Bulkboot.in_folder(nova, tmp_path)


@pytest.fixture
def quota(nova: NovaService) -> Iterator[Any]:
    """Set the project's instance quota for one test; put it back afterwards."""
    path = f"/os-quota-sets/{nova.project_id}"
    status, body = nova.call("GET", path, admin=True)
    assert status == 200, body
    before = body["quota_set"]["instances"]

    def set_instances(limit: int) -> None:
        answer = nova.call("PUT", path, {"quota_set": {"instances": limit}}, admin=True)
        assert answer[0] == 200, answer

    try:
        yield set_instances
    finally:
        set_instances(before)


def instances_used(nova: NovaService) -> int:
    status, body = nova.call("GET", "/limits")
    assert status == 200, body
    return int(body["limits"]["absolute"]["totalInstancesUsed"])


def test_an_unknown_flavor_is_refused_before_anything_is_sent(
    nova: NovaService, cli: Bulkboot
) -> None:
    server = f"  - {{name: a, image: {nova.image_id}, flavor: m1.huge}}\n"
    path = fleet_file(cli.folder, "rn-unknown-flavor", server)
    before = nova.requests_seen().count(POST_SERVERS)
    done = cli.run("apply", str(path), "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert "a: no flavor has the ID or name 'm1.huge'; did you mean 'm1.large'" in done.stderr
    assert "nothing was sent" in done.stderr
    assert nova.count_settles(POST_SERVERS, before) == before


def test_an_unknown_image_fails_its_server_in_novas_words(nova: NovaService, cli: Bulkboot) -> None:
    """With no image service in reach (auth_type none) an image ID is sent as written:
    Nova refuses that server (400), the other one is built."""
    fleet = "rn-unknown-image"
    servers = (
        f"  - {{name: lost, image: {GONE}, flavor: '{nova.flavor_id}'}}\n"
        f"  - {{name: fine, image: {nova.image_id}, flavor: '{nova.flavor_id}'}}\n"
    )
    path = fleet_file(cli.folder, fleet, servers)
    try:
        document = cli.json("apply", str(path), "--format", "json", "--report", "r.json", expect=1)
        rows = {s["name"]: s for s in document["servers"]}
        assert (rows["lost"]["state"], rows["lost"]["failure"]) == ("error", "refused")
        assert rows["lost"]["message"] == "Can not find requested image"  # Nova's words
        assert rows["fine"]["state"] == "active"
        report = json.loads((cli.folder / "r.json").read_text())
        statuses = sorted(r["status"] for r in report["requests"] if r["method"] == "POST")
        assert statuses == [202, 400]  # the refused create was not sent again
        assert {s["name"] for s in nova.fleet_servers(fleet)} == {"fine"}
    finally:
        nova.delete_fleet(fleet)


def test_a_fleet_over_the_quota_is_refused_before_any_create(
    nova: NovaService, cli: Bulkboot, quota: Any
) -> None:
    quota(instances_used(nova) + 2)
    servers = "".join(
        f"  - {{name: q{n}, image: {nova.image_id}, flavor: '{nova.flavor_id}'}}\n"
        for n in range(3)
    )
    path = fleet_file(cli.folder, "rn-quota", servers)
    before = nova.requests_seen().count(POST_SERVERS)
    done = cli.run("apply", str(path))
    assert done.returncode == 2
    assert "does not fit in the quota left; nothing was created" in done.stderr
    assert "instances: the fleet needs 3, 2 left" in done.stderr
    assert nova.count_settles(POST_SERVERS, before) == before


def test_past_the_quota_nova_refuses_the_create_with_403(
    nova: NovaService, cli: Bulkboot, quota: Any
) -> None:
    """A fleet of two, built; then grown to three with --skip-quota-check: Nova's API
    counts the two and refuses the third with 403 in its words. (Creates sent while
    the others are still being scheduled may pass the API's count and fail later, in
    ERROR, by the conductor's recheck: the simulator's late_quota_fraction.)"""
    fleet = "rn-over-quota"
    used = instances_used(nova)
    quota(used + 2)

    def servers(count: int) -> str:
        return "".join(
            f"  - {{name: q{n}, image: {nova.image_id}, flavor: '{nova.flavor_id}'}}\n"
            for n in range(count)
        )

    try:
        cli.json("apply", str(fleet_file(cli.folder, fleet, servers(2))), "--format", "json")
        path = fleet_file(cli.folder, fleet, servers(3))
        document = cli.json("apply", str(path), "--skip-quota-check", "--format", "json", expect=1)
        rows = {s["name"]: s for s in document["servers"]}
        assert (rows["q0"]["existed"], rows["q1"]["existed"]) == (True, True)
        assert (rows["q2"]["state"], rows["q2"]["failure"]) == ("error", "quota")
        assert rows["q2"]["message"] == (
            f"Quota exceeded for instances: Requested 1, but already used {used + 2} "
            f"of {used + 2} instances"
        )
        assert {s["name"] for s in nova.fleet_servers(fleet)} == {"q0", "q1"}
    finally:
        nova.delete_fleet(fleet)


def test_a_microversion_above_nova_34(nova: NovaService, cli: Bulkboot) -> None:
    path = cli.folder / "mv.yaml"
    path.write_text(
        f"name: rn-mv\ncloud: realnova\nmicroversion: '2.105'\nservers:\n"
        f"  - {{name: a, image: {nova.image_id}, flavor: '1', networks: none}}\n"
    )
    done = cli.run("apply", str(path))
    assert done.returncode == 2
    assert "microversion 2.105 is outside what bulkboot supports (2.1 to 2.104)" in done.stderr
    # what Nova itself says to a client that sends it
    status, body = nova.call("GET", "/servers", microversion="2.105")
    assert status == 406
    assert body == {
        "computeFault": {
            "code": 406,
            "message": "Version 2.105 is not supported by the API. "
            "Minimum is 2.1 and maximum is 2.104.",
        }
    }


@pytest.mark.anyio
async def test_a_bad_body_is_novas_400_with_its_message_and_request_id(
    nova: NovaService, clouds: dict[str, CloudConfig]
) -> None:
    before = nova.requests_seen().count(POST_SERVERS)
    async with open_cloud(clouds["member"]) as cloud:
        await cloud.compute.negotiate("auto")
        request = CreateRequest(body={"server": {"name": "x"}}, name="x", fleet="rn-bad")
        with pytest.raises(BadRequest) as caught:
            await cloud.compute.create_server(request)
    error = caught.value
    assert error.message == (
        "Invalid input for field/attribute server. Value: {'name': 'x'}. "
        "'flavorRef' is a required property"
    )
    assert error.http_status == 400 and error.method == "POST"
    assert error.request_id is not None and error.request_id.startswith("req-")
    assert nova.count_settles(POST_SERVERS, before + 1) == before + 1  # final: not sent again


@pytest.mark.anyio
async def test_a_delete_of_a_gone_server_is_false(
    nova: NovaService, clouds: dict[str, CloudConfig]
) -> None:
    async with open_cloud(clouds["member"]) as cloud:
        await cloud.compute.negotiate("auto")
        assert await cloud.compute.delete_server(GONE) is False
    status, body = nova.call("DELETE", f"/servers/{GONE}")
    assert (status, body) == (
        404,
        {"itemNotFound": {"code": 404, "message": f"Instance {GONE} could not be found."}},
    )


async def until_listed(compute: Any, since: str, server_id: str, status: str) -> dict[str, str]:
    """The ``changes-since`` listing, once it shows the server in ``status`` (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        listed = {
            s["id"]: s["status"] for s in await compute.list_servers({"changes-since": since})
        }
        if listed.get(server_id) == status:
            return listed
        assert time.monotonic() < deadline, listed
        await anyio.sleep(0.3)


def create_body(nova: NovaService, fleet: str, name: str, count: int) -> dict[str, Any]:
    return {
        "server": {
            "name": name,
            "imageRef": nova.image_id,
            "flavorRef": nova.flavor_id,
            "networks": "none",
            "min_count": count,
            "metadata": {"bulkboot:fleet": fleet},
        }
    }


@pytest.mark.anyio
async def test_changes_since_lists_a_deleted_server_as_deleted(
    nova: NovaService, clouds: dict[str, CloudConfig]
) -> None:
    """What bulkboot's polling stands on: after a delete, a ``changes-since`` listing
    that covers it shows the server as DELETED (Nova keeps the row), while the plain
    listing drops it."""
    fleet = "rn-changes"
    try:
        async with open_cloud(clouds["member"]) as cloud:
            compute = cloud.compute
            await compute.negotiate("auto")
            body = create_body(nova, fleet, "changes", 2)
            request = CreateRequest(body=body, name="changes", instance_count=2, fleet=fleet)
            await compute.create_server(request)
            made = {s["name"]: s for s in nova.fleet_servers(fleet)}
            assert set(made) == {"changes-1", "changes-2"}
            since = min(s["created"] for s in made.values())
            gone_id, kept_id = made["changes-1"]["id"], made["changes-2"]["id"]
            await until_listed(compute, since, gone_id, "ACTIVE")
            assert await compute.delete_server(gone_id)
            listed = await until_listed(compute, since, gone_id, "DELETED")
            assert kept_id in listed and listed[kept_id] != "DELETED"
            plain = {s["id"] for s in await compute.list_servers(None)}
            assert gone_id not in plain and kept_id in plain
    finally:
        nova.delete_fleet(fleet)


@pytest.mark.anyio
async def test_a_server_deleted_while_scheduled_leaves_no_deleted_record(
    nova: NovaService, clouds: dict[str, CloudConfig]
) -> None:
    """Deleted while Nova still schedules it (task_state ``scheduling``: only a build
    request exists), a server vanishes at once: 404, and no ``changes-since`` listing
    ever shows it as DELETED. bulkboot's poller notices such a server only at its next
    full round (docs/nova-ci.md, "What real Nova showed")."""
    fleet = "rn-scheduled"
    async with open_cloud(clouds["member"]) as cloud:
        compute = cloud.compute
        await compute.negotiate("auto")
        created = await compute.create_server(
            CreateRequest(body=create_body(nova, fleet, "quick", 1), name="quick", fleet=fleet)
        )
        assert created.id is not None
        shown = await compute.get_server(created.id)
        if shown["OS-EXT-STS:task_state"] != "scheduling":
            nova.delete_fleet(fleet)
            pytest.skip("Nova scheduled the server before it could be deleted: nothing shown")
        assert await compute.delete_server(created.id)
        status, _ = nova.call("GET", f"/servers/{created.id}")
        assert status == 404
        for _ in range(5):  # never listed, however long one looks
            listed = await compute.list_servers({"changes-since": shown["created"]})
            assert created.id not in {s["id"] for s in listed}
            await anyio.sleep(0.5)
