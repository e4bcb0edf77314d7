"""Running the engine against the simulator over real sockets, for the engine tests.

Manifests here name images and flavors by ID and use ``networks: none``, so they need
no name resolution (``AS_WRITTEN`` references): these tests are about the engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.compute import CreateRequest
from bulkboot.cloud.config import config_from_mapping
from bulkboot.cloud.session import HttpOptions
from bulkboot.engine.apply import ApplyOptions, ApplyOutcome, FleetApply
from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.destroy import DestroyOptions, DestroyOutcome, destroy_fleet
from bulkboot.engine.journal import Journal
from bulkboot.engine.pacing import PollPacing
from bulkboot.engine.replay import read_fleet_journal, replay
from bulkboot.engine.state import Event, ServerState
from bulkboot.engine.statedir import StatePaths, state_paths
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.spec import AS_WRITTEN
from bulkboot.simulator.server import RunningSimulator

IMAGE = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
FAST = PollPacing(base=0.2, first=0.1)


def fleet_paths(path: Path, fleet: str | None = None) -> StatePaths:
    """The state files of the manifest at ``path`` (its fleet is its stem unless given)
    on the test cloud, as the commands place them."""
    return state_paths(path, cloud="simulator", fleet=fleet or path.stem)


def write_manifest(directory: Path, *, name: str, count: int, extra: str = "") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(
        f"""name: {name}
microversion: auto
defaults:
  image: {IMAGE}
  flavor: "1"
  networks: none
servers:
  - name: "{name}-{{index:04d}}"
    count: {count}
{extra}"""
    )
    return path


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Event, ServerState]] = []

    def event(self, event: Event, state: ServerState) -> None:
        self.events.append((event, state))


def header(endpoint: str, command: str = "apply") -> RunHeader:
    return RunHeader(
        command=command,
        fleet="t",
        cloud="simulator",
        endpoint=endpoint,
        microversion="2.96",
        concurrency=50,
        rate=None,
    )


async def apply_manifest(
    sim: RunningSimulator,
    path: Path,
    *,
    recorder: Recorder | None = None,
    rate: float | None = None,
    wrap_compute: Callable[[Any], Any] | None = None,
    control: Callable[[FleetApply], Awaitable[None]] | None = None,
    cpu_clock: Callable[[], float] = time.process_time,
    http: HttpOptions | None = None,
    **options: Any,
) -> ApplyOutcome:
    """Apply ``path``; ``control`` (if given) runs beside the run, e.g. to stop it.

    ``cpu_clock`` is what the create window reads as this process's CPU time; the
    journal's entries are read first, as ``apply`` does; ``http`` replaces the cloud
    client's options (its ``total_timeout`` is the window of creates in flight).
    """
    manifest = load_manifest(path)
    paths = fleet_paths(path, manifest.name)
    entries = replay(read_fleet_journal(paths))
    config = config_from_mapping(sim.clouds_yaml(), "simulator")
    options.setdefault("pacing", FAST)
    options.setdefault("concurrency", 50)
    options.setdefault("seed", 1)
    if http is None:
        http = HttpOptions(concurrency=options["concurrency"] + 4, rate=rate)
    clock = asyncio.get_running_loop().time  # time.monotonic, or virtual (sim_loop.py)
    async with open_cloud(config, options=http, clock=clock) as cloud:
        version = await cloud.compute.negotiate(manifest.microversion)
        board = Board(header=header(cloud.endpoint), started_at=clock())
        with Journal.open_fleet(paths) as journal:
            run = FleetApply(
                wrap_compute(cloud.compute) if wrap_compute else cloud.compute,
                manifest,
                AS_WRITTEN,
                version,
                board=board,
                journal=journal,
                options=ApplyOptions(**options),
                observers=[recorder] if recorder else [],
                clock=clock,
                cpu_clock=cpu_clock,
                entries=entries,
                in_flight_window=cloud.transport.attempt_timeout,
            )
            if control is None:
                return await run.run()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(control, run)
                outcome = await run.run()
                tasks.cancel_scope.cancel()
            return outcome


async def destroy_manifest(
    sim: RunningSimulator, path: Path, *, http: HttpOptions | None = None
) -> DestroyOutcome:
    manifest = load_manifest(path)
    config = config_from_mapping(sim.clouds_yaml(), "simulator")
    paths = fleet_paths(path, manifest.name)
    entries = replay(read_fleet_journal(paths))
    clock = asyncio.get_running_loop().time  # time.monotonic, or virtual (sim_loop.py)
    async with open_cloud(config, options=http or HttpOptions(), clock=clock) as cloud:
        await cloud.compute.negotiate("auto")
        board = Board(header=header(cloud.endpoint, "destroy"), started_at=clock())
        with Journal.open_fleet(paths) as journal:
            return await destroy_fleet(
                cloud.compute,
                manifest.name,
                board=board,
                journal=journal,
                entries=entries,
                options=DestroyOptions(concurrency=50, pacing=FAST, seed=1),
                in_flight_window=cloud.transport.attempt_timeout,
                clock=clock,
            )


def journal_entries(path: Path, fleet: str | None = None) -> dict[str, Any]:
    """What the journal of the manifest at ``path`` says, per server name."""
    return replay(read_fleet_journal(fleet_paths(path, fleet)))


async def create_outside_the_run(sim: RunningSimulator, name: str, fleet: str) -> None:
    """A create of ``fleet`` by a client that is not the run: another machine's run, or
    Nova carrying out an earlier run's create late."""
    body = {
        "server": {
            "name": name,
            "imageRef": IMAGE,
            "flavorRef": "1",
            "networks": "none",
            "metadata": {"bulkboot:fleet": fleet},
        }
    }
    async with open_cloud(config_from_mapping(sim.clouds_yaml(), "simulator")) as cloud:
        await cloud.compute.negotiate("auto")
        await cloud.compute.create_server(CreateRequest(body=body, name=name, fleet=fleet))
