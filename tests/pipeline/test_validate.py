"""Every validation rule: the bad input, the expected message, and where it points.

Each manifest is the one group below plus the lines of the case, so a case's lines
start at line 5; a value written as ``    key: value`` stands at column len(key) + 7.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.errors import ManifestError
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.manifest import load_manifest, read_manifest
from bulkboot.pipeline.spec import Limits, Location, Manifest, Nic, ServerSpec
from bulkboot.pipeline.validate import check, validate

HEAD = "servers:\n  - name: web\n    image: cirros\n    flavor: m1.small\n"


def problems(tmp_path: Path, body: str, version: str = "2.96", head: str = HEAD) -> list[str]:
    path = tmp_path / "lab.yaml"
    path.write_text(head + body)
    manifest = load_manifest(path)
    prefix = f"{path}:"
    found = [str(p) for p in validate(manifest, mv.parse(version))]
    assert all(line.startswith(prefix) for line in found), found
    return [line[len(prefix) :] for line in found]


CASES: list[tuple[str, str, str, list[str]]] = [
    # ---- counts (nova boot's _boot)
    (
        "min_count >= 1",
        "    min_count: 0\n",
        "2.96",
        ["5:16: web: min_count should be >= 1, got 0"],
    ),
    (
        "max_count >= 1",
        "    max_count: 0\n",
        "2.96",
        ["5:16: web: max_count should be >= 1, got 0"],
    ),
    (
        "min_count <= max_count",
        "    min_count: 3\n    max_count: 2\n",
        "2.96",
        ["5:16: web: min_count should be <= max_count (got 3 > 2)"],
    ),
    # ---- boot source and block device forms
    (
        "one boot source",
        "    boot_volume: vol-1\n",
        "2.96",
        [
            "5:18: web: more than one boot source (image, boot_volume): give exactly one of "
            "image, image_with, boot_volume or snapshot"
        ],
    ),
    (
        "image and image_with",
        "    image_with: {os_distro: ubuntu}\n",
        "2.96",
        [
            "5:17: web: more than one boot source (image, image_with): give exactly one of "
            "image, image_with, boot_volume or snapshot"
        ],
    ),
    (
        "old and new block devices",
        "    block_device_mapping: {vdb: 'vol-2:::1'}\n    swap: 512\n",
        "2.96",
        ["5:27: web: block_device_mapping (the old form) cannot be mixed with swap (the new form)"],
    ),
    (
        "old block device form",
        "    block_device_mapping: {vdb: 'vol-2:snap:big'}\n",
        "2.96",
        ["5:33: web: block device mapping size 'big' must be a whole number"],
    ),
    (
        "bdm source enum",
        "    block_devices:\n      - {source: tape, id: v1}\n",
        "2.96",
        ["6:18: web: source must be one of 'volume', 'image', 'snapshot' or 'blank', got 'tape'"],
    ),
    (
        "bdm dest enum",
        "    block_devices:\n      - {source: volume, id: v1, dest: disk}\n",
        "2.96",
        ["6:40: web: dest must be either 'local' or 'volume', got 'disk'"],
    ),
    (
        "bdm shutdown",
        "    block_devices:\n      - {source: volume, id: v1, shutdown: keep}\n",
        "2.96",
        ["6:44: web: shutdown must be either 'remove' or 'preserve', got 'keep'"],
    ),
    (
        "bdm needs an id",
        "    block_devices:\n      - {source: volume, size: 0}\n",
        "2.96",
        [
            "6:9: web: a block device with source 'volume' needs an 'id'",
            "6:32: web: size must be a whole number of GiB from 1 to 2147483647, got '0'",
        ],
    ),
    (
        "bdm tag at 2.33",
        "    block_devices:\n      - {source: volume, id: v1, tag: disk1}\n",
        "2.33",
        ["6:39: web: a block device tag needs compute 2.32 or 2.42 or later; validating for 2.33"],
    ),
    (
        "bdm tag at 2.32",
        "    block_devices:\n      - {source: volume, id: v, tag: d}\n",
        "2.32",
        [],
    ),
    (
        "bdm tag at 2.42",
        "    block_devices:\n      - {source: volume, id: v, tag: d}\n",
        "2.42",
        [],
    ),
    (
        "bdm volume_type before 2.67",
        "    block_devices:\n      - {source: blank, dest: volume, size: 1, volume_type: ssd}\n",
        "2.66",
        ["6:61: web: a block device volume_type needs compute 2.67 or later; validating for 2.66"],
    ),
    (
        "bdm volume_type at 2.67",
        "    block_devices:\n      - {source: blank, dest: volume, size: 1, volume_type: ssd}\n",
        "2.67",
        [],
    ),
    (
        "ephemeral size",
        "    ephemeral: [{size: -1}]\n",
        "2.96",
        ["5:24: web: ephemeral size must be a whole number of GiB from 1 to 2147483647, got '-1'"],
    ),
    ("swap >= 1", "    swap: 0\n", "2.96", ["5:11: web: swap must be 1 to 2147483647 MiB, got 0"]),
    (
        "blank volume needs a size",
        "    block_devices:\n      - {source: blank, dest: volume}\n"
        "      - {dest: volume, size: 1}\n      - {source: blank}\n",
        "2.96",
        [
            "6:9: web: a blank volume (source: blank, dest: volume) needs a size (Nova: Blank "
            "volumes need to have non-zero size)"
        ],
    ),
    # ---- numbers past Nova's 32-bit integers (nova/db/constants.py MAX_INT)
    (
        "swap at most MAX_INT",
        "    swap: 999999999999999999999999999999999\n",
        "2.96",
        ["5:11: web: swap must be 1 to 2147483647 MiB, got 999999999999999999999999999999999"],
    ),
    (
        "min_count and max_count at most MAX_INT",
        "    min_count: 2147483648\n    max_count: 99999999999999999999999999999\n",
        "2.96",
        [
            "5:16: web: min_count must be at most 2147483647 (Nova's 32-bit limit), got 2147483648",
            "6:16: web: max_count must be at most 2147483647 (Nova's 32-bit limit), "
            "got 99999999999999999999999999999",
        ],
    ),
    (
        "bdm size at most MAX_INT",
        "    block_devices:\n      - {source: blank, dest: local, size: 2147483648}\n",
        "2.96",
        ["6:44: web: size must be a whole number of GiB from 1 to 2147483647, got '2147483648'"],
    ),
    (
        "bdm bootindex in 32 bits",
        "    block_devices:\n"
        "      - {source: blank, dest: local, size: 1, bootindex: -2147483649}\n",
        "2.96",
        [
            "6:58: web: bootindex must be an integer from -2147483648 to 2147483647, "
            "got '-2147483649'"
        ],
    ),
    (
        "old block device size at most MAX_INT",
        "    block_device_mapping: {vdb: 'vol-2::2147483648'}\n",
        "2.96",
        [
            "5:33: web: block device mapping size '2147483648' must be at most 2147483647 GiB "
            "(Nova's volume_size maximum)"
        ],
    ),
    # ---- nics (_parse_nics, ServerManager._boot, Nova's networks schema)
    (
        "nic needs one network",
        "    networks:\n      - {net-id: 6a1b6f5e-0000-4000-8000-00000000c1a0, net-name: x}\n",
        "2.96",
        [
            "6:9: web: a nic needs exactly one of net-id, net-name or port-id "
            "(got net-id and net-name)"
        ],
    ),
    (
        "nic needs a network",
        "    networks:\n      - {v4-fixed-ip: 10.0.0.1}\n",
        "2.96",
        ["6:9: web: a nic needs exactly one of net-id, net-name or port-id (got none of them)"],
    ),
    (
        "nic ipv4",
        "    networks:\n      - {net-name: private, v4-fixed-ip: 10.0.0.256}\n",
        "2.96",
        ["6:42: web: v4-fixed-ip '10.0.0.256' is not an IPv4 address"],
    ),
    (
        "nic ipv6",
        "    networks:\n      - {net-name: private, v6-fixed-ip: 10.0.0.1}\n",
        "2.96",
        ["6:42: web: v6-fixed-ip '10.0.0.1' is not an IPv6 address"],
    ),
    (
        "nic both fixed IPs",
        "    networks:\n      - {net-name: p, v4-fixed-ip: 10.0.0.1, v6-fixed-ip: 'fd00::1'}\n",
        "2.96",
        ["6:9: web: only one of v4-fixed-ip and v6-fixed-ip may be given per nic"],
    ),
    (
        "auto before 2.37",
        "    networks: auto\n",
        "2.36",
        ["5:15: web: networks: auto needs compute 2.37 or later; validating for 2.36"],
    ),
    (
        "none before 2.37",
        "    networks: [none]\n",
        "2.20",
        ["5:15: web: networks: none needs compute 2.37 or later; validating for 2.20"],
    ),
    (
        "nic tag at 2.40",
        "    networks:\n      - {net-name: private, tag: eth0}\n",
        "2.40",
        ["6:34: web: a nic tag needs compute 2.32 to 2.36 or 2.42 or later; validating for 2.40"],
    ),
    ("nic tag at 2.36", "    networks:\n      - {net-name: private, tag: eth0}\n", "2.36", []),
    ("nic tag at 2.42", "    networks:\n      - {net-name: private, tag: eth0}\n", "2.42", []),
    (
        "nic tag format",
        "    networks:\n      - {net-name: private, tag: a/b}\n",
        "2.96",
        ["6:34: web: nic tag 'a/b' must not contain '/' or ','"],
    ),
    (
        "net-id a UUID from 2.37",
        "    networks:\n      - {net-id: private}\n",
        "2.37",
        [
            "6:18: web: net-id 'private' must be a UUID from compute 2.37 on "
            "(use net-name for a network's name)"
        ],
    ),
    ("net-id any before 2.37", "    networks:\n      - {net-id: private}\n", "2.36", []),
    (
        "port-id a UUID",
        "    networks:\n      - {port-id: p1}\n",
        "2.96",
        ["6:19: web: port-id 'p1' must be a UUID"],
    ),
    # ---- one request, many servers (nova/compute/api.py)
    (
        "hostname with max_count",
        "    max_count: 2\n    hostname: web\n",
        "2.96",
        ["6:15: web: hostname cannot be set when one request makes 2 servers"],
    ),
    (
        "fixed IP with max_count",
        "    min_count: 3\n    networks:\n      - {net-name: p, v4-fixed-ip: 10.0.0.1}\n",
        "2.96",
        ["7:9: web: a fixed IP cannot be given when one request makes 3 servers"],
    ),
    (
        "port with max_count",
        "    max_count: 2\n    networks:\n"
        "      - {port-id: 6a1b6f5e-0000-4000-8000-00000000c1a0}\n",
        "2.96",
        ["7:19: web: a port cannot be given when one request makes 2 servers"],
    ),
    # ---- microversion gates of nova boot's arguments
    (
        "description before 2.19",
        "    description: d\n",
        "2.18",
        ["5:18: web: 'description' needs compute 2.19 or later; validating for 2.18"],
    ),
    ("description at 2.19", "    description: d\n", "2.19", []),
    (
        "tags before 2.52",
        "    tags: [a]\n",
        "2.51",
        ["5:11: web: 'tags' needs compute 2.52 or later; validating for 2.51"],
    ),
    ("tags at 2.52", "    tags: [a]\n", "2.52", []),
    (
        "trusted certificates before 2.63",
        "    trusted_image_certificates: [c1]\n",
        "2.62",
        [
            "5:33: web: 'trusted_image_certificates' needs compute 2.63 or later; "
            "validating for 2.62"
        ],
    ),
    ("trusted certificates at 2.63", "    trusted_image_certificates: c1\n", "2.63", []),
    (
        "host before 2.74",
        "    host: c1\n",
        "2.73",
        ["5:11: web: 'host' needs compute 2.74 or later; validating for 2.73"],
    ),
    (
        "hypervisor_hostname before 2.74",
        "    hypervisor_hostname: c1\n",
        "2.73",
        ["5:26: web: 'hypervisor_hostname' needs compute 2.74 or later; validating for 2.73"],
    ),
    ("host at 2.74", "    host: c1.example\n    hypervisor_hostname: n1\n", "2.74", []),
    (
        "hostname before 2.90",
        "    hostname: web\n",
        "2.89",
        ["5:15: web: 'hostname' needs compute 2.90 or later; validating for 2.89"],
    ),
    ("hostname at 2.90", "    hostname: web\n", "2.90", []),
    # ---- Nova's schema
    (
        "hostname label before 2.94",
        "    hostname: web.example.com\n",
        "2.93",
        [
            "5:15: web: hostname 'web.example.com' must be 2 to 63 of a-z A-Z 0-9 and -, not "
            "starting or ending with - (a domain name needs compute 2.94; validating for 2.93)"
        ],
    ),
    ("hostname FQDN from 2.94", "    hostname: web.example.com\n", "2.94", []),
    (
        "hostname FQDN characters",
        "    hostname: 'web example'\n",
        "2.94",
        ["5:15: web: hostname 'web example' must be 1 to 255 of a-z A-Z 0-9 - . _"],
    ),
    (
        "host characters",
        "    host: 'a/b'\n",
        "2.96",
        ["5:11: web: host 'a/b' must be 1 to 255 of a-z A-Z 0-9 - . _"],
    ),
    (
        "metadata key",
        "    metadata: {'role!': web}\n",
        "2.96",
        [
            "5:25: web: metadata key 'role!' must be 1 to 255 of the characters "
            "a-z A-Z 0-9 - _ : . and space"
        ],
    ),
    (
        "metadata value length",
        f"    metadata: {{role: {'x' * 256}}}\n",
        "2.96",
        ["5:22: web: metadata value of 'role' is longer than 255 characters"],
    ),
    (
        "metadata mark is reserved",
        "    metadata: {'bulkboot:fleet': other}\n",
        "2.96",
        ["5:34: web: metadata key 'bulkboot:fleet' is bulkboot's own fleet mark"],
    ),
    (
        "tag length",
        f"    tags: [{'t' * 61}]\n",
        "2.96",
        ["5:12: web: tag '" + "t" * 61 + "' must be 1 to 60 characters, got 61"],
    ),
    (
        "tag characters",
        "    tags: ['a/b']\n",
        "2.96",
        ["5:12: web: tag 'a/b' must not contain '/' or ','"],
    ),
    (
        "at most 50 tags",
        "    tags: [" + ", ".join(f"t{i}" for i in range(51)) + "]\n",
        "2.96",
        ["5:11: web: 51 tags, more than the 50 Nova allows"],
    ),
    (
        "disk_config",
        "    disk_config: auto\n",
        "2.96",
        ["5:18: web: disk_config must be AUTO or MANUAL, got 'auto'"],
    ),
    (
        "access_ip_v4",
        "    access_ip_v4: 'fd00::1'\n",
        "2.96",
        ["5:19: web: access_ip_v4 'fd00::1' is not an IPv4 address"],
    ),
    (
        "access_ip_v6",
        "    access_ip_v6: 10.1.1.1\n",
        "2.96",
        ["5:19: web: access_ip_v6 '10.1.1.1' is not an IPv6 address"],
    ),
    (
        "description length",
        f"    description: {'d' * 256}\n",
        "2.96",
        ["5:18: web: description must be at most 255 characters, got 256"],
    ),
    (
        "key_name format",
        "    key_name: ' padded'\n",
        "2.96",
        ["5:15: web: key_name ' padded' must not start or end with a space"],
    ),
    (
        "security group names",
        '    security_groups: [default, "\\tweb"]\n',
        "2.96",
        ["5:32: web: security group '\\tweb' holds a character Nova refuses ('\\t')"],
    ),
    (
        "scheduler hint group",
        "    scheduler_hints: {group: my-group, same_host: [x]}\n",
        "2.96",
        [
            "5:30: web: scheduler hint group must be one server group UUID, got 'my-group'",
            "5:51: web: scheduler hint same_host takes server UUIDs, got 'x'",
        ],
    ),
    (
        "trusted certificates are unique",
        "    trusted_image_certificates: [a, a]\n",
        "2.96",
        ["5:33: web: trusted image certificate IDs must be unique"],
    ),
]


@pytest.mark.parametrize(
    ("body", "version", "expected"),
    [pytest.param(body, version, expected, id=name) for name, body, version, expected in CASES],
)
def test_rule(tmp_path: Path, body: str, version: str, expected: list[str]) -> None:
    assert problems(tmp_path, body, version) == expected


def test_flavor_is_required_at_the_group(tmp_path: Path) -> None:
    head = "servers:\n  - name: web\n    image: cirros\n"
    assert problems(tmp_path, "", head=head) == [
        "2:5: web: flavor is required (nova boot: 'you need to specify a Flavor ID')"
    ]


def test_boot_volume_and_snapshot_are_ids(tmp_path: Path) -> None:
    head = "servers:\n  - name: web\n    flavor: m1.small\n"
    assert problems(tmp_path, "    snapshot: 'my snap'\n", head=head) == [
        "4:15: web: snapshot 'my snap' must be an ID: 1 to 255 of a-z A-Z 0-9 . _ -"
    ]


def test_a_boot_source_or_block_devices_is_required(tmp_path: Path) -> None:
    head = "servers:\n  - name: web\n    flavor: m1.small\n"
    assert problems(tmp_path, "", head=head) == [
        "2:5: web: no boot source: give one of image, image_with, boot_volume or snapshot, "
        "or block devices"
    ]
    body = "    block_devices:\n      - {source: image, id: i1, dest: volume, size: 1}\n"
    assert problems(tmp_path, body, head=head) == []


def test_files_are_personality_up_to_2_56_within_nova_limits(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}").write_bytes(b"x" * (10240 + (i == 5)))
    body = "    files: {" + ", ".join(f"/etc/f{i}: f{i}" for i in range(6)) + "}\n"
    assert problems(tmp_path, body, "2.57") == [
        "5:12: web: 'files' (personality) needs compute up to 2.56; validating for 2.57",
        "5:12: web: 6 files, more than the 5 Nova allows (limits.max_personality)",
        "5:87: web: file for '/etc/f5' has 10241 bytes, more than the 10240 Nova allows "
        "(limits.max_personality_size)",
    ]
    raised = "limits: {max_personality: 6, max_personality_size: 20000}\n" + HEAD
    assert problems(tmp_path, body, "2.56", head=raised) == []


def test_personality_paths_within_the_path_quota(tmp_path: Path) -> None:
    (tmp_path / "motd").write_bytes(b"hi")
    body = "    files: {/" + "p" * 255 + ": motd}\n"
    assert problems(tmp_path, body, "2.56") == [
        "5:271: web: file path '/" + "p" * 39 + "'... is longer than the 255 bytes Nova allows "
        "(limits.max_personality_path)"
    ]
    raised = "limits: {max_personality_path: 256}\n" + HEAD
    assert problems(tmp_path, body, "2.56", head=raised) == []


def test_user_data_over_65535_base64_bytes(tmp_path: Path) -> None:
    (tmp_path / "big.sh").write_bytes(b"#" * 49152)  # 65536 bytes in base64
    (tmp_path / "pads.sh").write_bytes(b"#" * 49151)  # 65536 too: base64 pads to 4
    (tmp_path / "ok.sh").write_bytes(b"#" * 49149)  # 65532
    assert problems(tmp_path, "    user_data: big.sh\n") == [
        "5:16: web: user data is 49152 bytes, 65536 in base64: more than the 65535 Nova's "
        "API allows"
    ]
    assert len(problems(tmp_path, "    user_data: pads.sh\n")) == 1
    assert problems(tmp_path, "    user_data: ok.sh\n") == []


def test_trusted_certificates_are_for_image_backed_servers(tmp_path: Path) -> None:
    head = "servers:\n  - name: web\n    flavor: m1.small\n"
    body = "    boot_volume: v1\n    trusted_image_certificates: [c1]\n"
    assert problems(tmp_path, body, head=head) == [
        "5:33: web: trusted image certificates apply to image-backed servers, not boot from volume"
    ]


def test_metadata_items_count_bulkboots_two_marks(tmp_path: Path) -> None:
    fits = "    metadata: {" + ", ".join(f"k{i}: v" for i in range(126)) + "}\n"
    assert problems(tmp_path, fits) == []
    body = "    metadata: {" + ", ".join(f"k{i}: v" for i in range(127)) + "}\n"
    assert problems(tmp_path, body) == [
        "5:15: web: metadata has 127 items; with bulkboot's 2 marks (bulkboot:fleet, "
        "bulkboot:spec) that is more than the 128 Nova allows (limits.max_server_meta)"
    ]


def test_the_spec_mark_is_bulkboots_own(tmp_path: Path) -> None:
    body = "    metadata: {'bulkboot:spec': mine}\n"
    assert problems(tmp_path, body) == [
        "5:33: web: metadata key 'bulkboot:spec' is bulkboot's own spec mark"
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 256, "name must be 1 to 255 characters, got 256"),
        (" web", "name ' web' must not start or end with a space"),
        ("web\u200b", "name 'web\\u200b' holds a character Nova refuses ('\\u200b')"),
        ("web\U0001f600", "name 'web\U0001f600' holds a character Nova refuses ('\\U0001f600')"),
    ],
)
def test_server_names_follow_novas_name_format(tmp_path: Path, name: str, message: str) -> None:
    spec = ServerSpec(
        name=name,
        fleet="f",
        location=Location("m.yaml", 2, 5),
        group=name,
        image="cirros",
        flavor="m1.small",
    )
    manifest = Manifest(
        path="m.yaml",
        name="f",
        cloud=None,
        microversion="auto",
        limits=Limits(),
        servers=(spec,),
    )
    found = validate(manifest, mv.MAX_SUPPORTED)
    assert [(str(p.location), p.subject, p.message) for p in found] == [
        ("m.yaml:2:5", name, message)
    ]


def test_multi_create_names_leave_room_for_novas_suffix(tmp_path: Path) -> None:
    head = HEAD.replace("web", "w" * 253)
    assert problems(tmp_path, "    max_count: 9\n", head=head) == []
    assert problems(tmp_path, "    max_count: 10\n", head=head) == [
        "2:11: " + "w" * 253 + ": name is 253 characters: with Nova's suffix -10 for the "
        "servers of one request, more than 255"
    ]


def test_unicode_names_nova_accepts_pass(tmp_path: Path) -> None:
    assert problems(tmp_path, "", head=HEAD.replace("web", "serveur-été 1")) == []


def test_templated_values_are_checked_per_server_shared_ones_per_group(tmp_path: Path) -> None:
    head = (
        "defaults: {image: cirros, flavor: m1.small, disk_config: auto}\n"
        "servers:\n"
        "  - name: 'web-{index}'\n"
        "    count: 12\n"
        "    hostname: 'h{index:_>2}'\n"
        "  - name: 'db-{index}'\n"
        "    count: 3\n"
    )
    hostname_rule = (
        "must be 2 to 63 of a-z A-Z 0-9 and -, not starting or ending with - "
        "(a domain name needs compute 2.94; validating for 2.90)"
    )
    assert problems(tmp_path, "", "2.90", head=head) == [
        # Shared: once, at the defaults and as theirs, though two groups and 15 servers
        # use it (not as the first group's, web-{index}).
        "1:58: defaults: disk_config must be AUTO or MANUAL, got 'auto'",
        # Templated: per server, named by the server; web-10 to web-12 are fine.
        *(f"5:15: web-{i}: hostname 'h_{i}' {hostname_rule}" for i in range(1, 10)),
    ]


def test_a_problem_of_the_defaults_is_reported_as_the_defaults_once(tmp_path: Path) -> None:
    head = (
        "defaults:\n"
        "  image: cirros\n"
        "  flavor: m1.small\n"
        "  tags: [a]\n"
        "  hostname: 'host-{name}'\n"
        "servers:\n"
        "  - name: 'web-{index:02d}'\n"
        "    count: 3\n"
        "  - name: db\n"
    )
    assert problems(tmp_path, "", "2.50", head=head) == [
        "4:9: defaults: 'tags' needs compute 2.52 or later; validating for 2.50",
        # templated in defaults: rendered per server, so it says which one
        "5:13: defaults (for web-01): 'hostname' needs compute 2.90 or later; validating for 2.50",
    ]


def test_a_misspelt_key_in_defaults_is_reported_once(tmp_path: Path) -> None:
    head = (
        "defaults: {image: cirros, flavour: m1.small}\n"
        "servers:\n"
        "  - {name: 'web-{index}', count: 3}\n"
        "  - {name: db}\n"
        "  - {name: big, flavor: m1.large}\n"
    )
    path = tmp_path / "lab.yaml"
    path.write_text(head)
    manifest, loaded = read_manifest(path)
    found = [str(p) for p in (*loaded, *validate(manifest, mv.MAX_SUPPORTED))]
    # not also "flavor is required" for each group that relies on defaults
    assert found == [
        f"{path}:1:27: defaults: unknown key 'flavour' in defaults: did you mean 'flavor'?"
    ]


def test_check_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(HEAD + "    min_count: 0\n    disk_config: x\n")
    with pytest.raises(ManifestError) as caught:
        check(load_manifest(path), mv.MAX_SUPPORTED)
    assert len(caught.value.problems) == 2
    path.write_text(HEAD)
    check(load_manifest(path), mv.MAX_SUPPORTED)


def test_hand_built_manifests_are_checked_server_by_server() -> None:
    loc = Location("m.yaml", 1, 1)
    specs = tuple(
        ServerSpec(
            name=f"s{i}",
            fleet="f",
            location=loc,
            group="g",
            image="cirros",
            flavor="m1",
            networks=(Nic(net_name="p", v4_fixed_ip=f"10.0.0.{250 + i}", location=loc),),
        )
        for i in range(8)
    )
    manifest = Manifest(
        path="m.yaml", name="f", cloud=None, microversion="auto", limits=Limits(), servers=specs
    )
    found = validate(manifest, mv.MAX_SUPPORTED)
    assert [(p.subject, p.message) for p in found] == [
        (f"s{i}", f"v4-fixed-ip '10.0.0.{250 + i}' is not an IPv4 address") for i in range(6, 8)
    ]


def test_a_bad_item_hides_none_of_its_siblings_problems(tmp_path: Path) -> None:
    """A type error drops the bad item only: the rest of the field is still checked."""
    path = tmp_path / "lab.yaml"
    body = (
        "    networks:\n"
        "      - {net-id: 1, net-name: a, v4-fixed-ip: 1.2.3}\n"
        "      - 5\n"
        "      - {net-name: b, idd: x}\n"
        "      - {}\n"
        "    metadata: {bad/key: v, x: [1], 'bulkboot:fleet': other}\n"
        "    tags: [a/b, null, c]\n"
        "    scheduler_hints: {foo: {a: b}, same_host: [not-a-uuid]}\n"
    )
    path.write_text(HEAD + body)
    manifest, structural = read_manifest(path)
    found = [
        str(p)[len(f"{path}:") :] for p in (*structural, *validate(manifest, mv.MAX_SUPPORTED))
    ]
    assert sorted(found, key=lambda s: tuple(map(int, s.split(":")[:2]))) == [
        "6:9: web: a nic needs exactly one of net-id, net-name or port-id "
        "(got net-id and net-name)",
        "6:18: web: net-id '1' must be a UUID from compute 2.37 on (use net-name for a "
        "network's name)",
        "6:47: web: v4-fixed-ip '1.2.3' is not an IPv4 address",
        "7:9: web: networks.1: expected a mapping, got an integer",
        "8:23: web: unknown key 'idd' in a nic",
        "9:9: web: a nic needs exactly one of net-id, net-name or port-id (got none of them)",
        "10:25: web: metadata key 'bad/key' must be 1 to 255 of the characters "
        "a-z A-Z 0-9 - _ : . and space",
        "10:31: web: metadata.x: expected a string, got a list",
        "10:54: web: metadata key 'bulkboot:fleet' is bulkboot's own fleet mark",
        "11:12: web: tag 'a/b' must not contain '/' or ','",
        "11:17: web: tags.1: expected a string, got nothing (null)",
        "12:28: web: scheduler_hints.foo: expected a string, got a mapping",
        "12:47: web: scheduler hint same_host takes server UUIDs, got 'not-a-uuid'",
    ]


def test_every_problem_names_its_subject_and_shows_control_characters_escaped(
    tmp_path: Path,
) -> None:
    head = (
        "servers:\n"
        "  - {name: '', image: cirros, flavor: m1.small}\n"
        '  - {name: "a\\0b\\e]0;pwn\\a\\tc", image: cirros, flavor: m1.small}\n'
        '  - {name: "w-{index}\\e[2J", count: 2, image: cirros, flavor: m1.small}\n'
    )
    found = problems(tmp_path, "", head=head)
    assert found == [
        "2:12: servers[1]: name must be 1 to 255 characters, got 0",
        "3:12: a\\x00b\\x1b]0;pwn\\x07\\tc: name 'a\\x00b\\x1b]0;pwn\\x07\\tc' holds a "
        "character Nova refuses ('\\x00')",
        "4:12: w-1\\x1b[2J: name 'w-1\\x1b[2J' holds a character Nova refuses ('\\x1b')",
        "4:12: w-2\\x1b[2J: name 'w-2\\x1b[2J' holds a character Nova refuses ('\\x1b')",
    ]
    assert all(line.isprintable() for line in found)
