"""What Nova 34 (2.97-2.104) changed, as the simulator serves it.

2.98 image properties and 2.100 scheduler hints in server views; 2.102 the flavor name
filter, flavors without ``rxtx_factor`` and ``OS-FLV-DISABLED:disabled``, and unknown
query parameters refused on every API; 2.103 ``/os-volumes_boot`` gone. Each was seen
on nova-api 34.0.0 itself (tests/realnova/test_differential.py holds the simulator to
it request by request); these run without it.
"""

from __future__ import annotations

import pytest

from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio

CIRROS = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
GROUP = "0b5e3c4e-6666-4000-8000-000000000001"
GONE = "00000000-0000-4000-8000-000000000000"


async def test_server_views_gain_image_properties_at_2_98(api: Api) -> None:
    server_id = (await api.boot("props"))["server"]["id"]
    _, _, old = await api.call("GET", f"/compute/v2.1/servers/{server_id}", microversion="2.97")
    assert set(old["server"]["image"]) == {"id", "links"}
    _, _, new = await api.call("GET", f"/compute/v2.1/servers/{server_id}", microversion="2.98")
    # the image model's properties only: cirros's os_version is not one of them
    assert new["server"]["image"]["properties"] == {"os_distro": "cirros", "hw_rng_model": "virtio"}
    _, _, listed = await api.call("GET", "/compute/v2.1/servers/detail", microversion="2.98")
    assert listed["servers"][0]["image"]["properties"]["os_distro"] == "cirros"


async def test_server_views_gain_scheduler_hints_at_2_100(api: Api) -> None:
    body = {
        "server": {"name": "hinted", "imageRef": CIRROS, "flavorRef": "1", "networks": "none"},
        "os:scheduler_hints": {"group": GROUP, "different_cell": ["c1", "c2"]},
    }
    status, _, created = await api.call("POST", "/compute/v2.1/servers", json=body)
    assert status == 202
    plain = (await api.boot("plain"))["server"]["id"]
    hinted = created["server"]["id"]
    path = f"/compute/v2.1/servers/{hinted}"
    _, _, before = await api.call("GET", path, microversion="2.99")
    assert "scheduler_hints" not in before["server"]
    _, _, after = await api.call("GET", path, microversion="2.100")
    # as Nova's RequestSpec keeps them: every value a list
    assert after["server"]["scheduler_hints"] == {"group": [GROUP], "different_cell": ["c1", "c2"]}
    _, _, listed = await api.call("GET", "/compute/v2.1/servers/detail", microversion="2.100")
    hints = {s["id"]: s["scheduler_hints"] for s in listed["servers"]}
    assert hints == {hinted: after["server"]["scheduler_hints"], plain: {}}


async def test_flavors_lose_two_fields_at_2_102(api: Api) -> None:
    _, _, old = await api.call("GET", "/compute/v2.1/flavors/1", microversion="2.101")
    assert {"rxtx_factor", "OS-FLV-DISABLED:disabled"} <= set(old["flavor"])
    _, _, new = await api.call("GET", "/compute/v2.1/flavors/1", microversion="2.102")
    assert not {"rxtx_factor", "OS-FLV-DISABLED:disabled"} & set(new["flavor"])
    _, _, listed = await api.call("GET", "/compute/v2.1/flavors/detail", microversion="2.104")
    assert all("rxtx_factor" not in flavor for flavor in listed["flavors"])


async def test_the_flavor_name_filter_is_a_regex_from_2_102(api: Api) -> None:
    async def names(query: str, version: str) -> tuple[int, list[str] | str]:
        status, _, body = await api.call(
            "GET", "/compute/v2.1/flavors", params={"name": query}, microversion=version
        )
        if status != 200:
            return status, next(iter(body.values()))["message"]
        return status, [flavor["name"] for flavor in body["flavors"]]

    assert await names("m1.tiny", "2.104") == (200, ["m1.tiny"])
    assert await names("^m1\\.(small|large)$", "2.102") == (200, ["m1.small", "m1.large"])
    assert await names("TINY", "2.102") == (200, [])  # case matters
    # 2.75-2.101 refuse the parameter; before, Nova drops it and lists every flavor
    assert await names("m1.tiny", "2.101") == (
        400,
        "Additional properties are not allowed ('name' was unexpected)",
    )
    status, every = await names("m1.tiny", "2.74")
    assert status == 200 and len(every) == 5
    status, message = await names("(", "2.102")  # handed to the database's REGEXP as is
    assert status == 500
    assert message == (
        "Unexpected API Error. Please contact the administrator\n"
        "<class 'sqlalchemy.exc.OperationalError'>"
    )


