"""A create accepted (202) with an answer that names no server is an uncertain create:
its server is looked for by name and fleet mark in the poll rounds, never sent again,
and ``--timeout`` bounds the wait (it used to wait forever)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from bulkboot.cloud.client import open_cloud
from bulkboot.engine.apply import ApplyOptions, ApplyOutcome, FleetApply
from bulkboot.engine.board import Board
from bulkboot.engine.journal import Journal
from bulkboot.engine.replay import read_fleet_journal, replay
from bulkboot.engine.state import Phase
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.spec import AS_WRITTEN
from bulkboot.simulator.server import RunningSimulator
from tests.cloud.stubs import stub_config, stub_nova
from tests.engine.fleet_helpers import FAST, apply_manifest, fleet_paths, header, write_manifest

pytestmark = pytest.mark.anyio


def _posts(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get("POST /compute/v2.1/servers", {}).values())


async def test_return_reservation_id_on_a_single_server_is_found_by_name(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = write_manifest(
        tmp_path, name="rid", count=2, extra="  - name: solo\n    return_reservation_id: true\n"
    )
    outcome = await apply_manifest(sim, path, timeout=30.0)
    assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
    solo = next(s for s in outcome.states if s.name == "solo")
    assert solo.server_id is not None and solo.phase is Phase.ACTIVE
    assert any("answer that names no server" in note for note in outcome.notes)
    assert _posts(sim) == 3 and sim.stats()["duplicate_names"] == 0
    entries = replay(read_fleet_journal(fleet_paths(path)))
    assert entries["solo"].live_ids == (solo.server_id,)  # the journal knows it now


class StubNova:
    """Nova's create answered with ``answer`` (no server id in it); the server is made
    (listed with the fleet mark) only when ``lands``."""

    def __init__(self, answer: Callable[[], web.Response], *, lands: bool) -> None:
        self.answer = answer
        self.lands = lands
        self.posts = 0
        self.servers: list[dict[str, Any]] = []

    async def create(self, request: web.Request) -> web.Response:
        self.posts += 1
        server = (await request.json())["server"]
        if self.lands:
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.servers.append(
                {
                    "id": f"00000000-0000-4000-8000-{self.posts:012d}",
                    "name": server["name"],
                    "status": "ACTIVE",
                    "metadata": server.get("metadata", {}),
                    "created": now,
                    "updated": now,
                }
            )
        return self.answer()

    async def listing(self, request: web.Request) -> web.Response:
        return web.json_response({"servers": self.servers})

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/servers", self.create), ("GET", "/servers/detail", self.listing)]


async def _apply_on(url: str, path: Path, **options: Any) -> ApplyOutcome:
    manifest = load_manifest(path)
    with anyio.fail_after(60):  # a guard against a hang (the defect), not a timing
        return await _apply_within(url, path, manifest, **options)


async def _apply_within(url: str, path: Path, manifest: Any, **options: Any) -> ApplyOutcome:
    async with open_cloud(stub_config(url, api_timeout=5.0)) as cloud:
        version = await cloud.compute.negotiate("auto")
        board = Board(header=header(url), started_at=time.monotonic())
        with Journal.open_fleet(fleet_paths(path)) as journal:
            return await FleetApply(
                cloud.compute,
                manifest,
                AS_WRITTEN,
                version,
                board=board,
                journal=journal,
                options=ApplyOptions(pacing=FAST, seed=1, skip_quota_check=True, **options),
                in_flight_window=cloud.transport.attempt_timeout,
            ).run()


ANSWERS: dict[str, Callable[[], web.Response]] = {
    "empty server": lambda: web.json_response({"server": {}}, status=202),
    "a proxy's page": lambda: web.Response(
        status=202, text="<html><body>Accepted</body></html>", content_type="text/html"
    ),
    "server not a mapping": lambda: web.json_response({"server": "yes"}, status=202),
}


@pytest.mark.parametrize("answer", list(ANSWERS), ids=list(ANSWERS))
async def test_an_answer_without_an_id_is_adopted_when_its_server_shows(
    tmp_path: Path, answer: str
) -> None:
    nova = StubNova(ANSWERS[answer], lands=True)
    path = write_manifest(tmp_path, name="noid", count=2)
    async with stub_nova(nova.routes()) as url:
        outcome = await _apply_on(url, path, timeout=30.0)
    assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
    assert {s.server_id for s in outcome.states} == {s["id"] for s in nova.servers}
    assert nova.posts == 2  # never sent again


async def test_an_answer_without_an_id_whose_server_never_shows_times_out(
    tmp_path: Path,
) -> None:
    nova = StubNova(ANSWERS["empty server"], lands=False)
    path = write_manifest(tmp_path, name="noid", count=2)
    async with stub_nova(nova.routes()) as url:
        outcome = await _apply_on(url, path, timeout=1.0)
    assert [(s.name, s.phase) for s in outcome.states] == [
        ("noid-0001", Phase.TIMEOUT),
        ("noid-0002", Phase.TIMEOUT),
    ]
    assert nova.posts == 2
