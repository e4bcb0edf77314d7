"""The rules for one field at a time, filed by the ``ServerSpec`` attribute they read.

Each rule reads one server's values and reports through the ``Checker``. ``validate``
runs the rules of a group's shared (untemplated) fields once per group and the rest
once per server, so a rule must read only the attributes it is filed under
(``FIELD_CHECKS``, plus ``ALSO_READ``). The block device and nic rules, the longest,
are in ``device_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from bulkboot.identity import FLEET_MARK_KEY, MARK_ITEMS, OWN_MARKS, SPEC_MARK_KEY
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.checker import Check, Checker
from bulkboot.pipeline.device_rules import (
    check_bdm_v1,
    check_block_devices,
    check_boot_ids,
    check_ephemeral,
    check_networks,
    check_swap,
)
from bulkboot.pipeline.formats import (
    MAX_INT,
    is_ip,
    is_uuid,
    name_error,
    nova_printable,
    short,
    tag_error,
)
from bulkboot.pipeline.spec import ServerSpec

__all__ = ["ALSO_READ", "FIELD_CHECKS", "SPLIT"]

_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$")  # 2.90-2.93, 2-63 chars
_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")  # host, hypervisor_hostname, hostname from 2.94
_CIDR_HINT = re.compile(r"^/[0-9a-f.:]+$")
_MAX_CERTIFICATES = 50


def _check_image(spec: ServerSpec, checker: Checker) -> None:
    if spec.image is not None and not spec.image.strip():
        checker.add("image", "image must not be empty")


def _check_image_with(spec: ServerSpec, checker: Checker) -> None:
    if spec.image_with is not None and not spec.image_with:
        checker.add("image_with", "image_with needs at least one property to match")


def _check_counts(spec: ServerSpec, checker: Checker) -> None:
    # novaclient: "min_count should be >= 1", "max_count should be >= 1", min <= max.
    for field in ("min_count", "max_count"):
        value = getattr(spec, field)
        if value is not None and value < 1:
            checker.add(field, f"{field} should be >= 1, got {value}")
        elif value is not None and value > MAX_INT:
            # Nova's schema sets no maximum, but its launch_index column and every quota
            # are 32-bit integers (nova/db/constants.py MAX_INT): no cloud can boot more.
            checker.add(
                field,
                f"{field} must be at most {MAX_INT} (Nova's 32-bit limit), got {short(value)}",
            )
    low, high = spec.min_count, spec.max_count
    if low is not None and high is not None and 1 <= high < low:
        checker.add("min_count", f"min_count should be <= max_count (got {low} > {high})")


def _check_metadata_keys(spec: ServerSpec, checker: Checker) -> None:
    """Count and keys: keys are never templated, so this holds for a whole group."""
    metadata = spec.metadata
    if not metadata:
        return
    # bulkboot adds its two marks (the fleet's and the spec's) to every server's metadata
    if len(metadata) + MARK_ITEMS > checker.limits.max_server_meta:
        checker.add(
            "metadata",
            f"metadata has {len(metadata)} items; with bulkboot's {MARK_ITEMS} marks "
            f"({FLEET_MARK_KEY}, {SPEC_MARK_KEY}) that is more than the "
            f"{checker.limits.max_server_meta} Nova allows (limits.max_server_meta)",
        )
    for key in metadata:
        if key in OWN_MARKS:
            what = "fleet" if key == FLEET_MARK_KEY else "spec"
            checker.add(f"metadata.{key}", f"metadata key {key!r} is bulkboot's own {what} mark")
        elif not _METADATA_KEY.match(key):
            checker.add(
                f"metadata.{key}",
                f"metadata key {key!r} must be 1 to 255 of the characters "
                "a-z A-Z 0-9 - _ : . and space",
            )


def _check_metadata_values(spec: ServerSpec, checker: Checker) -> None:
    metadata = spec.metadata
    if metadata and max(map(len, metadata.values())) > 255:
        for key, value in metadata.items():
            if len(value) > 255:
                checker.add(
                    f"metadata.{key}", f"metadata value of {key!r} is longer than 255 characters"
                )


def _check_metadata(spec: ServerSpec, checker: Checker) -> None:
    _check_metadata_keys(spec, checker)
    _check_metadata_values(spec, checker)


def _check_files(spec: ServerSpec, checker: Checker) -> None:
    files = spec.files
    if not files:
        return
    checker.gate("files", "'files' (personality)")
    limits = checker.limits
    if len(files) > limits.max_personality:
        checker.add(
            "files",
            f"{len(files)} files, more than the {limits.max_personality} Nova allows "
            "(limits.max_personality)",
        )
    for guest, contents in files:
        if len(guest.encode("utf-8")) > limits.max_personality_path:
            checker.add(
                f"files.{guest}",
                f"file path {guest[:40]!r}... is longer than the {limits.max_personality_path} "
                "bytes Nova allows (limits.max_personality_path)",
            )
        if len(contents) > limits.max_personality_size:
            checker.add(
                f"files.{guest}",
                f"file for {guest!r} has {len(contents)} bytes, more than the "
                f"{limits.max_personality_size} Nova allows (limits.max_personality_size)",
            )


def _check_user_data(spec: ServerSpec, checker: Checker) -> None:
    data = spec.user_data
    if data is None:
        return
    encoded = (len(data) + 2) // 3 * 4
    if encoded > checker.limits.max_user_data:
        path = "user_data" if "user_data" in checker.locations else "user_data_text"
        checker.add(
            path,
            f"user data is {len(data)} bytes, {encoded} in base64: more than the "
            f"{checker.limits.max_user_data} Nova's API allows",
        )


def _check_names(spec: ServerSpec, checker: Checker) -> None:
    for field in ("key_name", "availability_zone"):
        value = getattr(spec, field)
        if value is not None:
            error = name_error(value, field)
            if error:
                checker.add(field, error)


def _check_security_groups(spec: ServerSpec, checker: Checker) -> None:
    for i, group in enumerate(spec.security_groups):
        error = name_error(group, "security group")
        if error:
            checker.add(f"security_groups.{i}", error)


def _check_hints(spec: ServerSpec, checker: Checker) -> None:
    # Nova's _hints schema: the few hints it types.
    for key, value in spec.scheduler_hints.items():
        path = f"scheduler_hints.{key}"
        values = (value,) if isinstance(value, str) else value
        if key == "group" and not (isinstance(value, str) and is_uuid(value)):
            checker.add(path, f"scheduler hint group must be one server group UUID, got {value!r}")
        elif key in ("same_host", "different_host"):
            for item in values:
                if not is_uuid(item):
                    checker.add(path, f"scheduler hint {key} takes server UUIDs, got {item!r}")
        elif key == "cidr" and not (isinstance(value, str) and _CIDR_HINT.match(value)):
            checker.add(path, f"scheduler hint cidr must look like '/24', got {value!r}")
        elif key == "build_near_host_ip" and not (
            isinstance(value, str) and (is_ip(value, 4) or is_ip(value, 6))
        ):
            checker.add(
                path, f"scheduler hint build_near_host_ip must be an IP address, got {value!r}"
            )


def _check_disk_config(spec: ServerSpec, checker: Checker) -> None:
    if spec.disk_config is not None and spec.disk_config not in ("AUTO", "MANUAL"):
        checker.add("disk_config", f"disk_config must be AUTO or MANUAL, got {spec.disk_config!r}")


def _check_access_ips(spec: ServerSpec, checker: Checker) -> None:
    if spec.access_ip_v4 is not None and not is_ip(spec.access_ip_v4, 4):
        checker.add("access_ip_v4", f"access_ip_v4 {spec.access_ip_v4!r} is not an IPv4 address")
    if spec.access_ip_v6 is not None and not is_ip(spec.access_ip_v6, 6):
        checker.add("access_ip_v6", f"access_ip_v6 {spec.access_ip_v6!r} is not an IPv6 address")


def _check_description(spec: ServerSpec, checker: Checker) -> None:
    text = spec.description
    if text is None:
        return
    checker.gate("description")
    if len(text) > 255:
        checker.add("description", f"description must be at most 255 characters, got {len(text)}")
    elif not (text.isascii() and text.isprintable()) and not all(map(nova_printable, text)):
        checker.add("description", "description holds a character Nova refuses (control or format)")


def _check_tags(spec: ServerSpec, checker: Checker) -> None:
    tags = spec.tags
    if not tags:
        return
    checker.gate("tags")
    if len(tags) > checker.limits.max_tags:
        checker.add(
            "tags", f"{len(tags)} tags, more than the {checker.limits.max_tags} Nova allows"
        )
    for i, tag in enumerate(tags):
        error = tag_error(tag, "tag")
        if error:
            checker.add(f"tags.{i}", error)


def _check_certificates(spec: ServerSpec, checker: Checker) -> None:
    certificates = spec.trusted_image_certificates
    if not certificates:
        return
    checker.gate("trusted_image_certificates")
    if len(certificates) > _MAX_CERTIFICATES:
        checker.add(
            "trusted_image_certificates",
            f"{len(certificates)} trusted image certificates, more than the 50 Nova allows",
        )
    if len(set(certificates)) != len(certificates):
        checker.add("trusted_image_certificates", "trusted image certificate IDs must be unique")
    for i, certificate in enumerate(certificates):
        if not certificate:
            checker.add(f"trusted_image_certificates.{i}", "a certificate ID must not be empty")


def _check_hosts(spec: ServerSpec, checker: Checker) -> None:
    for field in ("host", "hypervisor_hostname"):
        value = getattr(spec, field)
        if value is None:
            continue
        checker.gate(field)
        if not (1 <= len(value) <= 255 and _FQDN.match(value)):
            checker.add(field, f"{field} {value!r} must be 1 to 255 of a-z A-Z 0-9 - . _")


def _check_hostname(spec: ServerSpec, checker: Checker) -> None:
    value = spec.hostname
    if value is None:
        return
    checker.gate("hostname")
    if mv.supports_fqdn_hostname(checker.version):
        if not (1 <= len(value) <= 255 and _FQDN.match(value)):
            checker.add("hostname", f"hostname {value!r} must be 1 to 255 of a-z A-Z 0-9 - . _")
    elif not (2 <= len(value) <= 63 and _HOSTNAME.match(value)):
        checker.add(
            "hostname",
            f"hostname {value!r} must be 2 to 63 of a-z A-Z 0-9 and -, not starting or "
            f"ending with - (a domain name needs compute 2.94; validating for {checker.version})",
        )


# Field checks by the ServerSpec attribute they read; a templated field is checked for
# every server, the rest once per group.
FIELD_CHECKS: Final[Mapping[str, Check]] = {
    "image": _check_image,
    "image_with": _check_image_with,
    "min_count": _check_counts,
    "metadata": _check_metadata,
    "files": _check_files,
    "user_data": _check_user_data,
    "key_name": _check_names,
    "security_groups": _check_security_groups,
    "block_device_mapping": check_bdm_v1,
    "block_devices": check_block_devices,
    "boot_volume": check_boot_ids,
    "ephemeral": check_ephemeral,
    "swap": check_swap,
    "networks": check_networks,
    "scheduler_hints": _check_hints,
    "disk_config": _check_disk_config,
    "access_ip_v4": _check_access_ips,
    "description": _check_description,
    "tags": _check_tags,
    "trusted_image_certificates": _check_certificates,
    "host": _check_hosts,
    "hostname": _check_hostname,
}
# Attributes read by a check filed under another one.
ALSO_READ: Final[Mapping[str, str]] = {
    "max_count": "min_count",
    "availability_zone": "key_name",
    "snapshot": "boot_volume",
    "access_ip_v6": "access_ip_v4",
    "hypervisor_hostname": "host",
}
# Checks split in a part that holds for the group and a part to run per server.
SPLIT: Final[Mapping[str, tuple[Check, Check]]] = {
    "metadata": (_check_metadata_keys, _check_metadata_values),
}
