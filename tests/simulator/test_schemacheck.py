"""bulkboot/simulator/schemacheck.py against the real ``jsonschema`` library as oracle.

Nova validates with jsonschema (Draft 4, its own format checkers) and reports the
first error; the simulator's checker must accept and refuse the same bodies with the
same first message and path, for every create schema.
"""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

import jsonschema
import pytest

from bulkboot.simulator.nova_schema import create_schema
from bulkboot.simulator.schemacheck import SchemaViolation, check, nova_message

CIRROS = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
NET = "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d"


def _oracle_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("uuid")
    def _uuid(value: object) -> bool:
        import uuid

        if not isinstance(value, str):
            return True
        try:
            return uuid.UUID(value).hex == value.lower().replace("-", "").strip("{}")
        except ValueError:
            return False

    @checker.checks("base64")
    def _b64(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            base64.decodebytes(value.encode())
        except binascii.Error:
            return False
        return True

    @checker.checks("name")
    def _name(value: object) -> bool:
        return not isinstance(value, str) or (value.strip() == value and value.isprintable())

    @checker.checks("name_with_leading_trailing_spaces")
    def _name_spaces(value: object) -> bool:
        return not isinstance(value, str) or bool(value.strip())

    return checker


def _oracle(schema: dict[str, Any], body: Any) -> tuple[str, tuple[Any, ...]] | None:
    validator = jsonschema.Draft4Validator(schema, format_checker=_oracle_checker())
    for error in validator.iter_errors(body):
        return error.message, tuple(error.path)
    return None


def _ours(schema: dict[str, Any], body: Any) -> tuple[str, tuple[Any, ...]] | None:
    try:
        check(schema, body)
    except SchemaViolation as violation:
        return violation.message, violation.path
    return None


def _body(**server: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "vm", "imageRef": CIRROS, "flavorRef": "1"}
    base.update(server)
    return {"server": {k: v for k, v in base.items() if v is not _DROP}}


_DROP = object()

BODIES: list[Any] = [
    _body(),
    _body(networks="auto"),
    _body(networks="none"),
    _body(networks="all"),
    _body(networks=[{"uuid": NET}]),
    _body(networks=[{"uuid": "not-a-uuid"}]),
    _body(networks=[{"uuid": NET, "tag": "eth0"}]),
    _body(networks=[{"uuid": NET, "fixed_ip": "10.0.0.5"}]),
    _body(networks=[{"uuid": NET, "fixed_ip": "10.0.0.500"}]),
    _body(networks=[{"port": None, "uuid": NET}]),
    _body(networks=[{"bogus": 1}]),
    _body(personality=[{"path": "/etc/motd", "contents": "aGVsbG8="}]),
    _body(personality=[{"path": "/etc/motd", "contents": "not base64!"}]),
    _body(description="web server"),
    _body(description=None),
    _body(tags=["a", "b"]),
    _body(tags=["a,b"]),
    _body(tags=["x" * 61]),
    _body(tags=[f"t{i}" for i in range(51)]),
    _body(trusted_image_certificates=["cert-1"]),
    _body(trusted_image_certificates=[]),
    _body(trusted_image_certificates=["c", "c"]),
    _body(host="compute-1", hypervisor_hostname="compute-1.example"),
    _body(hostname="web-01"),
    _body(hostname="web-01.example.com"),
    _body(hostname="a"),
    _body(min_count="2", max_count=3),
    _body(min_count=0),
    _body(min_count="x"),
    _body(max_count=True),
    _body(flavorRef=["1"]),
    _body(flavorRef=""),
    _body(flavorRef=2),
    _body(imageRef=""),
    _body(imageRef="nope"),
    _body(imageRef=_DROP),
    _body(name=_DROP),
    _body(name=""),
    _body(name="x" * 256),
    _body(name=" padded "),
    _body(metadata={"bulkboot:fleet": "lab", "role": "web"}),
    _body(metadata={"bad/key": "v"}),
    _body(metadata={"k": "v" * 256}),
    _body(metadata={"k": 1}),
    _body(metadata=["not", "a", "dict"]),
    _body(user_data="I2Nsb3VkLWNvbmZpZw=="),
    _body(user_data=None),
    _body(config_drive="yes"),
    _body(config_drive="maybe"),
    _body(**{"OS-DCF:diskConfig": "AUTO"}),
    _body(**{"OS-DCF:diskConfig": "auto"}),
    _body(accessIPv4="1.2.3.4", accessIPv6="::1"),
    _body(accessIPv4="::1"),
    _body(security_groups=[{"name": "default"}]),
    _body(security_groups=[{"id": "x"}]),
    _body(key_name="k", availability_zone="nova"),
    _body(
        block_device_mapping_v2=[
            {
                "boot_index": 0,
                "uuid": CIRROS,
                "source_type": "image",
                "destination_type": "volume",
                "volume_size": 10,
                "delete_on_termination": True,
                "tag": "root",
                "volume_type": "ssd",
            }
        ],
        imageRef="",
    ),
    _body(block_device_mapping_v2=[{"boot_index": "x", "source_type": "image"}]),
    _body(block_device_mapping_v2=[{"source_type": "floppy"}]),
    _body(block_device_mapping=[{"device_name": "vda", "volume_id": CIRROS}]),
    _body(unknown_key=1),
    _body(unknown_key=1, other_key=2),
    {"server": _body()["server"], "os:scheduler_hints": {"group": CIRROS, "custom": 1}},
    {"server": _body()["server"], "os:scheduler_hints": {"group": "nope"}},
    {"server": _body()["server"], "extra": {}},
    {"notserver": {}},
    [],
]

MINORS = [0, 1, 19, 32, 33, 36, 37, 42, 52, 56, 57, 63, 67, 74, 90, 94, 96]


@pytest.mark.parametrize("minor", MINORS)
def test_same_verdict_message_and_path_as_jsonschema(minor: int) -> None:
    schema = create_schema(minor)
    mismatches = []
    for body in BODIES:
        expected = _oracle(schema, copy.deepcopy(body))
        got = _ours(schema, copy.deepcopy(body))
        if expected != got:
            mismatches.append((body, expected, got))
    assert mismatches == []


def test_the_corpus_has_both_verdicts_at_every_version() -> None:
    for minor in MINORS:
        verdicts = {_ours(create_schema(minor), b) is None for b in BODIES}
        assert verdicts == {True, False}


def test_nova_words_a_field_error_with_its_path_and_value() -> None:
    with pytest.raises(SchemaViolation) as caught:
        check(create_schema(96), _body(min_count="x", networks="auto"))
    assert nova_message(caught.value) == (
        "Invalid input for field/attribute min_count. Value: x. 'x' does not match '^[0-9]*$'"
    )


def test_name_format_uses_novas_own_message() -> None:
    with pytest.raises(SchemaViolation) as caught:
        check(create_schema(96), _body(name=" padded", networks="auto"))
    assert nova_message(caught.value) == (
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace."
    )


def test_top_level_error_has_no_path() -> None:
    with pytest.raises(SchemaViolation) as caught:
        check(create_schema(96), {})
    assert nova_message(caught.value) == "'server' is a required property"


@pytest.mark.parametrize(
    ("description", "valid"),
    [
        ("web tier, é, 中文", True),
        ("line\u2028break", False),
        ("zero\u200bwidth", False),
        ("emoji \U0001f600", False),
        ("tab\there", False),
        (None, True),
        ("", True),
    ],
)
def test_description_is_novas_printable_bmp_range(description: str | None, valid: bool) -> None:
    body = _body(description=description, networks="auto")
    assert (_ours(create_schema(96), body) is None) == valid
    assert (_oracle(create_schema(96), body) is None) == valid


def test_names_outside_the_bmp_are_refused_as_nova_does() -> None:
    assert _ours(create_schema(96), _body(name="web \U0001f600", networks="auto")) is not None
    assert _ours(create_schema(96), _body(name="web é", networks="auto")) is None
