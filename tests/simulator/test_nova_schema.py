"""bulkboot/simulator/nova_schema.py through POST /servers: Nova's microversion gates.

Each case is one body accepted at one microversion and refused, in Nova's
``{"badRequest": {"code": 400, "message": ...}}`` shape, at its neighbour.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio

CIRROS = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
NET = "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d"


def _server(**fields: Any) -> dict[str, Any]:
    server = {"name": "gate", "imageRef": CIRROS, "flavorRef": "1", "networks": "auto"}
    server.update(fields)
    return {k: v for k, v in server.items() if v is not None}


AUTO = "auto"
GATES = [
    # (the body's server, accepted at, refused at, words of the refusal)
    (_server(networks=None), "2.36", "2.37", "'networks' is a required property"),
    (_server(networks=AUTO), "2.37", "2.36", "is not of type 'array'"),
    (
        _server(networks=AUTO, personality=[{"path": "/etc/motd", "contents": "aGk="}]),
        "2.56",
        "2.57",
        "Additional properties are not allowed ('personality' was unexpected)",
    ),
    (_server(networks=None, description="d"), "2.19", "2.18", "('description' was unexpected)"),
    (_server(tags=["a"]), "2.52", "2.51", "('tags' was unexpected)"),
    (_server(trusted_image_certificates=["c"]), "2.63", "2.62", "'trusted_image_certificates'"),
    (_server(host="compute-1"), "2.74", "2.73", "('host' was unexpected)"),
    (_server(hostname="web-1"), "2.90", "2.89", "('hostname' was unexpected)"),
    (_server(hostname="web-1.example.com"), "2.94", "2.93", "does not match"),
    (_server(networks=[{"uuid": NET, "tag": "nic"}]), "2.32", "2.37", "is not valid under any"),
    (_server(networks=[{"uuid": NET, "tag": "nic"}]), "2.42", "2.41", "is not valid under any"),
    (_server(networks=[{"uuid": NET, "tag": "nic"}]), "2.36", "2.31", "('tag' was unexpected)"),
]


@pytest.mark.parametrize(("server", "accepted", "refused", "words"), GATES)
async def test_gate(
    api: Api, server: dict[str, Any], accepted: str, refused: str, words: str
) -> None:
    body = {"server": server}
    status, _, reply = await api.call(
        "POST", "/compute/v2.1/servers", json=body, microversion=accepted
    )
    assert status == 202, reply
    status, _, reply = await api.call(
        "POST", "/compute/v2.1/servers", json=body, microversion=refused
    )
    assert status == 400
    assert set(reply) == {"badRequest"}
    assert reply["badRequest"]["code"] == 400
    assert words in reply["badRequest"]["message"]


async def test_unknown_image_flavor_network_in_novas_words(api: Api) -> None:
    cases = [
        (_server(imageRef="00000000-0000-4000-8000-000000000000"), "Can not find requested image"),
        (_server(flavorRef="42"), "Flavor 42 could not be found."),
        (
            _server(networks=[{"uuid": "00000000-0000-4000-8000-000000000000"}]),
            "Network 00000000-0000-4000-8000-000000000000 could not be found.",
        ),
        (_server(imageRef=""), "Invalid imageRef provided."),
        (_server(min_count=3, max_count=2), "min_count must be <= max_count"),
    ]
    for server, message in cases:
        status, _, reply = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
        assert (status, reply) == (400, {"badRequest": {"code": 400, "message": message}})


async def test_multi_create_refuses_hostname_fixed_ip_and_ports(api: Api) -> None:
    port = "11111111-2222-4333-8444-555555555555"
    cases = [
        (_server(hostname="web", max_count=2), "Unable to allocate a single hostname"),
        (
            _server(networks=[{"uuid": NET, "fixed_ip": "10.0.0.9"}], max_count=2),
            "single configured fixed IP",
        ),
        (_server(networks=[{"port": port}], max_count=2), "single configured port ID"),
    ]
    for server, words in cases:
        status, _, reply = await api.call("POST", "/compute/v2.1/servers", json={"server": server})
        assert status == 400
        assert words in reply["badRequest"]["message"]


async def test_boot_from_volume_accepts_an_empty_image(api: Api) -> None:
    bdm = [
        {
            "boot_index": 0,
            "uuid": CIRROS,
            "source_type": "image",
            "destination_type": "volume",
            "volume_size": 10,
        }
    ]
    status, _, reply = await api.call(
        "POST",
        "/compute/v2.1/servers",
        json={"server": _server(imageRef="", block_device_mapping_v2=bdm)},
    )
    assert status == 202, reply
    _, _, shown = await api.call("GET", f"/compute/v2.1/servers/{reply['server']['id']}")
    assert shown["server"]["image"] == ""


async def test_malformed_json_is_400(api: Api) -> None:
    async with api.session.post(
        api.sim.base_url + "/compute/v2.1/servers",
        data=b"{not json",
        headers={"X-Auth-Token": api.token, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert "badRequest" in await response.json()


async def test_metadata_and_personality_limits_are_403(api: Api) -> None:
    too_many = {f"k{i}": "v" for i in range(129)}
    status, _, body = await api.call(
        "POST", "/compute/v2.1/servers", json={"server": _server(metadata=too_many)}
    )
    assert (status, body["forbidden"]["message"]) == (
        403,
        "Maximum number of metadata items exceeds 128",
    )
    files = [{"path": f"/f{i}", "contents": "aGk="} for i in range(6)]
    status, _, body = await api.call(
        "POST",
        "/compute/v2.1/servers",
        json={"server": _server(personality=files)},
        microversion="2.56",
    )
    assert (status, body["forbidden"]["message"]) == (403, "Personality file limit exceeded")
