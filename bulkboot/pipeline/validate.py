"""Every rule a manifest must meet, checked at once, offline: a pure function to Problems.

Three sources of rules, each cited where it is checked:

* ``nova boot`` (python-novaclient 18.x ``shell._boot``, ``_parse_nics``,
  ``_parse_block_device_mapping_v2``, ``ServerManager.create``), so that a manifest
  is refused where the command line would have refused the same arguments;
* Nova's own request schema (``nova/api/openstack/compute/schemas/servers.py`` and
  ``nova/api/validation/parameter_types.py``) and the create-time checks in
  ``nova/compute/api.py``, which a user would otherwise learn one 400 at a time;
* Nova's default per-request limits (``spec.Limits``; the manifest may raise them).

Speed: the servers of a group share every value that is not written with a template,
so each group's shared values are checked once (the problem is reported for the
group), and only the templated (``Group.varying``) fields and the name once per server.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from bulkboot.errors import ManifestError
from bulkboot.identity import FLEET_MARK_KEY
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import (
    Group,
    Limits,
    Location,
    Manifest,
    Nic,
    Problem,
    ServerSpec,
    sort_problems,
)

__all__ = ["check", "validate"]

_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$")  # 2.90-2.93, 2-63 chars
_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")  # host, hypervisor_hostname, hostname from 2.94
_BDM_UUID = re.compile(r"^[a-zA-Z0-9._-]*$")
_DIGITS = re.compile(r"^[0-9]+$")
_SIGNED = re.compile(r"^-?[0-9]+$")
_CIDR_HINT = re.compile(r"^/[0-9a-f.:]+$")
_MAX_INT = 0x7FFFFFFF
_MAX_TAG_LENGTH = 60
_MAX_CERTIFICATES = 50


class _Checker:
    """Collects problems for one group at a time; a problem is reported once per place."""

    def __init__(self, version: Microversion, limits: Limits) -> None:
        self.version = version
        self.limits = limits
        self.problems: list[Problem] = []
        self.seen: set[tuple[Location, str]] = set()
        self.locations: Mapping[str, Location] = {}
        self.default = Location("", 0, 0)
        self.subject = ""

    def where(self, path: str) -> Location:
        """The place of a value: its own node, else the nearest enclosing one, else the group."""
        locations = self.locations
        while path:
            found = locations.get(path)
            if found is not None:
                return found
            path = path.rpartition(".")[0]
        return self.default

    def add(self, path: str, message: str) -> None:
        location = self.where(path)
        key = (location, message)
        if key not in self.seen:
            self.seen.add(key)
            self.problems.append(Problem(location, self.subject, message))

    def gate(self, field: str, label: str | None = None) -> None:
        if not mv.field_supported(field, self.version):
            self.add(
                field,
                f"{label or repr(field)} needs compute {mv.gate_text(field)}; "
                f"validating for {self.version}",
            )


Check = Callable[[ServerSpec, _Checker], None]


# ----------------------------------------------------------------- value predicates


def _nova_printable(char: str) -> bool:
    """Nova's ``_is_printable``, over the code points its regexes cover (below U+FFFF)."""
    if ord(char) >= 0xFFFF:
        return False
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _name_error(text: str, what: str) -> str | None:
    """Nova's ``name`` format: 1-255 printable characters, no space at either end."""
    if not 1 <= len(text) <= 255:
        return f"{what} must be 1 to 255 characters, got {len(text)}"
    if text.isascii() and text.isprintable() and text[0] != " " and text[-1] != " ":
        return None
    for char in text:
        if not _nova_printable(char):
            return f"{what} {text!r} holds a character Nova refuses ({ascii(char)})"
    if unicodedata.category(text[0]) == "Zs" or unicodedata.category(text[-1]) == "Zs":
        return f"{what} {text!r} must not start or end with a space"
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _is_ip(text: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == version


def _tag_error(tag: str, what: str) -> str | None:
    """Nova's ``tag``: 1-60 characters, no ``/`` or ``,``."""
    if not 1 <= len(tag) <= _MAX_TAG_LENGTH:
        return f"{what} {tag!r} must be 1 to {_MAX_TAG_LENGTH} characters, got {len(tag)}"
    if "/" in tag or "," in tag:
        return f"{what} {tag!r} must not contain '/' or ','"
    return None


def _size_error(text: str, what: str) -> str | None:
    """Nova's ``volume_size``: 1 to its database's MAX_INT (a 32-bit integer column)."""
    if not _DIGITS.match(text) or not 1 <= int(text) <= _MAX_INT:
        return f"{what} must be a whole number of GiB from 1 to {_MAX_INT}, got {_short(text)}"
    return None


def _short(value: object) -> str:
    """A value as shown in a message: repr, cut short (a number can be a page long)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} characters)"


# ----------------------------------------------------------------- per-field checks


def _check_image(spec: ServerSpec, c: _Checker) -> None:
    if spec.image is not None and not spec.image.strip():
        c.add("image", "image must not be empty")


def _check_image_with(spec: ServerSpec, c: _Checker) -> None:
    if spec.image_with is not None and not spec.image_with:
        c.add("image_with", "image_with needs at least one property to match")


def _check_counts(spec: ServerSpec, c: _Checker) -> None:
    # novaclient: "min_count should be >= 1", "max_count should be >= 1", min <= max.
    for field in ("min_count", "max_count"):
        value = getattr(spec, field)
        if value is not None and value < 1:
            c.add(field, f"{field} should be >= 1, got {value}")
        elif value is not None and value > _MAX_INT:
            # Nova's schema sets no maximum, but its launch_index column and every quota
            # are 32-bit integers (nova/db/constants.py MAX_INT): no cloud can boot more.
            c.add(
                field,
                f"{field} must be at most {_MAX_INT} (Nova's 32-bit limit), got {_short(value)}",
            )
    low, high = spec.min_count, spec.max_count
    if low is not None and high is not None and 1 <= high < low:
        c.add("min_count", f"min_count should be <= max_count (got {low} > {high})")


def _check_metadata_keys(spec: ServerSpec, c: _Checker) -> None:
    """Count and keys: keys are never templated, so this holds for a whole group."""
    metadata = spec.metadata
    if not metadata:
        return
    if len(metadata) + 1 > c.limits.max_server_meta:
        c.add(
            "metadata",
            f"metadata has {len(metadata)} items; with the {FLEET_MARK_KEY} mark that is "
            f"more than the {c.limits.max_server_meta} Nova allows (limits.max_server_meta)",
        )
    for key in metadata:
        if key == FLEET_MARK_KEY:
            c.add(f"metadata.{key}", f"metadata key {key!r} is bulkboot's own fleet mark")
        elif not _METADATA_KEY.match(key):
            c.add(
                f"metadata.{key}",
                f"metadata key {key!r} must be 1 to 255 of the characters "
                "a-z A-Z 0-9 - _ : . and space",
            )


def _check_metadata_values(spec: ServerSpec, c: _Checker) -> None:
    metadata = spec.metadata
    if metadata and max(map(len, metadata.values())) > 255:
        for key, value in metadata.items():
            if len(value) > 255:
                c.add(f"metadata.{key}", f"metadata value of {key!r} is longer than 255 characters")


def _check_metadata(spec: ServerSpec, c: _Checker) -> None:
    _check_metadata_keys(spec, c)
    _check_metadata_values(spec, c)


def _check_files(spec: ServerSpec, c: _Checker) -> None:
    files = spec.files
    if not files:
        return
    c.gate("files", "'files' (personality)")
    limits = c.limits
    if len(files) > limits.max_personality:
        c.add(
            "files",
            f"{len(files)} files, more than the {limits.max_personality} Nova allows "
            "(limits.max_personality)",
        )
    for guest, contents in files:
        if len(guest.encode("utf-8")) > limits.max_personality_path:
            c.add(
                f"files.{guest}",
                f"file path {guest[:40]!r}... is longer than the {limits.max_personality_path} "
                "bytes Nova allows (limits.max_personality_path)",
            )
        if len(contents) > limits.max_personality_size:
            c.add(
                f"files.{guest}",
                f"file for {guest!r} has {len(contents)} bytes, more than the "
                f"{limits.max_personality_size} Nova allows (limits.max_personality_size)",
            )


def _check_user_data(spec: ServerSpec, c: _Checker) -> None:
    data = spec.user_data
    if data is None:
        return
    encoded = (len(data) + 2) // 3 * 4
    if encoded > c.limits.max_user_data:
        path = "user_data" if "user_data" in c.locations else "user_data_text"
        c.add(
            path,
            f"user data is {len(data)} bytes, {encoded} in base64: more than the "
            f"{c.limits.max_user_data} Nova's API allows",
        )


def _check_names(spec: ServerSpec, c: _Checker) -> None:
    for field in ("key_name", "availability_zone"):
        value = getattr(spec, field)
        if value is not None:
            error = _name_error(value, field)
            if error:
                c.add(field, error)


def _check_security_groups(spec: ServerSpec, c: _Checker) -> None:
    for i, group in enumerate(spec.security_groups):
        error = _name_error(group, "security group")
        if error:
            c.add(f"security_groups.{i}", error)


def _check_bdm_v1(spec: ServerSpec, c: _Checker) -> None:
    # novaclient's _parse_block_device_mapping: "id:type:size:delete", type 'snap' or not.
    for device, mapping in spec.block_device_mapping.items():
        parts = mapping.split(":")
        path = f"block_device_mapping.{device}"
        # Parts after the fourth are ignored, as novaclient ignores them (Nova never sees them).
        if not parts[0]:
            c.add(
                path, f"block device mapping {mapping!r} must be <id>[:<type>[:<size>[:<delete>]]]"
            )
        elif len(parts) > 2 and parts[2] and not _DIGITS.match(parts[2]):
            c.add(path, f"block device mapping size {parts[2]!r} must be a whole number")
        elif len(parts) > 2 and parts[2] and int(parts[2]) > _MAX_INT:
            c.add(
                path,
                f"block device mapping size {_short(parts[2])} must be at most {_MAX_INT} GiB "
                "(Nova's volume_size maximum)",
            )


def _check_block_devices(spec: ServerSpec, c: _Checker) -> None:
    for i, device in enumerate(spec.block_devices):
        path = f"block_devices.{i}"
        source = device.get("source")
        # novaclient: source defaults to blank; the enums; dest defaults by source.
        if source is not None and source not in ("volume", "image", "snapshot", "blank"):
            c.add(
                f"{path}.source",
                f"source must be one of 'volume', 'image', 'snapshot' or 'blank', got {source!r}",
            )
        dest = device.get("dest")
        if dest is not None and dest not in ("local", "volume"):
            c.add(f"{path}.dest", f"dest must be either 'local' or 'volume', got {dest!r}")
        shutdown = device.get("shutdown")
        if shutdown is not None and shutdown not in ("remove", "preserve"):
            c.add(
                f"{path}.shutdown",
                f"shutdown must be either 'remove' or 'preserve', got {shutdown!r}",
            )
        tag = device.get("tag")
        if tag is not None:
            if not mv.supports_bdm_tags(c.version):
                c.add(
                    f"{path}.tag",
                    f"a block device tag needs compute 2.32 or 2.42 or later; "
                    f"validating for {c.version}",
                )
            error = _tag_error(tag, "block device tag")
            if error:
                c.add(f"{path}.tag", error)
        if "volume_type" in device and not mv.supports_volume_type(c.version):
            c.add(
                f"{path}.volume_type",
                f"a block device volume_type needs compute 2.67 or later; "
                f"validating for {c.version}",
            )
        size = device.get("size")
        if size is not None:
            error = _size_error(size, "size")
            if error:
                c.add(f"{path}.size", error)
        boot_index = device.get("bootindex")
        if boot_index is not None and not (
            _SIGNED.match(boot_index) and -_MAX_INT - 1 <= int(boot_index) <= _MAX_INT
        ):
            # Nova's schema: a signed integer; its boot_index column holds 32 bits.
            c.add(
                f"{path}.bootindex",
                f"bootindex must be an integer from {-_MAX_INT - 1} to {_MAX_INT}, "
                f"got {_short(boot_index)}",
            )
        ident = device.get("id")
        if ident is not None and not (1 <= len(ident) <= 255 and _BDM_UUID.match(ident)):
            c.add(f"{path}.id", f"id {ident!r} must be 1 to 255 of a-z A-Z 0-9 . _ -")
        if ident is None and source in ("volume", "image", "snapshot"):
            c.add(path, f"a block device with source {source!r} needs an 'id'")
        _check_block_device_mapping(device, path, c)


def _check_block_device_mapping(device: Mapping[str, str], path: str, c: _Checker) -> None:
    """Nova's ``BlockDeviceDict.from_api``, on novaclient's defaults for source and dest."""
    source = device.get("source") or "blank"
    dest = device.get("dest") or ("local" if source in ("image", "blank") else "volume")
    if source == "blank" and device.get("id"):
        c.add(f"{path}.id", "a blank block device takes no 'id' (Nova: Invalid device UUID)")
    if source == "blank" and dest == "volume" and device.get("size") is None:
        # nova/compute/api.py _validate_bdm: InvalidBDM, at create time.
        c.add(path, "a blank volume (source: blank, dest: volume) needs a size (Nova: Blank "
              "volumes need to have non-zero size)")  # fmt: skip
    if source == "image" and dest == "local":
        c.add(path, "an image block device needs dest: volume (Nova does not map an image "
              "to a local disk; use image: for that)")  # fmt: skip
    if "volume_type" in device:
        if dest == "local":
            c.add(f"{path}.volume_type", "volume_type needs dest: volume, not local")
        elif source == "volume":
            c.add(f"{path}.volume_type", "volume_type cannot be set for an existing volume")


def _check_boot_ids(spec: ServerSpec, c: _Checker) -> None:
    for field in ("boot_volume", "snapshot"):
        value = getattr(spec, field)
        if value is not None and not (1 <= len(value) <= 255 and _BDM_UUID.match(value)):
            c.add(field, f"{field} {value!r} must be an ID: 1 to 255 of a-z A-Z 0-9 . _ -")


def _check_ephemeral(spec: ServerSpec, c: _Checker) -> None:
    for i, disk in enumerate(spec.ephemeral):
        size = disk.get("size")
        if size is not None:
            error = _size_error(size, "ephemeral size")
            if error:
                c.add(f"ephemeral.{i}.size", error)


def _check_swap(spec: ServerSpec, c: _Checker) -> None:
    if spec.swap is not None and not 1 <= spec.swap <= _MAX_INT:
        # Sent as a blank local disk's volume_size: Nova's schema caps it at MAX_INT.
        c.add("swap", f"swap must be 1 to {_MAX_INT} MiB, got {_short(spec.swap)}")


def _check_nic(nic: Nic, path: str, c: _Checker) -> None:
    # novaclient's _parse_nics and ServerManager._boot; Nova's networks schema.
    given = [k for k, v in (("net-id", nic.net_id), ("net-name", nic.net_name),
                            ("port-id", nic.port_id)) if v]  # fmt: skip
    if len(given) != 1:
        what = " and ".join(given) if given else "none of them"
        c.add(path, f"a nic needs exactly one of net-id, net-name or port-id (got {what})")
    if nic.v4_fixed_ip is not None and not _is_ip(nic.v4_fixed_ip, 4):
        c.add(f"{path}.v4-fixed-ip", f"v4-fixed-ip {nic.v4_fixed_ip!r} is not an IPv4 address")
    if nic.v6_fixed_ip is not None and not _is_ip(nic.v6_fixed_ip, 6):
        c.add(f"{path}.v6-fixed-ip", f"v6-fixed-ip {nic.v6_fixed_ip!r} is not an IPv6 address")
    if nic.v4_fixed_ip and nic.v6_fixed_ip:
        c.add(path, "only one of v4-fixed-ip and v6-fixed-ip may be given per nic")
    if nic.tag is not None:
        if not mv.supports_nic_tags(c.version):
            c.add(
                f"{path}.tag",
                f"a nic tag needs compute 2.32 to 2.36 or 2.42 or later; "
                f"validating for {c.version}",
            )
        error = _tag_error(nic.tag, "nic tag")
        if error:
            c.add(f"{path}.tag", error)
    if nic.net_id and mv.supports_auto_networks(c.version) and not _is_uuid(nic.net_id):
        c.add(f"{path}.net-id", f"net-id {nic.net_id!r} must be a UUID from compute 2.37 on "
              "(use net-name for a network's name)")  # fmt: skip
    if nic.port_id and not _is_uuid(nic.port_id):
        c.add(f"{path}.port-id", f"port-id {nic.port_id!r} must be a UUID")


def _check_networks(spec: ServerSpec, c: _Checker) -> None:
    networks = spec.networks
    if networks is None:
        return
    if isinstance(networks, str):
        if not mv.supports_auto_networks(c.version):
            c.add(
                "networks",
                f"networks: {networks} needs compute 2.37 or later; validating for {c.version}",
            )
        return
    for i, nic in enumerate(networks):
        _check_nic(nic, f"networks.{i}", c)


def _check_hints(spec: ServerSpec, c: _Checker) -> None:
    # Nova's _hints schema: the few hints it types.
    for key, value in spec.scheduler_hints.items():
        path = f"scheduler_hints.{key}"
        values = (value,) if isinstance(value, str) else value
        if key == "group" and not (isinstance(value, str) and _is_uuid(value)):
            c.add(path, f"scheduler hint group must be one server group UUID, got {value!r}")
        elif key in ("same_host", "different_host"):
            for item in values:
                if not _is_uuid(item):
                    c.add(path, f"scheduler hint {key} takes server UUIDs, got {item!r}")
        elif key == "cidr" and not (isinstance(value, str) and _CIDR_HINT.match(value)):
            c.add(path, f"scheduler hint cidr must look like '/24', got {value!r}")
        elif key == "build_near_host_ip" and not (
            isinstance(value, str) and (_is_ip(value, 4) or _is_ip(value, 6))
        ):
            c.add(path, f"scheduler hint build_near_host_ip must be an IP address, got {value!r}")


def _check_disk_config(spec: ServerSpec, c: _Checker) -> None:
    if spec.disk_config is not None and spec.disk_config not in ("AUTO", "MANUAL"):
        c.add("disk_config", f"disk_config must be AUTO or MANUAL, got {spec.disk_config!r}")


def _check_access_ips(spec: ServerSpec, c: _Checker) -> None:
    if spec.access_ip_v4 is not None and not _is_ip(spec.access_ip_v4, 4):
        c.add("access_ip_v4", f"access_ip_v4 {spec.access_ip_v4!r} is not an IPv4 address")
    if spec.access_ip_v6 is not None and not _is_ip(spec.access_ip_v6, 6):
        c.add("access_ip_v6", f"access_ip_v6 {spec.access_ip_v6!r} is not an IPv6 address")


def _check_description(spec: ServerSpec, c: _Checker) -> None:
    text = spec.description
    if text is None:
        return
    c.gate("description")
    if len(text) > 255:
        c.add("description", f"description must be at most 255 characters, got {len(text)}")
    elif not (text.isascii() and text.isprintable()) and not all(map(_nova_printable, text)):
        c.add("description", "description holds a character Nova refuses (control or format)")


def _check_tags(spec: ServerSpec, c: _Checker) -> None:
    tags = spec.tags
    if not tags:
        return
    c.gate("tags")
    if len(tags) > c.limits.max_tags:
        c.add("tags", f"{len(tags)} tags, more than the {c.limits.max_tags} Nova allows")
    for i, tag in enumerate(tags):
        error = _tag_error(tag, "tag")
        if error:
            c.add(f"tags.{i}", error)


def _check_certificates(spec: ServerSpec, c: _Checker) -> None:
    certificates = spec.trusted_image_certificates
    if not certificates:
        return
    c.gate("trusted_image_certificates")
    if len(certificates) > _MAX_CERTIFICATES:
        c.add(
            "trusted_image_certificates",
            f"{len(certificates)} trusted image certificates, more than the 50 Nova allows",
        )
    if len(set(certificates)) != len(certificates):
        c.add("trusted_image_certificates", "trusted image certificate IDs must be unique")
    for i, certificate in enumerate(certificates):
        if not certificate:
            c.add(f"trusted_image_certificates.{i}", "a certificate ID must not be empty")


def _check_hosts(spec: ServerSpec, c: _Checker) -> None:
    for field in ("host", "hypervisor_hostname"):
        value = getattr(spec, field)
        if value is None:
            continue
        c.gate(field)
        if not (1 <= len(value) <= 255 and _FQDN.match(value)):
            c.add(field, f"{field} {value!r} must be 1 to 255 of a-z A-Z 0-9 - . _")


def _check_hostname(spec: ServerSpec, c: _Checker) -> None:
    value = spec.hostname
    if value is None:
        return
    c.gate("hostname")
    if mv.supports_fqdn_hostname(c.version):
        if not (1 <= len(value) <= 255 and _FQDN.match(value)):
            c.add("hostname", f"hostname {value!r} must be 1 to 255 of a-z A-Z 0-9 - . _")
    elif not (2 <= len(value) <= 63 and _HOSTNAME.match(value)):
        c.add(
            "hostname",
            f"hostname {value!r} must be 2 to 63 of a-z A-Z 0-9 and -, not starting or "
            f"ending with - (a domain name needs compute 2.94; validating for {c.version})",
        )


# Field checks by the ServerSpec attribute they read; a templated field is checked for
# every server, the rest once per group.
_FIELD_CHECKS: Final[Mapping[str, Check]] = {
    "image": _check_image,
    "image_with": _check_image_with,
    "min_count": _check_counts,
    "metadata": _check_metadata,
    "files": _check_files,
    "user_data": _check_user_data,
    "key_name": _check_names,
    "security_groups": _check_security_groups,
    "block_device_mapping": _check_bdm_v1,
    "block_devices": _check_block_devices,
    "boot_volume": _check_boot_ids,
    "ephemeral": _check_ephemeral,
    "swap": _check_swap,
    "networks": _check_networks,
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
_ALSO_READ: Final[Mapping[str, str]] = {
    "max_count": "min_count",
    "availability_zone": "key_name",
    "snapshot": "boot_volume",
    "access_ip_v6": "access_ip_v4",
    "hypervisor_hostname": "host",
}


# ----------------------------------------------------------------- rules across fields


_BOOT_FIELDS: Final = frozenset(
    {"image", "image_with", "boot_volume", "snapshot", "block_devices",
     "block_device_mapping", "ephemeral", "swap"}
)  # fmt: skip
_MULTI_FIELDS: Final = frozenset({"min_count", "max_count", "hostname", "networks"})


def _check_combinations(spec: ServerSpec, c: _Checker, broken: frozenset[str]) -> None:
    """The rules that relate fields to each other: presence only, so once per group.

    A rule reading a ``broken`` field (one left out for a structural problem) is
    skipped: the field's absence would only be an artefact.
    """
    if not broken:
        _combinations(spec, c)
        return
    if "flavor" not in broken and not spec.flavor:
        c.add("flavor", "flavor is required (nova boot: 'you need to specify a Flavor ID')")
    if not broken & _BOOT_FIELDS:
        _boot_source(spec, c)
    if not broken & _MULTI_FIELDS:
        _multi_create(spec, c)
    if not broken & {"trusted_image_certificates", "boot_volume", "snapshot"}:
        _certificates_for_images(spec, c)


def _combinations(spec: ServerSpec, c: _Checker) -> None:
    if not spec.flavor:
        c.add("flavor", "flavor is required (nova boot: 'you need to specify a Flavor ID')")
    _boot_source(spec, c)
    _multi_create(spec, c)
    _certificates_for_images(spec, c)


def _boot_source(spec: ServerSpec, c: _Checker) -> None:
    """nova boot: exactly one boot source or a block device mapping; v1 and v2 apart."""
    sources = [
        name
        for name, value in (
            ("image", spec.image),
            ("image_with", spec.image_with),
            ("boot_volume", spec.boot_volume),
            ("snapshot", spec.snapshot),
        )
        if value
    ]
    has_bdm = bool(spec.block_devices or spec.block_device_mapping or spec.ephemeral
                   or spec.swap)  # fmt: skip
    if len(sources) > 1:
        c.add(
            sources[1],
            f"more than one boot source ({', '.join(sources)}): give exactly one of image, "
            "image_with, boot_volume or snapshot",
        )
    elif not sources and not has_bdm:
        c.add(
            "",
            "no boot source: give one of image, image_with, boot_volume or snapshot, "
            "or block devices",
        )
    if spec.block_device_mapping:
        mixed = [
            name
            for name, value in (
                ("block_devices", spec.block_devices),
                ("boot_volume", spec.boot_volume),
                ("snapshot", spec.snapshot),
                ("ephemeral", spec.ephemeral),
                ("swap", spec.swap),
            )
            if value
        ]
        if mixed:
            c.add(
                "block_device_mapping",
                "block_device_mapping (the old form) cannot be mixed with "
                f"{', '.join(mixed)} (the new form)",
            )


def _multi_create(spec: ServerSpec, c: _Checker) -> None:
    """nova/compute/api.py: AmbiguousHostnameForMultipleInstances,
    InvalidFixedIpAndMaxCountRequest, MultiplePortsNotApplicable."""
    count = spec.instance_count
    if count <= 1:
        return
    if spec.hostname is not None:
        c.add("hostname", f"hostname cannot be set when one request makes {count} servers")
    if not isinstance(spec.networks, str) and spec.networks:
        for i, nic in enumerate(spec.networks):
            if nic.v4_fixed_ip or nic.v6_fixed_ip:
                c.add(
                    f"networks.{i}",
                    f"a fixed IP cannot be given when one request makes {count} servers",
                )
            if nic.port_id:
                c.add(
                    f"networks.{i}.port-id",
                    f"a port cannot be given when one request makes {count} servers",
                )


def _certificates_for_images(spec: ServerSpec, c: _Checker) -> None:
    if spec.trusted_image_certificates and (spec.boot_volume or spec.snapshot):
        c.add(
            "trusted_image_certificates",
            "trusted image certificates apply to image-backed servers, not boot from volume",
        )


# ----------------------------------------------------------------- entry points


def _groups(manifest: Manifest) -> Sequence[Group]:
    if manifest.groups:
        return manifest.groups
    every = frozenset(_FIELD_CHECKS) | frozenset(_ALSO_READ) | {"name"}
    return [
        Group(
            template=s.name or s.group or f"servers[{i + 1}]",
            location=s.location,
            first=i,
            stop=i + 1,
            varying=every,
        )
        for i, s in enumerate(manifest.servers)
    ]


# Checks split in a part that holds for the group and a part to run per server.
_SPLIT: Final[Mapping[str, tuple[Check, Check]]] = {
    "metadata": (_check_metadata_keys, _check_metadata_values),
}


def _attrs(fields: frozenset[str]) -> set[str]:
    """The check keys (``_FIELD_CHECKS``) that read any of these manifest fields."""
    attrs = set(fields)
    if "user_data_text" in attrs:
        attrs.add("user_data")
    for attr, owner in _ALSO_READ.items():
        if attr in attrs:
            attrs.add(owner)
    return attrs


_GroupChecks = tuple[list[Check], list[Check], frozenset[str]]


def _checks_for(varying: frozenset[str], broken: frozenset[str]) -> _GroupChecks:
    """(once per group, once per server) checks, and the broken fields' check keys."""
    attrs = _attrs(varying)
    skip = _attrs(broken)
    shared: list[Check] = []
    each: list[Check] = []
    for attr, check in _FIELD_CHECKS.items():
        if attr in skip:
            continue
        if attr not in attrs:
            shared.append(check)
        elif attr in _SPLIT:
            shared.append(_SPLIT[attr][0])
            each.append(_SPLIT[attr][1])
        else:
            each.append(check)
    return shared, each, frozenset(skip | broken)


def validate(manifest: Manifest, microversion: Microversion) -> tuple[Problem, ...]:
    """Every problem of every server at ``microversion``, in file order; empty if valid.

    ``microversion``: the negotiated version online; offline, ``microversion.offline``
    of the manifest's (``auto`` is the newest bulkboot speaks).
    """
    c = _Checker(microversion, manifest.limits)
    servers = manifest.servers
    plans: dict[tuple[frozenset[str], frozenset[str]], _GroupChecks] = {}
    for group in _groups(manifest):
        if group.stop <= group.first:
            continue
        key = (group.varying, group.broken)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _checks_for(group.varying, group.broken)
        shared, each, broken = plan
        c.locations = group.locations
        c.default = group.location
        first = servers[group.first]
        template = group.template
        c.subject = (first.name or template) if group.count == 1 else template
        for check in shared:
            check(first, c)
        _check_combinations(first, c, broken)
        # Nova names the servers of a multi-create request NAME-1..NAME-N (255 at most).
        instances = first.instance_count
        longest = 255 - (len(str(instances)) + 1 if instances > 1 else 0)
        for spec in servers[group.first : group.stop]:
            name = spec.name
            c.subject = name or template
            # The common case inline (a call per server is a tenth of validation's time).
            if not (
                0 < len(name) <= longest
                and name.isascii()
                and name.isprintable()
                and name[0] != " "
                and name[-1] != " "
            ):
                error = _name_error(name, "name")
                if error:
                    c.add("name", error)
                elif len(name) > longest:
                    c.add(
                        "name",
                        f"name is {len(name)} characters: with Nova's suffix -{instances} for "
                        f"the servers of one request, more than 255",
                    )
            for check in each:
                check(spec, c)
    return tuple(sort_problems(c.problems))


def check(manifest: Manifest, microversion: Microversion) -> None:
    """Raise ``ManifestError`` listing every problem, if there is any."""
    problems = validate(manifest, microversion)
    if problems:
        raise ManifestError(problems)
