"""Glance v2 image and Neutron v2.0 network look-ups over fixed fixtures.

Enough for name resolution: list with ``name``/``id`` filters (and image properties
as filters, as Glance allows), show by id, and the version documents clients
discover. Fixtures live in ``config`` (``IMAGES``, ``NETWORKS``), including
duplicate names to exercise ambiguity.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bulkboot.simulator.config import IMAGES, NETWORKS, PROJECT_ID, Image, Network
from bulkboot.simulator.http import Fault, base_of, json_response

__all__ = ["routes"]

_CREATED = "2024-01-01T00:00:00Z"


# ------------------------------------------------------------------ glance
def _image_view(base: str, image: Image) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "status": "active",
        "visibility": "public",
        "protected": False,
        "os_hidden": False,
        "container_format": "bare",
        "disk_format": "qcow2",
        "size": image.size,
        "virtual_size": image.size * 4,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "checksum": image.id.replace("-", "")[:32],
        "owner": PROJECT_ID,
        "tags": [],
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    }
    view.update(dict(image.properties))
    return view


async def image_versions(request: web.Request) -> web.Response:
    base = base_of(request)
    return json_response(
        {
            "versions": [
                {
                    "id": "v2.16",
                    "status": "CURRENT",
                    "links": [{"rel": "self", "href": f"{base}/image/v2/"}],
                }
            ]
        },
        status=300,
    )


_IMAGE_PAGING = ("limit", "marker", "sort", "sort_key", "sort_dir")


async def list_images(request: web.Request) -> web.Response:
    base = base_of(request)
    views = [_image_view(base, image) for image in IMAGES]
    for key, value in request.query.items():
        if key in _IMAGE_PAGING:
            continue
        if key == "id" and value.startswith("in:"):
            wanted = set(value[3:].split(","))
            views = [v for v in views if v["id"] in wanted]
            continue
        views = [v for v in views if str(v.get(key)) == value]
    return json_response({"images": views, "first": "/v2/images", "schema": "/v2/schemas/images"})


async def show_image(request: web.Request) -> web.Response:
    image_id = request.match_info["image_id"]
    for image in IMAGES:
        if image.id == image_id:
            return json_response(_image_view(base_of(request), image))
    # Glance answers 404 in plain text/HTML; JSON keeps clients' parsing simple.
    raise Fault(
        404,
        {"code": 404, "title": "Not Found", "message": f"No image found with ID {image_id}"},
    )


# ------------------------------------------------------------------ neutron
def _network_view(network: Network) -> dict[str, Any]:
    subnet_id = network.id[:-4] + "5b5b"
    return {
        "id": network.id,
        "name": network.name,
        "status": "ACTIVE",
        "admin_state_up": True,
        "shared": network.shared,
        "router:external": network.external,
        "subnets": [subnet_id],
        "tenant_id": PROJECT_ID,
        "project_id": PROJECT_ID,
        "mtu": 1450,
        "availability_zones": ["nova"],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "port_security_enabled": True,
        "is_default": False,
        "description": "",
        "tags": [],
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "revision_number": 1,
    }


async def network_versions(request: web.Request) -> web.Response:
    base = base_of(request)
    return json_response(
        {
            "versions": [
                {
                    "id": "v2.0",
                    "status": "CURRENT",
                    "links": [{"rel": "self", "href": f"{base}/network/v2.0/"}],
                }
            ]
        }
    )


_NETWORK_FILTERS = {"id", "name", "shared", "router:external", "status", "tenant_id", "project_id"}


async def list_networks(request: web.Request) -> web.Response:
    views = [_network_view(network) for network in NETWORKS]
    for key in set(request.query) & _NETWORK_FILTERS:
        wanted = set(request.query.getall(key))
        views = [v for v in views if _text(v[key]) in wanted]
    fields = request.query.getall("fields", [])
    if fields:
        views = [{k: v[k] for k in fields if k in v} for v in views]
    return json_response({"networks": views})


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def show_network(request: web.Request) -> web.Response:
    network_id = request.match_info["network_id"]
    for network in NETWORKS:
        if network.id == network_id:
            return json_response({"network": _network_view(network)})
    raise Fault(
        404,
        {
            "NeutronError": {
                "type": "NetworkNotFound",
                "message": f"Network {network_id} could not be found.",
                "detail": "",
            }
        },
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/image", image_versions),
        web.get("/image/", image_versions),
        web.get("/image/v2/images", list_images),
        web.get("/image/v2/images/{image_id}", show_image),
        web.get("/network", network_versions),
        web.get("/network/", network_versions),
        web.get("/network/v2.0/networks", list_networks),
        web.get("/network/v2.0/networks/{network_id}", show_network),
    ]
