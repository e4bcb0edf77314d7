"""build_body: the fleet mark, bytes sent exactly, references, numbers, the shared-part cache.

Equality with python-novaclient's bodies is in test_novaclient_parity.py; this file holds
what parity cannot show: bulkboot's deliberate differences and that caching shared
parts never lets one server's values reach another's body.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from novaclient.v2 import shell as nova_shell

from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline import manifest as manifest_module
from bulkboot.pipeline.body import (
    BDM_V2_KEYS,
    NIC_KEYS,
    SERVER_KEYS,
    BodyBuilder,
    build_requests,
)
from bulkboot.pipeline.fingerprint import fingerprint
from bulkboot.pipeline.microversion import Microversion, parse
from bulkboot.pipeline.spec import AS_WRITTEN, Location, Nic, ServerSpec
from tests.pipeline.bodies import build_bodies, build_body, build_request
from tests.pipeline.novaclient_oracle import nova_boot_body

V2_1 = parse("2.1")
V2_36 = parse("2.36")
V2_37 = parse("2.37")
V2_96 = parse("2.96")


def make_spec(**fields: Any) -> ServerSpec:
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


class CountingReferences:
    """A References that maps with a prefix and counts every look-up."""

    def __init__(self, prefix: str = "id-") -> None:
        self.prefix = prefix
        self.calls: list[tuple[str, str]] = []

    def image(self, ref: str) -> str:
        self.calls.append(("image", ref))
        return self.prefix + ref

    def image_with(self, properties: Mapping[str, str]) -> str:
        self.calls.append(("image_with", repr(sorted(properties.items()))))
        return self.prefix + "matched"

    def flavor(self, ref: str) -> str:
        self.calls.append(("flavor", ref))
        return self.prefix + ref

    def network(self, name: str) -> str:
        self.calls.append(("network", name))
        return self.prefix + name


# ----------------------------------------------------------------- the fleet mark


def test_every_body_carries_the_fleet_mark_and_its_spec_mark() -> None:
    bare = build_body(make_spec(fleet="blue"), AS_WRITTEN, V2_96)
    assert bare["server"]["metadata"] == {FLEET_MARK_KEY: "blue", SPEC_MARK_KEY: fingerprint(bare)}
    with_metadata = build_body(make_spec(fleet="blue", metadata={"role": "web"}), AS_WRITTEN, V2_1)
    assert with_metadata["server"]["metadata"] == {
        "role": "web",
        FLEET_MARK_KEY: "blue",
        SPEC_MARK_KEY: fingerprint(with_metadata),
    }


def test_the_fleet_mark_is_the_wire_key_status_and_destroy_look_for() -> None:
    assert FLEET_MARK_KEY == "bulkboot:fleet"


# ----------------------------------------------------------------- bytes, exactly


def test_user_data_is_sent_byte_for_byte(tmp_path: Path) -> None:
    """novaclient reads user data as text (CRLF becomes LF); bulkboot sends the bytes."""
    data = b"#!/bin/sh\r\necho windows line ends\r\n"
    body = build_body(make_spec(user_data=data), AS_WRITTEN, V2_96)
    assert base64.b64decode(body["server"]["user_data"]) == data

    script = tmp_path / "user-data"
    script.write_bytes(data)
    sent = nova_boot_body(
        ["--image", "cirros-0.6.2", "--flavor", "m1.small", "--user-data", str(script), "x"],
        "2.96",
    )
    assert base64.b64decode(sent["server"]["user_data"]) == data.replace(b"\r\n", b"\n")


def test_binary_user_data_and_files_are_sent() -> None:
    blob = bytes(range(256))
    body = build_body(
        make_spec(user_data=blob, files=(("/bin/tool", blob), ("/a", b"\r\n"))),
        AS_WRITTEN,
        V2_1,
    )
    assert base64.b64decode(body["server"]["user_data"]) == blob
    personality = body["server"]["personality"]
    assert [p["path"] for p in personality] == ["/a", "/bin/tool"]
    assert [base64.b64decode(p["contents"]) for p in personality] == [b"\r\n", blob]


def test_empty_user_data_is_not_sent() -> None:
    # novaclient: an empty --user-data file is falsy and left out.
    assert "user_data" not in build_body(make_spec(user_data=b""), AS_WRITTEN, V2_1)["server"]


# ----------------------------------------------------------------- references


def test_references_resolve_names_but_not_ids() -> None:
    refs = CountingReferences()
    spec = make_spec(
        image="cirros",
        flavor="m1.small",
        networks=(Nic(net_name="private"), Nic(net_id="0b5e3c4e-0000-4000-8000-000000000001")),
    )
    server = build_body(spec, refs, V2_96)["server"]
    assert server["imageRef"] == "id-cirros"
    assert server["flavorRef"] == "id-m1.small"
    assert server["networks"] == [
        {"uuid": "id-private"},
        {"uuid": "0b5e3c4e-0000-4000-8000-000000000001"},
    ]
    assert ("network", "0b5e3c4e-0000-4000-8000-000000000001") not in refs.calls


def test_image_with_is_resolved_by_its_properties() -> None:
    refs = CountingReferences()
    server = build_body(make_spec(image=None, image_with={"os_distro": "ubuntu"}), refs, V2_96)[
        "server"
    ]
    assert server["imageRef"] == "id-matched"
    assert refs.calls[0] == ("image_with", "[('os_distro', 'ubuntu')]")


def test_a_group_looks_each_reference_up_once() -> None:
    refs = CountingReferences()
    shared = {"networks": (Nic(net_name="private"),), "metadata": {"role": "web"}}
    specs = [make_spec(name=f"web-{i}", index=i, **shared) for i in range(1000)]
    bodies = build_bodies(specs, refs, V2_96)
    assert sorted(refs.calls) == [
        ("flavor", "m1.small"),
        ("image", "cirros"),
        ("network", "private"),
    ]
    assert [b["server"]["name"] for b in bodies] == [f"web-{i}" for i in range(1000)]


def test_the_image_becomes_boot_disk_zero_of_block_device_mapping_v2() -> None:
    server = build_body(
        make_spec(block_devices=({"source": "blank", "size": "5"},)), CountingReferences(), V2_1
    )["server"]
    assert server["imageRef"] == "id-cirros"
    assert server["block_device_mapping_v2"][0] == {
        "uuid": "id-cirros",
        "source_type": "image",
        "destination_type": "local",
        "boot_index": 0,
        "delete_on_termination": True,
    }


# ----------------------------------------------------------------- microversions


@pytest.mark.parametrize("networks", [None, ()])
def test_no_networks_means_auto_from_2_37_and_nothing_before(networks: Any) -> None:
    assert "networks" not in build_body(make_spec(networks=networks), AS_WRITTEN, V2_36)["server"]
    assert build_body(make_spec(networks=networks), AS_WRITTEN, V2_37)["server"]["networks"] == (
        "auto"
    )


# ----------------------------------------------------------------- numbers


def test_digit_strings_become_numbers_and_other_text_stays() -> None:
    server = build_body(
        make_spec(
            block_devices=(
                {"source": "blank", "size": "10", "bootindex": "-1", "device": "vdb"},
                {"source": "volume", "id": "v", "bootindex": "1", "tag": "007"},
            ),
            ephemeral=({"size": "2"},),
            swap=512,
        ),
        AS_WRITTEN,
        V2_96,
    )["server"]
    _image, blank, volume, ephemeral, swap = server["block_device_mapping_v2"]
    assert (blank["volume_size"], blank["boot_index"], blank["device_name"]) == (10, -1, "vdb")
    assert (volume["boot_index"], volume["tag"]) == (1, "007")  # a tag is text, digits or not
    assert ephemeral["volume_size"] == 2
    assert swap["volume_size"] == 512


def test_legacy_mapping_size_is_a_number_and_delete_flag_as_written() -> None:
    server = build_body(
        make_spec(image=None, block_device_mapping={"vda": "vol-1:snap:10:true"}), AS_WRITTEN, V2_1
    )["server"]
    assert server["block_device_mapping"] == [
        {
            "device_name": "vda",
            "snapshot_id": "vol-1",
            "volume_size": 10,
            "delete_on_termination": "true",
        }
    ]
    assert server["imageRef"] == ""


# ----------------------------------------------------------------- the shared-part cache


def test_alternating_specs_each_get_their_own_shared_part() -> None:
    a = make_spec(name="a", image="img-a", networks=(Nic(net_name="n-a"),))
    b = make_spec(name="b", image="img-b", networks=(Nic(net_name="n-b"),), key_name="k")
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    bodies = [builder.build(spec) for spec in (a, b, a, b, a)]
    fresh = {spec.name: BodyBuilder(AS_WRITTEN, V2_96).build(spec) for spec in (a, b)}
    assert bodies == [fresh["a"], fresh["b"], fresh["a"], fresh["b"], fresh["a"]]
    assert bodies[0]["server"]["imageRef"] == "img-a"
    assert "key_name" not in bodies[0]["server"]


def test_per_server_values_do_not_leak_into_the_next_body() -> None:
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    first = builder.build(
        make_spec(name="a", description="only a", hostname="host-a", metadata={"i": "1"})
    )
    second = builder.build(make_spec(name="b"))
    assert first["server"]["description"] == "only a"
    assert first["server"]["hostname"] == "host-a"
    assert second["server"] == {
        "name": "b",
        "imageRef": "cirros",
        "flavorRef": "m1.small",
        "min_count": 1,
        "max_count": 1,
        "networks": "auto",
        "metadata": {FLEET_MARK_KEY: "lab", SPEC_MARK_KEY: fingerprint(second)},
    }
    # nor does the first one's spec mark (its description, hostname and metadata)
    alone = BodyBuilder(AS_WRITTEN, V2_96).build(make_spec(name="b"))
    assert second["server"]["metadata"][SPEC_MARK_KEY] == alone["server"]["metadata"][SPEC_MARK_KEY]
    assert first["server"]["metadata"][SPEC_MARK_KEY] != alone["server"]["metadata"][SPEC_MARK_KEY]


def test_equal_values_in_distinct_objects_share_one_part() -> None:
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    one = builder.build(make_spec(name="a", security_groups=("web",), scheduler_hints={"k": "v"}))
    other = builder.build(make_spec(name="b", key_name="x"))  # breaks the run of alike specs
    two = builder.build(make_spec(name="c", security_groups=("web",), scheduler_hints={"k": "v"}))
    assert one["server"]["security_groups"] is two["server"]["security_groups"]
    assert one["os:scheduler_hints"] is two["os:scheduler_hints"]
    assert "security_groups" not in other["server"]


def test_bodies_do_not_share_what_differs_per_server() -> None:
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    meta = {"role": "web"}
    one, two = (builder.build(make_spec(name=n, metadata=meta)) for n in ("a", "b"))
    assert one is not two
    assert one["server"] is not two["server"]
    assert one["server"]["metadata"] is not two["server"]["metadata"]
    one["server"]["name"] = "changed"
    assert two["server"]["name"] == "b"
    assert meta == {"role": "web"}  # the spec's mapping is never written to


def test_many_distinct_shared_parts_stay_correct() -> None:
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    count = BodyBuilder._MAX_TEMPLATES + 10  # past the point where the cache is cleared
    for i in range(count):
        server = builder.build(make_spec(name=f"s{i}", flavor=f"f{i}"))["server"]
        assert server["flavorRef"] == f"f{i}"


def test_each_body_follows_its_references_and_microversion() -> None:
    spec = make_spec()
    assert build_body(spec, CountingReferences("x-"), V2_96)["server"]["imageRef"] == "x-cirros"
    assert build_body(spec, CountingReferences("y-"), V2_96)["server"]["imageRef"] == "y-cirros"
    assert "networks" not in build_body(spec, AS_WRITTEN, V2_36)["server"]
    assert build_body(spec, AS_WRITTEN, V2_37)["server"]["networks"] == "auto"


# ----------------------------------------------------------------- shape and tables


def test_build_request_is_one_post_to_servers() -> None:
    spec = make_spec(scheduler_hints={"group": "g"})
    request = build_request(spec, AS_WRITTEN, V2_96)
    assert list(request) == ["name", "method", "path", "body"]
    assert (request["name"], request["method"], request["path"]) == ("web-01", "POST", "/servers")
    assert set(request["body"]) == {"server", "os:scheduler_hints"}
    assert request["body"] == build_body(spec, AS_WRITTEN, V2_96)


def test_bodies_are_plain_json() -> None:
    spec = make_spec(
        files=(("/f", b"x"),),
        user_data=b"u",
        scheduler_hints={"same_host": ("a", "b")},
        networks=(Nic(net_name="n", v4_fixed_ip="10.0.0.1", tag="t"),),
        tags=("a",),
        block_devices=({"source": "blank", "size": "1"},),
    )
    body = build_body(spec, AS_WRITTEN, V2_96)
    assert json.loads(json.dumps(body)) == body


def test_every_spec_field_has_a_wire_key() -> None:
    bookkeeping = {"fleet", "location", "group", "index"}
    fields = {f.name for f in dataclasses.fields(ServerSpec)} - bookkeeping
    assert set(SERVER_KEYS) == fields


def test_block_device_keys_are_novaclients_and_the_manifests() -> None:
    assert dict(BDM_V2_KEYS) == nova_shell.CLIENT_BDM2_KEYS
    assert set(BDM_V2_KEYS) == set(manifest_module.BDM_KEYS)


def test_nic_keys_cover_every_nic_field() -> None:
    assert set(NIC_KEYS) == {f.name for f in dataclasses.fields(Nic)} - {"location"}


def test_microversion_is_kept_by_the_builder() -> None:
    assert BodyBuilder(AS_WRITTEN, Microversion(2, 42)).microversion == parse("2.42")


def test_after_a_run_of_distinct_servers_every_body_is_still_right() -> None:
    """Past many misses the builder stops looking templates up; bodies stay exact."""
    builder = BodyBuilder(AS_WRITTEN, V2_96)
    distinct = [
        make_spec(
            name=f"d{i}", networks=(Nic(net_name="n", v4_fixed_ip=f"10.0.{i // 250}.{i % 250}"),)
        )
        for i in range(600)
    ]
    for i, spec in enumerate(distinct):
        assert builder.build(spec)["server"]["networks"][0]["fixed_ip"] == (
            f"10.0.{i // 250}.{i % 250}"
        )
    a, b = make_spec(name="a", image="img-a"), make_spec(name="b", image="img-b")
    images = [builder.build(spec)["server"]["imageRef"] for spec in (a, b, a, b)]
    assert images == ["img-a", "img-b", "img-a", "img-b"]


def test_build_requests_and_bodies_match_one_at_a_time_and_restore_the_collector() -> None:
    specs = [make_spec(name=f"s{i}", index=i, metadata={"i": str(i)}) for i in range(50)]
    assert build_requests(specs, AS_WRITTEN, V2_96) == [
        build_request(spec, AS_WRITTEN, V2_96) for spec in specs
    ]
    assert build_bodies(specs, AS_WRITTEN, V2_1) == [
        build_body(spec, AS_WRITTEN, V2_1) for spec in specs
    ]
    assert gc.isenabled()
    gc.disable()
    try:
        build_bodies(specs, AS_WRITTEN, V2_96)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
