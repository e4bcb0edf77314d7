"""A small JSON-Schema (draft 4) checker: the subset Nova's request schemas use.

Nova validates request bodies with the ``jsonschema`` library and turns the first
error into a 400 whose words clients show to users. The simulator carries Nova's
schemas as data (``nova_schema``) and checks them here with the same keyword order,
the same messages and Nova's own extensions (numeric ``minimum`` on strings, its
``format`` checkers), so a body the simulator refuses is one Nova would refuse, with
the same message. It is not a general validator: no ``$ref``, no ``dependencies``.
Each keyword has its compiler in ``_KEYWORDS``; Nova's formats are in ``schemaformats``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from bulkboot.simulator.schemaformats import FORMATS

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
    """The check for one keyword of ``schema`` (None when it checks nothing)."""
    compile_keyword = _KEYWORDS.get(keyword)
    if compile_keyword is None:
        raise ValueError(f"schema keyword {keyword!r} is not supported")
    return compile_keyword(value, schema)


def _type(value: Any, schema: Schema) -> Validator:
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


def _properties(value: Any, schema: Schema) -> Validator:
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


def _pattern_properties(value: Any, schema: Schema) -> Validator:
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


def _additional_properties(value: Any, schema: Schema) -> Validator | None:
    if value is not False:
        return None
    known = frozenset(schema.get("properties", {}))
    patterns = sorted(schema.get("patternProperties", {}))
    regexes = [_compiled(p) for p in patterns]

    def additional(instance: Any) -> None:
        if not isinstance(instance, dict):
            return
        extras = [k for k in instance if k not in known and not any(r.search(k) for r in regexes)]
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


def _required(value: Any, schema: Schema) -> Validator:
    required = list(value)

    def required_(instance: Any) -> None:
        if isinstance(instance, dict):
            for name in required:
                if name not in instance:
                    raise _fail(f"{name!r} is a required property", instance)

    return required_


def _items(value: Any, schema: Schema) -> Validator:
    validate_item = _validator(value)

    def items(instance: Any) -> None:
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                try:
                    validate_item(item)
                except SchemaViolation as violation:
                    raise _prefixed(violation, index) from None

    return items


def _min_size(kind: type[list[Any]] | type[str]) -> Callable[[Any, Schema], Validator]:
    """``minItems`` (``kind`` list) or ``minLength`` (str)."""

    def compile_min(value: Any, schema: Schema) -> Validator:
        word = "should be non-empty" if value == 1 else "is too short"

        def too_short(instance: Any) -> None:
            if isinstance(instance, kind) and len(instance) < value:
                raise _fail(f"{instance!r} {word}", instance)

        return too_short

    return compile_min


def _max_size(kind: type[list[Any]] | type[str]) -> Callable[[Any, Schema], Validator]:
    """``maxItems`` (``kind`` list) or ``maxLength`` (str)."""

    def compile_max(value: Any, schema: Schema) -> Validator:
        word = "is expected to be empty" if value == 0 else "is too long"

        def too_long(instance: Any) -> None:
            if isinstance(instance, kind) and len(instance) > value:
                raise _fail(f"{instance!r} {word}", instance)

        return too_long

    return compile_max


def _unique_items(value: Any, schema: Schema) -> Validator | None:
    if not value:
        return None

    def unique(instance: Any) -> None:
        if isinstance(instance, list) and _has_duplicates(instance):
            raise _fail(f"{instance!r} has non-unique elements", instance)

    return unique


def _pattern(value: Any, schema: Schema) -> Validator:
    regex = _compiled(value)

    def pattern(instance: Any) -> None:
        if isinstance(instance, str) and not regex.search(instance):
            raise _fail(f"{instance!r} does not match {value!r}", instance)

    return pattern


def _format(value: Any, schema: Schema) -> Validator:
    checker, cause = FORMATS[value]

    def format_(instance: Any) -> None:
        if isinstance(instance, str) and not checker(instance):
            raise _fail(f"{instance!r} is not a {value!r}", instance, cause)

    return format_


def _enum(value: Any, schema: Schema) -> Validator:
    choices = list(value)

    def enum(instance: Any) -> None:
        if not any(_json_equal(instance, choice) for choice in choices):
            raise _fail(f"{instance!r} is not one of {choices!r}", instance)

    return enum


def _minimum(value: Any, schema: Schema) -> Validator:
    def minimum(instance: Any) -> None:
        number = _number(instance)
        if number is not None and number < value:
            raise _fail(f"{instance!r} is less than the minimum of {value!r}", instance)

    return minimum


def _maximum(value: Any, schema: Schema) -> Validator:
    def maximum(instance: Any) -> None:
        number = _number(instance)
        if number is not None and number > value:
            raise _fail(f"{instance!r} is greater than the maximum of {value!r}", instance)

    return maximum


def _one_of(value: Any, schema: Schema) -> Validator:
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


def _all_of(value: Any, schema: Schema) -> Validator:
    all_of = [_validator(sub) for sub in value]

    def all_(instance: Any) -> None:
        for validate in all_of:
            validate(instance)

    return all_


# keyword -> its compiler: (the keyword's value, the whole schema) -> the check, or None
_KEYWORDS: dict[str, Callable[[Any, Schema], Validator | None]] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "items": _items,
    "minItems": _min_size(list),
    "maxItems": _max_size(list),
    "minLength": _min_size(str),
    "maxLength": _max_size(str),
    "uniqueItems": _unique_items,
    "pattern": _pattern,
    "format": _format,
    "enum": _enum,
    "minimum": _minimum,
    "maximum": _maximum,
    "oneOf": _one_of,
    "allOf": _all_of,
}


def _has_duplicates(items: list[Any]) -> bool:
    seen: list[Any] = []
    for item in items:
        if any(_json_equal(item, other) for other in seen):
            return True
        seen.append(item)
    return False
