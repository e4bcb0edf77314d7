"""An in-process Nova for the engine's own tests on virtual time (``virtual_time.py``).

It models what the create window reacts to, as the simulator does: every answer takes
``latency`` seconds, and a create ``create_queueing`` seconds more per other create
being handled when it arrives (an API whose answers slow down with its load); builds
take ``build_time`` and end ACTIVE. It counts the creates in flight, as the simulator's
``creates_in_flight_peak`` does. Everything else a cloud does (HTTP, retries, faults)
is the simulator's business, in the tests over sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from bulkboot.cloud.compute import CreatedServer, CreateRequest
from bulkboot.cloud.timing import RequestTiming
from bulkboot.engine.apply import ApplyOptions, ApplyOutcome, FleetApply
from bulkboot.engine.board import Board
from bulkboot.engine.journal import Journal
from bulkboot.errors import NotFound
from bulkboot.identity import FLEET_MARK_KEY
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.microversion import parse
from bulkboot.pipeline.spec import AS_WRITTEN
from tests.engine.fleet_helpers import FAST, fleet_paths, header

__all__ = ["FakeNova", "apply_on_fake"]


class FakeNova:
    """Nova as ``engine.compute_api.ComputeApi`` sees it, on the loop's clock."""

    cloud_date: str | None = None
    rate_limited = False

    def __init__(
        self, *, latency: float = 0.0, create_queueing: float = 0.0, build_time: float = 0.2
    ) -> None:
        self.latency = latency
        self.create_queueing = create_queueing
        self.build_time = build_time
        self.servers: dict[str, dict[str, Any]] = {}  # id -> record
        self._ready_at: dict[str, float] = {}
        self.creates_in_flight = 0
        self.creates_in_flight_peak = 0

    async def rate_turn(self, abandon: anyio.Event) -> bool:
        return True

    def drop_rate_turn(self) -> None:
        pass

    async def create_server(self, request: CreateRequest) -> CreatedServer:
        started = anyio.current_time()
        others = self.creates_in_flight
        self.creates_in_flight += 1
        self.creates_in_flight_peak = max(self.creates_in_flight_peak, self.creates_in_flight)
        try:
            await anyio.sleep(self.latency + self.create_queueing * others)
        finally:
            self.creates_in_flight -= 1
        now = anyio.current_time()
        server_id = f"id-{len(self.servers)}"
        self.servers[server_id] = {
            "id": server_id,
            "name": request.name,
            "metadata": {FLEET_MARK_KEY: request.fleet},
        }
        self._ready_at[server_id] = now + self.build_time
        timing = RequestTiming(
            method="POST",
            path="/servers",
            status=202,
            attempts=1,
            started=started,
            seconds=now - started,
        )
        return CreatedServer(id=server_id, reservation_id=None, name=request.name, timing=timing)

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        await anyio.sleep(self.latency)
        now = anyio.current_time()
        return [
            {**record, "status": "ACTIVE" if now >= self._ready_at[server_id] else "BUILD"}
            for server_id, record in self.servers.items()
        ]

    async def get_server(self, server_id: str) -> dict[str, Any]:
        raise NotFound(f"server {server_id}")

    async def delete_server(self, server_id: str) -> bool:
        return self.servers.pop(server_id, None) is not None

    async def limits(self) -> dict[str, int]:
        return {}

    async def flavors(self) -> list[dict[str, Any]]:
        return []


async def apply_on_fake(
    nova: FakeNova,
    path: Path,
    *,
    cpu_clock: Callable[[], float] = lambda: 0.0,
    **options: Any,
) -> ApplyOutcome:
    """Apply ``path`` to ``nova`` on the loop's (virtual) clock; by default this
    process is never busy, as the window sees it."""
    manifest = load_manifest(path)
    options.setdefault("pacing", FAST)
    options.setdefault("seed", 1)
    clock = anyio.current_time
    board = Board(header=header("fake"), started_at=clock())
    with Journal.open_fleet(fleet_paths(path, manifest.name)) as journal:
        return await FleetApply(
            nova,
            manifest,
            AS_WRITTEN,
            parse("2.96"),
            board=board,
            journal=journal,
            options=ApplyOptions(**options),
            clock=clock,
            cpu_clock=cpu_clock,
            in_flight_window=30.0,
        ).run()
