"""``GET /servers`` and ``GET /servers/detail``: Nova's query parameters, then one page.

The query is read into a ``ListQuery`` in Nova's order of checks (unknown keys from
2.75, then each filter's own 400), the state picks the page (``CloudState.list_servers``)
and a full page (as many as the limit) carries a ``servers_links`` next link with the
marker, as Nova's view builder adds it: even when no server follows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timezone
from typing import Any

from aiohttp import web

from bulkboot.isotime import parse_iso
from bulkboot.simulator.http import base_of, json_response, minor_of, nova_error, state_of
from bulkboot.simulator.query_rules import refuse_unknown_server_filters
from bulkboot.simulator.records import ServerRecord
from bulkboot.simulator.state import CloudState, ListQuery
from bulkboot.simulator.views import server_brief, server_detail

__all__ = ["QUERY_V273", "list_servers", "list_servers_detail"]

# nova.api.openstack.common._STATE_MAP values a status filter may name (2.38+: others 400)
_KNOWN_STATUSES = frozenset(
    """ACTIVE BUILD DELETED ERROR HARD_REBOOT MIGRATING PASSWORD PAUSED REBOOT REBUILD
    RESCUE RESIZE REVERT_RESIZE SHELVED SHELVED_OFFLOADED SHUTOFF SOFT_DELETED SUSPENDED
    UNKNOWN VERIFY_RESIZE""".split()
)


def _parse_time(text: str, key: str) -> float:
    try:
        moment = parse_iso(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise nova_error(
            400,
            f"Invalid input for query parameters {key}. Value: {text}. "
            f"'{text}' is not a 'date-time'",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# nova/api/openstack/compute/schemas/servers.py query_params_v21 (+ joined tables,
# paging); 2.26 tags, 2.66 changes-before, 2.73 locked. From 2.75 others are a 400.
QUERY_V21 = frozenset(
    """user_id project_id tenant_id launch_index image_ref image kernel_id ramdisk_id
    hostname key_name power_state vm_state task_state host node flavor reservation_id
    launched_at terminated_at availability_zone name display_name description
    display_description locked_by uuid root_device_name config_drive access_ip_v4
    access_ip_v6 auto_disk_config progress sort_key sort_dir all_tenants soft_deleted
    deleted status changes-since ip ip6 created_at block_device_mapping services metadata
    system_metadata info_cache security_groups pci_devices limit marker""".split()
)
QUERY_V226 = QUERY_V21 | {"tags", "tags-any", "not-tags", "not-tags-any"}
QUERY_V266 = QUERY_V226 | {"changes-before"}
QUERY_V273 = QUERY_V266 | {"locked"}


def _list_query(request: web.Request, state: CloudState, minor: int) -> ListQuery:
    if minor >= 75:
        refuse_unknown_server_filters(request, QUERY_V273)
    query = request.query
    return ListQuery(**_filters(query, minor), **_paging(query, state))


def _filters(query: Mapping[str, str], minor: int) -> dict[str, Any]:
    """What a listed server must match, checked in Nova's order (the first 400 wins)."""
    found: dict[str, Any] = {}
    if "name" in query:
        try:
            found["name"] = re.compile(query["name"])
        except re.error:
            raise nova_error(
                400,
                f"Invalid input for query parameters name. Value: {query['name']}. "
                f"'{query['name']}' is not a 'regex'",
            ) from None
    if "status" in query:
        status = query["status"].upper()
        if status not in _KNOWN_STATUSES and minor >= 38:
            raise nova_error(400, "Invalid status value")
        found["status"] = status
    if "reservation_id" in query:
        found["reservation_id"] = query["reservation_id"]
    found.update(_moments(query, minor))
    if minor >= 26:
        for key, field in (
            ("tags", "tags"),
            ("tags-any", "tags_any"),
            ("not-tags", "not_tags"),
            ("not-tags-any", "not_tags_any"),
        ):
            if key in query:
                found[field] = tuple(t for t in query[key].split(",") if t)
    if "flavor" in query:
        found["flavor"] = query["flavor"]
    if "image" in query:
        found["image"] = query["image"]
    if "ip" in query:
        try:
            found["ip"] = re.compile(query["ip"])
        except re.error:
            raise nova_error(400, "Invalid input for query parameters ip.") from None
    return found


def _moments(query: Mapping[str, str], minor: int) -> dict[str, Any]:
    """``changes-since`` and (2.66+) ``changes-before``, as epoch seconds."""
    found: dict[str, Any] = {}
    if "changes-since" in query:
        found["changes_since"] = _parse_time(query["changes-since"], "changes-since")
    if "changes-before" in query and minor >= 66:
        found["changes_before"] = _parse_time(query["changes-before"], "changes-before")
        since = found.get("changes_since")
        if since is not None and since > found["changes_before"]:
            raise nova_error(
                400,
                "The value of changes-since must be less than or equal to changes-before.",
            )
    return found


def _paging(query: Mapping[str, str], state: CloudState) -> dict[str, Any]:
    """Page size (at most ``max_limit``, Nova's ``[api]max_limit``), order and marker."""
    found: dict[str, Any] = {"limit": state.config.max_limit}
    if "limit" in query:
        text = query["limit"]
        if not text.isdigit():
            raise nova_error(
                400,
                f"Invalid input for query parameters limit. Value: {text}. "
                f"'{text}' does not match '^[0-9]*$'",
            )
        found["limit"] = min(int(text), state.config.max_limit)
    if query.get("sort_dir", "desc").lower() == "asc":
        # Only the creation order is kept: any sort_key sorts by it (see the docs).
        found["ascending"] = True
    if "marker" in query:
        marker = query["marker"]
        if marker not in state.by_id:
            raise nova_error(400, f"marker [{marker}] not found")
        found["marker"] = marker
    return found


def _next_link(request: web.Request, last: ServerRecord, detail: bool) -> dict[str, str]:
    params = [(k, v) for k, v in request.query.items() if k != "marker"]
    params.append(("marker", last.id))
    path = "servers/detail" if detail else "servers"
    query = "&".join(f"{k}={v}" for k, v in params)
    return {"rel": "next", "href": f"{base_of(request)}/compute/v2.1/{path}?{query}"}


async def _list(request: web.Request, *, detail: bool) -> web.Response:
    state, minor, base = state_of(request), minor_of(request), base_of(request)
    query = _list_query(request, state, minor)
    now = state.clock()
    page, _ = state.list_servers(query, now)
    if detail:
        servers = [server_detail(base, r, now, minor) for r in page]
    else:
        servers = [server_brief(base, r) for r in page]
    body: dict[str, Any] = {"servers": servers}
    if page and len(page) == query.limit:
        # Nova's rule: a full page gets a next link, whether or not more follow
        body["servers_links"] = [_next_link(request, page[-1], detail)]
    return json_response(body)


async def list_servers(request: web.Request) -> web.Response:
    return await _list(request, detail=False)


async def list_servers_detail(request: web.Request) -> web.Response:
    return await _list(request, detail=True)
