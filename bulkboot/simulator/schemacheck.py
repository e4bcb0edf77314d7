"""A small JSON-Schema (draft 4) checker: the subset Nova's request schemas use.

Nova validates request bodies with the ``jsonschema`` library and turns the first
error into a 400 whose words clients show to users. The simulator carries Nova's
schemas as data (``nova_schema``) and checks them here with the same keyword order,
the same messages and Nova's own extensions (numeric ``minimum`` on strings, its
``format`` checkers), so a body the simulator refuses is one Nova would refuse, with
the same message. It is not a general validator: no ``$ref``, no ``dependencies``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["SchemaViolation", "check", "nova_message"]

Schema = Mapping[str, Any]


class SchemaViolation(Exception):
    """The first place where an instance breaks its schema, as jsonschema reports it."""

    def __init__(
        self, message: str, *, path: tuple[str | int, ...], instance: Any, cause: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.instance = instance
        self.cause = cause


def nova_message(violation: SchemaViolation) -> str:
    """Word the violation as ``nova.api.validation.validators._SchemaValidator`` does."""
    if violation.cause is not None:
        return violation.cause
    if violation.path:
        return (
            f"Invalid input for field/attribute {violation.path[-1]}. "
            f"Value: {violation.instance}. {violation.message}"
        )
    return violation.message


# ------------------------------------------------------------------ formats
def _is_printable(char: str) -> bool:
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _is_printable_no_space(char: str) -> bool:
    return _is_printable(char) and unicodedata.category(char) != "Zs"


def _valid_name(text: str) -> bool:
    # parameter_types.valid_name_regex: printable; cannot start or end with whitespace.
    if not text:
        return True
    if not (_is_printable_no_space(text[0]) and _is_printable_no_space(text[-1])):
        return False
    return all(_is_printable(c) for c in text) if not text.isascii() else text.isprintable()


def _valid_name_with_spaces(text: str) -> bool:
    # valid_name_leading_trailing_spaces_regex: printable, one non-space at least.
    return all(_is_printable(c) for c in text) and any(_is_printable_no_space(c) for c in text)


def _valid_uuid(value: str) -> bool:
    # oslo_utils.uuidutils.is_uuid_like
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
_FORMATS: dict[str, tuple[Callable[[str], bool], str | None]] = {
    "uuid": (_valid_uuid, None),
    "base64": (_valid_base64, None),
    "ipv4": (_valid_ipv4, None),
    "ipv6": (_valid_ipv6, None),
    "regex": (_valid_regex, None),
    "name": (_valid_name, _NAME_CAUSE),
    "name_with_leading_trailing_spaces": (_valid_name_with_spaces, _NAME_SPACES_CAUSE),
}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# ------------------------------------------------------------------ types
def _is_type(instance: Any, name: str) -> bool:
    if name == "string":
        return isinstance(instance, str)
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "integer":
        return isinstance(instance, int) and not isinstance(instance, bool)
    if name == "number":
        return isinstance(instance, int | float) and not isinstance(instance, bool)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    raise ValueError(f"unknown JSON type {name!r}")


def _number(instance: Any) -> float | int | None:
    # Nova's validator compares strings like "3" numerically for minimum/maximum.
    if isinstance(instance, bool):
        return None
    if isinstance(instance, int | float):
        return instance
    if isinstance(instance, str):
        try:
            return int(instance)
        except ValueError:
            try:
                return float(instance)
            except ValueError:
                return None
    return None


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# ------------------------------------------------------------------ the checker
def check(schema: Schema, instance: Any, path: tuple[str | int, ...] = ()) -> None:
    """Raise ``SchemaViolation`` at the first error, in jsonschema's keyword order."""
    for keyword, value in schema.items():
        if keyword == "type":
            types = value if isinstance(value, list) else [value]
            if not any(_is_type(instance, t) for t in types):
                names = ", ".join(repr(t) for t in types)
                raise SchemaViolation(
                    f"{instance!r} is not of type {names}", path=path, instance=instance
                )
        elif keyword == "properties":
            if isinstance(instance, dict):
                for name, subschema in value.items():
                    if name in instance:
                        check(subschema, instance[name], (*path, name))
        elif keyword == "patternProperties":
            if isinstance(instance, dict):
                for pattern, subschema in value.items():
                    regex = _compiled(pattern)
                    for key, item in instance.items():
                        if isinstance(key, str) and regex.search(key):
                            check(subschema, item, (*path, key))
        elif keyword == "additionalProperties":
            if isinstance(instance, dict) and value is False:
                _check_additional(schema, instance, path)
        elif keyword == "required":
            if isinstance(instance, dict):
                for name in value:
                    if name not in instance:
                        raise SchemaViolation(
                            f"{name!r} is a required property", path=path, instance=instance
                        )
        elif keyword == "items":
            if isinstance(instance, list):
                for index, item in enumerate(instance):
                    check(value, item, (*path, index))
        elif keyword == "minItems":
            if isinstance(instance, list) and len(instance) < value:
                word = "should be non-empty" if value == 1 else "is too short"
                raise SchemaViolation(f"{instance!r} {word}", path=path, instance=instance)
        elif keyword == "maxItems":
            if isinstance(instance, list) and len(instance) > value:
                word = "is expected to be empty" if value == 0 else "is too long"
                raise SchemaViolation(f"{instance!r} {word}", path=path, instance=instance)
        elif keyword == "uniqueItems":
            if value and isinstance(instance, list) and _has_duplicates(instance):
                raise SchemaViolation(
                    f"{instance!r} has non-unique elements", path=path, instance=instance
                )
        elif keyword == "minLength":
            if isinstance(instance, str) and len(instance) < value:
                word = "should be non-empty" if value == 1 else "is too short"
                raise SchemaViolation(f"{instance!r} {word}", path=path, instance=instance)
        elif keyword == "maxLength":
            if isinstance(instance, str) and len(instance) > value:
                word = "is expected to be empty" if value == 0 else "is too long"
                raise SchemaViolation(f"{instance!r} {word}", path=path, instance=instance)
        elif keyword == "pattern":
            if isinstance(instance, str) and not _compiled(value).search(instance):
                raise SchemaViolation(
                    f"{instance!r} does not match {value!r}", path=path, instance=instance
                )
        elif keyword == "format":
            if isinstance(instance, str):
                checker, cause = _FORMATS[value]
                if not checker(instance):
                    raise SchemaViolation(
                        f"{instance!r} is not a {value!r}",
                        path=path,
                        instance=instance,
                        cause=cause,
                    )
        elif keyword == "enum":
            if not any(_json_equal(instance, choice) for choice in value):
                raise SchemaViolation(
                    f"{instance!r} is not one of {value!r}", path=path, instance=instance
                )
        elif keyword == "minimum":
            number = _number(instance)
            if number is not None and number < value:
                raise SchemaViolation(
                    f"{instance!r} is less than the minimum of {value!r}",
                    path=path,
                    instance=instance,
                )
        elif keyword == "maximum":
            number = _number(instance)
            if number is not None and number > value:
                raise SchemaViolation(
                    f"{instance!r} is greater than the maximum of {value!r}",
                    path=path,
                    instance=instance,
                )
        elif keyword == "oneOf":
            _check_one_of(value, instance, path)
        elif keyword == "allOf":
            for subschema in value:
                check(subschema, instance, path)
        else:
            raise ValueError(f"schema keyword {keyword!r} is not supported")


