"""The spec mark's value: a short hash of a planned create body, one part per field.

Why per field: ``plan`` must say *what* changed (flavor, image, networks, user data,
metadata ...) from the cloud alone, with no journal (a laptop lost, a colleague's run).
A single hash says only *that* something changed. So the mark is ``1:`` followed by one
``<letter><8 hex digits>`` part per field present in the body, joined by dots:
``1:ia3c01f2e.f09be7711.n5d2c8e40``. Two marks are equal exactly when every field is;
the letters of the parts that differ name the fields. A changed field goes unnoticed
only when its 32-bit digests collide (one chance in four billion per change).

What is hashed: the body as it is sent (``body.BodyBuilder``: references resolved to
IDs, user data and files as their base64), minus what is not the server's own
description:

- the name (the server is matched by it), ``min_count``/``max_count`` and
  ``return_reservation_id`` (how many one request makes, not what each is: a group that
  grows keeps its members' marks);
- secrets (``adminPass``): never hashed, so a mark says nothing about them;
- bulkboot's own marks in the metadata (``identity.OWN_MARKS``).

Networks the body leaves out (a microversion before 2.37 with none written) count as
``"auto"``, which is what the body says from 2.37: a cloud upgrade that moves the
negotiated microversion past 2.37 changes no mark. A value is hashed as its JSON with
sorted keys, so the order keys were written in does not matter.

Pure: no I/O, no clock. The digests of a group's shared part are computed once per
group by ``BodyBuilder`` (``shared_digests``); per server only the fields a group
templates are hashed (``server_digest``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from bulkboot.identity import OWN_MARKS

__all__ = [
    "FIELD_NAMES",
    "VERSION",
    "differing",
    "digest",
    "fingerprint",
    "join",
    "server_digest",
    "shared_digests",
    "split",
    "user_metadata",
]

VERSION: Final = "1"

# letter -> the field as the manifest calls it, in the order parts are written
FIELD_NAMES: Final[Mapping[str, str]] = {
    "i": "image",
    "f": "flavor",
    "n": "networks",
    "u": "user_data",
    "m": "metadata",
    "p": "files",
    "b": "block_devices",
    "k": "key_name",
    "s": "security_groups",
    "z": "availability_zone",
    "h": "scheduler_hints",
    "d": "description",
    "o": "hostname",
    "t": "tags",
    "c": "config_drive",
    "g": "disk_config",
    "a": "access_ip_v4",
    "A": "access_ip_v6",
    "e": "trusted_image_certificates",
    "H": "host",
    "v": "hypervisor_hostname",
    "x": "other fields",
}

# wire key inside body["server"] -> letter (see ``wire.SERVER_KEYS``)
_LETTER: Final[Mapping[str, str]] = {
    "imageRef": "i",
    "flavorRef": "f",
    "networks": "n",
    "user_data": "u",
    "metadata": "m",
    "personality": "p",
    "block_device_mapping": "b",
    "block_device_mapping_v2": "b",
    "key_name": "k",
    "security_groups": "s",
    "availability_zone": "z",
    "description": "d",
    "hostname": "o",
    "tags": "t",
    "config_drive": "c",
    "OS-DCF:diskConfig": "g",
    "accessIPv4": "a",
    "accessIPv6": "A",
    "trusted_image_certificates": "e",
    "host": "H",
    "hypervisor_hostname": "v",
}
_NOT_HASHED: Final = frozenset(
    {"name", "min_count", "max_count", "return_reservation_id", "adminPass"}
)
_HINTS_KEY: Final = "os:scheduler_hints"
_PART: Final = 9  # a letter and 8 hex digits
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def digest(value: Any) -> str:
    """Eight hex digits of the SHA-256 of ``value``'s JSON (keys sorted)."""
    return hashlib.sha256(_encode(value).encode("utf-8")).hexdigest()[:8]


def user_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata without bulkboot's own marks."""
    return {k: v for k, v in metadata.items() if k not in OWN_MARKS}


def shared_digests(server: Mapping[str, Any], hints: Mapping[str, Any] | None) -> dict[str, str]:
    """Letter -> digest of each field of ``server`` (a body's ``server``, whole or its
    shared part) and of the scheduler ``hints`` beside it; fields not hashed are skipped,
    keys bulkboot does not know are hashed together as ``x``."""
    parts: dict[str, str] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in server.items():
        if key in _NOT_HASHED:
            continue
        letter = _LETTER.get(key, "x")
        if letter == "i" and not value:  # no image: a server booted from a volume
            continue
        if letter == "m":
            value = user_metadata(value) if isinstance(value, Mapping) else value
            if not value:
                continue
        grouped.setdefault(letter, {})[key] = value
    for letter, values in grouped.items():
        # one key per letter but ``b`` (two BDM forms) and ``x``: hash the value itself
        # where there is one, so a part does not depend on which wire key carried it
        parts[letter] = digest(next(iter(values.values())) if len(values) == 1 else values)
    if hints:
        parts["h"] = digest(hints)
    return parts


def server_digest(letter: str, value: Any) -> str | None:
    """The digest of one per-server field (``n``, ``m``, ``d``, ``o``), None when the
    field is absent (metadata: bulkboot's marks aside)."""
    if letter == "m":
        value = user_metadata(value) if isinstance(value, Mapping) else value
    if value is None or (letter != "n" and not value):
        return None
    return digest(value)


_AUTO: Final = digest("auto")


def join(parts: Mapping[str, str]) -> str:
    """The mark from its parts: ``1:`` then each part in ``FIELD_NAMES`` order. Networks
    left out of the body count as ``"auto"`` (see the module docstring)."""
    if "n" not in parts:
        parts = {**parts, "n": _AUTO}
    return f"{VERSION}:" + ".".join(
        letter + parts[letter] for letter in FIELD_NAMES if letter in parts
    )


def fingerprint(body: Mapping[str, Any]) -> str:
    """The mark of a whole create body (``{"server": ..., "os:scheduler_hints": ...}``)."""
    hints = body.get(_HINTS_KEY)
    return join(shared_digests(body["server"], hints if isinstance(hints, Mapping) else None))


def split(mark: str) -> dict[str, str] | None:
    """Letter -> digest of a mark; None when it is not a mark this version writes (then
    the server is compared by what its record shows, as one without a mark)."""
    version, sep, rest = mark.partition(":")
    if version != VERSION or not sep:
        return None
    parts: dict[str, str] = {}
    for part in rest.split(".") if rest else ():
        if len(part) != _PART or part[0] not in FIELD_NAMES or part[0] in parts:
            return None
        parts[part[0]] = part[1:]
    return parts


def differing(planned: str, found: str) -> tuple[str, ...] | None:
    """The fields (manifest words) in which two marks differ, in ``FIELD_NAMES`` order:
    empty when they are equal; None when ``found`` is not a mark of this version."""
    if planned == found:
        return ()
    ours, theirs = split(planned), split(found)
    if ours is None or theirs is None:
        return None
    return tuple(
        name for letter, name in FIELD_NAMES.items() if ours.get(letter) != theirs.get(letter)
    )
