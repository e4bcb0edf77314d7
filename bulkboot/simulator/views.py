"""Nova's JSON views of servers and flavors, per microversion (the response model).

Kept apart from the handlers: what a server looks like on the wire depends only on
the record, the clock and the microversion, so it is a pure function here.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from bulkboot.simulator.config import IMAGES, PROJECT_ID, USER_ID, Flavor, Network
from bulkboot.simulator.records import DELETED, ERROR, ServerRecord, iso

__all__ = ["flavor_brief", "flavor_detail", "server_brief", "server_detail"]

_HOST = "sim-compute-1"
# The image properties a server view shows from 2.98: Nova keeps those of its image
# model (``ImageMetaProps``) and drops the rest (os_version is not one). A subset of
# that model: the ones the simulator's images carry, and a few common ones.
_IMAGE_MODEL_PROPERTIES = frozenset(
    {"architecture", "hw_disk_bus", "hw_rng_model", "hw_scsi_model", "os_distro", "os_type"}
)
_IMAGE_PROPERTIES = {
    image.id: {k: v for k, v in image.properties if k in _IMAGE_MODEL_PROPERTIES}
    for image in IMAGES
}
_HOST_ID = "2f5b6e47a2c9d8e1f0a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"


def links(base: str, collection: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base}/compute/{collection}/{item_id}"},
    ]


def flavor_brief(base: str, flavor: Flavor, minor: int) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flavor.id,
        "links": links(base, "flavors", flavor.id),
        "name": flavor.name,
    }
    if minor >= 55:
        view["description"] = None
    return view


def flavor_detail(base: str, flavor: Flavor, minor: int) -> dict[str, Any]:
    """2.102 removed ``rxtx_factor`` and ``OS-FLV-DISABLED:disabled``."""
    view = flavor_brief(base, flavor, minor)
    view.update(
        {
            "ram": flavor.ram,
            "disk": flavor.disk,
            "vcpus": flavor.vcpus,
            "swap": 0 if minor >= 75 else "",
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "os-flavor-access:is_public": True,
        }
    )
    if minor < 102:
        view["OS-FLV-DISABLED:disabled"] = False
        view["rxtx_factor"] = 1.0
    if minor >= 61:
        view["extra_specs"] = {}
    return view


def server_brief(base: str, record: ServerRecord) -> dict[str, Any]:
    return {"id": record.id, "links": links(base, "servers", record.id), "name": record.name}


@lru_cache(maxsize=16)
def _network_base(cidr: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(cidr)
    return int(net.network_address), net.num_addresses


def address_of(network: Network, fixed: str | None, seq: int) -> str:
    """The server's address on a network: as requested, or the seq-th free one."""
    if fixed is not None:
        return fixed
    first, size = _network_base(network.cidr)
    return str(ipaddress.IPv4Address(first + 10 + seq % (size - 20)))


def _addresses(record: ServerRecord) -> dict[str, list[dict[str, Any]]]:
    addresses: dict[str, list[dict[str, Any]]] = {}
    for network, fixed in record.nics:
        ip = address_of(network, fixed, record.seq)
        seq = record.seq
        mac = f"fa:16:3e:{(seq >> 16) & 255:02x}:{(seq >> 8) & 255:02x}:{seq & 255:02x}"
        addresses.setdefault(network.name, []).append(
            {
                "version": 6 if ":" in ip else 4,
                "addr": ip,
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": mac,
            }
        )
    return addresses


