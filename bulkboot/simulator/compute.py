"""Nova compute v2.1: versions, flavors, limits, show and delete, and every route.

Handlers read the negotiated microversion (``minor_of``: set by the middleware in
``app``) and speak Nova's wire format. Creating servers is ``create``, listing them
``listing``. Query parameters follow Nova's query schemas: unknown ones are dropped
before 2.75 and refused from 2.75 on lists and limits, and from 2.102 on every show
(``query_rules``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bulkboot.simulator.config import FLAVORS, Flavor
from bulkboot.simulator.create import create_server
from bulkboot.simulator.http import (
    base_of,
    json_response,
    minor_of,
    nova_error,
    state_of,
    unexpected_error,
)
from bulkboot.simulator.listing import list_servers, list_servers_detail
from bulkboot.simulator.query_rules import refuse_unknown
from bulkboot.simulator.records import ServerRecord
from bulkboot.simulator.views import flavor_brief, flavor_detail, server_detail

__all__ = ["FLAVOR_QUERY", "FLAVOR_QUERY_V2102", "LIMITS_QUERY", "routes", "version_doc"]

_VERSION_UPDATED = "2013-07-23T11:33:21Z"
# The legacy v2.0 API Nova 34 still lists in its root document.
_V20_UPDATED = "2025-07-04T12:00:00Z"
# nova/api/openstack/compute/schemas/flavors.py index_query (+ name from 2.102)
FLAVOR_QUERY = frozenset(
    {"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}
)
FLAVOR_QUERY_V2102 = FLAVOR_QUERY | {"name"}
LIMITS_QUERY = frozenset({"tenant_id"})


def version_doc(base: str, min_version: str, max_version: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": max_version,
        "min_version": min_version,
        "updated": _VERSION_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
    }


def _version_doc_of(request: web.Request) -> dict[str, Any]:
    config = state_of(request).config
    return version_doc(base_of(request), config.min_microversion, config.max_microversion)


async def versions(request: web.Request) -> web.Response:
    """Nova's root: the deprecated v2.0 (no microversions) and v2.1."""
    legacy = {
        "id": "v2.0",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": _V20_UPDATED,
        "links": [{"rel": "self", "href": f"{base_of(request)}/compute/v2/"}],
    }
    return json_response({"versions": [legacy, _version_doc_of(request)]})


async def version_v21(request: web.Request) -> web.Response:
    doc = _version_doc_of(request)
    doc["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
    )
    doc["media-types"] = [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
    ]
    return json_response({"version": doc})


# ------------------------------------------------------------------ flavors
async def list_flavors(request: web.Request) -> web.Response:
    base, minor = base_of(request), minor_of(request)
    return json_response({"flavors": [flavor_brief(base, f, minor) for f in _flavors(request)]})


async def list_flavors_detail(request: web.Request) -> web.Response:
    base, minor = base_of(request), minor_of(request)
    return json_response({"flavors": [flavor_detail(base, f, minor) for f in _flavors(request)]})


def _flavors(request: web.Request) -> list[Flavor]:
    minor = minor_of(request)
    if minor >= 75:
        refuse_unknown(request, FLAVOR_QUERY_V2102 if minor >= 102 else FLAVOR_QUERY)
    flavors = list(FLAVORS)
    if minor >= 102 and "name" in request.query:
        # a regular expression, searched in the name (the database's REGEXP)
        try:
            pattern = re.compile(request.query.getall("name")[-1])
        except re.error:  # Nova hands it to the database as it is: its REGEXP fails
            raise unexpected_error("sqlalchemy.exc.OperationalError") from None
        flavors = [f for f in flavors if pattern.search(f.name)]
    for key, attribute in (("minRam", "ram"), ("minDisk", "disk")):
        if key in request.query:
            try:
                floor = int(request.query[key])
            except ValueError:
                raise nova_error(400, f"Invalid {key} filter [{request.query[key]}]") from None
            flavors = [f for f in flavors if getattr(f, attribute) >= floor]
    return flavors


async def show_flavor(request: web.Request) -> web.Response:
    if minor_of(request) >= 102:
        refuse_unknown(request, frozenset())
    flavor_id = request.match_info["flavor_id"]
    for flavor in FLAVORS:
        if flavor.id == flavor_id:
            view = flavor_detail(base_of(request), flavor, minor_of(request))
            return json_response({"flavor": view})
    raise nova_error(404, f"Flavor {flavor_id} could not be found.")


