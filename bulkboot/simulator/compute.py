"""Nova compute v2.1: versions, flavors, limits and servers (create, list, show, delete).

Handlers read ``request[MINOR]`` (the negotiated microversion's minor number, set by
the middleware in ``app``) and speak Nova's wire format. ``POST /servers`` checks
the body with Nova's own schema for that microversion (``nova_schema``), then the
controller's checks in Nova's order (counts, image, networks, flavor, multi-create
rules, quota), then the request faults (409, lost response).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bulkboot.simulator.config import FLAVORS, IMAGES, NETWORKS, Flavor, Network
from bulkboot.simulator.http import BASE_URL, MINOR, STATE, json_response, nova_error, read_json
from bulkboot.simulator.nova_schema import create_schema
from bulkboot.simulator.schemacheck import SchemaViolation, check, nova_message
from bulkboot.simulator.state import (
    NO_VALID_HOST,
    OUTCOME_ERROR,
    CloudState,
    ListQuery,
    ServerRecord,
    flavor_by_ref,
)
from bulkboot.simulator.views import flavor_brief, flavor_detail, server_brief, server_detail

__all__ = ["LostResponse", "routes", "version_doc"]

_VERSION_UPDATED = "2013-07-23T11:33:21Z"
_IMAGES = {image.id: image for image in IMAGES}
_NETWORKS = {network.id: network for network in NETWORKS}
_DEFAULT_NETWORK = NETWORKS[0]  # what "auto" (or no networks) attaches
# nova.api.openstack.common._STATE_MAP values a status filter may name (2.38+: others 400)
_KNOWN_STATUSES = frozenset(
    """ACTIVE BUILD DELETED ERROR HARD_REBOOT MIGRATING PASSWORD PAUSED REBOOT REBUILD
    RESCUE RESIZE REVERT_RESIZE SHELVED SHELVED_OFFLOADED SHUTOFF SOFT_DELETED SUSPENDED
    UNKNOWN VERIFY_RESIZE""".split()
)


class LostResponse(Exception):
    """The request took effect; the middleware must close the connection unanswered."""


def _state(request: web.Request) -> CloudState:
    return request.app[STATE]


def _base(request: web.Request) -> str:
    return request.app[BASE_URL]


def _minor(request: web.Request) -> int:
    return request[MINOR]


def version_doc(base: str, min_version: str, max_version: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": max_version,
        "min_version": min_version,
        "updated": _VERSION_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
    }


async def versions(request: web.Request) -> web.Response:
    state = _state(request)
    doc = version_doc(_base(request), state.config.min_microversion, state.config.max_microversion)
    return json_response({"versions": [doc]})


async def version_v21(request: web.Request) -> web.Response:
    state = _state(request)
    doc = version_doc(_base(request), state.config.min_microversion, state.config.max_microversion)
    doc["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
    )
    doc["media-types"] = [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
    ]
    return json_response({"version": doc})


# ------------------------------------------------------------------ flavors
async def list_flavors(request: web.Request) -> web.Response:
    base, minor = _base(request), _minor(request)
    return json_response({"flavors": [flavor_brief(base, f, minor) for f in _flavors(request)]})


async def list_flavors_detail(request: web.Request) -> web.Response:
    base, minor = _base(request), _minor(request)
    return json_response({"flavors": [flavor_detail(base, f, minor) for f in _flavors(request)]})


def _flavors(request: web.Request) -> list[Flavor]:
    flavors = list(FLAVORS)
    for key, attribute in (("minRam", "ram"), ("minDisk", "disk")):
        if key in request.query:
            try:
                floor = int(request.query[key])
            except ValueError:
                raise nova_error(400, f"Invalid {key} filter [{request.query[key]}]") from None
            flavors = [f for f in flavors if getattr(f, attribute) >= floor]
    return flavors


async def show_flavor(request: web.Request) -> web.Response:
    flavor_id = request.match_info["flavor_id"]
    for flavor in FLAVORS:
        if flavor.id == flavor_id:
            return json_response({"flavor": flavor_detail(_base(request), flavor, _minor(request))})
    raise nova_error(404, f"Flavor {flavor_id} could not be found.")


# ------------------------------------------------------------------ limits
async def limits(request: web.Request) -> web.Response:
    state, minor = _state(request), _minor(request)
    figures = state.quota_figures()

    def limit(resource: str) -> int:
        value = figures[resource][1]
        return -1 if value is None else value

    absolute: dict[str, int] = {
        "maxServerMeta": 128,
        "maxImageMeta": 128,
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
    if minor < 57:
        absolute["maxPersonality"] = 5
        absolute["maxPersonalitySize"] = 10240
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


# ------------------------------------------------------------------ servers: create
def _as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "on", "yes"))


def _networks_for(
    networks: Any, minor: int, max_count: int
) -> tuple[tuple[Network, str | None], ...]:
    """Nova's ``_get_requested_networks`` and the network API's look-ups, in order."""
    if networks is None or networks == "auto":
        return ((_DEFAULT_NETWORK, None),)
    if networks == "none":
        return ()
    nics: list[tuple[Network, str | None]] = []
    seen_ports: list[str] = []
    for item in networks:
        port = item.get("port")
        fixed = item.get("fixed_ip")
        if port:
            if port in seen_ports:
                raise nova_error(
                    400,
                    f"Port ID '{port}' was specified twice: you cannot attach a port "
                    "multiple times.",
                )
            if fixed is not None:
                raise nova_error(
                    400,
                    f"Specified Fixed IP '{fixed}' cannot be used with port '{port}': "
                    "the two cannot be specified together.",
                )
            seen_ports.append(port)
            if max_count > 1:
                raise nova_error(
                    400,
                    "Failed to launch instances: Unable to launch multiple instances with "
                    "a single configured port ID. Please launch your instance one by one "
                    "with different ports.",
                )
            raise nova_error(400, f"Port id {port} could not be found.")
        if "uuid" not in item:
            raise nova_error(400, "Bad network format: missing 'uuid'")
        net_id = item["uuid"]
        if minor < 37 and not _uuid_like(net_id):
            raise nova_error(
                400, f"Bad networks format: network uuid is not in proper format ({net_id})"
            )
        network = _NETWORKS.get(net_id)
        if network is None:
            raise nova_error(400, f"Network {net_id} could not be found.")
        if fixed is not None and max_count > 1:
            raise nova_error(
                400,
                "Failed to launch instances: Unable to launch multiple instances with a "
                "single configured fixed IP. Please launch your instance one by one with "
                "different IPs.",
            )
        nics.append((network, fixed))
    return tuple(nics)


def _uuid_like(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", value))


def _image_for(server: dict[str, Any]) -> str:
    image_ref = server.get("imageRef")
    boots_from_volume = bool(
        server.get("block_device_mapping_v2") or server.get("block_device_mapping")
    )
    if not image_ref:
        if boots_from_volume:
            return ""
        raise nova_error(400, "Invalid imageRef provided.")
    image_id = str(image_ref).rstrip("/").rsplit("/", 1)[-1]
    if image_id not in _IMAGES:
        raise nova_error(400, "Can not find requested image")
    return image_id


def _whole(value: Any) -> int:
    """The controller's ``int(...)`` of a count the schema passed. A digit string longer
    than int() reads (4,300 digits) passes the schema (its float is inf, not below the
    minimum) and fails there in Nova too: an unexpected error, 500."""
    try:
        return int(value)
    except ValueError:
        raise nova_error(
            500,
            "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ "
            "and attach the Nova API log if possible.\n<class 'ValueError'>",
        ) from None


async def create_server(request: web.Request) -> web.Response:
    state, minor, base = _state(request), _minor(request), _base(request)
    body = await read_json(request)
    try:
        check(create_schema(minor), body)
    except SchemaViolation as violation:
        raise nova_error(400, nova_message(violation)) from None
    server: dict[str, Any] = body["server"]
    min_count = _whole(server.get("min_count", 1))
    max_count = _whole(server.get("max_count", min_count))
    if min_count > max_count:
        raise nova_error(400, "min_count must be <= max_count")
    image_id = _image_for(server)
    nics = _networks_for(server.get("networks"), minor, max_count)
    flavor = flavor_by_ref(server["flavorRef"])
    if flavor is None:
        raise nova_error(400, f"Flavor {server['flavorRef']} could not be found.")
    _check_metadata_and_files(server)
    hostname = server.get("hostname")
    if hostname is not None and max_count > 1:
        raise nova_error(400, "Unable to allocate a single hostname to multiple instances")

    count, short = state.allowed_count(flavor, max_count)
    if count < min_count:
        raise nova_error(403, _quota_message(state, flavor, short, min_count, max_count))
    _check_block_devices(server)

    rng, cfg = state.rng, state.config
    if cfg.conflict_fraction and rng.random() < cfg.conflict_fraction:
        state.count_fault("conflict")
        raise nova_error(409, f"Port {state.new_uuid()} is still in use.")

    now = state.clock()
    late_quota = bool(cfg.late_quota_fraction) and rng.random() < cfg.late_quota_fraction
    reservation_id = state.new_reservation_id()
    name: str = server["name"]
    records = []
    late_message = ""
    if late_quota:
        # The conductor's recheck (check_num_instances_quota with deltas of 0) finds
        # the project over quota (another burst got there first) and puts these in
        # ERROR with TooManyInstances (an OverQuota: fault code 413). Nova words it
        # from the quota alone: get_over_quota_detail is handed the zero deltas as
        # the headroom, so "used" reads quota - 0, i.e. "used Q of Q".
        quota = cfg.quota_instances
        late_message = (
            f"Quota exceeded for instances: Requested {count}, but already used "
            f"{quota} of {quota} instances"
        )
    # What every server of the request shares, worked out once (multi-create of
    # 100,000 is one request). Metadata is shared: records never mutate it.
    shared: dict[str, Any] = {
        "created": now,
        "flavor": flavor,
        "image_id": image_id,
        "nics": nics,
        "reservation_id": reservation_id,
        "metadata": dict(server.get("metadata", {})),
        "tags": tuple(server.get("tags") or ()),
        "description": server.get("description"),
        "key_name": server.get("key_name"),
        "availability_zone": server.get("availability_zone") or "nova",
        "config_drive": _as_bool(server.get("config_drive", False)),
        "access_ipv4": server.get("accessIPv4", ""),
        "access_ipv6": server.get("accessIPv6", ""),
        "disk_config": server.get("OS-DCF:diskConfig", "MANUAL"),
        "security_groups": tuple(
            sorted({g["name"] for g in server.get("security_groups", []) if g.get("name")})
        )
        or ("default",),
        "trusted_certs": tuple(server["trusted_image_certificates"])
        if server.get("trusted_image_certificates")
        else None,
        "user_data": server.get("user_data"),
    }
    base_hostname = hostname or _hostname_from(name)
    first_seq = len(state.records)
    for index in range(count):
        ready_at, outcome = state.draw_build(now)
        fault_code, fault_message = 500, NO_VALID_HOST
        if late_quota:
            ready_at, outcome = now + min(0.05, max(0.0, ready_at - now)), OUTCOME_ERROR
            fault_code, fault_message = 413, late_message
        suffix = f"-{index + 1}" if count > 1 else ""
        records.append(
            ServerRecord(
                seq=first_seq + index,
                id=state.new_uuid(),
                name=name + suffix,
                ready_at=ready_at,
                outcome=outcome,
                hostname=base_hostname + suffix,
                fault_code=fault_code,
                fault_message=fault_message,
                **shared,
            )
        )
    state.add_many(records)
    if late_quota:
        state.count_fault("late_quota")

    if cfg.lost_response_fraction and rng.random() < cfg.lost_response_fraction:
        state.count_fault("lost_response")
        raise LostResponse

    if _as_bool(server.get("return_reservation_id", False)):
        return json_response({"reservation_id": reservation_id}, status=202)
    first = records[0]
    view = server_brief(base, first)
    del view["name"]
    view["OS-DCF:diskConfig"] = first.disk_config
    view["security_groups"] = [{"name": n} for n in first.security_groups]
    view["adminPass"] = server.get("adminPass") or secrets.token_urlsafe(9)
    return json_response(
        {"server": view},
        status=202,
        headers={"Location": f"{base}/compute/v2.1/servers/{first.id}"},
    )


MAX_SERVER_META = 128
MAX_PERSONALITY = 5
MAX_PERSONALITY_PATH = 255
MAX_PERSONALITY_SIZE = 10240


def _check_metadata_and_files(server: dict[str, Any]) -> None:
    """The compute API's metadata and injected-file limits (403, as OverQuota)."""
    if len(server.get("metadata", {})) > MAX_SERVER_META:
        raise nova_error(403, f"Maximum number of metadata items exceeds {MAX_SERVER_META}")
    files = server.get("personality") or []
    if len(files) > MAX_PERSONALITY:
        raise nova_error(403, "Personality file limit exceeded")
    for item in files:
        if len(item.get("path", "").encode()) > MAX_PERSONALITY_PATH:
            raise nova_error(403, f"Personality file path exceeds maximum {MAX_PERSONALITY_PATH}")
        content = base64.decodebytes(item.get("contents", "").encode())
        if len(content) > MAX_PERSONALITY_SIZE:
            raise nova_error(
                403, f"Personality file content exceeds maximum {MAX_PERSONALITY_SIZE}"
            )