def server_detail(base: str, record: ServerRecord, now: float, minor: int) -> dict[str, Any]:
    """``GET /servers/{id}`` and ``/servers/detail`` items, as Nova's views.servers shows them."""
    status = record.status(now)
    built = record.built(now)
    deleting = record.deleted_at is not None and status != DELETED
    if status == "BUILD":
        vm_state, power_state = "building", 0
        task_state = "scheduling" if record.scheduling(now) else "spawning"
    elif status == ERROR:
        vm_state, task_state, power_state = "error", None, 0
    elif status == DELETED:
        vm_state, task_state, power_state = "deleted", None, 0
    else:
        vm_state, task_state, power_state = "active", None, 1
    if deleting:
        task_state = "deleting"
    flavor = record.flavor
    if minor >= 47:
        flavor_view: dict[str, Any] = {
            "vcpus": flavor.vcpus,
            "ram": flavor.ram,
            "disk": flavor.disk,
            "ephemeral": 0,
            "swap": 0,
            "original_name": flavor.name,
            "extra_specs": {},
        }
    else:
        flavor_view = {"id": flavor.id, "links": links(base, "flavors", flavor.id)[1:]}
    image_view: dict[str, Any] | str = ""
    if record.image_id:
        image_view = {"id": record.image_id, "links": links(base, "images", record.image_id)[1:]}
        if minor >= 98:
            image_view["properties"] = dict(_IMAGE_PROPERTIES.get(record.image_id, {}))
    view: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "status": status,
        "tenant_id": PROJECT_ID,
        "user_id": USER_ID,
        "metadata": record.metadata if status != DELETED else {},  # Nova drops it with the row
        "hostId": _HOST_ID if built and status != ERROR else "",
        "image": image_view,
        "flavor": flavor_view,
        "created": iso(record.created),
        "updated": iso(record.updated(now)),
        "addresses": _addresses(record) if status == "ACTIVE" else {},
        "accessIPv4": record.access_ipv4,
        "accessIPv6": record.access_ipv6,
        "links": links(base, "servers", record.id),
        "OS-DCF:diskConfig": record.disk_config,
        "OS-EXT-AZ:availability_zone": record.availability_zone if built else "",
        "config_drive": "True" if record.config_drive else "",
        "key_name": record.key_name,
        "OS-SRV-USG:launched_at": iso(record.ready_at).replace("Z", ".000000")
        if built and status != ERROR
        else None,
        "OS-SRV-USG:terminated_at": iso(record.gone_at).replace("Z", ".000000")
        if status == DELETED and record.gone_at is not None
        else None,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:power_state": power_state,
        "os-extended-volumes:volumes_attached": [],
        "OS-EXT-SRV-ATTR:host": _HOST if built else None,
        "OS-EXT-SRV-ATTR:instance_name": f"instance-{record.seq + 1:08x}",
        "OS-EXT-SRV-ATTR:hypervisor_hostname": _HOST if built else None,
    }
    if status != DELETED and not record.scheduling(now):  # a build request has none yet
        view["security_groups"] = [{"name": name} for name in record.security_groups]
    if status in ("BUILD", "ACTIVE"):
        view["progress"] = record.progress(now)
    if status == ERROR:
        view["fault"] = {
            "code": record.fault_code,
            "message": record.fault_message,
            "created": iso(record.ready_at),
        }
    if minor >= 3:
        view["OS-EXT-SRV-ATTR:hostname"] = record.hostname
        view["OS-EXT-SRV-ATTR:reservation_id"] = record.reservation_id
        view["OS-EXT-SRV-ATTR:launch_index"] = 0
        view["OS-EXT-SRV-ATTR:kernel_id"] = ""
        view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
        view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda" if built else None
        view["OS-EXT-SRV-ATTR:user_data"] = record.user_data
    if minor >= 9:
        view["locked"] = False
    if minor >= 16:
        view["host_status"] = "UP" if built else ""
    if minor >= 19:
        view["description"] = record.description
    if minor >= 26:
        view["tags"] = list(record.tags)
    if minor >= 63:
        view["trusted_image_certificates"] = (
            list(record.trusted_certs) if record.trusted_certs is not None else None
        )
    if minor >= 73:
        view["locked_reason"] = None
    if minor >= 96:
        view["pinned_availability_zone"] = None
    if minor >= 100:
        view["scheduler_hints"] = {k: list(v) for k, v in record.scheduler_hints.items()}
    return view
