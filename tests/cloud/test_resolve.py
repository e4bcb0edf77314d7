"""Name resolution against the simulator: found, missing, ambiguous, each looked up once."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
from aiohttp import web

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.resolve import looks_like_uuid, resolve_references
from bulkboot.errors import Forbidden, ResolveError
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Manifest
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import FLAVORS, IMAGES, NETWORKS
from tests.cloud.stubs import stub_config, stub_nova
from tests.pipeline.bodies import build_body

pytestmark = pytest.mark.anyio

CIRROS = next(i for i in IMAGES if i.name == "cirros-0.6.2")
UBUNTU = next(i for i in IMAGES if i.name == "ubuntu-24.04")
PRIVATE = next(n for n in NETWORKS if n.name == "private")
TINY = next(f for f in FLAVORS if f.name == "m1.tiny")


def manifest(tmp_path: Path, text: str) -> Manifest:
    path = tmp_path / "fleet.yaml"
    path.write_text(textwrap.dedent(text))
    return load_manifest(path)


async def test_names_resolved_once_for_a_whole_fleet(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    fleet = manifest(
        tmp_path,
        """\
        name: lab
        defaults: {flavor: m1.tiny, networks: [{net-name: private}]}
        servers:
          - {name: "web-{index}", count: 50, image: cirros-0.6.2}
          - {name: "db-{index}", count: 50, image: ubuntu-24.04}
          - {name: by-id, image: CIRROS_ID, flavor: TINY_ID}
          - {name: by-props, image_with: {os_distro: ubuntu}}
        """.replace("CIRROS_ID", CIRROS.id).replace("TINY_ID", TINY.id),
    )
    async with open_cloud(sim_cloud) as cloud:
        refs = await resolve_references(cloud, fleet)
    assert refs.image("cirros-0.6.2") == CIRROS.id
    assert refs.image("ubuntu-24.04") == UBUNTU.id
    assert refs.image(CIRROS.id) == CIRROS.id
    assert refs.image_with({"os_distro": "ubuntu"}) == UBUNTU.id
    assert refs.flavor("m1.tiny") == TINY.id
    assert refs.network("private") == PRIVATE.id
    requests = sim.stats()["requests"]
    assert requests["GET /image/v2/images"] == {"200": 3}  # two names, one property query
    assert requests["GET /image/v2/images/{image_id}"] == {"200": 1}
    assert requests["GET /compute/v2.1/flavors/detail"] == {"200": 1}
    assert requests["GET /network/v2.0/networks"] == {"200": 1}
    body = build_body(fleet.servers[0], refs, Microversion(2, 96))
    assert body["server"]["imageRef"] == CIRROS.id
    assert body["server"]["networks"] == [{"uuid": PRIVATE.id}]


async def test_every_problem_is_listed_with_its_place(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    fleet = manifest(
        tmp_path,
        """\
        name: lab
        servers:
          - name: "a-{index}"
            count: 3
            image: cirros-0.6
            flavor: m1.tiny
          - name: b
            image: dup-image
            flavor: m1.huge
            networks: [{net-name: dup-net}, {net-name: nowhere}]
        """,
    )
    async with open_cloud(sim_cloud) as cloud:
        with pytest.raises(ResolveError) as info:
            await resolve_references(cloud, fleet)
    lines = str(info.value).splitlines()
    path = tmp_path / "fleet.yaml"
    assert lines[0] == (
        f"{path}:5:12: a-1 ... a-3 (3 servers): no image has the ID or name 'cirros-0.6'; "
        "did you mean 'cirros-0.6.2'?"
    )
    assert lines[1].startswith(f"{path}:8:12: b: image name 'dup-image' is ambiguous: 2 images")
    assert IMAGES[2].id in lines[1] and IMAGES[3].id in lines[1]
    assert lines[2].startswith(f"{path}:9:13: b: no flavor has the ID or name 'm1.huge'; ")
    assert "ambiguous: 2 networks" in lines[3] and lines[3].startswith(f"{path}:10:")
    assert "no network has the name 'nowhere'" in lines[4]
    assert len(lines) == 5
    assert "POST /compute/v2.1/servers" not in sim.stats()["requests"]


async def test_network_ids_are_checked_once(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    missing = "00000000-0000-4000-8000-0000000000ff"
    fleet = manifest(
        tmp_path,
        f"""\
        name: x
        defaults: {{image: cirros-0.6.2, flavor: m1.tiny}}
        servers:
          - {{name: "a-{{index}}", count: 5, networks: [{{net-id: {PRIVATE.id}}}]}}
          - {{name: b, networks: [{{net-id: {missing}}}]}}
        """,
    )
    async with open_cloud(sim_cloud) as cloud:
        with pytest.raises(ResolveError) as info:
            await resolve_references(cloud, fleet)
    assert str(info.value) == (
        f"{tmp_path / 'fleet.yaml'}:5:26: b: no network has the ID '{missing}'"
    )
    assert sim.stats()["requests"]["GET /network/v2.0/networks/{network_id}"] == {
        "200": 1,
        "404": 1,
    }


async def test_unknown_id_is_reported(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    fleet = manifest(
        tmp_path, f"name: x\nservers:\n  - {{name: a, image: {missing}, flavor: '1'}}\n"
    )
    async with open_cloud(sim_cloud) as cloud:
        with pytest.raises(ResolveError, match=f"no image has the ID or name '{missing}'"):
            await resolve_references(cloud, fleet)


async def test_without_image_service_ids_pass_and_names_fail(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    fleet = manifest(
        tmp_path,
        f"""\
        name: x
        servers:
          - {{name: a, image: {CIRROS.id}, flavor: m1.tiny}}
          - {{name: b, image: cirros-0.6.2, flavor: m1.tiny}}
        """,
    )
    async with open_cloud(sim_cloud) as cloud:
        cloud.endpoints.pop("image")  # as with auth_type none: no Glance in reach
        with pytest.raises(ResolveError) as info:
            await resolve_references(cloud, fleet)
    assert str(info.value).count("\n") == 0
    assert "image 'cirros-0.6.2' is a name" in str(info.value)
    assert "no image service in reach" in str(info.value)


def test_uuid_shapes() -> None:
    assert looks_like_uuid(CIRROS.id)
    assert looks_like_uuid(CIRROS.id.replace("-", ""))
    assert not looks_like_uuid("cirros-0.6.2")


def test_resolved_references_are_frozen() -> None:
    from bulkboot.cloud.resolve import ResolvedReferences

    refs = ResolvedReferences(images={"a": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        refs.images = {}  # type: ignore[misc]


async def test_an_api_error_during_lookup_is_raised_as_itself(tmp_path: Path) -> None:
    """A 403 on the flavor list: that error, not an ExceptionGroup from the task group."""

    async def flavors(request: web.Request) -> web.Response:
        return web.json_response(
            {"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:flavors"}},
            status=403,
        )

    fleet = manifest(
        tmp_path,
        f"""\
        name: x
        servers:
          - {{name: a, image: {CIRROS.id}, flavor: m1.small, networks: none}}
        """,
    )
    async with stub_nova([("GET", "/flavors/detail", flavors)]) as url:
        async with open_cloud(stub_config(url)) as cloud:
            with pytest.raises(Forbidden, match="Policy doesn't allow"):
                await resolve_references(cloud, fleet)


# ----------------------------------------------------------------- flavors from 2.102


def flavor_requests(sim: RunningSimulator) -> dict[str, dict[str, int]]:
    return {k: v for k, v in sim.stats()["requests"].items() if "/flavors" in k}


async def test_from_2_102_a_flavor_name_is_one_filtered_request(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    fleet = manifest(
        tmp_path,
        f"""\
        name: lab
        defaults: {{image: {CIRROS.id}, networks: none}}
        servers:
          - {{name: a, flavor: m1.tiny}}
          - {{name: b, flavor: m1.small}}
          - {{name: c, flavor: "3"}}
        """,
    )
    async with open_cloud(sim_cloud) as cloud:
        assert str(await cloud.compute.negotiate("auto")) == "2.104"
        refs = await resolve_references(cloud, fleet)
    assert (refs.flavor("m1.tiny"), refs.flavor("m1.small"), refs.flavor("3")) == ("1", "2", "3")
    # a name: GET /flavors?name=; an ID: GET /flavors/{id}; never the whole list
    assert flavor_requests(sim) == {
        "GET /compute/v2.1/flavors": {"200": 2},
        "GET /compute/v2.1/flavors/{flavor_id}": {"200": 1},
    }


async def test_from_2_102_a_miss_still_says_what_comes_close(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    """``m1.tin.`` would match m1.tiny as a regular expression: it is sent escaped,
    finds nothing by name or ID, and only then is the whole list read for the message."""
    fleet = manifest(
        tmp_path, f"name: x\nservers:\n  - {{name: a, image: {CIRROS.id}, flavor: m1.tin.}}\n"
    )
    async with open_cloud(sim_cloud) as cloud:
        await cloud.compute.negotiate("auto")
        with pytest.raises(ResolveError) as caught:
            await resolve_references(cloud, fleet)
    assert "no flavor has the ID or name 'm1.tin.'; did you mean 'm1.tiny'" in str(caught.value)
    assert flavor_requests(sim) == {
        "GET /compute/v2.1/flavors": {"200": 1},
        "GET /compute/v2.1/flavors/{flavor_id}": {"404": 1},
        "GET /compute/v2.1/flavors/detail": {"200": 1},
    }


async def test_before_2_102_flavors_come_from_one_listing(
    sim: RunningSimulator, sim_cloud: CloudConfig, tmp_path: Path
) -> None:
    fleet = manifest(
        tmp_path, f"name: x\nservers:\n  - {{name: a, image: {CIRROS.id}, flavor: m1.tiny}}\n"
    )
    async with open_cloud(sim_cloud) as cloud:
        await cloud.compute.negotiate("2.101")  # where ?name= is a 400
        refs = await resolve_references(cloud, fleet)
    assert refs.flavor("m1.tiny") == "1"
    assert flavor_requests(sim) == {"GET /compute/v2.1/flavors/detail": {"200": 1}}
