"""bulkboot's bodies equal python-novaclient 18.x's for the same arguments.

Each case is a ServerSpec and a microversion. ``nova_argv`` writes the ``nova boot``
command line a user would type for the same server (one flag per manifest field, as
docs/manifest.md maps them); novaclient's own parser, ``shell._boot`` and
``ServerManager.create`` turn it into the body (see ``novaclient_oracle``). The two
bodies must be equal after removing the fleet mark and after reading novaclient's digit
strings as numbers where it sends digit strings (block device sizes and boot indexes).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bulkboot.errors import ManifestError
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.microversion import (
    MAX_SUPPORTED,
    field_supported,
    offline,
    parse,
    supports_bdm_tags,
    supports_nic_tags,
    supports_volume_type,
)
from bulkboot.pipeline.spec import Limits, Location, Manifest, Nic, ServerSpec
from bulkboot.pipeline.validate import check, validate
from bulkboot.simulator.nova_schema import create_schema
from bulkboot.simulator.schemacheck import SchemaViolation
from bulkboot.simulator.schemacheck import check as schema_check
from tests.pipeline.bodies import build_body
from tests.pipeline.novaclient_oracle import CatalogReferences, OracleRejected, nova_boot_body

REFS = CatalogReferences()
VOLUME = "0b5e3c4e-3333-4000-8000-000000000001"
SNAPSHOT = "0b5e3c4e-4444-4000-8000-000000000001"
PORT = "0b5e3c4e-5555-4000-8000-000000000001"
NET_ID = "0b5e3c4e-2222-4000-8000-0000000000ff"
GROUP = "0b5e3c4e-6666-4000-8000-000000000001"
SERVER_A = "0b5e3c4e-7777-4000-8000-00000000000a"
SERVER_B = "0b5e3c4e-7777-4000-8000-00000000000b"
CLOUD_INIT = b"#cloud-config\npackages:\n  - nginx\nruncmd:\n  - [systemctl, start, nginx]\n"


def make_spec(**fields: Any) -> ServerSpec:
    base: dict[str, Any] = {
        "name": "web-01",
        "fleet": "lab",
        "location": Location("lab.yaml", 7, 5),
        "group": "web-{index:02d}",
        "image": "cirros-0.6.2",
        "flavor": "m1.small",
    }
    base.update(fields)
    return ServerSpec(**base)


def _kv(mapping: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in mapping.items())


def nova_argv(spec: ServerSpec, workdir: Path) -> list[str]:
    """The ``nova boot`` arguments for ``spec``: manifest field -> flag, one for one."""
    argv: list[str] = []
    if spec.image:
        argv += ["--image", spec.image]
    for key, value in (spec.image_with or {}).items():
        argv += ["--image-with", f"{key}={value}"]
    if spec.flavor:
        argv += ["--flavor", spec.flavor]
    if spec.min_count is not None:
        argv += ["--min-count", str(spec.min_count)]
    if spec.max_count is not None:
        argv += ["--max-count", str(spec.max_count)]
    if spec.return_reservation_id:
        argv += ["--return-reservation-id"]
    for key, value in spec.metadata.items():
        argv += ["--meta", f"{key}={value}"]
    for number, (guest_path, contents) in enumerate(spec.files):
        local = workdir / f"file-{number}"
        local.write_bytes(contents)
        argv += ["--file", f"{guest_path}={local}"]
    if spec.key_name:
        argv += ["--key-name", spec.key_name]
    if spec.user_data is not None:
        local = workdir / "user-data"
        local.write_bytes(spec.user_data)
        argv += ["--user-data", str(local)]
    if spec.availability_zone:
        argv += ["--availability-zone", spec.availability_zone]
    if spec.security_groups:
        argv += ["--security-groups", ",".join(spec.security_groups)]
    for device, mapping in spec.block_device_mapping.items():
        argv += ["--block-device-mapping", f"{device}={mapping}"]
    for device_keys in spec.block_devices:
        argv += ["--block-device", _kv(device_keys)]
    if spec.boot_volume:
        argv += ["--boot-volume", spec.boot_volume]
    if spec.snapshot:
        argv += ["--snapshot", spec.snapshot]
    for ephemeral in spec.ephemeral:
        argv += ["--ephemeral", _kv(ephemeral)]
    if spec.swap is not None:
        argv += ["--swap", str(spec.swap)]
    if isinstance(spec.networks, str):
        argv += ["--nic", spec.networks]
    elif spec.networks:
        for nic in spec.networks:
            keys = {
                "net-id": nic.net_id,
                "net-name": nic.net_name,
                "port-id": nic.port_id,
                "v4-fixed-ip": nic.v4_fixed_ip,
                "v6-fixed-ip": nic.v6_fixed_ip,
                "tag": nic.tag,
            }
            argv += ["--nic", _kv({k: v for k, v in keys.items() if v is not None})]
    for key, hint in spec.scheduler_hints.items():
        for value in (hint,) if isinstance(hint, str) else hint:
            argv += ["--hint", f"{key}={value}"]
    if spec.config_drive is not None:
        argv += ["--config-drive", str(spec.config_drive).lower()]
    if spec.admin_pass:
        argv += ["--admin-pass", spec.admin_pass]
    if spec.access_ip_v4 is not None:
        argv += ["--access-ip-v4", spec.access_ip_v4]
    if spec.access_ip_v6 is not None:
        argv += ["--access-ip-v6", spec.access_ip_v6]
    if spec.description:
        argv += ["--description", spec.description]
    if spec.tags:
        argv += ["--tags", ",".join(spec.tags)]
    for certificate in spec.trusted_image_certificates:
        argv += ["--trusted-image-certificate-id", certificate]
    if spec.host:
        argv += ["--host", spec.host]
    if spec.hypervisor_hostname:
        argv += ["--hypervisor-hostname", spec.hypervisor_hostname]
    if spec.hostname:
        argv += ["--hostname", spec.hostname]
    return [*argv, spec.name]


def nova_extra(spec: ServerSpec) -> dict[str, Any]:
    """``ServerManager.create`` arguments ``nova boot`` has no flag for."""
    return {"disk_config": spec.disk_config} if spec.disk_config is not None else {}


def _as_number(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def normalise_novaclient(body: dict[str, Any]) -> dict[str, Any]:
    """Digit strings -> numbers, only in the places novaclient sends digit strings."""
    body = copy.deepcopy(body)
    server = body["server"]
    for entry in server.get("block_device_mapping_v2", []):
        for key in ("volume_size", "boot_index"):
            if key in entry:
                entry[key] = _as_number(entry[key])
    for entry in server.get("block_device_mapping", []):
        if "volume_size" in entry:
            entry["volume_size"] = _as_number(entry["volume_size"])
    return body


def without_fleet_mark(body: dict[str, Any], fleet: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    metadata = body["server"]["metadata"]
    assert metadata.pop(FLEET_MARK_KEY) == fleet
    assert metadata.pop(SPEC_MARK_KEY).startswith("1:")
    if not metadata:
        del body["server"]["metadata"]
    return body


# Every ServerSpec field appears in at least one case; every microversion the issue
# names appears too (minimal boots at each, then fields at the edges of their ranges).
MICROVERSIONS = (
    "2.1",
    "2.19",
    "2.32",
    "2.37",
    "2.42",
    "2.52",
    "2.57",
    "2.63",
    "2.67",
    "2.74",
    "2.90",
    "2.96",
)

CASES: list[Any] = [
    *(pytest.param(mv, {}, id=f"minimal-{mv}") for mv in MICROVERSIONS),
    # identity, placement, access
    pytest.param(
        "2.1",
        {
            "metadata": {"role": "web", "tier": "front"},
            "key_name": "ops",
            "availability_zone": "nova",
            "security_groups": ("default", "web"),
        },
        id="meta-key-az-sg-2.1",
    ),
    pytest.param(
        "2.96",
        {
            "metadata": {"role": "web"},
            "key_name": "ops",
            "availability_zone": "az1:host7",
            "security_groups": ("web",),
        },
        id="meta-key-az-sg-2.96",
    ),
    pytest.param("2.1", {"user_data": CLOUD_INIT}, id="user-data-2.1"),
    pytest.param(
        "2.96", {"user_data": "#!/bin/sh\necho héllo\n".encode()}, id="user-data-utf8-2.96"
    ),
    pytest.param("2.1", {"user_data": b""}, id="user-data-empty-2.1"),
    pytest.param(
        "2.1",
        {"files": (("/etc/motd", b"hello\n"), ("/etc/banner", b"banner\n"))},
        id="files-sorted-2.1",
    ),
    pytest.param(
        "2.52",
        {"files": (("/root/z.txt", b"z"), ("/root/a.txt", b"a\nb\n"), ("/m", b"m"))},
        id="files-2.52",
    ),
    # multi-create
    pytest.param("2.1", {"min_count": 3}, id="min-count-2.1"),
    pytest.param("2.37", {"max_count": 5}, id="max-count-2.37"),
    pytest.param("2.96", {"min_count": 2, "max_count": 4}, id="min-max-2.96"),
    pytest.param(
        "2.96", {"min_count": 2, "max_count": 2, "return_reservation_id": True}, id="rrid-2.96"
    ),
    pytest.param("2.1", {"return_reservation_id": True}, id="rrid-2.1"),
    # scheduler hints: one value stays a string, repeated keys become a list
    pytest.param(
        "2.1",
        {"scheduler_hints": {"group": GROUP}},
        id="hint-2.1",
    ),
    pytest.param(
        "2.96",
        {"scheduler_hints": {"different_host": (SERVER_A, SERVER_B), "cidr": "/24"}},
        id="hints-list-2.96",
    ),
    # simple scalars
    pytest.param("2.19", {"config_drive": True}, id="config-drive-2.19"),
    pytest.param("2.19", {"config_drive": False}, id="config-drive-false-2.19"),
    pytest.param("2.57", {"admin_pass": "s3cret-Pa55"}, id="admin-pass-2.57"),
    pytest.param(
        "2.63", {"access_ip_v4": "192.0.2.10", "access_ip_v6": "2001:db8::10"}, id="access-ip-2.63"
    ),
    pytest.param("2.1", {"disk_config": "AUTO"}, id="disk-config-2.1"),
    pytest.param("2.96", {"disk_config": "MANUAL"}, id="disk-config-2.96"),
    pytest.param("2.19", {"description": "front end"}, id="description-2.19"),
    pytest.param("2.52", {"tags": ("web", "prod")}, id="tags-2.52"),
    pytest.param(
        "2.63", {"trusted_image_certificates": ("cert-1", "cert-2")}, id="trusted-certs-2.63"
    ),
    pytest.param(
        "2.74", {"host": "compute-3", "hypervisor_hostname": "compute-3.lab"}, id="host-2.74"
    ),
    pytest.param("2.90", {"hostname": "web01"}, id="hostname-2.90"),
    pytest.param("2.96", {"hostname": "web01.lab.example.org"}, id="hostname-fqdn-2.96"),
    # images
    pytest.param(
        "2.1", {"image": None, "image_with": {"os_distro": "ubuntu"}}, id="image-with-2.1"
    ),
    pytest.param(
        "2.67",
        {"image": None, "image_with": {"os_distro": "cirros", "os_version": "0.6.2"}},
        id="image-with-2.67",
    ),
    pytest.param("2.1", {"image": "0b5e3c4e-1111-4000-8000-000000000002"}, id="image-by-id-2.1"),
    pytest.param("2.1", {"flavor": "42"}, id="flavor-by-id-2.1"),
    # boot from volume / snapshot, block devices
    pytest.param("2.1", {"image": None, "boot_volume": VOLUME}, id="boot-volume-2.1"),
    pytest.param("2.37", {"image": None, "snapshot": SNAPSHOT}, id="snapshot-2.37"),
    pytest.param(
        "2.1",
        {
            "block_devices": (
                {
                    "source": "blank",
                    "dest": "volume",
                    "size": "10",
                    "shutdown": "remove",
                    "bootindex": "1",
                },
                {
                    "source": "volume",
                    "id": VOLUME,
                    "bus": "virtio",
                    "device": "vdc",
                    "type": "disk",
                },
            )
        },
        id="block-devices-2.1",
    ),
    pytest.param(
        "2.1",
        {
            "image": None,
            "block_devices": (
                {
                    "source": "image",
                    "id": "0b5e3c4e-1111-4000-8000-000000000001",
                    "dest": "volume",
                    "size": "20",
                    "bootindex": "0",
                    "shutdown": "preserve",
                },
            ),
        },
        id="block-device-image-to-volume-2.1",
    ),
    pytest.param(
        "2.32",
        {"block_devices": ({"source": "blank", "size": "1", "format": "ext4", "tag": "data"},)},
        id="block-device-tag-2.32",
    ),
    pytest.param(
        "2.42",
        {"block_devices": ({"source": "snapshot", "id": SNAPSHOT, "tag": "snap"},)},
        id="block-device-tag-2.42",
    ),
    pytest.param(
        "2.67",
        {
            "block_devices": (
                {"source": "blank", "dest": "volume", "size": "5", "volume_type": "ssd"},
            )
        },
        id="block-device-volume-type-2.67",
    ),
    pytest.param(
        "2.1",
        {"ephemeral": ({"size": "2", "format": "ext4"}, {"size": "1"}), "swap": 512},
        id="ephemeral-swap-2.1",
    ),
    pytest.param(
        "2.96",
        {"image": None, "boot_volume": VOLUME, "swap": 1024, "ephemeral": ({"size": "3"},)},
        id="boot-volume-swap-ephemeral-2.96",
    ),
    pytest.param(
        "2.1",
        {
            "image": None,
            "block_device_mapping": {
                "vda": f"{VOLUME}:::0",
                "vdb": f"{SNAPSHOT}:snap:10:1",
                "vdc": VOLUME,
            },
        },
        id="legacy-bdm-2.1",
    ),
    pytest.param(
        "2.74",
        {"block_device_mapping": {"vdb": f"{VOLUME}:vol:5:false"}},
        id="legacy-bdm-with-image-2.74",
    ),
    pytest.param(
        "2.1",
        {"image": None, "block_device_mapping": {"vda": f"{VOLUME}:vol:1:true:extra"}},
        id="legacy-bdm-5-parts-2.1: novaclient ignores parts after the 4th",
    ),
    # networks
    pytest.param("2.1", {"networks": (Nic(net_id=NET_ID),)}, id="nic-net-id-2.1"),
    pytest.param(
        "2.19",
        {"networks": (Nic(net_name="private", v4_fixed_ip="10.0.0.10"),)},
        id="nic-net-name-fixed-ip-2.19",
    ),
    pytest.param("2.32", {"networks": (Nic(port_id=PORT, tag="mgmt"),)}, id="nic-port-tag-2.32"),
    pytest.param("2.37", {"networks": "none"}, id="nic-none-2.37"),
    pytest.param("2.37", {"networks": "auto"}, id="nic-auto-2.37"),
    pytest.param(
        "2.37", {"networks": (Nic(net_name="public", v6_fixed_ip="2001:db8::5"),)}, id="nic-v6-2.37"
    ),
    pytest.param(
        "2.42",
        {"networks": (Nic(net_name="private", tag="front"), Nic(port_id=PORT))},
        id="two-nics-tag-2.42",
    ),
    pytest.param("2.96", {"networks": "none"}, id="nic-none-2.96"),
    # everything together
    pytest.param(
        "2.52",
        {
            "metadata": {"role": "db"},
            "files": (("/etc/motd", b"db\n"),),
            "key_name": "ops",
            "user_data": CLOUD_INIT,
            "availability_zone": "nova",
            "security_groups": ("default", "db"),
            "block_devices": ({"source": "blank", "dest": "volume", "size": "50"},),
            "swap": 256,
            "networks": (Nic(net_name="private", v4_fixed_ip="10.0.0.20", tag="data"),),
            "scheduler_hints": {"group": GROUP, "same_host": (SERVER_A, SERVER_B)},
            "config_drive": True,
            "admin_pass": "pw",
            "disk_config": "AUTO",
            "access_ip_v4": "192.0.2.1",
            "description": "primary",
            "tags": ("db",),
            "min_count": 1,
            "max_count": 1,
        },
        id="everything-2.52",
    ),
    pytest.param(
        "2.96",
        {
            "image": None,
            "image_with": {"os_distro": "ubuntu"},
            "flavor": "m1.medium",
            "metadata": {"role": "web", "owner": "ops"},
            "key_name": "ops",
            "user_data": CLOUD_INIT,
            "availability_zone": "nova",
            "security_groups": ("web",),
            "block_devices": (
                {
                    "source": "blank",
                    "dest": "volume",
                    "size": "8",
                    "volume_type": "fast",
                    "tag": "scratch",
                    "shutdown": "remove",
                },
            ),
            "ephemeral": ({"size": "1", "format": "vfat"},),
            "networks": (Nic(net_id=NET_ID, tag="a"), Nic(net_name="public")),
            "scheduler_hints": {"different_cell": "c1"},
            "config_drive": True,
            "admin_pass": "pw2",
            "disk_config": "MANUAL",
            "access_ip_v4": "192.0.2.2",
            "access_ip_v6": "2001:db8::2",
            "description": "the front",
            "tags": ("web", "prod"),
            "trusted_image_certificates": ("cert-a",),
            "host": "compute-1",
            "hypervisor_hostname": "compute-1.lab",
            "hostname": "web-01",
            "return_reservation_id": True,
        },
        id="everything-2.96",
    ),
]


@pytest.mark.parametrize(("microversion", "fields"), CASES)
def test_body_equals_novaclient(microversion: str, fields: dict[str, Any], tmp_path: Path) -> None:
    spec = make_spec(**fields)
    expected = normalise_novaclient(
        nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    )
    body = build_body(spec, REFS, parse(microversion))
    assert without_fleet_mark(body, spec.fleet) == expected
    # ... and Nova's own request schema at that microversion takes it, numbers and all
    # (the simulator's transcription of nova 31.0.0's schemas/servers.py).
    schema_check(create_schema(parse(microversion).minor), body)


def test_cases_cover_every_field_and_named_microversion() -> None:
    """The parity cases exercise every ServerSpec field the body reads."""
    covered = {name for case in CASES for name in case.values[1]}
    body_fields = {
        "image",
        "image_with",
        "flavor",
        "min_count",
        "max_count",
        "return_reservation_id",
        "metadata",
        "files",
        "key_name",
        "user_data",
        "availability_zone",
        "security_groups",
        "block_device_mapping",
        "block_devices",
        "boot_volume",
        "snapshot",
        "ephemeral",
        "swap",
        "networks",
        "scheduler_hints",
        "config_drive",
        "admin_pass",
        "disk_config",
        "access_ip_v4",
        "access_ip_v6",
        "description",
        "tags",
        "trusted_image_certificates",
        "host",
        "hypervisor_hostname",
        "hostname",
    }
    assert body_fields - covered == set()
    assert {case.values[0] for case in CASES} >= set(MICROVERSIONS)
    assert len(CASES) >= 40


def manifest_of(spec: ServerSpec, microversion: str) -> Manifest:
    """A hand-built one-server manifest (no groups: the server stands alone)."""
    return Manifest(
        path="lab.yaml",
        name=spec.fleet,
        cloud=None,
        microversion=microversion,
        limits=Limits(),
        servers=(spec,),
    )


@pytest.mark.parametrize(("microversion", "fields"), CASES)
def test_parity_cases_are_valid_manifests(microversion: str, fields: dict[str, Any]) -> None:
    """What novaclient accepts here, bulkboot accepts too: parity is not bought by refusing."""
    spec = make_spec(**fields)
    assert validate(manifest_of(spec, microversion), parse(microversion)) == ()


# novaclient refuses these arguments (its parser, ``_boot``, ``_parse_nics``,
# ``_parse_block_device_mapping_v2`` or ``ServerManager.create``): bulkboot's
# validation must refuse the same server.
REFUSED: list[Any] = [
    pytest.param("2.18", {"description": "d"}, id="description-before-2.19"),
    pytest.param("2.51", {"tags": ("t",)}, id="tags-before-2.52"),
    pytest.param("2.57", {"files": (("/etc/motd", b"x"),)}, id="files-from-2.57"),
    pytest.param("2.62", {"trusted_image_certificates": ("c",)}, id="certs-before-2.63"),
    pytest.param("2.73", {"host": "h"}, id="host-before-2.74"),
    pytest.param("2.73", {"hypervisor_hostname": "h"}, id="hypervisor-hostname-before-2.74"),
    pytest.param("2.89", {"hostname": "web"}, id="hostname-before-2.90"),
    pytest.param("2.36", {"networks": "auto"}, id="nic-auto-before-2.37"),
    pytest.param("2.1", {"networks": "none"}, id="nic-none-2.1"),
    pytest.param("2.31", {"networks": (Nic(net_id=NET_ID, tag="t"),)}, id="nic-tag-2.31"),
    pytest.param("2.37", {"networks": (Nic(net_id=NET_ID, tag="t"),)}, id="nic-tag-2.37"),
    pytest.param("2.41", {"networks": (Nic(net_id=NET_ID, tag="t"),)}, id="nic-tag-2.41"),
    pytest.param(
        "2.31",
        {"block_devices": ({"source": "blank", "size": "1", "tag": "t"},)},
        id="bdm-tag-2.31",
    ),
    pytest.param(
        "2.33",
        {"block_devices": ({"source": "blank", "size": "1", "tag": "t"},)},
        id="bdm-tag-2.33",
    ),
    pytest.param(
        "2.66",
        {
            "block_devices": (
                {"source": "blank", "dest": "volume", "size": "1", "volume_type": "ssd"},
            )
        },
        id="bdm-volume-type-2.66",
    ),
    pytest.param(
        "2.1", {"block_devices": ({"source": "cdrom", "id": VOLUME},)}, id="bdm-bad-source"
    ),
    pytest.param(
        "2.1", {"block_devices": ({"source": "blank", "dest": "remote"},)}, id="bdm-bad-dest"
    ),
    pytest.param(
        "2.1",
        {"block_devices": ({"source": "blank", "size": "1", "shutdown": "keep"},)},
        id="bdm-bad-shutdown",
    ),
    pytest.param("2.1", {"min_count": 0}, id="min-count-0"),
    pytest.param("2.1", {"max_count": 0}, id="max-count-0"),
    pytest.param("2.1", {"min_count": 3, "max_count": 2}, id="min-above-max"),
    pytest.param("2.1", {"flavor": None}, id="no-flavor"),
    pytest.param("2.1", {"image": None}, id="no-boot-source"),
    pytest.param("2.1", {"boot_volume": VOLUME}, id="image-and-boot-volume"),
    pytest.param(
        "2.1",
        {"image": None, "boot_volume": VOLUME, "snapshot": SNAPSHOT},
        id="boot-volume-and-snapshot",
    ),
    pytest.param(
        "2.1", {"block_device_mapping": {"vdb": VOLUME}, "swap": 512}, id="legacy-and-new-bdm"
    ),
    pytest.param(
        "2.1",
        {"networks": (Nic(net_id=NET_ID, v4_fixed_ip="10.0.0.1", v6_fixed_ip="2001:db8::1"),)},
        id="nic-v4-and-v6",
    ),
    pytest.param("2.1", {"networks": (Nic(net_id=NET_ID, port_id=PORT),)}, id="nic-net-and-port"),
    pytest.param("2.1", {"networks": (Nic(v4_fixed_ip="10.0.0.1"),)}, id="nic-no-target"),
    pytest.param(
        "2.1", {"networks": (Nic(net_id=NET_ID, v4_fixed_ip="10.0.0.300"),)}, id="nic-bad-ipv4"
    ),
    pytest.param(
        "2.1", {"networks": (Nic(net_id=NET_ID, v6_fixed_ip="2001:db8::g"),)}, id="nic-bad-ipv6"
    ),
]


@pytest.mark.parametrize(("microversion", "fields"), REFUSED)
def test_what_novaclient_refuses_bulkboot_refuses(
    microversion: str, fields: dict[str, Any], tmp_path: Path
) -> None:
    spec = make_spec(**fields)
    with pytest.raises(OracleRejected):
        nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    problems = validate(manifest_of(spec, microversion), parse(microversion))
    assert problems, "bulkboot accepted what nova boot refuses"
    with pytest.raises(ManifestError):
        check(manifest_of(spec, microversion), parse(microversion))


# bulkboot refuses these although novaclient sends them: each time Nova itself answers
# 400, by the rule named (nova 31.0.0: nova/api/openstack/compute/schemas/servers.py,
# nova/api/validation/parameter_types.py, and the exceptions nova/compute/api.py raises
# that nova/api/openstack/compute/servers.py maps to 400).
STRICTER: list[Any] = [
    pytest.param(
        "2.1",
        {"block_devices": ({"source": "blank", "size": "ten"},)},
        "schemas/servers.py block_device_mapping_v2 volume_size: parameter_types."
        "volume_size pattern ^[0-9]+$",
        id="bdm-size-not-a-number",
    ),
    pytest.param(
        "2.1",
        {"disk_config": "auto"},
        "parameter_types.disk_config enum ['AUTO', 'MANUAL']",
        id="disk-config-case",
    ),
    pytest.param(
        "2.1",
        {"access_ip_v4": "300.1.1.1"},
        "parameter_types.accessIPv4 format ipv4",
        id="access-ip-v4",
    ),
    pytest.param(
        "2.1",
        {"access_ip_v6": "2001:db8::g"},
        "parameter_types.accessIPv6 format ipv6",
        id="access-ip-v6",
    ),
    pytest.param(
        "2.90",
        {"hostname": "web_01"},
        "parameter_types.hostname pattern ^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
        id="hostname-underscore-2.90",
    ),
    pytest.param(
        "2.90",
        {"hostname": "web", "max_count": 2},
        "compute/api.py AmbiguousHostnameForMultipleInstances",
        id="hostname-multi",
    ),
    pytest.param(
        "2.1",
        {"networks": (Nic(net_id=NET_ID, v4_fixed_ip="10.0.0.5"),), "min_count": 2},
        "compute/api.py InvalidFixedIpAndMaxCountRequest",
        id="fixed-ip-multi",
    ),
    pytest.param(
        "2.1",
        {"networks": (Nic(port_id=PORT),), "max_count": 3},
        "compute/api.py MultiplePortsNotApplicable",
        id="port-multi",
    ),
    pytest.param(
        "2.37",
        {"networks": (Nic(net_id="private"),)},
        "schemas/servers.py create_v237 networks uuid format uuid",
        id="net-id-not-uuid-2.37",
    ),
    pytest.param(
        "2.52", {"tags": ("a/b",)}, "parameter_types.tag pattern ^[^,/]*$", id="tag-with-slash"
    ),
    pytest.param(
        "2.52", {"tags": ("t" * 61,)}, "parameter_types.tag maxLength 60", id="tag-too-long"
    ),
    pytest.param(
        "2.1",
        {"metadata": {"a/b": "c"}},
        "parameter_types.metadata patternProperties ^[a-zA-Z0-9-_:. ]{1,255}$",
        id="metadata-key",
    ),
    pytest.param(
        "2.1",
        {"metadata": {"k": "v" * 256}},
        "parameter_types.metadata value maxLength 255",
        id="metadata-value",
    ),
    pytest.param(
        "2.19",
        {"description": "d" * 256},
        "parameter_types.description maxLength 255",
        id="description-too-long",
    ),
    pytest.param(
        "2.1", {"name": "n" * 256}, "parameter_types.name maxLength 255", id="name-too-long"
    ),
    pytest.param(
        "2.1",
        {"user_data": b"x" * 49200},
        "schemas/servers.py user_data format base64 maxLength 65535",
        id="user-data-too-big",
    ),
    pytest.param(
        "2.1",
        {"scheduler_hints": {"group": "my-group"}},
        "schemas/servers.py _hints group format uuid",
        id="hint-group-not-uuid",
    ),
    pytest.param(
        "2.74",
        {"host": "compute 1"},
        "parameter_types.fqdn pattern ^[a-zA-Z0-9-._]*$",
        id="host-with-space",
    ),
    pytest.param(
        "2.1",
        {"swap": 0},
        "parameter_types.volume_size minimum 1 (Nova's validator reads digit strings "
        "as numbers for minimum)",
        id="swap-0",
    ),
    pytest.param(
        "2.1",
        {"ephemeral": ({"size": "0"},)},
        "parameter_types.volume_size minimum 1",
        id="ephemeral-size-0",
    ),
    pytest.param(
        "2.96",
        {"trusted_image_certificates": ("c", "c")},
        "schemas/servers.py trusted_image_certificates uniqueItems",
        id="certs-twice",
    ),
    pytest.param(
        "2.96",
        {"trusted_image_certificates": ("",)},
        "schemas/servers.py trusted_image_certificates items minLength 1",
        id="cert-empty",
    ),
    pytest.param(
        "2.1",
        {"key_name": " ops"},
        "parameter_types.name format 'name' (no edge spaces)",
        id="key-name-space",
    ),
    pytest.param(
        "2.1",
        {"security_groups": ("web ",)},
        "parameter_types.name format 'name' (no edge spaces)",
        id="security-group-space",
    ),
    pytest.param(
        "2.96",
        {"image": None, "boot_volume": VOLUME, "trusted_image_certificates": ("c",)},
        "compute/api.py CertificateValidationFailed (booting from volume)",
        id="certs-boot-from-volume",
    ),
    pytest.param(
        "2.1",
        {"block_devices": ({"source": "volume"},)},
        "compute/api.py block_device.py InvalidBDMFormat 'Missing device UUID.'",
        id="bdm-volume-without-id",
    ),
]


@pytest.mark.parametrize(("microversion", "fields", "nova_rule"), STRICTER)
def test_stricter_than_novaclient_only_where_nova_answers_400(
    microversion: str, fields: dict[str, Any], nova_rule: str, tmp_path: Path
) -> None:
    spec = make_spec(**fields)
    sent = nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    assert sent["server"]["name"] == spec.name  # novaclient would send it ...
    if not nova_rule.startswith("compute/api.py"):  # the rest are Nova's request schema
        # ... and Nova's request schema refuses it (the simulator's transcription) ...
        with pytest.raises(SchemaViolation):
            schema_check(create_schema(parse(microversion).minor), sent)
    problems = validate(manifest_of(spec, microversion), parse(microversion))
    assert problems, f"... so bulkboot refuses it first ({nova_rule})"


# ----------------------------------------------------------------- from manifests
#
# The same comparison driven end to end from YAML: load_manifest -> check -> bodies,
# against `nova boot` command lines written out by hand (not by nova_argv).

WEB_MANIFEST = f"""
name: lab
microversion: "2.52"
defaults:
  image: cirros-0.6.2
  flavor: m1.small
  metadata: {{lab: demo}}
