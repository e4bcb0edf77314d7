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
Validator = Callable[[Any], None]


def check(schema: Schema, instance: Any, path: tuple[str | int, ...] = ()) -> None:
    """Raise ``SchemaViolation`` at the first error, in jsonschema's keyword order.

    The schema is compiled once (closures per keyword, cached by identity): this runs
    on every ``POST /servers``.
    """
    try:
        _validator(schema)(instance)
    except SchemaViolation as violation:
        if path:
            violation.path = (*path, *violation.path)
        raise


_CACHE: dict[int, tuple[Schema, Validator]] = {}


def _validator(schema: Schema) -> Validator:
    cached = _CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    validator = _compile(schema)
    _CACHE[id(schema)] = (schema, validator)  # the schema is kept alive: the id stays its own
    return validator


def _type_names(schema: Schema) -> list[str] | None:
    if "type" not in schema:
        return None
    value = schema["type"]
    return list(value) if isinstance(value, list) else [value]


def _noop(instance: Any) -> None:
    return None


def _compile(schema: Schema) -> Validator:
    steps = [step for k, v in schema.items() if (step := _step(k, v, schema)) is not None]
    if not steps:
        return _noop
    if len(steps) == 1:
        return steps[0]

    def run(instance: Any) -> None:
        for step in steps:
            step(instance)

    return run


def _fail(message: str, instance: Any, cause: str | None = None) -> SchemaViolation:
    return SchemaViolation(message, path=(), instance=instance, cause=cause)


def _prefixed(violation: SchemaViolation, key: str | int) -> SchemaViolation:
    violation.path = (key, *violation.path)
    return violation


