"""A small fleet through the CLI against real Nova 34: apply, re-apply, status, destroy.

Four servers in three groups: ``solo`` (its own create, metadata, user data, a port on
the fixture network ``private``), ``pool`` (one multi-create request for ``pool-1`` and
``pool-2``, ``networks: none``) and ``vol`` (booted from the Cinder fixture's bootable
volume: no image), from the fixture image and flavor IDs. The fleet that ``destroy``
removes boots its volume from the image instead (``source=image,dest=volume``: the fixture makes
a new volume each time; the one bootable volume can be attached once at a time). What
bulkboot says (``--format json``, ``--report``) is checked against what Nova says (its
own listing, asked directly) and what Nova received (its access log).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.realnova.runner import Bulkboot
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.timeout(240)]

USER_DATA = "#!/bin/sh\necho booted by bulkboot\n"
NAMES = {"solo", "pool-1", "pool-2", "vol"}
POST_SERVERS = "POST /v2.1/servers HTTP/1.1"


def manifest(nova: NovaService, fleet: str, *, volume_from_image: bool = False) -> str:
    boot = (
        f'block_devices: ["source=image,id={nova.image_id},dest=volume,size=1,bootindex=0,'
        'shutdown=remove"]'
        if volume_from_image
        else f"boot_volume: {nova.volume_id}"
    )
    return f"""\
name: {fleet}
cloud: realnova
microversion: auto
defaults:
  flavor: "{nova.flavor_id}"
  networks: none
  metadata: {{suite: realnova}}
servers:
  - name: solo
    image: {nova.image_id}
    networks:
      - {{net-id: {nova.network_id}}}
    metadata: {{role: solo}}
    user_data_text: {json.dumps(USER_DATA)}
  - name: pool
    image: {nova.image_id}
    min_count: 2
    max_count: 2
    metadata: {{role: pool}}
  - name: vol
    {boot}
    metadata: {{role: vol}}
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """A fleet ``apply`` booted: the command, its document and report, Nova's own view."""

    cli: Bulkboot
    fleet: str
    manifest: Path
    document: dict[str, Any]  # apply --format json
    report: dict[str, Any]  # apply --report
    posts_seen_by_nova: int  # POST /v2.1/servers lines in nova-api's access log


def apply(
    cli: Bulkboot, nova: NovaService, path: Path, report: str, *flags: str
) -> tuple[Any, Any, int]:
    """``bulkboot apply``: its JSON document, its report, the POSTs nova-api received."""
    before = nova.requests_seen().count(POST_SERVERS)
    document = cli.json("apply", str(path), "--format", "json", "--report", report, *flags)
    posts = nova.requests_seen().count(POST_SERVERS) - before
    return document, json.loads((cli.folder / report).read_text()), posts


def boot(
    nova: NovaService, folder: Path, fleet: str, *flags: str, volume_from_image: bool = False
) -> Applied:
    cli = Bulkboot.in_folder(nova, folder)
    path = folder / f"{fleet}.yaml"
    path.write_text(manifest(nova, fleet, volume_from_image=volume_from_image))
    document, report, posts = apply(cli, nova, path, "first.json", *flags)
    return Applied(
        cli=cli,
        fleet=fleet,
        manifest=path,
        document=document,
        report=report,
        posts_seen_by_nova=posts,
    )