servers:
  - name: "web-{{index:02d}}"
    count: 2
    metadata: {{role: web}}
    user_data: web.yaml
    files: {{/etc/motd: motd.txt}}
    key_name: ops
    security_groups: [default, web]
    networks:
      - {{net-name: private, v4-fixed-ip: "10.0.0.{{index}}", tag: front}}
    scheduler_hints: {{group: {GROUP}}}
    tags: [web, "{{name}}"]
    description: "web server {{index}}"
    config_drive: true
"""

BFV_MANIFEST = f"""
name: vols
microversion: "2.96"
servers:
  - name: db
    flavor: m1.medium
    boot_volume: {VOLUME}
    block_devices:
      - "source=blank,dest=volume,size=20,volume_type=ssd,tag=data,shutdown=remove"
    ephemeral:
      - {{size: 1, format: ext4}}
    swap: 512
    networks: none
    admin_pass: pw
    disk_config: MANUAL
    hostname: db.lab.example.org
  - name: batch
    flavor: "42"
    image_with: {{os_distro: ubuntu}}
    min_count: 2
    max_count: 5
    return_reservation_id: true
    access_ip_v4: 192.0.2.7
    trusted_image_certificates: [cert-1, cert-2]
    host: compute-2
    hypervisor_hostname: compute-2.lab
    scheduler_hints: {{different_host: [{SERVER_A}, {SERVER_B}]}}