def _check_block_devices(server: dict[str, Any]) -> None:
    """``compute.api._validate_bdm``'s size rule (after the quota check, as Nova runs it):
    a blank volume Nova would have to create needs a size. Only a missing size gets
    here: a zero one is already the schema's 400 (its minimum is numeric on strings)."""
    for bdm in server.get("block_device_mapping_v2") or ():
        if (
            bdm.get("source_type") == "blank"
            and bdm.get("destination_type") == "volume"
            and not str(bdm.get("volume_size") or 0).lstrip("0")  # digits only (schema)
        ):
            raise nova_error(
                400,
                "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size",
            )


def _hostname_from(name: str) -> str:
    # nova.utils.sanitize_hostname, roughly: lowercase, [a-z0-9-], 63 chars
    text = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")[:63]
    return text or "server"


def _quota_message(
    state: CloudState, flavor: Flavor, short: list[str], min_count: int, max_count: int
) -> str:
    """TooManyInstances as ``compute.utils.check_num_instances_quota`` words it."""
    figures = state.quota_figures()
    requested = {
        "instances": str(min_count) if min_count == max_count else f"{min_count}-{max_count}",
        "cores": str(max_count * flavor.vcpus),
        "ram": str(max_count * flavor.ram),
    }
    overs = sorted(short)
    names = ", ".join(overs)
    return (
        f"Quota exceeded for {names}: Requested {', '.join(requested[r] for r in overs)}, "
        f"but already used {', '.join(str(figures[r][0]) for r in overs)} "
        f"of {', '.join(str(figures[r][1]) for r in overs)} {names}"
    )


