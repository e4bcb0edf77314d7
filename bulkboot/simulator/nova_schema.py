"""Nova's ``POST /servers`` request schemas, gate by gate, as data.

Transcribed from nova 31.0.0 ``nova/api/openstack/compute/schemas/servers.py`` and
``nova/api/validation/parameter_types.py``, brought to nova 34.0.0 (a ``group`` hint may
be a list of UUIDs, the device name pattern fixed, ``port`` one typed schema);
tests/realnova/test_nova_schemas.py compares them with nova 34's own module at every
microversion. Each ``create_v2NN`` there is a
``_create_vNN`` here built the same way (a deep copy of the previous one, then the
same edits), and ``create_schema(minor)`` picks the one Nova's
``@validation.schema`` decorators pick for a microversion. Keep the order of keys:
it decides which error is reported first, as in Nova.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from functools import cache
from typing import Any

__all__ = ["create_schema"]

# The client's rules (bulkboot.pipeline) repeat these on purpose: see the package docstring.
MAX_TAG_COUNT = 50
MAX_TAG_LENGTH = 60

_boolean: dict[str, Any] = {
    "type": ["boolean", "string"],
    "enum": [
        True,
        "True",
        "TRUE",
        "true",
        "1",
        "ON",
        "On",
        "on",
        "YES",
        "Yes",
        "yes",
        False,
        "False",
        "FALSE",
        "false",
        "0",
        "OFF",
        "Off",
        "off",
        "NO",
        "No",
        "no",
    ],
}
_positive_integer: dict[str, Any] = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$",
    "minimum": 1,
    "minLength": 1,
}
_hostname: dict[str, Any] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 63,
    "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
}
_fqdn: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-._]*$",
}
_name: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255, "format": "name"}
_name_with_spaces: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "format": "name_with_leading_trailing_spaces",
}


def _is_printable(char: str) -> bool:
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _build_regex_range() -> str:
    """``parameter_types._build_regex_range()`` (ws=True): the printable characters of
    the Basic Multilingual Plane as ranges, built the way Nova builds them, so the
    pattern (and the 400 message that quotes it) is Nova's own."""
    regex = ""
    in_range = False
    last: str | None = None
    last_added: str | None = None
    char = ""
    for code in range(0xFFFF):
        char = chr(code)
        if _is_printable(char):
            if not in_range:
                regex += re.escape(char)
                last_added = char
            in_range = True
        else:
            if in_range and last != last_added and last is not None:
                regex += "-" + re.escape(last)
            in_range = False
        last = char
    if in_range:
        regex += "-" + re.escape(char)
    return regex


# parameter_types.description: printable characters of the BMP (nothing beyond it).
_description: dict[str, Any] = {
    "type": ["string", "null"],
    "minLength": 0,
    "maxLength": 255,
    "pattern": f"^[{_build_regex_range()}]*$",
}
_uuid: dict[str, Any] = {"type": "string", "format": "uuid"}
_image_id_or_empty_string: dict[str, Any] = {
    "oneOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}]
}
_volume_type: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
_admin_password: dict[str, Any] = {"type": "string"}
_flavor_ref: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1}
_metadata: dict[str, Any] = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
_ip_address: dict[str, Any] = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
_volume_size: dict[str, Any] = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]+$",
    "minimum": 1,
    "maximum": 0x7FFFFFFF,
}
_disk_config: dict[str, Any] = {"type": "string", "enum": ["AUTO", "MANUAL"]}
_access_ipv4: dict[str, Any] = {"type": "string", "format": "ipv4"}
_access_ipv6: dict[str, Any] = {"type": "string", "format": "ipv6"}
_personality: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "contents": {"type": "string", "format": "base64"},
        },
        "additionalProperties": False,
    },
}
_tag: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TAG_LENGTH,
    "pattern": "^[^,/]*$",
}
_trusted_certs: dict[str, Any] = {
    "type": ["array", "null"],
    "minItems": 1,
    "maxItems": 50,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}

_legacy_block_device_mapping: dict[str, Any] = {
    "type": "object",
    "properties": {
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": _uuid,
        "snapshot_id": _uuid,
        "volume_size": _volume_size,
        "device_name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[a-zA-Z0-9._/-]*$",
        },
        "delete_on_termination": _boolean,
        "no_device": {},
        "connection_info": {"type": "string", "maxLength": 16777215},
    },
    "additionalProperties": False,
}

_block_device_mapping_v2 = copy.deepcopy(_legacy_block_device_mapping)
_block_device_mapping_v2["properties"].update(
    {
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[a-zA-Z0-9._-]*$",
        },
        "image_id": _uuid,
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
    }
)