"""

LEGACY_MANIFEST = f"""
microversion: "2.1"
servers:
  - name: old
    flavor: m1.small
    block_device_mapping: {{vda: "{VOLUME}:vol:10:true"}}
    availability_zone: nova
    networks:
      - {{net-id: {NET_ID}}}
      - {{port-id: {PORT}}}
    access_ip_v6: "2001:db8::7"
    disk_config: AUTO
"""


def _load(tmp_path: Path, text: str, name: str = "lab.yaml") -> Manifest:
    (tmp_path / "web.yaml").write_bytes(CLOUD_INIT)
    (tmp_path / "motd.txt").write_bytes(b"welcome\n")
    path = tmp_path / name
    path.write_text(text)
    manifest = load_manifest(path)
    check(manifest, offline(manifest.microversion))
    return manifest


def test_manifest_with_templates_equals_nova_boot(tmp_path: Path) -> None:
    manifest = _load(tmp_path, WEB_MANIFEST)
    version = offline(manifest.microversion)
    assert [s.name for s in manifest.servers] == ["web-01", "web-02"]
    for index, spec in enumerate(manifest.servers, 1):
        argv = [
            "--image", "cirros-0.6.2", "--flavor", "m1.small",
            "--meta", "lab=demo", "--meta", "role=web",
            "--user-data", str(tmp_path / "web.yaml"),
            "--file", f"/etc/motd={tmp_path / 'motd.txt'}",
            "--key-name", "ops",
            "--security-groups", "default,web",
            "--nic", f"net-name=private,v4-fixed-ip=10.0.0.{index},tag=front",
            "--hint", f"group={GROUP}",
            "--tags", f"web,web-0{index}",
            "--description", f"web server {index}",
            "--config-drive", "true",
            f"web-0{index}",
        ]  # fmt: skip
        expected = normalise_novaclient(nova_boot_body(argv, "2.52"))
        actual = without_fleet_mark(build_body(spec, REFS, version), "lab")
        assert actual == expected


def test_manifest_boot_from_volume_and_multi_create_equal_nova_boot(tmp_path: Path) -> None:
    manifest = _load(tmp_path, BFV_MANIFEST, "vols.yaml")
    version = offline(manifest.microversion)
    db, batch = manifest.servers
    expected_db = nova_boot_body(
        [
            "--flavor", "m1.medium", "--boot-volume", VOLUME,
            "--block-device", "source=blank,dest=volume,size=20,volume_type=ssd,tag=data,"
            "shutdown=remove",
            "--ephemeral", "size=1,format=ext4", "--swap", "512",
            "--nic", "none", "--admin-pass", "pw", "--hostname", "db.lab.example.org",
            "db",
        ],
        "2.96",
        extra={"disk_config": "MANUAL"},
    )  # fmt: skip
    expected_batch = nova_boot_body(
        [
            "--flavor", "42", "--image-with", "os_distro=ubuntu",
            "--min-count", "2", "--max-count", "5", "--return-reservation-id",
            "--access-ip-v4", "192.0.2.7",
            "--trusted-image-certificate-id", "cert-1",
            "--trusted-image-certificate-id", "cert-2",
            "--host", "compute-2", "--hypervisor-hostname", "compute-2.lab",
            "--hint", f"different_host={SERVER_A}", "--hint", f"different_host={SERVER_B}",
            "batch",
        ],
        "2.96",
    )  # fmt: skip
    assert without_fleet_mark(build_body(db, REFS, version), "vols") == normalise_novaclient(
        expected_db
    )
    assert without_fleet_mark(build_body(batch, REFS, version), "vols") == expected_batch


def test_manifest_legacy_block_device_mapping_equals_nova_boot(tmp_path: Path) -> None:
    manifest = _load(tmp_path, LEGACY_MANIFEST, "old.yaml")
    (spec,) = manifest.servers
    expected = nova_boot_body(
        [
            "--flavor", "m1.small", "--block-device-mapping", f"vda={VOLUME}:vol:10:true",
            "--availability-zone", "nova",
            "--nic", f"net-id={NET_ID}", "--nic", f"port-id={PORT}",
            "--access-ip-v6", "2001:db8::7",
            "old",
        ],
        "2.1",
        extra={"disk_config": "AUTO"},
    )  # fmt: skip
    actual = without_fleet_mark(build_body(spec, REFS, parse("2.1")), "old")
    assert actual == normalise_novaclient(expected)


def test_cases_reach_every_key_novaclient_can_send(tmp_path: Path) -> None:
    """Every wire key ServerManager._boot can write appears in some case's body."""
    sent: set[str] = set()
    for case in CASES:
        microversion, fields = case.values
        spec = make_spec(**fields)
        body = nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
        sent |= set(body) - {"server"}
        sent |= set(body["server"])
    assert sent == {
        "name",
        "imageRef",
        "flavorRef",
        "user_data",
        "metadata",
        "return_reservation_id",
        "key_name",
        "os:scheduler_hints",
        "config_drive",
        "adminPass",
        "min_count",
        "max_count",
        "security_groups",
        "personality",
        "availability_zone",
        "block_device_mapping",
        "block_device_mapping_v2",
        "networks",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "description",
        "tags",
        "trusted_image_certificates",
        "host",
        "hypervisor_hostname",
        "hostname",
    }