def _step(keyword: str, value: Any, schema: Schema) -> Validator | None:
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        for name in types:
            _is_type(None, name)  # unknown names fail at compile time
        names = ", ".join(repr(t) for t in types)

        def type_(instance: Any) -> None:
            for name in types:
                if _is_type(instance, name):
                    return
            raise _fail(f"{instance!r} is not of type {names}", instance)

        return type_
    if keyword == "properties":
        props = [(name, _validator(sub)) for name, sub in value.items()]
        by_name = dict(props)

        def in_schema_order(instance: dict[str, Any]) -> None:
            for name, validate in props:
                if name in instance:
                    try:
                        validate(instance[name])
                    except SchemaViolation as violation:
                        raise _prefixed(violation, name) from None

        def properties(instance: Any) -> None:
            if not isinstance(instance, dict):
                return
            # Fast path over the (few) keys present; on an error, redo it in the
            # schema's order so the error reported is the one jsonschema reports.
            try:
                for key, item in instance.items():
                    validate = by_name.get(key)
                    if validate is not None:
                        validate(item)
            except SchemaViolation:
                in_schema_order(instance)
                raise

        return properties
    if keyword == "patternProperties":
        pats = [(_compiled(p), _validator(sub)) for p, sub in value.items()]

        def pattern_properties(instance: Any) -> None:
            if isinstance(instance, dict):
                for regex, validate in pats:
                    for key, item in instance.items():
                        if isinstance(key, str) and regex.search(key):
                            try:
                                validate(item)
                            except SchemaViolation as violation:
                                raise _prefixed(violation, key) from None

        return pattern_properties
    if keyword == "additionalProperties":
        if value is not False:
            return None
        known = frozenset(schema.get("properties", {}))
        patterns = sorted(schema.get("patternProperties", {}))
        regexes = [_compiled(p) for p in patterns]

        def additional(instance: Any) -> None:
            if not isinstance(instance, dict):
                return
            extras = [
                k for k in instance if k not in known and not any(r.search(k) for r in regexes)
            ]
            if not extras:
                return
            shown = ", ".join(repr(e) for e in sorted(extras))
            if patterns:
                verb = "does" if len(extras) == 1 else "do"
                message = (
                    f"{shown} {verb} not match any of the regexes: "
                    f"{', '.join(repr(p) for p in patterns)}"
                )
            else:
                verb = "was" if len(extras) == 1 else "were"
                message = f"Additional properties are not allowed ({shown} {verb} unexpected)"
            raise _fail(message, instance)

        return additional
    if keyword == "required":
        required = list(value)

        def required_(instance: Any) -> None:
            if isinstance(instance, dict):
                for name in required:
                    if name not in instance:
                        raise _fail(f"{name!r} is a required property", instance)

        return required_
    if keyword == "items":
        validate_item = _validator(value)

        def items(instance: Any) -> None:
            if isinstance(instance, list):
                for index, item in enumerate(instance):
                    try:
                        validate_item(item)
                    except SchemaViolation as violation:
                        raise _prefixed(violation, index) from None

        return items
    if keyword in ("minItems", "maxItems", "minLength", "maxLength"):
        kind = list if keyword.endswith("Items") else str
        if keyword.startswith("min"):
            word = "should be non-empty" if value == 1 else "is too short"

            def too_short(instance: Any) -> None:
                if isinstance(instance, kind) and len(instance) < value:
                    raise _fail(f"{instance!r} {word}", instance)

            return too_short
        word = "is expected to be empty" if value == 0 else "is too long"

        def too_long(instance: Any) -> None:
            if isinstance(instance, kind) and len(instance) > value:
                raise _fail(f"{instance!r} {word}", instance)

        return too_long
    if keyword == "uniqueItems":
        if not value:
            return None

        def unique(instance: Any) -> None:
            if isinstance(instance, list) and _has_duplicates(instance):
                raise _fail(f"{instance!r} has non-unique elements", instance)

        return unique
    if keyword == "pattern":
        regex = _compiled(value)

        def pattern(instance: Any) -> None:
            if isinstance(instance, str) and not regex.search(instance):
                raise _fail(f"{instance!r} does not match {value!r}", instance)

        return pattern
    if keyword == "format":
        checker, cause = _FORMATS[value]

        def format_(instance: Any) -> None:
            if isinstance(instance, str) and not checker(instance):
                raise _fail(f"{instance!r} is not a {value!r}", instance, cause)

        return format_
    if keyword == "enum":
        choices = list(value)

        def enum(instance: Any) -> None:
            if not any(_json_equal(instance, choice) for choice in choices):
                raise _fail(f"{instance!r} is not one of {choices!r}", instance)

        return enum
    if keyword == "minimum":

        def minimum(instance: Any) -> None:
            number = _number(instance)
            if number is not None and number < value:
                raise _fail(f"{instance!r} is less than the minimum of {value!r}", instance)

        return minimum
    if keyword == "maximum":

        def maximum(instance: Any) -> None:
            number = _number(instance)
            if number is not None and number > value:
                raise _fail(f"{instance!r} is greater than the maximum of {value!r}", instance)

        return maximum
    if keyword == "oneOf":
        # A branch whose "type" the instance lacks is skipped without raising:
        # exceptions are the slow part of trying branches on every request.
        subs = [(sub, _validator(sub), _type_names(sub)) for sub in value]

        def one_of(instance: Any) -> None:
            matched = []
            for sub, validate, types in subs:
                if types is not None and not any(_is_type(instance, t) for t in types):
                    continue
                try:
                    validate(instance)
                except SchemaViolation:
                    continue
                matched.append(sub)
            if not matched:
                raise _fail(f"{instance!r} is not valid under any of the given schemas", instance)
            if len(matched) > 1:
                # jsonschema lists the later matches first, then the first one
                shown = ", ".join(repr(sub) for sub in [*matched[1:], matched[0]])
                raise _fail(f"{instance!r} is valid under each of {shown}", instance)

        return one_of
    if keyword == "allOf":
        all_of = [_validator(sub) for sub in value]

        def all_(instance: Any) -> None:
            for validate in all_of:
                validate(instance)

        return all_
    raise ValueError(f"schema keyword {keyword!r} is not supported")


def _has_duplicates(items: list[Any]) -> bool:
    seen: list[Any] = []
    for item in items:
        if any(_json_equal(item, other) for other in seen):
            return True
        seen.append(item)
    return False