# ------------------------------------------------------------------ limits
async def limits(request: web.Request) -> web.Response:
    state, minor = state_of(request), minor_of(request)
    if minor >= 75:
        refuse_unknown(request, LIMITS_QUERY)
    figures = state.quota_figures()

    def limit(resource: str) -> int:
        value = figures[resource][1]
        return -1 if value is None else value

    absolute: dict[str, int] = {
        "maxServerMeta": 128,
        "maxTotalKeypairs": 100,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalServerGroupsUsed": 0,
        "maxTotalInstances": limit("instances"),
        "totalInstancesUsed": figures["instances"][0],
        "maxTotalCores": limit("cores"),
        "totalCoresUsed": figures["cores"][0],
        "maxTotalRAMSize": limit("ram"),
        "totalRAMUsed": figures["ram"][0],
    }
    if minor < 57:  # 2.57 dropped the personality limits
        absolute["maxPersonality"] = 5
        absolute["maxPersonalitySize"] = 10240
    if minor < 39:  # 2.39 dropped the image metadata limit (its proxy API deprecated)
        absolute["maxImageMeta"] = 128
    if minor < 36:
        absolute.update(
            {
                "maxSecurityGroups": 10,
                "maxSecurityGroupRules": 20,
                "maxTotalFloatingIps": 10,
                "totalFloatingIpsUsed": 0,
                "totalSecurityGroupsUsed": 0,
            }
        )
    return json_response({"limits": {"rate": [], "absolute": absolute}})


# ------------------------------------------------------------------ servers: read
def _record(request: web.Request) -> ServerRecord:
    state = state_of(request)
    server_id = request.match_info["server_id"]
    record = state.by_id.get(server_id)
    if record is None or not state.visible(record, state.clock()):
        raise nova_error(404, f"Instance {server_id} could not be found.")
    return record


async def show_server(request: web.Request) -> web.Response:
    if minor_of(request) >= 102:
        refuse_unknown(request, frozenset())
    record = _record(request)
    state = state_of(request)
    minor = minor_of(request)
    view = server_detail(base_of(request), record, state.clock(), minor)
    if minor >= 71:
        view["server_groups"] = []  # in GET /servers/{id} only, as Nova shows it
    return json_response({"server": view})


async def delete_server(request: web.Request) -> web.Response:
    record = _record(request)
    state = state_of(request)
    if record.deleted_at is None:
        state.delete(record, state.clock())
    return web.Response(status=204, headers={"Content-Type": "application/json"})  # as Nova


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _volumes_boot(handler: Handler) -> Handler:
    """``/os-volumes_boot``: the servers API under another name, removed in 2.103."""

    async def alias(request: web.Request) -> web.StreamResponse:
        if minor_of(request) >= 103:
            raise nova_error(404, "The resource could not be found.")
        return await handler(request)

    return alias


def routes() -> list[web.RouteDef]:
    prefix = "/compute/v2.1"
    boot = f"{prefix}/os-volumes_boot"
    return [
        web.get("/compute", versions),
        web.get("/compute/", versions),
        web.get(prefix, version_v21),
        web.get(f"{prefix}/", version_v21),
        web.get(f"{prefix}/flavors", list_flavors),
        web.get(f"{prefix}/flavors/detail", list_flavors_detail),
        web.get(f"{prefix}/flavors/{{flavor_id}}", show_flavor),
        web.get(f"{prefix}/limits", limits),
        web.post(f"{prefix}/servers", create_server),
        web.get(f"{prefix}/servers", list_servers),
        web.get(f"{prefix}/servers/detail", list_servers_detail),
        web.get(f"{prefix}/servers/{{server_id}}", show_server),
        web.delete(f"{prefix}/servers/{{server_id}}", delete_server),
        web.post(boot, _volumes_boot(create_server)),
        web.get(boot, _volumes_boot(list_servers)),
        web.get(f"{boot}/detail", _volumes_boot(list_servers_detail)),
        web.get(f"{boot}/{{server_id}}", _volumes_boot(show_server)),
        web.delete(f"{boot}/{{server_id}}", _volumes_boot(delete_server)),
    ]