# Nova refuses these with 403 (quota-like limits, nova/api/openstack/compute/servers.py
# maps OverQuota to 403): bulkboot refuses them up front too.
REFUSED_BY_LIMITS: list[Any] = [
    pytest.param(
        "2.1",
        {"metadata": {f"k{i}": "v" for i in range(128)}},
        "quota metadata_items 128 (the fleet mark makes 129)",
        id="metadata-items",
    ),
    pytest.param(
        "2.1",
        {"files": tuple((f"/f{i}", b"x") for i in range(6))},
        "quota injected_files 5",
        id="six-files",
    ),
]


@pytest.mark.parametrize(("microversion", "fields", "nova_rule"), REFUSED_BY_LIMITS)
def test_limits_nova_enforces_with_403_are_checked_first(
    microversion: str, fields: dict[str, Any], nova_rule: str, tmp_path: Path
) -> None:
    spec = make_spec(**fields)
    nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    assert validate(manifest_of(spec, microversion), parse(microversion)), nova_rule


# Known divergences: bulkboot refuses what novaclient sends and Nova accepts. Strict
# xfails, so the day bulkboot/pipeline/validate.py aligns they turn into failures to remove.
# The one left is deliberate: the project asks for "exactly one boot source (image,
# image_with, boot_volume, snapshot)", where novaclient silently drops --image-with.
DIVERGENT: list[Any] = [
    pytest.param(
        "2.96",
        {"image_with": {"os_distro": "ubuntu"}},
        id="image-and-image-with: novaclient boots --image and ignores --image-with",
    ),
]


