"""A load run's servers: the manifest's requests renamed per iteration, with the run mark."""

from __future__ import annotations

from pathlib import Path

from bulkboot.engine.load.templates import RUN_MARK_KEY, Templates, template_problems
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import AS_WRITTEN

MANIFEST = """name: lab
defaults: {image: cirros, flavor: m1.tiny, networks: none}
servers:
  - name: "web-{index}"
    count: 2
    metadata: {role: web}
  - name: db
    admin_pass: hunter2
    scheduler_hints: {group: 6a1b6f5e-0000-4000-8000-00000000c1a0}
"""


def test_iterations_cycle_the_manifests_requests(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(MANIFEST)
    manifest = load_manifest(path)
    assert template_problems(manifest) == []
    templates = Templates(
        manifest.servers, AS_WRITTEN, Microversion(2, 60), fleet="lab", run_id="abcd1234"
    )
    names = [templates.request(k).name for k in range(4)]
    assert names == ["web-1-abcd1234-0", "web-2-abcd1234-1", "db-abcd1234-2", "web-1-abcd1234-3"]
    first = templates.request(0)
    server = first.body["server"]
    assert server["name"] == "web-1-abcd1234-0" and first.fleet == "lab"
    metadata = dict(server["metadata"])
    assert metadata.pop(SPEC_MARK_KEY).startswith("1:")  # the body's spec mark, as apply's
    assert metadata == {"role": "web", FLEET_MARK_KEY: "lab", RUN_MARK_KEY: "abcd1234"}
    assert server["imageRef"] == "cirros" and server["flavorRef"] == "m1.tiny"
    db = templates.request(2)
    assert db.secrets == ("hunter2",) and db.body["os:scheduler_hints"]["group"]
    assert first.secrets == ()
    assert templates.request(3).body["server"] is not first.body["server"]  # own name each


def test_requests_that_cannot_be_iterations(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: lab\ndefaults: {image: cirros, flavor: m1.tiny, networks: none}\nservers:\n"
        "  - name: pool\n    max_count: 3\n"
        "  - name: reserved\n    return_reservation_id: true\n"
        f"  - name: {'x' * 240}\n"
    )
    manifest = load_manifest(path)
    messages = [str(p) for p in template_problems(manifest)]
    assert messages == [
        f"{path}:4:5: pool: a load iteration boots one server; this request asks for 3 "
        "(min_count/max_count): leave them out for load",
        f"{path}:6:5: reserved: return_reservation_id: a load iteration needs the server's "
        "id to watch it; leave it out for load",
        f"{path}:8:5: {'x' * 240}: the name is too long for a load run's suffix "
        "(-<run id>-<iteration>): at most 235 characters",
    ]


def test_the_run_mark_must_fit_in_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: lab\nlimits: {max_server_meta: 4}\n"
        "defaults: {image: cirros, flavor: m1.tiny, networks: none}\nservers:\n"
        "  - name: one\n    metadata: {a: '1'}\n"
        "  - name: two\n    metadata: {a: '1', b: '2'}\n"
    )
    messages = [str(p) for p in template_problems(load_manifest(path))]
    assert messages == [
        f"{path}:7:5: two: metadata has 2 items; with the bulkboot:fleet, bulkboot:spec and "
        "bulkboot:load-run marks that is more than the 4 Nova allows (limits.max_server_meta)"
    ]
