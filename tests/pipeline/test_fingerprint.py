"""The spec mark: what it hashes, what it leaves out, and which fields it says differ."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from bulkboot.engine.members import member_spec
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.fingerprint import FIELD_NAMES, differing, fingerprint, split
from bulkboot.pipeline.microversion import parse
from bulkboot.pipeline.spec import AS_WRITTEN, Location, Nic, ServerSpec

V2_36 = parse("2.36")
V2_37 = parse("2.37")
V2_96 = parse("2.96")


def spec(**fields: Any) -> ServerSpec:
    base: dict[str, Any] = {
        "name": "web-01",
        "fleet": "lab",
        "location": Location("lab.yaml", 3, 5),
        "group": "web-{index:02d}",
        "image": "cirros",
        "flavor": "m1.small",
    }
    base.update(fields)
    return ServerSpec(**base)


def mark(server: ServerSpec, version: Any = V2_96) -> str:
    body = BodyBuilder(AS_WRITTEN, version).build(server)
    value = body["server"]["metadata"][SPEC_MARK_KEY]
    assert isinstance(value, str)
    return value


def test_a_mark_is_one_part_per_field_of_the_body() -> None:
    value = mark(spec(user_data=b"#!/bin/sh\n", metadata={"role": "web"}))
    assert split(value) is not None
    assert set(split(value) or {}) == {"i", "f", "n", "u", "m"}
    assert value.startswith("1:i") and len(value) == 2 + 5 * 9 + 4


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"flavor": "m1.large"}, ("flavor",)),
        ({"image": "ubuntu"}, ("image",)),
        ({"networks": (Nic(net_id="net-2"),)}, ("networks",)),
        ({"user_data": b"#!/bin/sh\necho two\n"}, ("user_data",)),
        ({"metadata": {"role": "db"}}, ("metadata",)),
        ({"key_name": "other"}, ("key_name",)),
        ({"security_groups": ("web", "ssh")}, ("security_groups",)),
        ({"availability_zone": "az2"}, ("availability_zone",)),
        ({"scheduler_hints": {"group": "g2"}}, ("scheduler_hints",)),
        ({"description": "two"}, ("description",)),
        ({"hostname": "web-two"}, ("hostname",)),
        ({"tags": ("b",)}, ("tags",)),
        ({"config_drive": True}, ("config_drive",)),
        ({"files": (("/etc/x", b"2"),)}, ("files",)),
        ({"flavor": "m1.large", "image": "ubuntu"}, ("image", "flavor")),
    ],
)
def test_each_change_names_its_field(change: dict[str, Any], fields: tuple[str, ...]) -> None:
    before = spec(
        networks=(Nic(net_id="net-1"),),
        user_data=b"#!/bin/sh\necho one\n",
        metadata={"role": "web"},
        key_name="mine",
        security_groups=("web",),
        availability_zone="az1",
        scheduler_hints={"group": "g1"},
        description="one",
        hostname="web-one",
        tags=("a",),
        files=(("/etc/x", b"1"),),
    )
    after = dataclasses.replace(before, **change)
    assert differing(mark(after), mark(before)) == fields


def test_what_is_not_the_servers_own_is_not_hashed() -> None:
    base = mark(spec(metadata={"a": "1", "b": "2"}))
    # the name (servers are matched by it), how many one request makes, the password
    assert mark(spec(name="other", metadata={"a": "1", "b": "2"})) == base
    assert mark(spec(min_count=2, max_count=5, metadata={"a": "1", "b": "2"})) == base
    assert mark(spec(admin_pass="s3cret", metadata={"a": "1", "b": "2"})) == base
    # nor the order keys were written in, nor the fleet (its mark is not metadata)
    assert mark(spec(metadata={"b": "2", "a": "1"})) == base
    assert mark(spec(fleet="other", metadata={"a": "1", "b": "2"})) == base


def test_a_multi_create_member_carries_its_requests_mark() -> None:
    group = spec(name="pool", min_count=1, max_count=3)
    assert mark(member_spec(group, "pool-2")) == mark(group)


def test_a_microversion_that_adds_networks_auto_changes_no_mark() -> None:
    """Before 2.37 a body without networks says nothing; from 2.37 it says "auto"."""
    assert mark(spec(), V2_36) == mark(spec(), V2_37)
    assert mark(spec(networks="auto"), V2_36) == mark(spec(), V2_37)
    assert mark(spec(networks="none"), V2_37) != mark(spec(), V2_37)


def test_the_mark_of_a_body_is_the_mark_it_carries_whatever_was_built_before() -> None:
    """The builder shares digests between servers: never one server's in another's mark."""
    rng = random.Random(7)
    choices: dict[str, list[Any]] = {
        "image": ["a", "b"],
        "flavor": ["1", "2"],
        "metadata": [{}, {"k": "1"}, {"k": "2"}],
        "description": [None, "x", "y"],
        "hostname": [None, "h1"],
        "networks": [None, "none", (Nic(net_id="n1"),), (Nic(net_id="n1", v4_fixed_ip="1.2.3.4"),)],
        "user_data": [None, b"one", b"two"],
        "scheduler_hints": [{}, {"group": "g"}],
    }
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    for index in range(400):
        fields = {key: rng.choice(values) for key, values in choices.items()}
        server = spec(name=f"s{index}", **fields)
        body = builder.build(server)
        metadata = body["server"]["metadata"]
        assert metadata[SPEC_MARK_KEY] == fingerprint(body) == mark(server)
        assert metadata[FLEET_MARK_KEY] == "lab"


@pytest.mark.parametrize("found", ["", "2:abc", "1:q12345678", "1:i1234", "1:i12345678.i12345678"])
def test_a_mark_of_another_version_or_shape_is_not_compared(found: str) -> None:
    assert split(found) is None
    assert differing(mark(spec()), found) is None


def test_equal_marks_differ_in_nothing() -> None:
    assert differing(mark(spec()), mark(spec())) == ()
    first = ["image", "flavor", "networks", "user_data", "metadata"]
    assert list(FIELD_NAMES.values())[:5] == first