@pytest.mark.xfail(strict=True, reason="validate.py refuses; Nova would accept")
@pytest.mark.parametrize(("microversion", "fields"), DIVERGENT)
def test_known_divergences_from_novaclient(
    microversion: str, fields: dict[str, Any], tmp_path: Path
) -> None:
    spec = make_spec(**fields)
    sent = nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    schema_check(create_schema(parse(microversion).minor), sent)
    assert validate(manifest_of(spec, microversion), parse(microversion)) == ()


def everything_at(minor: int) -> dict[str, Any]:
    """Every field 2.``minor`` accepts, each in its richest form there."""
    version = parse(f"2.{minor}")
    device: dict[str, str] = {"source": "blank", "dest": "volume", "size": "5"}
    if supports_bdm_tags(version):
        device["tag"] = "disk"
    if supports_volume_type(version):
        device["volume_type"] = "ssd"
    nic_tag = "eth0" if supports_nic_tags(version) else None
    fields: dict[str, Any] = {
        "metadata": {"role": "web", "tier": "1"},
        "key_name": "ops",
        "user_data": CLOUD_INIT,
        "availability_zone": "nova",
        "security_groups": ("default", "web"),
        "block_devices": (device,),
        "ephemeral": ({"size": "1", "format": "ext4"},),
        "swap": 128,
        "networks": (
            Nic(net_name="private", v4_fixed_ip="10.0.0.9", tag=nic_tag),
            Nic(net_id=NET_ID),
        ),
        "scheduler_hints": {"group": GROUP, "different_host": (SERVER_A, SERVER_B)},
        "config_drive": True,
        "admin_pass": "pw",
        "disk_config": "AUTO",
        "access_ip_v4": "192.0.2.9",
        "access_ip_v6": "2001:db8::9",
        "return_reservation_id": True,
    }
    gated = {
        "files": (("/etc/motd", b"hi\n"), ("/etc/issue", b"lab\n")),
        "description": "a web server",
        "tags": ("web", "lab"),
        "trusted_image_certificates": ("cert-1",),
        "host": "compute-1",
        "hypervisor_hostname": "compute-1.lab",
        "hostname": "web01",
    }
    fields.update({k: v for k, v in gated.items() if field_supported(k, version)})
    return fields


