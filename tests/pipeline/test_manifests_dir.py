"""The example manifests in manifests/ load and validate as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.validate import validate

MANIFESTS = sorted((Path(__file__).parents[2] / "manifests").glob("*.yaml"))
# What the embedded simulator serves (bulkboot.simulator's fixtures).
SIMULATOR_IMAGES = {"cirros-0.6.2", "ubuntu-24.04"}
SIMULATOR_FLAVORS = {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"}
SIMULATOR_NETWORKS = {"private", "public"}


def test_the_examples_are_there() -> None:
    assert {p.name for p in MANIFESTS} >= {"demo.yaml", "fleet.yaml", "bfv.yaml"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.servers
    assert validate(manifest, mv.offline(manifest.microversion)) == ()


def test_demo_targets_the_simulator_with_user_data_from_a_file() -> None:
    manifest = load_manifest(MANIFESTS[0].parent / "demo.yaml")
    assert manifest.cloud == "simulator"
    assert len(manifest.groups) >= 3
    for spec in manifest.servers:
        assert spec.image in SIMULATOR_IMAGES
        assert spec.flavor in {"m1.tiny", "m1.small"}
        if isinstance(spec.networks, tuple):
            assert {nic.net_name for nic in spec.networks} <= SIMULATOR_NETWORKS
    assert any(s.user_data and s.user_data.startswith(b"#cloud-config") for s in manifest.servers)


def test_fleet_is_a_thousand_servers_and_bfv_boots_from_volumes() -> None:
    folder = MANIFESTS[0].parent
    fleet = load_manifest(folder / "fleet.yaml")
    assert sum(s.instance_count for s in fleet.servers) == 1000
    assert {s.flavor for s in fleet.servers} <= SIMULATOR_FLAVORS
    bfv = load_manifest(folder / "bfv.yaml")
    assert all(s.image is None for s in bfv.servers)
    assert all(s.block_devices or s.boot_volume or s.snapshot for s in bfv.servers)