_hints: dict[str, Any] = {
    "type": "object",
    "properties": {
        "group": {
            "oneOf": [{"type": "array", "items": _uuid}, {"type": "string", "format": "uuid"}]
        },
        "different_host": {
            "oneOf": [
                {"type": "string", "format": "uuid"},
                {"type": "array", "items": _uuid},
            ]
        },
        "same_host": {"type": ["string", "array"], "items": _uuid},
        "query": {"type": ["string", "object"]},
        "target_cell": _name,
        "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
        "build_near_host_ip": _ip_address,
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
    "additionalProperties": True,
}

_create: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": _name,
                "imageRef": _image_id_or_empty_string,
                "flavorRef": _flavor_ref,
                "adminPass": _admin_password,
                "metadata": _metadata,
                "networks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "fixed_ip": _ip_address,
                            "port": {"type": ["string", "null"], "format": "uuid"},
                            "uuid": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                },
                "OS-DCF:diskConfig": _disk_config,
                "accessIPv4": _access_ipv4,
                "accessIPv6": _access_ipv6,
                "personality": _personality,
                "availability_zone": _name,
                "block_device_mapping": {"type": "array", "items": _legacy_block_device_mapping},
                "block_device_mapping_v2": {"type": "array", "items": _block_device_mapping_v2},
                "config_drive": _boolean,
                "key_name": _name,
                "min_count": _positive_integer,
                "max_count": _positive_integer,
                "return_reservation_id": _boolean,
                "security_groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": _name},
                        "additionalProperties": False,
                    },
                },
                "user_data": {"type": "string", "format": "base64", "maxLength": 65535},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": _hints,
        "OS-SCH-HNT:scheduler_hints": _hints,
    },
    "required": ["server"],
    "additionalProperties": False,
}


def _server(schema: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = schema["properties"]["server"]
    return server


def _props(schema: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = _server(schema)["properties"]
    return props


_create_v20 = copy.deepcopy(_create)
_props(_create_v20)["name"] = _name_with_spaces
_props(_create_v20)["availability_zone"] = _name_with_spaces
_props(_create_v20)["key_name"] = _name_with_spaces
_props(_create_v20)["security_groups"]["items"]["properties"]["name"] = _name_with_spaces
_props(_create_v20)["user_data"] = {
    "type": ["string", "null"],
    "format": "base64",
    "maxLength": 65535,
}

_create_v219 = copy.deepcopy(_create)
_props(_create_v219)["description"] = _description

_create_v232 = copy.deepcopy(_create_v219)
_props(_create_v232)["networks"]["items"]["properties"]["tag"] = _tag
_props(_create_v232)["block_device_mapping_v2"]["items"]["properties"]["tag"] = _tag

# 2.33-2.36: network tags stay, block-device tags do not (Nova's "== 2.32" slip).
_create_v233 = copy.deepcopy(_create_v219)
_props(_create_v233)["networks"]["items"]["properties"]["tag"] = _tag

_network_item_v237: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fixed_ip": _ip_address,
        "port": {"type": ["string", "null"], "format": "uuid"},
        "uuid": {"type": "string", "format": "uuid"},
    },
    "additionalProperties": False,
}
_create_v237 = copy.deepcopy(_create_v233)
_server(_create_v237)["required"].append("networks")
_props(_create_v237)["networks"] = {
    "oneOf": [
        {"type": "array", "items": _network_item_v237},
        {"type": "string", "enum": ["none", "auto"]},
    ]
}

_network_item_v242 = copy.deepcopy(_network_item_v237)
_network_item_v242["properties"]["tag"] = _tag
_create_v242 = copy.deepcopy(_create_v237)
_props(_create_v242)["networks"] = {
    "oneOf": [
        {"type": "array", "items": _network_item_v242},
        {"type": "string", "enum": ["none", "auto"]},
    ]
}
_props(_create_v242)["block_device_mapping_v2"]["items"]["properties"]["tag"] = _tag

_create_v252 = copy.deepcopy(_create_v242)
_props(_create_v252)["tags"] = {"type": "array", "items": _tag, "maxItems": MAX_TAG_COUNT}

_create_v257 = copy.deepcopy(_create_v252)
_props(_create_v257).pop("personality")

_create_v263 = copy.deepcopy(_create_v257)
_props(_create_v263)["trusted_image_certificates"] = _trusted_certs

_create_v267 = copy.deepcopy(_create_v263)
_props(_create_v267)["block_device_mapping_v2"]["items"]["properties"]["volume_type"] = _volume_type

_create_v274 = copy.deepcopy(_create_v267)
_props(_create_v274)["host"] = _fqdn
_props(_create_v274)["hypervisor_hostname"] = _fqdn

_create_v290 = copy.deepcopy(_create_v274)
_props(_create_v290)["hostname"] = _hostname

_create_v294 = copy.deepcopy(_create_v290)
_props(_create_v294)["hostname"] = _fqdn

# (lowest minor, schema), highest first: the decorators on ServersController.create.
_BY_VERSION: tuple[tuple[int, dict[str, Any]], ...] = (
    (94, _create_v294),
    (90, _create_v290),
    (74, _create_v274),
    (67, _create_v267),
    (63, _create_v263),
    (57, _create_v257),
    (52, _create_v252),
    (42, _create_v242),
    (37, _create_v237),
    (33, _create_v233),
    (32, _create_v232),
    (19, _create_v219),
    (1, _create),
    (0, _create_v20),
)


@cache
def create_schema(minor: int) -> dict[str, Any]:
    """The schema Nova applies to ``POST /servers`` at microversion 2.``minor``."""
    for lowest, schema in _BY_VERSION:
        if minor >= lowest:
            return schema
    return _create_v20