# ------------------------------------------------------------------ servers: read
def _record(request: web.Request) -> ServerRecord:
    state = _state(request)
    server_id = request.match_info["server_id"]
    record = state.by_id.get(server_id)
    if record is None or not state.visible(record, state.clock()):
        raise nova_error(404, f"Instance {server_id} could not be found.")
    return record


async def show_server(request: web.Request) -> web.Response:
    record = _record(request)
    state = _state(request)
    minor = _minor(request)
    view = server_detail(_base(request), record, state.clock(), minor)
    if minor >= 71:
        view["server_groups"] = []  # in GET /servers/{id} only, as Nova shows it
    return json_response({"server": view})


def _parse_time(text: str, key: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise nova_error(
            400,
            f"Invalid input for query parameters {key}. Value: {text}. "
            f"'{text}' is not a 'date-time'",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# nova/api/openstack/compute/schemas/servers.py query_params_v21 (+ joined tables,
# paging); 2.26 tags, 2.66 changes-before, 2.73 locked. From 2.75 others are a 400.
_QUERY_V21 = frozenset(
    """user_id project_id tenant_id launch_index image_ref image kernel_id ramdisk_id
    hostname key_name power_state vm_state task_state host node flavor reservation_id
    launched_at terminated_at availability_zone name display_name description
    display_description locked_by uuid root_device_name config_drive access_ip_v4
    access_ip_v6 auto_disk_config progress sort_key sort_dir all_tenants soft_deleted
    deleted status changes-since ip ip6 created_at block_device_mapping services metadata
    system_metadata info_cache security_groups pci_devices limit marker""".split()
)
_QUERY_V226 = _QUERY_V21 | {"tags", "tags-any", "not-tags", "not-tags-any"}
_QUERY_V266 = _QUERY_V226 | {"changes-before"}
_QUERY_V273 = _QUERY_V266 | {"locked"}


def _check_query_keys(request: web.Request, minor: int) -> None:
    if minor < 75:
        return
    unknown = sorted(k for k in request.query if k not in _QUERY_V273 and not k.startswith("_"))
    if unknown:
        verb = "was" if len(unknown) == 1 else "were"
        shown = ", ".join(repr(k) for k in unknown)
        raise nova_error(400, f"Additional properties are not allowed ({shown} {verb} unexpected)")


def _list_query(request: web.Request, state: CloudState, minor: int) -> ListQuery:
    _check_query_keys(request, minor)
    query = request.query
    changes: dict[str, Any] = {"limit": state.config.max_limit}
    if "name" in query:
        try:
            changes["name"] = re.compile(query["name"])
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
        changes["status"] = status
    if "reservation_id" in query:
        changes["reservation_id"] = query["reservation_id"]
    if "changes-since" in query:
        changes["changes_since"] = _parse_time(query["changes-since"], "changes-since")
    if "changes-before" in query and minor >= 66:
        changes["changes_before"] = _parse_time(query["changes-before"], "changes-before")
        since = changes.get("changes_since")
        if since is not None and since > changes["changes_before"]:
            raise nova_error(
                400,
                "The value of changes-since must be less than or equal to changes-before.",
            )
    if minor >= 26:
        for key, field in (
            ("tags", "tags"),
            ("tags-any", "tags_any"),
            ("not-tags", "not_tags"),
            ("not-tags-any", "not_tags_any"),
        ):
            if key in query:
                changes[field] = tuple(t for t in query[key].split(",") if t)
    if "flavor" in query:
        changes["flavor"] = query["flavor"]
    if "image" in query:
        changes["image"] = query["image"]
    if "ip" in query:
        try:
            changes["ip"] = re.compile(query["ip"])
        except re.error:
            raise nova_error(400, "Invalid input for query parameters ip.") from None
    if "limit" in query:
        text = query["limit"]
        if not text.isdigit():
            raise nova_error(
                400,
                f"Invalid input for query parameters limit. Value: {text}. "
                f"'{text}' does not match '^[0-9]*$'",
            )
        changes["limit"] = min(int(text), state.config.max_limit)
    if query.get("sort_dir", "desc").lower() == "asc":
        # Only the creation order is kept: any sort_key sorts by it (see the docs).
        changes["ascending"] = True
    if "marker" in query:
        marker = query["marker"]
        if marker not in state.by_id:
            raise nova_error(400, f"marker [{marker}] not found")
        changes["marker"] = marker
    return ListQuery(**changes)


def _next_link(request: web.Request, last: ServerRecord, detail: bool) -> dict[str, str]:
    params = [(k, v) for k, v in request.query.items() if k != "marker"]
    params.append(("marker", last.id))
    path = "servers/detail" if detail else "servers"
    query = "&".join(f"{k}={v}" for k, v in params)
    return {"rel": "next", "href": f"{_base(request)}/compute/v2.1/{path}?{query}"}


async def _list(request: web.Request, *, detail: bool) -> web.Response:
    state, minor, base = _state(request), _minor(request), _base(request)
    query = _list_query(request, state, minor)
    now = state.clock()
    page, more = state.list_servers(query, now)
    if detail:
        servers = [server_detail(base, r, now, minor) for r in page]
    else:
        servers = [server_brief(base, r) for r in page]
    body: dict[str, Any] = {"servers": servers}
    if more and page:
        body["servers_links"] = [_next_link(request, page[-1], detail)]
    return json_response(body)


async def list_servers(request: web.Request) -> web.Response:
    return await _list(request, detail=False)


async def list_servers_detail(request: web.Request) -> web.Response:
    return await _list(request, detail=True)


async def delete_server(request: web.Request) -> web.Response:
    record = _record(request)
    state = _state(request)
    if record.deleted_at is None:
        state.delete(record, state.clock())
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    prefix = "/compute/v2.1"
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
    ]
