"""Nova's ``format`` checkers for its request schemas, and the messages Nova words itself.

jsonschema's own formats are not Nova's: Nova registers its checkers
(``nova.api.validation.validators``: printable names per ``parameter_types``,
oslo's uuid-likeness, base64, IP addresses, regexes) and, for names, replaces the
library's message with its own. ``schemacheck`` looks a ``format`` up here.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Callable

__all__ = ["FORMATS"]


def _is_printable(char: str) -> bool:
    # Nova's ranges cover the Basic Multilingual Plane only: nothing beyond is valid.
    if ord(char) >= 0xFFFF:
        return False
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _is_printable_no_space(char: str) -> bool:
    return _is_printable(char) and unicodedata.category(char) != "Zs"


def _valid_name(text: str) -> bool:
    # parameter_types.valid_name_regex: printable; cannot start or end with whitespace.
    if not text:
        return True
    if text.isascii():
        # ASCII: printable, and no space at either end (no other Zs char is ASCII)
        return text.isprintable() and text[0] != " " and text[-1] != " "
    if not (_is_printable_no_space(text[0]) and _is_printable_no_space(text[-1])):
        return False
    return all(_is_printable(c) for c in text)


def _valid_name_with_spaces(text: str) -> bool:
    # valid_name_leading_trailing_spaces_regex: printable, one non-space at least.
    return all(_is_printable(c) for c in text) and any(_is_printable_no_space(c) for c in text)


_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _valid_uuid(value: str) -> bool:
    # oslo_utils.uuidutils.is_uuid_like; the canonical spelling (nearly every request)
    # is settled by one regex, the rest the way oslo does it.
    if _CANONICAL_UUID.fullmatch(value):
        return True
    try:
        parsed = uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    bare = value.lower()
    for junk in ("urn:", "uuid:", "{", "}", "-"):
        bare = bare.replace(junk, "")
    return parsed.hex == bare


def _valid_base64(value: str) -> bool:
    try:
        base64.decodebytes(value.encode("utf-8"))
    except (binascii.Error, TypeError, UnicodeEncodeError):
        return False
    return True


def _valid_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _valid_ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _valid_regex(value: str) -> bool:
    if not value:
        return False
    try:
        re.compile(value)
    except re.error:
        return False
    return True


_NAME_CAUSE = (
    "An invalid 'name' value was provided. The name must be: printable characters. "
    "Can not start or end with whitespace."
)
_NAME_SPACES_CAUSE = (
    "An invalid 'name' value was provided. The name must be: printable characters with "
    "at least one non space character"
)

# format -> (checker, Nova's message that replaces jsonschema's, if any)
FORMATS: dict[str, tuple[Callable[[str], bool], str | None]] = {
    "uuid": (_valid_uuid, None),
    "base64": (_valid_base64, None),
    "ipv4": (_valid_ipv4, None),
    "ipv6": (_valid_ipv6, None),
    "regex": (_valid_regex, None),
    "name": (_valid_name, _NAME_CAUSE),
    "name_with_leading_trailing_spaces": (_valid_name_with_spaces, _NAME_SPACES_CAUSE),
}
