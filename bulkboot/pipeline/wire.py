"""Nova's wire form of a server: the key tables, and block devices as novaclient writes them.

The tables map the manifest's words (``ServerSpec`` field names, ``--block-device`` and
``--nic`` keys) to Nova's keys; ``body.BodyBuilder`` writes the body with them. The
block device translations are novaclient 18.x's (``_parse_block_device_mapping_v2``,
``_boot``), except that digit strings it sends for sizes and boot indexes are sent as
JSON numbers, which Nova's schema accepts alike. Pure functions, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from bulkboot.pipeline.spec import ServerSpec

__all__ = ["BDM_V2_KEYS", "NIC_KEYS", "SERVER_KEYS", "bdm_v2", "legacy_bdm"]

SERVER_KEYS: Final[Mapping[str, str]] = {
    # ServerSpec field -> key inside body["server"] (scheduler hints sit beside it)
    "name": "name",
    "image": "imageRef",
    "image_with": "imageRef",
    "flavor": "flavorRef",
    "min_count": "min_count",
    "max_count": "max_count",
    "return_reservation_id": "return_reservation_id",
    "metadata": "metadata",
    "files": "personality",
    "key_name": "key_name",
    "user_data": "user_data",
    "availability_zone": "availability_zone",
    "security_groups": "security_groups",
    "block_device_mapping": "block_device_mapping",
    "block_devices": "block_device_mapping_v2",
    "boot_volume": "block_device_mapping_v2",
    "snapshot": "block_device_mapping_v2",
    "ephemeral": "block_device_mapping_v2",
    "swap": "block_device_mapping_v2",
    "networks": "networks",
    "scheduler_hints": "os:scheduler_hints",  # top level, a sibling of "server"
    "config_drive": "config_drive",
    "admin_pass": "adminPass",
    "disk_config": "OS-DCF:diskConfig",
    "access_ip_v4": "accessIPv4",
    "access_ip_v6": "accessIPv6",
    "description": "description",
    "tags": "tags",
    "trusted_image_certificates": "trusted_image_certificates",
    "host": "host",
    "hypervisor_hostname": "hypervisor_hostname",
    "hostname": "hostname",
}

BDM_V2_KEYS: Final[Mapping[str, str]] = {
    # ``--block-device`` key (manifest ``block_devices``) -> block_device_mapping_v2 key
    "id": "uuid",
    "source": "source_type",
    "dest": "destination_type",
    "bus": "disk_bus",
    "device": "device_name",
    "size": "volume_size",
    "format": "guest_format",
    "bootindex": "boot_index",
    "type": "device_type",
    "shutdown": "delete_on_termination",
    "tag": "tag",
    "volume_type": "volume_type",
}

NIC_KEYS: Final[Mapping[str, str]] = {
    # Nic field -> networks[] key (net_name is resolved to an ID first)
    "net_id": "uuid",
    "net_name": "uuid",
    "port_id": "port",
    "v4_fixed_ip": "fixed_ip",
    "v6_fixed_ip": "fixed_ip",
    "tag": "tag",
}

_NUMERIC_BDM_KEYS: Final = frozenset({"volume_size", "boot_index"})
_INTEGER = re.compile(r"-?[0-9]+\Z")


def _number(value: str | int) -> str | int:
    """A digit string as an int (Nova takes both); anything else as it is."""
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return value


def legacy_bdm(mapping: Mapping[str, str]) -> list[dict[str, Any]]:
    """``--block-device-mapping dev=<id>:<type>:<size>:<delete>``, parsed as novaclient does."""
    result = []
    for device_name, text in mapping.items():
        parts = str(text).split(":")
        entry: dict[str, Any] = {"device_name": device_name}
        if len(parts) > 1 and parts[1].startswith("snap"):
            entry["snapshot_id"] = parts[0]
        else:
            entry["volume_id"] = parts[0]
        if len(parts) > 2 and parts[2]:
            entry["volume_size"] = _number(parts[2])
        if len(parts) > 3:
            # sent as written: Nova's legacy schema takes "true", "1", "false" ...
            entry["delete_on_termination"] = parts[3]
        result.append(entry)
    return result


def bdm_v2(spec: ServerSpec) -> list[dict[str, Any]]:
    """``--boot-volume``, ``--snapshot``, ``--block-device``, ``--ephemeral``, ``--swap``."""
    result: list[dict[str, Any]] = []
    for source, ref in (("volume", spec.boot_volume), ("snapshot", spec.snapshot)):
        if ref:
            result.append(
                {
                    "uuid": ref,
                    "source_type": source,
                    "destination_type": "volume",
                    "boot_index": 0,
                    "delete_on_termination": False,
                }
            )
    for device in spec.block_devices:
        result.append(_block_device(device))
    for ephemeral in spec.ephemeral:
        entry: dict[str, Any] = {
            "source_type": "blank",
            "destination_type": "local",
            "boot_index": -1,
            "delete_on_termination": True,
        }
        if "size" in ephemeral:
            entry["volume_size"] = _number(ephemeral["size"])
        if "format" in ephemeral:
            entry["guest_format"] = ephemeral["format"]
        result.append(entry)
    if spec.swap is not None:
        result.append(
            {
                "source_type": "blank",
                "destination_type": "local",
                "boot_index": -1,
                "delete_on_termination": True,
                "guest_format": "swap",
                "volume_size": _number(spec.swap),
            }
        )
    return result


def _block_device(device: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, value in device.items():
        wire = BDM_V2_KEYS.get(key, key)
        entry[wire] = _number(value) if wire in _NUMERIC_BDM_KEYS else value
    # novaclient treats an empty value as absent
    if not entry.get("source_type"):
        entry["source_type"] = "blank"
    source = entry["source_type"]
    if not entry.get("destination_type"):
        if source in ("image", "blank"):
            entry["destination_type"] = "local"
        elif source in ("snapshot", "volume"):
            entry["destination_type"] = "volume"
    if "delete_on_termination" in entry:
        entry["delete_on_termination"] = entry["delete_on_termination"] == "remove"
    elif entry.get("destination_type") == "local":
        entry["delete_on_termination"] = True
    return entry
