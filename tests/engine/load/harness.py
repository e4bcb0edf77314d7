"""Running the load engine against the simulator on virtual time (``sim_time``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from bulkboot.cloud.client import Cloud, open_cloud
from bulkboot.cloud.config import config_from_mapping
from bulkboot.cloud.resolve import resolve_references
from bulkboot.cloud.session import HttpOptions
from bulkboot.engine.journal import Journal
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.requests import RequestLog
from bulkboot.engine.load.result import LoadResult
from bulkboot.engine.load.runner import LoadRun
from bulkboot.engine.load.snapshot import LoadHeader
from bulkboot.engine.load.templates import Templates
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.pipeline.validate import check
from bulkboot.simulator import SimConfig
from bulkboot.simulator.server import RunningSimulator, serve_simulator
from tests.engine.load.sim_time import LoopClock

BOUND = 4 * 3600.0  # virtual seconds a run may last in a test

MANIFEST = """name: bench
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: "load-{index}"
    count: 2
"""


@asynccontextmanager
async def simulator(**config: object) -> AsyncIterator[RunningSimulator]:
    """The simulator in this loop, on its virtual time."""
    async with serve_simulator(SimConfig(**config), clock=LoopClock()) as sim:  # type: ignore[arg-type]
        yield sim


@dataclass
class Ran:
    result: LoadResult
    requests: RequestLog
    run: LoadRun
    journal: Path


def clock() -> float:
    return asyncio.get_running_loop().time()


async def run_load(
    sim: RunningSimulator,
    folder: Path,
    plan: LoadPlan,
    *,
    manifest: str = MANIFEST,
    during: Callable[[LoadRun, Cloud], object] | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Ran:
    """Load ``manifest`` on ``sim`` with ``plan``; ``during(run, cloud)`` is started
    beside the run (to change the simulator, or stop the run, at given times);
    ``sleep`` is the run's (one that oversleeps makes its starts late)."""
    path = folder / "fleet.yaml"
    path.write_text(manifest)
    loaded = load_manifest(path)
    config = config_from_mapping(sim.clouds_yaml(), "simulator")
    log = RequestLog()
    async with open_cloud(
        config, options=HttpOptions(concurrency=plan.max_in_flight + 8), on_request=log, clock=clock
    ) as cloud:
        version = await cloud.compute.negotiate("auto")
        check(loaded, version)
        refs = await resolve_references(cloud, loaded)
        templates = Templates(loaded.servers, refs, version, fleet=loaded.name, run_id="run1")
        header = LoadHeader(
            fleet=loaded.name,
            cloud="simulator",
            endpoint=cloud.endpoint,
            microversion=str(version),
            scenario=plan.scenario,
            model=plan.describe(),
            run_id="run1",
            poll_interval=plan.poll_interval,
        )
        journal_path = folder / ".bulkboot" / "bench.jsonl"
        with Journal.open(journal_path) as journal:
            run = LoadRun(
                cloud.compute,
                templates,
                plan,
                journal=journal,
                header=header,
                clock=clock,
                sleep=sleep,
            )
            log.start()
            result: LoadResult | None = None

            async def main() -> None:
                nonlocal result
                result = await run.run()

            # a run that never ends fails on virtual time (its poller keeps timers due)
            with anyio.fail_after(BOUND):
                async with anyio.create_task_group() as group:
                    if during is not None:
                        group.start_soon(during, run, cloud)  # type: ignore[arg-type]
                    await main()
                    group.cancel_scope.cancel()
    assert result is not None
    return Ran(result=result, requests=log, run=run, journal=journal_path)
