"""The server fields a manifest group (or ``defaults``) may give, in one table.

Each field names its converter (YAML node -> raw value), the ``ServerSpec`` attribute
it fills, and how a raw value, once rendered for a server, becomes that attribute's
value: as it is (most fields), through a finisher (tuples, ``Nic`` records, text to
bytes), or by reading the local files it names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, cast

from bulkboot.pipeline import convert
from bulkboot.pipeline.convert import Converter, RawNic, RawValue
from bulkboot.pipeline.spec import Nic
from bulkboot.pipeline.yaml_nodes import Reader

__all__ = [
    "ALL_GROUP_KEYS",
    "DIRECT",
    "EXCLUSIVE",
    "FIELDS",
    "GROUP_KEYS",
    "ONE_OF",
    "ONE_OF_MESSAGE",
    "Field",
    "finish",
]

GROUP_KEYS: Final = ("name", "count", "start")
# Fields that name the same thing: a group giving one drops what `defaults` gave for the
# others, so `defaults: {image: x}` plus a group with `boot_volume: y` boots from the volume.
EXCLUSIVE: Final = (
    frozenset({"image", "image_with", "boot_volume", "snapshot"}),
    frozenset({"user_data", "user_data_text"}),
)
# Fields of which one place (the group, or defaults) may give one only: they fill the
# same ServerSpec attribute, so one would silently win.
ONE_OF: Final = ("user_data", "user_data_text")
ONE_OF_MESSAGE: Final = (
    "user_data and user_data_text are both given: give one (user_data names a file, "
    "user_data_text is the text itself)"
)


@dataclass(frozen=True, slots=True)
class Field:
    convert: Converter
    attr: str  # the ServerSpec attribute it fills
    finish: Callable[[RawValue], object] | None = None  # raw (rendered) -> ServerSpec value
    reads: str | None = None  # "user_data" / "files": names local files


# Finishers receive a rendered raw value of their own field's shape (its converter's
# result with every template rendered); the casts say so to the type checker for free.


def _tuple(raw: RawValue) -> object:
    return tuple(cast("list[RawValue]", raw))


def _hint_map(raw: RawValue) -> object:
    hints = cast("dict[str, RawValue]", raw)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hints.items()}


def _nic(nic: RawNic) -> Nic:
    values = cast("dict[str, str]", nic.values)
    return Nic(
        net_id=values.get("net-id"),
        net_name=values.get("net-name"),
        port_id=values.get("port-id"),
        v4_fixed_ip=values.get("v4-fixed-ip"),
        v6_fixed_ip=values.get("v6-fixed-ip"),
        tag=values.get("tag"),
        location=nic.location,
    )


def _nics(raw: RawValue) -> object:
    if isinstance(raw, str):
        return raw
    return tuple(map(_nic, cast("list[RawNic]", raw)))


def _text_bytes(raw: RawValue) -> object:
    return str(raw).encode("utf-8")


FIELDS: Final[Mapping[str, Field]] = {
    "image": Field(convert.string, "image"),
    "image_with": Field(convert.string_map, "image_with"),
    "flavor": Field(convert.string, "flavor"),
    "min_count": Field(convert.integer, "min_count"),
    "max_count": Field(convert.integer, "max_count"),
    "return_reservation_id": Field(convert.boolean, "return_reservation_id"),
    "metadata": Field(convert.string_map, "metadata"),
    "files": Field(convert.string_map, "files", reads="files"),
    "key_name": Field(convert.string, "key_name"),
    "user_data": Field(convert.string, "user_data", reads="user_data"),
    "user_data_text": Field(convert.literal, "user_data", _text_bytes),
    "availability_zone": Field(convert.string, "availability_zone"),
    "security_groups": Field(convert.names, "security_groups", _tuple),
    "block_device_mapping": Field(convert.string_map, "block_device_mapping"),
    "block_devices": Field(convert.block_devices, "block_devices", _tuple),
    "boot_volume": Field(convert.string, "boot_volume"),
    "snapshot": Field(convert.string, "snapshot"),
    "ephemeral": Field(convert.ephemeral, "ephemeral", _tuple),
    "swap": Field(convert.integer, "swap"),
    "networks": Field(convert.networks, "networks", _nics),
    "scheduler_hints": Field(convert.hints, "scheduler_hints", _hint_map),
    "config_drive": Field(convert.config_drive, "config_drive"),
    "admin_pass": Field(convert.secret, "admin_pass"),
    "disk_config": Field(convert.string, "disk_config"),
    "access_ip_v4": Field(convert.string, "access_ip_v4"),
    "access_ip_v6": Field(convert.string, "access_ip_v6"),
    "description": Field(convert.string, "description"),
    "tags": Field(convert.names, "tags", _tuple),
    "trusted_image_certificates": Field(convert.certificates, "trusted_image_certificates", _tuple),
    "host": Field(convert.string, "host"),
    "hypervisor_hostname": Field(convert.string, "hypervisor_hostname"),
    "hostname": Field(convert.string, "hostname"),
}
ALL_GROUP_KEYS: Final = (*GROUP_KEYS, *FIELDS)
# Fields whose raw value is already the ServerSpec value (no finish, no file to read).
DIRECT: Final = frozenset(k for k, f in FIELDS.items() if f.finish is None and f.reads is None)


def finish(reader: Reader, field: str, raw: RawValue) -> object:
    """The ServerSpec value of a field's rendered raw value (files read once per path)."""
    spec = FIELDS[field]
    if spec.reads:
        return _read_files(reader, spec.reads, raw)
    return spec.finish(raw) if spec.finish else raw


def _read_files(reader: Reader, field: str, raw: RawValue) -> object:
    if field == "user_data":
        return reader.read_file(cast(str, raw), reader.locations.get("user_data"), "user_data")
    found = []
    for guest, local in cast("dict[str, str]", raw).items():
        where = reader.locations.get(f"files.{guest}")
        contents = reader.read_file(local, where, f"files.{guest}")
        if contents is not None:
            found.append((guest, contents))
    return tuple(found)
