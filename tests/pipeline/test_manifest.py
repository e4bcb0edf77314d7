"""The manifest loader: structure, expansion, templating, files, and every structural problem."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bulkboot.errors import ManifestError
from bulkboot.pipeline.manifest import MAX_SERVERS, load_manifest, read_manifest
from bulkboot.pipeline.microversion import MAX_SUPPORTED
from bulkboot.pipeline.spec import Limits, Location, Manifest, Nic
from bulkboot.pipeline.validate import validate

Write = Callable[[str], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    def write(text: str, name: str = "lab.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in read_manifest(path)[1]]


def load(write: Write, text: str) -> Manifest:
    return load_manifest(write(text))


# ----------------------------------------------------------------- expansion


def test_defaults_merge_under_groups_mappings_by_key_lists_and_scalars_replaced(
    write: Write,
) -> None:
    manifest = load(
        write,
        """
        defaults:
          image: cirros
          flavor: m1.tiny
          metadata: {team: infra, tier: base}
          security_groups: [default, ssh]
          scheduler_hints: {group: 6a1b6f5e-0000-4000-8000-00000000c1a0}
        servers:
          - name: web
            flavor: m1.small
            metadata: {tier: web}
            security_groups: [http]
        """,
    )
    (web,) = manifest.servers
    assert web.flavor == "m1.small"
    assert web.image == "cirros"
    assert web.metadata == {"team": "infra", "tier": "web"}
    assert web.security_groups == ("http",)
    assert web.scheduler_hints == {"group": "6a1b6f5e-0000-4000-8000-00000000c1a0"}


def test_index_and_name_templates_expand_everywhere_with_format_specs(write: Write) -> None:
    manifest = load(
        write,
        """
        servers:
          - name: "web-{index:02d}"
            count: 3
            start: 9
            image: cirros
            flavor: m1.small
            hostname: "{name}"
            metadata: {slot: "{index}", label: "{name}-x"}
            networks:
              - {net-name: "net-{index}"}
            scheduler_hints: {different_cell: ["c{index}", plain]}
        """,
    )
    names = [s.name for s in manifest.servers]
    assert names == ["web-09", "web-10", "web-11"]
    last = manifest.servers[-1]
    assert last.index == 11
    assert last.hostname == "web-11"
    assert last.metadata == {"slot": "11", "label": "web-11-x"}
    assert isinstance(last.networks, tuple)
    assert last.networks[0].net_name == "net-11"
    assert last.scheduler_hints == {"different_cell": ("c11", "plain")}


def test_user_data_text_is_not_templated_and_doubled_braces_elsewhere_are_literal(
    write: Write,
) -> None:
    manifest = load(
        write,
        """
        servers:
          - name: "a-{index}"
            image: cirros
            flavor: m1.small
            description: "uses {{braces}}"
            user_data_text: "echo {index} {unknown}"
        """,
    )
    (server,) = manifest.servers
    assert server.user_data == b"echo {index} {unknown}"
    assert server.description == "uses {braces}"


def test_yaml_numbers_for_ids_are_sent_as_written(write: Write) -> None:
    manifest = load(
        write,
        """
        microversion: 2.10
        servers:
          - name: n
            image: 42
            flavor: 2
            boot_volume: 1.50
        """,
    )
    (server,) = manifest.servers
    assert (server.flavor, server.image, server.boot_volume) == ("2", "42", "1.50")
    assert manifest.microversion == "2.10"  # not 2.1: the YAML float is taken as written


def test_group_boot_source_replaces_the_default_one(write: Write) -> None:
    path = write(
        """
        defaults: {image: cirros, flavor: m1.small, user_data_text: "#!/bin/sh"}
        servers:
          - name: db
            boot_volume: 0b5e3c4e-0000-4000-8000-000000000001
          - name: app
            user_data: ud.sh
        """
    )
    (path.parent / "ud.sh").write_bytes(b"#!/bin/bash\r\n\xff")
    db, app = load_manifest(path).servers
    assert db.image is None and db.boot_volume == "0b5e3c4e-0000-4000-8000-000000000001"
    assert app.user_data == b"#!/bin/bash\r\n\xff"  # byte for byte


def test_paths_resolve_against_the_manifest_folder_and_files_are_read_once(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cloud-init").mkdir()
    (tmp_path / "cloud-init" / "web.yaml").write_text("#cloud-config\n")
    (tmp_path / "motd").write_text("hello\n")
    path = write(
        """
        defaults: {image: cirros, flavor: m1.small}
        servers:
          - name: "web-{index}"
            count: 50
            user_data: cloud-init/web.yaml
            files: {/etc/motd: motd}
        """
    )
    monkeypatch.chdir("/")
    manifest = load_manifest(path)
    first, second = manifest.servers[:2]
    assert first.user_data == b"#cloud-config\n"
    assert first.files == (("/etc/motd", b"hello\n"),)
    # One read, one object shared by all the group's servers.
    assert first.user_data is second.user_data
    assert first.files is second.files
    assert first.metadata is second.metadata


def test_fleet_name_defaults_to_the_file_stem_and_limits_are_read(write: Write) -> None:
    manifest = load_manifest(
        write(
            """
            cloud: mycloud
            limits: {max_personality: 10, max_server_meta: 200}
            servers:
              - {name: a, image: cirros, flavor: m1.small}
            """,
            name="my-lab.yaml",
        )
    )
    assert manifest.name == "my-lab"
    assert manifest.cloud == "mycloud"
    assert manifest.microversion == "auto"
    assert manifest.limits == Limits(max_personality=10, max_server_meta=200)
    assert manifest.servers[0].fleet == "my-lab"


def test_limits_raise_only_quotas_never_novas_fixed_schema_caps(write: Write) -> None:
    path = write(
        """
        limits:
          max_user_data: 131072
          max_tags: 100
          max_personality_sise: 10
          max_cores: 4
          max_personality_path: 1024
        servers:
          - {name: a, image: cirros, flavor: m1.small}
        """
    )
    manifest, found = read_manifest(path)
    assert [str(p) for p in found] == [
        f"{path}:2:3: manifest: limits.max_user_data cannot be raised: it is fixed by Nova's "
        "API (user data is at most 65535 bytes of base64 on every cloud; not a quota)",
        f"{path}:3:3: manifest: limits.max_tags cannot be raised: it is fixed by Nova's API "
        "(a server has at most 50 tags on every cloud; not a quota)",
        f"{path}:4:3: manifest: unknown key 'max_personality_sise' in limits: did you mean "
        "'max_personality_size'?",
        f"{path}:5:3: manifest: unknown key 'max_cores' in limits (the quotas a manifest may "
        "raise: max_personality, max_personality_size, max_personality_path, max_server_meta)",
    ]
    assert manifest.limits == Limits(max_personality_path=1024)
    assert (manifest.limits.max_user_data, manifest.limits.max_tags) == (65535, 50)


def test_nics_keep_their_location_and_auto_none_forms(write: Write) -> None:
    path = write(
        """
        servers:
          - name: a
            image: cirros
            flavor: m1.small
            networks:
              - {net-id: 6a1b6f5e-0000-4000-8000-00000000c1a0, v4-fixed-ip: 10.0.0.5}
              - "port-id=6a1b6f5e-0000-4000-8000-00000000c1a1,tag=t"
          - name: b
            image: cirros
            flavor: m1.small
            networks: [none]
        """
    )
    a, b = load_manifest(path).servers
    assert a.networks == (
        Nic(
            net_id="6a1b6f5e-0000-4000-8000-00000000c1a0",
            v4_fixed_ip="10.0.0.5",
            location=Location(str(path), 6, 9),
        ),
        Nic(
            port_id="6a1b6f5e-0000-4000-8000-00000000c1a1",
            tag="t",
            location=Location(str(path), 7, 9),
        ),
    )
    assert b.networks == "none"


def test_block_devices_accept_mappings_and_nova_boot_strings(write: Write) -> None:
    manifest = load(
        write,
        """
        servers:
          - name: a
            flavor: m1.small
            block_devices:
              - {source: volume, id: v1, size: 10, bootindex: 0}
              - "source=blank,dest=local,size=1"
            ephemeral: ["size=1,format=ext4"]
            security_groups: "default,web"
            tags: a,b
            config_drive: "true"
        """,
    )
    (server,) = manifest.servers
    assert server.block_devices == (
        {"source": "volume", "id": "v1", "size": "10", "bootindex": "0"},
        {"source": "blank", "dest": "local", "size": "1"},
    )
    assert server.ephemeral == ({"size": "1", "format": "ext4"},)
    assert server.security_groups == ("default", "web")
    assert server.tags == ("a", "b")
    assert server.config_drive is True


def test_groups_record_their_servers_and_varying_fields(write: Write) -> None:
    manifest = load(
        write,
        """
        defaults: {image: cirros, flavor: m1.small}
        servers:
          - {name: "a-{index}", count: 2, hostname: "h{index}"}
          - {name: b}
        """,
    )
    first, second = manifest.groups
    assert (first.first, first.stop, second.first, second.stop) == (0, 2, 2, 3)
    assert first.varying == {"name", "hostname"}
    assert second.varying == {"name"}
    assert first.locations["hostname"] == Location(manifest.path, 3, 45)
    assert first.locations["image"] == Location(manifest.path, 1, 19)  # from defaults


def test_merge_keys_and_anchors_work(write: Write) -> None:
    manifest = load(
        write,
        """
        base: &base {image: cirros, flavor: m1.small}
        servers:
          - <<: *base
            name: a
        """.replace("base: &base", "defaults: &base"),
    )
    assert manifest.servers[0].image == "cirros"


def test_multi_create_group_is_one_spec_per_request(write: Write) -> None:
    manifest = load(
        write,
        """
        servers:
          - {name: "batch-{index}", count: 2, min_count: 2, max_count: 5, image: c, flavor: f}
        """,
    )
    assert [s.name for s in manifest.servers] == ["batch-1", "batch-2"]
    assert [s.instance_count for s in manifest.servers] == [5, 5]


# ----------------------------------------------------------------- structural problems


def test_yaml_syntax_error_has_line_and_column(write: Write) -> None:
    path = write("servers:\n  - name: [a, b\n  - x: 1\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3:6: manifest: YAML syntax error: ")


def test_unknown_key_suggests_the_close_one(write: Write) -> None:
    path = write(
        """
        servers:
          - name: web
            image: cirros
            flavour: m1.small
        """
    )
    assert f"{path}:4:5: web: unknown key 'flavour' in a group: did you mean 'flavor'?" in (
        problems_of(path)
    )


def test_unknown_top_level_and_defaults_keys(write: Write) -> None:
    path = write(
        """
        sevrers: []
        defaults: {imgae: x, count: 3}
        """
    )
    assert problems_of(path) == [
        f"{path}:1:1: manifest: unknown key 'sevrers' in the manifest: did you mean 'servers'?",
        f"{path}:1:1: manifest: 'servers' is missing: list the groups of servers to boot",
        f"{path}:2:12: defaults: unknown key 'imgae' in defaults: did you mean 'image'?",
        f"{path}:2:22: defaults: 'count' belongs in a group under 'servers', not in defaults",
    ]


def test_wrong_types_are_named(write: Write) -> None:
    path = write(
        """
        servers:
          - name: web
            count: three
            image: [cirros]
            flavor: yes
            metadata: [a, b]
            config_drive: maybe
        """
    )
    assert problems_of(path) == [
        f"{path}:3:12: web: count: expected an integer, got a string 'three'",
        f"{path}:4:12: web: image: expected a string, got a list",
        f"{path}:5:13: web: flavor: expected a string, got the boolean 'yes': quote it ('yes')"
        " if you mean the word",
        f"{path}:6:15: web: metadata: expected a mapping, got a list",
        f"{path}:7:19: web: config_drive: must be a boolean (true or false), got a string 'maybe'",
    ]


def test_unknown_placeholder_is_an_error_at_its_value(write: Write) -> None:
    path = write(
        """
        servers:
          - name: "web-{idx}"
            image: cirros
            flavor: m1.small
            metadata: {owner: "{user}"}
        """
    )
    assert problems_of(path) == [
        f"{path}:2:11: web-{{idx}}: name: unknown placeholder {{idx}} in 'web-{{idx}}': "
        "only {index} exist",
        f"{path}:5:23: web-{{idx}}: metadata.owner: unknown placeholder {{user}} in '{{user}}': "
        "only {index} and {name} exist",
    ]


def test_name_template_cannot_use_name_and_bad_format_specs_are_caught(write: Write) -> None:
    path = write(
        """
        servers:
          - {name: "a-{name}", image: c, flavor: f}
          - {name: "b-{index:q}", image: c, flavor: f}
          - {name: "c-{index}", image: "{name:d}", flavor: f}
        """
    )
    found = problems_of(path)
    assert found[0] == f"{path}:2:12: a-{{name}}: name: {{name}} cannot be used here"
    assert found[1].startswith(f"{path}:3:12: b-{{index:q}}: name: bad template 'b-{{index:q}}'")
    assert found[2].startswith(f"{path}:4:32: c-{{index}}: image: bad template '{{name:d}}'")


def test_missing_servers_empty_servers_and_missing_name(write: Write) -> None:
    assert problems_of(write("name: lab\n", "a.yaml"))[0].endswith(
        "manifest: 'servers' is missing: list the groups of servers to boot"
    )
    path = write("servers: []\n", "b.yaml")
    assert problems_of(path) == [
        f"{path}:1:10: manifest: servers: expected a list of groups, got an empty list"
    ]
    path = write("servers:\n  - {image: c, flavor: f}\n", "c.yaml")
    assert problems_of(path) == [
        f"{path}:2:5: servers[1]: a group needs a 'name' (a template like \"web-{{index:02d}}\")"
    ]


def test_same_name_for_many_servers_suggests_index(write: Write) -> None:
    path = write("servers:\n  - {name: web, count: 2, image: c, flavor: f}\n")
    assert problems_of(path) == [
        f"{path}:2:12: web: name: 2 servers would all be named 'web': use {{index}} in the "
        'name (e.g. "web-{index}")'
    ]


def test_duplicate_names_after_expansion_name_both_places(write: Write) -> None:
    path = write(
        """
        defaults: {image: c, flavor: f}
        servers:
          - {name: "web-{index}", count: 3}
          - {name: "web-{index}", count: 2, start: 3}
        """
    )
    assert problems_of(path) == [
        f"{path}:4:12: web-{{index}}: duplicate server name 'web-3': already used by group "
        f"'web-{{index}}' at {path}:3:5 (names must be unique: they are how apply finds "
        "existing servers)"
    ]


def test_multi_create_suffixes_collide_with_plain_names(write: Write) -> None:
    path = write(
        """
        defaults: {image: c, flavor: f}
        servers:
          - {name: batch, max_count: 3}
          - {name: "batch-{index}", count: 5, start: 3}
          - {name: batch-0}
          - {name: batch-03}
        """
    )
    found = problems_of(path)
    assert len(found) == 1
    assert found[0].startswith(
        f"{path}:4:12: batch-{{index}}: duplicate server name 'batch-3': already used by "
        f"group 'batch' at {path}:3:5"
    )


def test_a_multi_create_named_as_another_ones_member_collides(write: Write) -> None:
    """``pool-3`` (2 servers) beside ``pool`` (5): Nova would name a member of each
    ``pool-3``... and the journal could not tell the request from the member."""
    path = write(
        """
        defaults: {image: c, flavor: f}
        servers:
          - {name: pool, min_count: 1, max_count: 5}
          - {name: pool-3, max_count: 2}
          - {name: pool-6, max_count: 2}
        """
    )
    found = problems_of(path)
    assert len(found) == 1
    assert found[0].startswith(
        f"{path}:4:12: pool-3: duplicate server name 'pool-3': already used by group "
        f"'pool' at {path}:3:5"
    )


def test_unreadable_user_data_and_files_name_the_file_and_the_error(
    write: Write, tmp_path: Path
) -> None:
    (tmp_path / "adir").mkdir()
    path = write(
        """
        servers:
          - name: a
            image: c
            flavor: f
            user_data: nope.yaml
            files: {/etc/x: adir}
        """
    )
    assert problems_of(path) == [
        f"{path}:5:16: a: user_data: cannot read {tmp_path / 'nope.yaml'}: "
        "No such file or directory",
        f"{path}:6:21: a: files./etc/x: cannot read {tmp_path / 'adir'}: Is a directory",
    ]


def test_bad_nic_and_block_device_keys_suggest(write: Write) -> None:
    path = write(
        """
        servers:
          - name: a
            image: c
            flavor: f
            networks:
              - {net_id: x}
              - "net-nam=private"
              - auto
            block_devices:
              - {sorce: volume, id: v}
        """
    )
    assert problems_of(path) == [
        f"{path}:6:10: a: unknown key 'net_id' in a nic: did you mean 'net-id'?",
        f"{path}:7:9: a: unknown key 'net-nam' in a nic: did you mean 'net-name'?",
        f"{path}:8:9: a: networks.2: 'auto' or 'none' cannot be used with any other nic",
        f"{path}:10:10: a: unknown key 'sorce' in a block device: did you mean 'source'?",
    ]


def test_duplicate_keys_and_bad_top_level_values(write: Write) -> None:
    path = write(
        """
        microversion: 3.1
        name: ""
        limits: {max_personality: -1, max_server_meta: 3, max_pets: 2}
        servers:
          - name: a
            image: c
            image: d
            flavor: f
        """
    )
    assert problems_of(path) == [
        f"{path}:1:15: manifest: microversion: microversion 3.1 is not a compute 2.x microversion",
        f"{path}:2:7: manifest: name: the fleet name must be 1 to 255 characters, got 0 "
        "(it is the value of the bulkboot:fleet metadata mark)",
        f"{path}:3:27: manifest: limits.max_personality: must be 0 or more, got -1",
        f"{path}:3:51: manifest: unknown key 'max_pets' in limits: did you mean 'max_personality'?",
        f"{path}:7:5: a: group: 'image' is given twice (first at line 6)",
    ]


def test_a_fleet_name_with_control_characters_is_refused_and_shown_escaped(
    write: Write,
) -> None:
    path = write('name: "lab\\e[31m"\nservers:\n  - {name: a, image: c, flavor: f}\n')
    assert problems_of(path) == [
        f"{path}:1:7: manifest: name: the fleet name 'lab\\x1b[31m' holds a control or "
        "invisible character"
    ]


def test_user_data_and_user_data_text_in_one_place_conflict(write: Write) -> None:
    message = (
        "user_data and user_data_text are both given: give one (user_data names a file, "
        "user_data_text is the text itself)"
    )
    path = write(
        """
        defaults: {image: c, flavor: f}
        servers:
          - name: a
            user_data: boot.sh
            user_data_text: "#!/bin/sh"
        """
    )
    (path.parent / "boot.sh").write_text("#!/bin/sh\n")
    manifest, found = read_manifest(path)
    assert [str(p) for p in found] == [f"{path}:5:5: a: {message}"]
    assert manifest.servers[0].user_data is None and manifest.groups[0].broken == {
        "user_data",
        "user_data_text",
    }
    # Both in defaults: once, at defaults; a group giving one of them is fine.
    path = write(
        """
        defaults: {image: c, flavor: f, user_data_text: x, user_data: boot.sh}
        servers:
          - name: a
          - name: b
          - {name: c, user_data_text: y}
        """
    )
    manifest, found = read_manifest(path)
    assert [str(p) for p in found] == [f"{path}:1:52: defaults: {message}"]
    assert manifest.servers[2].user_data == b"y"


def test_load_manifest_raises_with_every_problem_sorted(write: Write) -> None:
    path = write(
        """
        servers:
          - {name: b, imag: c, flavor: f}
          - {name: a, count: x, image: c, flavor: f}
        """
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:2:15: b: unknown key 'imag'")
    assert lines[1].startswith(f"{path}:3:22: a: count: expected an integer")


def test_too_many_servers_is_refused_before_expanding(write: Write) -> None:
    path = write(
        f"servers:\n  - {{name: 'a-{{index}}', count: {MAX_SERVERS + 1}, image: c, flavor: f}}\n"
    )
    manifest, problems = read_manifest(path)
    assert manifest.servers == ()
    assert [str(p) for p in problems] == [
        f"{path}:2:5: a-{{index}}: the manifest expands to more than 1,000,000 servers"
    ]


# ----------------------------------------------------------------- no input ends in a traceback


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", ":1:1: manifest: the manifest is empty"),
        (
            b"- a\n- b\n",
            ":1:1: manifest: the manifest must be a mapping with 'servers', got a list",
        ),
        (b"just text", ":1:1: manifest: the manifest must be a mapping"),
        (b"\x00\x01\xfe\xff\x80junk", ": manifest: not a YAML text file"),
        (b"\xff\xfe\x00garbage\x81", ": manifest: not a YAML text file"),
        (b"servers: 3\n", ":1:10: manifest: servers: expected a list of groups, got an integer"),
        (b"servers: [3, null, [x]]\n", ":1:11: servers[1]: expected a mapping"),
        (b"servers:\n  - {name: {a: b}}\n", ":2:12: servers[1]: name: expected a string"),
        (b"defaults: 5\nservers: []\n", ":1:11: defaults: defaults: expected a mapping"),
        (b"{a: b}: 1\nservers: []\n", ":1:1: manifest: manifest: keys must be strings"),
        (b"servers:\n  - name: a\n    networks: 7\n", ":3:15: a: networks: expected 'auto'"),
        (b"servers:\n  - name: a\n    tags: {x: 1}\n", ":3:11: a: tags: expected a list"),
        (b"[" * 5000 + b"]" * 5000, "manifest: "),
        (b"a: !!python/object:os.system x\n", "unknown key 'a'"),
        (b"servers: *nope\n", "manifest: YAML syntax error"),
        (b"---\na: 1\n---\nb: 2\n", "manifest: YAML syntax error"),
    ],
    ids=lambda value: repr(value)[:24] if isinstance(value, bytes) else "",
)
def test_bad_input_is_a_problem_never_a_traceback(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(content)
    manifest, problems = read_manifest(path)
    assert problems, "bad input must produce a problem"
    assert any(expected in str(p) for p in problems), [str(p) for p in problems]
    with pytest.raises(ManifestError):
        load_manifest(path)


def test_a_directory_or_a_missing_file_as_the_manifest(tmp_path: Path) -> None:
    _, problems = read_manifest(tmp_path)
    assert [str(p) for p in problems] == [f"{tmp_path}: cannot read the manifest: Is a directory"]
    _, problems = read_manifest(tmp_path / "none.yaml")
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'none.yaml'}: cannot read the manifest: No such file or directory"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_manifest(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("servers: []\n")
    path.chmod(0)
    _, problems = read_manifest(path)
    assert [str(p) for p in problems] == [f"{path}: cannot read the manifest: Permission denied"]


def test_a_bad_default_is_reported_once_not_per_group(write: Write) -> None:
    path = write(
        """
        defaults: {image: cirros, flavor: [m1.small], metadata: {a: "{nope}"}}
        servers:
          - {name: "a-{index}", count: 3}
          - {name: "b-{index}", count: 3}
        """
    )
    manifest, problems = read_manifest(path)
    assert [str(p) for p in problems] == [
        f"{path}:1:35: defaults: flavor: expected a string, got a list",
        f"{path}:1:61: defaults: metadata.a: unknown placeholder {{nope}} in '{{nope}}': "
        "only {index} and {name} exist",
    ]
    # The groups are read without the broken fields, and the rules that would read them
    # stay quiet: no "flavor is required" for each group.
    assert [s.name for s in manifest.servers] == ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3"]
    assert all(g.broken == {"flavor", "metadata"} for g in manifest.groups)
    assert validate(manifest, MAX_SUPPORTED) == ()


def test_defaults_values_are_shared_by_every_group(write: Write, tmp_path: Path) -> None:
    (tmp_path / "ud").write_bytes(b"#!/bin/sh\n")
    manifest = load(
        write,
        """
        defaults: {image: cirros, flavor: m1.small, user_data: ud, tags: [x, y]}
        servers:
          - {name: "a-{index}", count: 2}
          - {name: b}
        """,
    )
    a1, a2, b = manifest.servers
    assert a1.tags is b.tags and a1.user_data is b.user_data and a2.image is b.image


def test_mangled_manifests_never_raise(tmp_path: Path) -> None:
    """A small deterministic fuzz: random edits of the examples end in problems, not crashes."""
    import random

    examples = Path(__file__).parents[2] / "manifests"
    texts = [(examples / name).read_text() for name in ("demo.yaml", "bfv.yaml")]
    pieces = ["{", "}", "[", "]", ":", ",", "-", "'", '"', "&a ", "*a", "<<: ", "{index}",
              "{name}", "{x}", "~", "yes", "\n", "  ", "\t", "0", "#"]  # fmt: skip
    rng = random.Random(20261125)
    path = tmp_path / "mangled.yaml"
    for _ in range(300):
        text = list(rng.choice(texts))
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(text))
            if rng.random() < 0.5:
                del text[at : at + rng.randint(1, 8)]
            else:
                text.insert(at, rng.choice(pieces))
        path.write_text("".join(text))
        manifest, problems = read_manifest(path)  # must not raise
        validate(manifest, MAX_SUPPORTED)
        assert all(str(p) for p in problems)


def test_specs_are_true_frozen_dataclasses_and_gc_is_left_as_found(write: Write) -> None:
    import dataclasses
    import gc

    from bulkboot.pipeline.spec import ServerSpec

    manifest = load(
        write,
        """
        servers:
          - {name: "a-{index}", count: 2, image: c, flavor: f, metadata: {k: "{index}"}}
        """,
    )
    spec = manifest.servers[1]
    rebuilt = ServerSpec(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})
    assert rebuilt == spec and hash(rebuilt.location) == hash(spec.location)
    assert dataclasses.replace(spec, name="x").name == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "y"  # type: ignore[misc]
    assert gc.isenabled()


def test_admin_pass_is_literal_and_never_echoed(write: Write) -> None:
    manifest = load(
        write,
        """
        servers:
          - {name: "a-{index}", image: c, flavor: f, admin_pass: "pa{ss}{{w0rd"}
        """,
    )
    assert manifest.servers[0].admin_pass == "pa{ss}{{w0rd"
    assert "pa{ss}" not in repr(manifest.servers[0])
    path = write("servers:\n  - {name: a, image: c, flavor: f, admin_pass: yes}\n", "b.yaml")
    assert problems_of(path) == [
        f"{path}:2:48: a: admin_pass: expected a string, got a boolean (quote it)"
    ]


def test_special_files_are_refused_not_read(write: Write, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _, problems = read_manifest(fifo)
    assert [str(p) for p in problems] == [f"{fifo}: cannot read the manifest: not a regular file"]
    path = write("servers:\n  - {name: a, image: c, flavor: f, user_data: /dev/zero}\n")
    assert problems_of(path) == [
        f"{path}:2:47: a: user_data: cannot read /dev/zero: not a regular file"
    ]


def test_public_api_is_what_it_says() -> None:
    import bulkboot.pipeline.manifest as manifest_module
    import bulkboot.pipeline.template as template_module
    import bulkboot.pipeline.validate as validate_module

    assert set(manifest_module.__all__) == {
        "BDM_KEYS",
        "FIELDS",
        "MAX_SERVERS",
        "NIC_KEYS",
        "TOP_LEVEL_KEYS",
        "load_manifest",
        "read_manifest",
        "sort_problems",
    }
    assert set(validate_module.__all__) == {"check", "validate"}
    assert set(template_module.__all__) == {
        "PLACEHOLDERS",
        "Template",
        "TemplateError",
        "compile_template",
    }
    for module in (manifest_module, validate_module, template_module):
        for name in module.__all__:
            assert hasattr(module, name), name
