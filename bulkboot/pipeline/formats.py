"""Nova's formats for single values, as its request schema and database define them.

Pure predicates shared by the field rules and the name check: each returns a user's
message (or a yes/no), never reports, so it can be used in a hot loop or a rule alike.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid

__all__ = [
    "MAX_INT",
    "is_ip",
    "is_uuid",
    "name_error",
    "nova_printable",
    "short",
    "size_error",
    "tag_error",
]

MAX_INT = 0x7FFFFFFF  # Nova's database integers (nova/db/constants.py MAX_INT)
_DIGITS = re.compile(r"^[0-9]+$")
_MAX_TAG_LENGTH = 60


def nova_printable(char: str) -> bool:
    """Nova's ``_is_printable``, over the code points its regexes cover (below U+FFFF)."""
    if ord(char) >= 0xFFFF:
        return False
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def name_error(text: str, what: str) -> str | None:
    """Nova's ``name`` format: 1-255 printable characters, no space at either end."""
    if not 1 <= len(text) <= 255:
        return f"{what} must be 1 to 255 characters, got {len(text)}"
    if text.isascii() and text.isprintable() and text[0] != " " and text[-1] != " ":
        return None
    for char in text:
        if not nova_printable(char):
            return f"{what} {text!r} holds a character Nova refuses ({ascii(char)})"
    if unicodedata.category(text[0]) == "Zs" or unicodedata.category(text[-1]) == "Zs":
        return f"{what} {text!r} must not start or end with a space"
    return None


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def is_ip(text: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == version


def tag_error(tag: str, what: str) -> str | None:
    """Nova's ``tag``: 1-60 characters, no ``/`` or ``,``."""
    if not 1 <= len(tag) <= _MAX_TAG_LENGTH:
        return f"{what} {tag!r} must be 1 to {_MAX_TAG_LENGTH} characters, got {len(tag)}"
    if "/" in tag or "," in tag:
        return f"{what} {tag!r} must not contain '/' or ','"
    return None


def size_error(text: str, what: str) -> str | None:
    """Nova's ``volume_size``: 1 to its database's MAX_INT (a 32-bit integer column)."""
    if not _DIGITS.match(text) or not 1 <= int(text) <= MAX_INT:
        return f"{what} must be a whole number of GiB from 1 to {MAX_INT}, got {short(text)}"
    return None


def short(value: object) -> str:
    """A value as shown in a message: repr, cut short (a number can be a page long)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} characters)"