def _check_additional(
    schema: Schema, instance: dict[str, Any], path: tuple[str | int, ...]
) -> None:
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in known and not any(_compiled(p).search(key) for p in patterns)
    ]
    if not extras:
        return
    if patterns:
        verb = "does" if len(extras) == 1 else "do"
        message = (
            f"{', '.join(repr(e) for e in sorted(extras))} {verb} not match any of the "
            f"regexes: {', '.join(repr(p) for p in sorted(patterns))}"
        )
    else:
        verb = "was" if len(extras) == 1 else "were"
        message = (
            f"Additional properties are not allowed ({', '.join(repr(e) for e in sorted(extras))} "
            f"{verb} unexpected)"
        )
    raise SchemaViolation(message, path=path, instance=instance)


def _check_one_of(subschemas: list[Schema], instance: Any, path: tuple[str | int, ...]) -> None:
    matched = []
    for index, subschema in enumerate(subschemas):
        try:
            check(subschema, instance, path)
        except SchemaViolation:
            continue
        matched.append(index)
    if not matched:
        raise SchemaViolation(
            f"{instance!r} is not valid under any of the given schemas",
            path=path,
            instance=instance,
        )
    if len(matched) > 1:
        shown = ", ".join(repr(subschemas[i]) for i in matched)
        raise SchemaViolation(
            f"{instance!r} is valid under each of {shown}", path=path, instance=instance
        )


def _has_duplicates(items: list[Any]) -> bool:
    seen: list[Any] = []
    for item in items:
        if any(_json_equal(item, other) for other in seen):
            return True
        seen.append(item)
    return False
