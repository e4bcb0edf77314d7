"""bulkboot/simulator/lookups.py: Glance and Neutron look-ups over the fixtures."""

from __future__ import annotations

import pytest

from bulkboot.simulator.config import IMAGES, NETWORKS
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def test_images_by_name_and_property(api: Api) -> None:
    _, _, body = await api.call("GET", "/image/v2/images", params={"name": "cirros-0.6.2"})
    assert [i["id"] for i in body["images"]] == [IMAGES[0].id]
    assert body["images"][0]["os_distro"] == "cirros"
    _, _, body = await api.call("GET", "/image/v2/images", params={"os_distro": "ubuntu"})
    assert [i["name"] for i in body["images"]] == ["ubuntu-24.04"]
    _, _, body = await api.call("GET", "/image/v2/images", params={"name": "dup-image"})
    assert len(body["images"]) == 2


async def test_image_by_id_and_missing(api: Api) -> None:
    status, _, body = await api.call("GET", f"/image/v2/images/{IMAGES[1].id}")
    assert status == 200 and body["name"] == "ubuntu-24.04"
    status, _, _ = await api.call("GET", "/image/v2/images/00000000-0000-4000-8000-000000000000")
    assert status == 404


async def test_networks_by_name_and_id(api: Api) -> None:
    _, _, body = await api.call("GET", "/network/v2.0/networks", params={"name": "private"})
    assert [n["id"] for n in body["networks"]] == [NETWORKS[0].id]
    _, _, body = await api.call("GET", "/network/v2.0/networks", params={"id": NETWORKS[1].id})
    assert [n["name"] for n in body["networks"]] == ["public"]
    assert body["networks"][0]["router:external"] is True
    _, _, body = await api.call("GET", "/network/v2.0/networks", params={"name": "dup-net"})
    assert len(body["networks"]) == 2
    status, _, body = await api.call("GET", "/network/v2.0/networks/nope")
    assert status == 404
    assert body["NeutronError"]["type"] == "NetworkNotFound"


async def test_lookups_need_a_token(api: Api) -> None:
    api.token = "not-a-token"
    for path in ("/image/v2/images", "/network/v2.0/networks"):
        status, _, _ = await api.call("GET", path)
        assert status == 401
    for path in ("/image/", "/network/"):
        status, _, body = await api.call("GET", path)
        assert status in (200, 300)
        assert body["versions"]