@pytest.fixture(scope="module")
def lab(nova: NovaService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    """One fleet booted once for the tests that read it or re-apply it; deleted after
    them (through the API, whatever happened)."""
    try:
        yield boot(nova, tmp_path_factory.mktemp("lab"), "rn-lab")
    finally:
        nova.delete_fleet("rn-lab")


def posts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's ``POST /servers`` requests."""
    return [r for r in report["requests"] if (r["method"], r["path"][-8:]) == ("POST", "/servers")]


def test_apply_boots_the_fleet_to_active_in_three_creates(nova: NovaService, lab: Applied) -> None:
    states = {s["name"]: s["status"] for s in lab.document["servers"]}
    assert states == dict.fromkeys(NAMES, "ACTIVE"), lab.document
    assert not any(s["existed"] for s in lab.document["servers"])
    assert lab.document["run"]["microversion"] == "2.104"  # auto: see test_microversion
    # one POST per group (the pool is one multi-create), answered 202 the first time
    assert [(r["status"], r["attempts"]) for r in posts(lab.report)] == [(202, 1)] * 3
    assert lab.posts_seen_by_nova == 3

    listed = {s["name"]: s for s in nova.fleet_servers(lab.fleet)}
    assert set(listed) == NAMES
    assert {s["status"] for s in listed.values()} == {"ACTIVE"}
    assert {n: listed[n]["metadata"]["role"] for n in NAMES} == {
        "solo": "solo",
        "pool-1": "pool",
        "pool-2": "pool",
        "vol": "vol",
    }
    assert {s["metadata"]["suite"] for s in listed.values()} == {"realnova"}
    by_id = {s["id"]: s["name"] for s in lab.document["servers"]}
    assert by_id == {s["id"]: name for name, s in listed.items()}


def test_the_volume_server_boots_from_the_volume(nova: NovaService, lab: Applied) -> None:
    vol = next(s for s in nova.fleet_servers(lab.fleet) if s["name"] == "vol")
    assert vol["image"] == ""  # no image: booted from the volume
    attached = [v["id"] for v in vol["os-extended-volumes:volumes_attached"]]
    assert attached == [nova.volume_id]


def test_the_user_data_reaches_nova_as_written(nova: NovaService, lab: Applied) -> None:
    solo = next(s for s in nova.fleet_servers(lab.fleet) if s["name"] == "solo")
    status, body = nova.call("GET", f"/servers/{solo['id']}", admin=True)
    assert status == 200
    encoded = body["server"]["OS-EXT-SRV-ATTR:user_data"]
    assert base64.b64decode(encoded).decode() == USER_DATA


def test_reapply_sends_no_post(nova: NovaService, lab: Applied) -> None:
    document, report, posts_seen = apply(lab.cli, nova, lab.manifest, "again.json")
    assert posts(report) == [] and posts_seen == 0
    assert {r["method"] for r in report["requests"]} == {"GET"}
    assert {s["name"] for s in document["servers"] if s["existed"]} == NAMES
    assert {(s["state"], s["status"]) for s in document["servers"]} == {("active", "ACTIVE")}
    assert {s["name"] for s in nova.fleet_servers(lab.fleet)} == NAMES  # nothing doubled


def test_status_shows_the_fleet_with_its_addresses(nova: NovaService, lab: Applied) -> None:
    shown = lab.cli.json("status", str(lab.manifest), "--format", "json")
    assert shown["fleet"] == lab.fleet and shown["drift"] == []
    assert shown["counts"] == {"ACTIVE": 4}
    rows = {s["name"]: s for s in shown["servers"]}
    assert set(rows) == NAMES
    listed = {s["name"]: s for s in nova.fleet_servers(lab.fleet)}
    assert {n: rows[n]["id"] for n in NAMES} == {n: listed[n]["id"] for n in NAMES}
    # solo has a port on the fixture network "private"; the pool has no network
    address = listed["solo"]["addresses"]["private"][0]["addr"]
    assert rows["solo"]["addresses"] == f"private={address}"
    assert rows["pool-1"]["addresses"] == rows["pool-2"]["addresses"] == ""
    assert rows["vol"]["addresses"] == ""


def test_destroy_leaves_nothing(nova: NovaService, tmp_path: Path) -> None:
    fleet = "rn-gone"
    try:
        # the module's fleet rn-lab has the same names: a second server of each is
        # created only when asked for
        booted = boot(nova, tmp_path, fleet, "--allow-duplicate-names", volume_from_image=True)
        ids = {s["id"] for s in booted.document["servers"]}
        assert len(ids) == 4
        vol = next(s for s in nova.fleet_servers(fleet) if s["name"] == "vol")
        assert len(vol["os-extended-volumes:volumes_attached"]) == 1  # made from the image

        done = booted.cli.run("destroy", str(booted.manifest), "--yes", "--format", "plain")
        assert done.returncode == 0, done.stdout + done.stderr
        # Nova lists a deleted server as DELETED for a moment: that counts as gone
        listed = {s["id"]: s["status"] for s in nova.servers()}
        assert {listed[i] for i in ids if i in listed} <= {"DELETED"}, listed

        shown = booted.cli.json("status", str(booted.manifest), "--format", "json", expect=1)
        assert shown["counts"] == {"MISSING": 4}
        assert {s["id"] for s in shown["servers"]} == {None}
    finally:
        nova.delete_fleet(fleet)
