"""``POST /servers``: Nova's checks in Nova's order, then the servers, then the faults.

The body is checked with Nova's own schema for the negotiated microversion
(``nova_schema``, by ``schemacheck``), then the controller's checks in Nova's order:
counts, image, networks, flavor, metadata and file limits, multi-create rules, the
quota (a ``min_count``..``max_count`` range is cut to what fits), the blank-volume
size rule. Only a create that passes them meets the injected faults: a 409 before
anything is stored; after the servers are stored, the late quota failure and the
lost response.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bulkboot.simulator.config import IMAGES, NETWORKS, Flavor, Network
from bulkboot.simulator.http import (
    LostResponse,
    base_of,
    json_response,
    minor_of,
    nova_error,
    read_json,
    state_of,
    unexpected_error,
)
from bulkboot.simulator.nova_schema import create_schema
from bulkboot.simulator.records import NO_VALID_HOST, OUTCOME_ERROR, ServerRecord
from bulkboot.simulator.schemacheck import SchemaViolation, check, nova_message
from bulkboot.simulator.state import CloudState, flavor_by_ref
from bulkboot.simulator.views import server_brief

__all__ = ["create_server"]

_IMAGES = {image.id: image for image in IMAGES}
_NETWORKS = {network.id: network for network in NETWORKS}
_DEFAULT_NETWORK = NETWORKS[0]  # what "auto" (or no networks) attaches


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
        raise unexpected_error("ValueError") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Accepted:
    """A create that passed every check: the body's server and what it resolved to."""

    server: dict[str, Any]
    count: int  # within min_count..max_count: what the quota lets through
    flavor: Flavor
    image_id: str
    nics: tuple[tuple[Network, str | None], ...]
    hints: Any  # os:scheduler_hints (or OS-SCH-HNT:scheduler_hints) as sent


async def create_server(request: web.Request) -> web.Response:
    state = state_of(request)
    accepted = _accept(state, await read_json(request), minor_of(request))
    rng, cfg = state.rng, state.config
    if cfg.conflict_fraction and rng.random() < cfg.conflict_fraction:
        state.count_fault("conflict")
        raise nova_error(409, f"Port {state.new_uuid()} is still in use.")
    now = state.clock()
    late_quota = bool(cfg.late_quota_fraction) and rng.random() < cfg.late_quota_fraction
    reservation_id = state.new_reservation_id()
    records = _records(state, accepted, now, reservation_id, late_quota=late_quota)
    if cfg.member_stagger and len(records) > 1:
        for index, record in enumerate(records):  # listed one by one, then answered
            if index:
                await state.sleep(cfg.member_stagger)
            state.add_many([record])
    else:
        state.add_many(records)
    if late_quota:
        state.count_fault("late_quota")
    if cfg.lost_response_fraction and rng.random() < cfg.lost_response_fraction:
        state.count_fault("lost_response")
        raise LostResponse
    if _as_bool(accepted.server.get("return_reservation_id", False)):
        return json_response({"reservation_id": reservation_id}, status=202)
    return _answer(base_of(request), accepted.server, records[0])


def _accept(state: CloudState, body: Any, minor: int) -> _Accepted:
    """Nova's checks in Nova's order; the first that fails is the answer."""
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
    hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints"))
    if isinstance(hints, dict) and isinstance(hints.get("group"), list):
        # Nova 34's schema takes a list of groups; its API then looks one group up by
        # the whole list, and the database refuses
        raise unexpected_error("oslo_db.exception.DBError")
    if server.get("hostname") is not None and max_count > 1:
        raise nova_error(400, "Unable to allocate a single hostname to multiple instances")
    count, short = state.allowed_count(flavor, max_count)
    if count < min_count:
        raise nova_error(403, _quota_message(state, flavor, short, min_count, max_count))
    _check_block_devices(server)
    return _Accepted(
        server=server, count=count, flavor=flavor, image_id=image_id, nics=nics, hints=hints
    )


def _records(
    state: CloudState, accepted: _Accepted, now: float, reservation_id: str, *, late_quota: bool
) -> list[ServerRecord]:
    """The request's servers, each with its build drawn (``-1``..``-N`` when several)."""
    server, count = accepted.server, accepted.count
    late_message = ""
    if late_quota:
        # The conductor's recheck (check_num_instances_quota with deltas of 0) finds
        # the project over quota (another burst got there first) and puts these in
        # ERROR with TooManyInstances (an OverQuota: fault code 413). Nova words it
        # from the quota alone: get_over_quota_detail is handed the zero deltas as
        # the headroom, so "used" reads quota - 0, i.e. "used Q of Q".
        quota = state.config.quota_instances
        late_message = (
            f"Quota exceeded for instances: Requested {count}, but already used "
            f"{quota} of {quota} instances"
        )
    shared = _shared_fields(accepted, now, reservation_id)
    name: str = server["name"]
    base_hostname = server.get("hostname") or _hostname_from(name)
    first_seq = len(state.records)
    scheduling = state.config.scheduling_time
    records = []
    for index in range(count):
        ready_at, outcome = state.draw_build(now)
        fault_code, fault_message = 500, NO_VALID_HOST
        if late_quota:
            ready_at, outcome = now + min(0.05, max(0.0, ready_at - now)), OUTCOME_ERROR
            fault_code, fault_message = 413, late_message
        suffix = f"-{index + 1}" if count > 1 else ""
        record = ServerRecord(
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
        record.scheduled_at = min(now + scheduling, ready_at)
        records.append(record)
    return records


def _shared_fields(accepted: _Accepted, now: float, reservation_id: str) -> dict[str, Any]:
    """What every server of the request shares, worked out once (a multi-create of
    100,000 is one request). Metadata is shared: records never mutate it."""
    server = accepted.server
    return {
        "created": now,
        "flavor": accepted.flavor,
        "image_id": accepted.image_id,
        "nics": accepted.nics,
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
        "scheduler_hints": _hints_of(accepted.hints),
    }


def _hints_of(hints: Any) -> dict[str, list[str]]:
    """Scheduler hints as Nova's ``RequestSpec._from_hints`` keeps them: a value that is
    not a list becomes a list of one (shown so from 2.100)."""
    if not isinstance(hints, dict):
        return {}
    return {key: value if isinstance(value, list) else [value] for key, value in hints.items()}


def _answer(base: str, server: dict[str, Any], first: ServerRecord) -> web.Response:
    """Nova's 202: the first server's brief view, its admin password and Location."""
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