@pytest.mark.parametrize("minor", range(1, 97))
def test_every_microversion_with_every_field_it_accepts(minor: int, tmp_path: Path) -> None:
    microversion = f"2.{minor}"
    spec = make_spec(**everything_at(minor))
    assert validate(manifest_of(spec, microversion), parse(microversion)) == ()
    expected = normalise_novaclient(
        nova_boot_body(nova_argv(spec, tmp_path), microversion, extra=nova_extra(spec))
    )
    body = build_body(spec, REFS, parse(microversion))
    assert without_fleet_mark(body, spec.fleet) == expected
    schema_check(create_schema(minor), body)


# ----------------------------------------------------------------- above novaclient
#
# python-novaclient 18.x stops at 2.96; Nova 34 goes to 2.104. Nothing in the create
# body changes after 2.96 (Nova's create schema is the same from 2.94 on, no server
# field is gated after 2.90), so above 2.96 the oracle is the 2.96 body: bulkboot must
# build exactly that, and Nova's schema at the higher version must take it.
# tests/realnova/test_parity_real.py sends them to Nova 34 itself, and
# tests/realnova/test_nova_schemas.py holds the simulator's schemas to Nova 34's.
ABOVE_NOVACLIENT = range(97, MAX_SUPPORTED.minor + 1)


@pytest.mark.parametrize("minor", ABOVE_NOVACLIENT)
def test_above_2_96_the_body_is_the_2_96_body(minor: int) -> None:
    assert everything_at(minor) == everything_at(96)
    spec = make_spec(**everything_at(minor))
    assert validate(manifest_of(spec, f"2.{minor}"), parse(f"2.{minor}")) == ()
    body = build_body(spec, REFS, parse(f"2.{minor}"))
    assert body == build_body(spec, REFS, parse("2.96"))
    schema_check(create_schema(minor), body)


@pytest.mark.parametrize(
    ("microversion", "fields"), [case for case in CASES if case.values[0] == "2.96"]
)
def test_every_2_96_case_builds_the_same_body_at_the_newest(
    microversion: str, fields: dict[str, Any]
) -> None:
    """Each parity case written for 2.96 builds the same body at Nova 34's newest."""
    spec = make_spec(**fields)
    newest = MAX_SUPPORTED
    assert validate(manifest_of(spec, str(newest)), newest) == ()
    assert build_body(spec, REFS, newest) == build_body(spec, REFS, parse("2.96"))
    schema_check(create_schema(newest.minor), build_body(spec, REFS, newest))
