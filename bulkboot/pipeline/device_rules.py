"""The rules for block devices and nics: what ``nova boot`` and Nova accept of each.

``--block-device``, ``--block-device-mapping``, ``--boot-volume``/``--snapshot``,
``--ephemeral``, ``--swap`` and ``--nic``, as novaclient parses them and as Nova's
schema and ``BlockDeviceDict`` check them. Filed in ``field_rules.FIELD_CHECKS`` like
every other field rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.checker import Checker
from bulkboot.pipeline.formats import MAX_INT, is_ip, is_uuid, short, size_error, tag_error
from bulkboot.pipeline.spec import Nic, ServerSpec

__all__ = [
    "check_bdm_v1",
    "check_block_devices",
    "check_boot_ids",
    "check_ephemeral",
    "check_networks",
    "check_swap",
]

_BDM_UUID = re.compile(r"^[a-zA-Z0-9._-]*$")
_DIGITS = re.compile(r"^[0-9]+$")
_SIGNED = re.compile(r"^-?[0-9]+$")


def check_bdm_v1(spec: ServerSpec, checker: Checker) -> None:
    # novaclient's _parse_block_device_mapping: "id:type:size:delete", type 'snap' or not.
    for device, mapping in spec.block_device_mapping.items():
        parts = mapping.split(":")
        path = f"block_device_mapping.{device}"
        # Parts after the fourth are ignored, as novaclient ignores them (Nova never sees them).
        if not parts[0]:
            checker.add(
                path, f"block device mapping {mapping!r} must be <id>[:<type>[:<size>[:<delete>]]]"
            )
        elif len(parts) > 2 and parts[2] and not _DIGITS.match(parts[2]):
            checker.add(path, f"block device mapping size {parts[2]!r} must be a whole number")
        elif len(parts) > 2 and parts[2] and int(parts[2]) > MAX_INT:
            checker.add(
                path,
                f"block device mapping size {short(parts[2])} must be at most {MAX_INT} GiB "
                "(Nova's volume_size maximum)",
            )


def check_block_devices(spec: ServerSpec, checker: Checker) -> None:
    for i, device in enumerate(spec.block_devices):
        path = f"block_devices.{i}"
        source = device.get("source")
        # novaclient: source defaults to blank; the enums; dest defaults by source.
        if source is not None and source not in ("volume", "image", "snapshot", "blank"):
            checker.add(
                f"{path}.source",
                f"source must be one of 'volume', 'image', 'snapshot' or 'blank', got {source!r}",
            )
        dest = device.get("dest")
        if dest is not None and dest not in ("local", "volume"):
            checker.add(f"{path}.dest", f"dest must be either 'local' or 'volume', got {dest!r}")
        shutdown = device.get("shutdown")
        if shutdown is not None and shutdown not in ("remove", "preserve"):
            checker.add(
                f"{path}.shutdown",
                f"shutdown must be either 'remove' or 'preserve', got {shutdown!r}",
            )
        tag = device.get("tag")
        if tag is not None:
            if not mv.supports_bdm_tags(checker.version):
                checker.add(
                    f"{path}.tag",
                    f"a block device tag needs compute 2.32 or 2.42 or later; "
                    f"validating for {checker.version}",
                )
            error = tag_error(tag, "block device tag")
            if error:
                checker.add(f"{path}.tag", error)
        if "volume_type" in device and not mv.supports_volume_type(checker.version):
            checker.add(
                f"{path}.volume_type",
                f"a block device volume_type needs compute 2.67 or later; "
                f"validating for {checker.version}",
            )
        size = device.get("size")
        if size is not None:
            error = size_error(size, "size")
            if error:
                checker.add(f"{path}.size", error)
        boot_index = device.get("bootindex")
        if boot_index is not None and not (
            _SIGNED.match(boot_index) and -MAX_INT - 1 <= int(boot_index) <= MAX_INT
        ):
            # Nova's schema: a signed integer; its boot_index column holds 32 bits.
            checker.add(
                f"{path}.bootindex",
                f"bootindex must be an integer from {-MAX_INT - 1} to {MAX_INT}, "
                f"got {short(boot_index)}",
            )
        ident = device.get("id")
        if ident is not None and not (1 <= len(ident) <= 255 and _BDM_UUID.match(ident)):
            checker.add(f"{path}.id", f"id {ident!r} must be 1 to 255 of a-z A-Z 0-9 . _ -")
        if ident is None and source in ("volume", "image", "snapshot"):
            checker.add(path, f"a block device with source {source!r} needs an 'id'")
        _check_block_device_mapping(device, path, checker)


def _check_block_device_mapping(device: Mapping[str, str], path: str, checker: Checker) -> None:
    """Nova's ``BlockDeviceDict.from_api``, on novaclient's defaults for source and dest."""
    source = device.get("source") or "blank"
    dest = device.get("dest") or ("local" if source in ("image", "blank") else "volume")
    if source == "blank" and device.get("id"):
        checker.add(f"{path}.id", "a blank block device takes no 'id' (Nova: Invalid device UUID)")
    if source == "blank" and dest == "volume" and device.get("size") is None:
        # nova/compute/api.py _validate_bdm: InvalidBDM, at create time.
        checker.add(
            path,
            "a blank volume (source: blank, dest: volume) needs a size "
            "(Nova: Blank volumes need to have non-zero size)",
        )
    if source == "image" and dest == "local":
        checker.add(
            path,
            "an image block device needs dest: volume "
            "(Nova does not map an image to a local disk; use image: for that)",
        )
    if "volume_type" in device:
        if dest == "local":
            checker.add(f"{path}.volume_type", "volume_type needs dest: volume, not local")
        elif source == "volume":
            checker.add(f"{path}.volume_type", "volume_type cannot be set for an existing volume")


def check_boot_ids(spec: ServerSpec, checker: Checker) -> None:
    for field in ("boot_volume", "snapshot"):
        value = getattr(spec, field)
        if value is not None and not (1 <= len(value) <= 255 and _BDM_UUID.match(value)):
            checker.add(field, f"{field} {value!r} must be an ID: 1 to 255 of a-z A-Z 0-9 . _ -")


def check_ephemeral(spec: ServerSpec, checker: Checker) -> None:
    for i, disk in enumerate(spec.ephemeral):
        size = disk.get("size")
        if size is not None:
            error = size_error(size, "ephemeral size")
            if error:
                checker.add(f"ephemeral.{i}.size", error)


def check_swap(spec: ServerSpec, checker: Checker) -> None:
    if spec.swap is not None and not 1 <= spec.swap <= MAX_INT:
        # Sent as a blank local disk's volume_size: Nova's schema caps it at MAX_INT.
        checker.add("swap", f"swap must be 1 to {MAX_INT} MiB, got {short(spec.swap)}")


def _check_nic(nic: Nic, path: str, checker: Checker) -> None:
    # novaclient's _parse_nics and ServerManager._boot; Nova's networks schema.
    choices = (("net-id", nic.net_id), ("net-name", nic.net_name), ("port-id", nic.port_id))
    given = [key for key, value in choices if value]
    if len(given) != 1:
        what = " and ".join(given) if given else "none of them"
        checker.add(path, f"a nic needs exactly one of net-id, net-name or port-id (got {what})")
    if nic.v4_fixed_ip is not None and not is_ip(nic.v4_fixed_ip, 4):
        checker.add(
            f"{path}.v4-fixed-ip", f"v4-fixed-ip {nic.v4_fixed_ip!r} is not an IPv4 address"
        )
    if nic.v6_fixed_ip is not None and not is_ip(nic.v6_fixed_ip, 6):
        checker.add(
            f"{path}.v6-fixed-ip", f"v6-fixed-ip {nic.v6_fixed_ip!r} is not an IPv6 address"
        )
    if nic.v4_fixed_ip and nic.v6_fixed_ip:
        checker.add(path, "only one of v4-fixed-ip and v6-fixed-ip may be given per nic")
    if nic.tag is not None:
        if not mv.supports_nic_tags(checker.version):
            checker.add(
                f"{path}.tag",
                f"a nic tag needs compute 2.32 to 2.36 or 2.42 or later; "
                f"validating for {checker.version}",
            )
        error = tag_error(nic.tag, "nic tag")
        if error:
            checker.add(f"{path}.tag", error)
    if nic.net_id and mv.supports_auto_networks(checker.version) and not is_uuid(nic.net_id):
        checker.add(
            f"{path}.net-id",
            f"net-id {nic.net_id!r} must be a UUID from compute 2.37 on "
            "(use net-name for a network's name)",
        )
    if nic.port_id and not is_uuid(nic.port_id):
        checker.add(f"{path}.port-id", f"port-id {nic.port_id!r} must be a UUID")


def check_networks(spec: ServerSpec, checker: Checker) -> None:
    networks = spec.networks
    if networks is None:
        return
    if isinstance(networks, str):
        if not mv.supports_auto_networks(checker.version):
            checker.add(
                "networks",
                f"networks: {networks} needs compute 2.37 or later; "
                f"validating for {checker.version}",
            )
        return
    for i, nic in enumerate(networks):
        _check_nic(nic, f"networks.{i}", checker)