@pytest.mark.parametrize(
    ("path", "refused_from"),
    [
        (f"/compute/v2.1/servers/{GONE}", "2.102"),
        ("/compute/v2.1/flavors/1", "2.102"),
        ("/compute/v2.1/flavors", "2.75"),
        ("/compute/v2.1/flavors/detail", "2.75"),
        ("/compute/v2.1/limits", "2.75"),
    ],
)
async def test_unknown_query_parameters_are_refused(api: Api, path: str, refused_from: str) -> None:
    minor = int(refused_from.split(".")[1])
    status, _, _ = await api.call("GET", path, params={"x": "1"}, microversion=f"2.{minor - 1}")
    assert status in (200, 404)  # dropped: the request is answered as without it
    status, _, body = await api.call("GET", path, params={"x": "1"}, microversion=refused_from)
    assert status == 400
    assert body == {
        "badRequest": {
            "code": 400,
            "message": "Additional properties are not allowed ('x' was unexpected)",
        }
    }


async def test_limits_drop_image_metadata_at_2_39_and_personality_at_2_57(api: Api) -> None:
    async def keys(version: str) -> set[str]:
        _, _, body = await api.call("GET", "/compute/v2.1/limits", microversion=version)
        return set(body["limits"]["absolute"])

    assert {"maxImageMeta", "maxPersonality"} <= await keys("2.38")
    assert "maxImageMeta" not in await keys("2.39")
    assert "maxPersonality" in await keys("2.56")
    assert not {"maxPersonality", "maxPersonalitySize"} & await keys("2.57")


async def test_os_volumes_boot_is_the_servers_api_until_2_103(api: Api) -> None:
    body = {"server": {"name": "vb", "imageRef": CIRROS, "flavorRef": "1", "networks": "none"}}
    status, _, created = await api.call(
        "POST", "/compute/v2.1/os-volumes_boot", json=body, microversion="2.102"
    )
    assert status == 202
    server_id = created["server"]["id"]
    _, _, listed = await api.call("GET", "/compute/v2.1/os-volumes_boot", microversion="2.102")
    assert [s["id"] for s in listed["servers"]] == [server_id]
    for method, path in (
        ("GET", "/compute/v2.1/os-volumes_boot"),
        ("GET", f"/compute/v2.1/os-volumes_boot/{server_id}"),
        ("POST", "/compute/v2.1/os-volumes_boot"),
    ):
        status, _, gone = await api.call(method, path, json=body, microversion="2.103")
        assert status == 404
        assert gone == {
            "itemNotFound": {"code": 404, "message": "The resource could not be found."}
        }
    status, _, _ = await api.call(
        "DELETE", f"/compute/v2.1/os-volumes_boot/{server_id}", microversion="2.102"
    )
    assert status == 204


async def test_a_group_hint_given_as_a_list_is_novas_500(api: Api) -> None:
    """Nova 34's schema takes a list of group UUIDs; its API then fails on it."""
    body = {
        "server": {"name": "g", "imageRef": CIRROS, "flavorRef": "1", "networks": "none"},
        "os:scheduler_hints": {"group": [GROUP]},
    }
    status, _, reply = await api.call("POST", "/compute/v2.1/servers", json=body)
    assert status == 500
    assert reply["computeFault"]["message"] == (
        "Unexpected API Error. Please contact the administrator\n"
        "<class 'oslo_db.exception.DBError'>"
    )
    body["os:scheduler_hints"] = {"group": ["not-a-uuid"]}
    status, _, reply = await api.call("POST", "/compute/v2.1/servers", json=body)
    assert status == 400  # the schema still wants UUIDs
