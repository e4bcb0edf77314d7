"""The cloud client's per-request cost, against a bare aiohttp loop on the same simulator.

    python benchmarks/bench_cloud.py

The simulator runs in a child process (so it does not share this process's GIL);
each round sends N requests at CONCURRENCY, first with a bare ``aiohttp`` session
(token header set by hand: the floor), then through ``open_cloud`` (token cache,
header cache, retries, timing, error mapping, capacity limiter): the difference per
request is what bulkboot's client adds. Creates are measured the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anyio

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.compute import CreateRequest
from bulkboot.cloud.config import config_from_mapping
from bulkboot.cloud.session import HttpOptions

N = 2000  # requests per round
CONCURRENCY = 100
ROUNDS = 5
CREATES = 1000

_CHILD = """
import sys, time, json
from bulkboot.simulator import SimConfig, start_simulator
sim = start_simulator(SimConfig(build_time_mean=3600, build_time_stddev=0))
print(json.dumps(sim.clouds_yaml()), flush=True)
sys.stdin.read()
sim.stop()
"""


async def fan_out(
    n: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds for ``n`` calls, ``concurrency`` at once."""
    limiter = anyio.Semaphore(concurrency, fast_acquire=True)

    async def one(i: int) -> None:
        async with limiter:
            await call(i)

    started, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for i in range(n):
            group.start_soon(one, i)
    return time.perf_counter() - started, time.process_time() - cpu


def body(name: str) -> dict[str, Any]:
    return {
        "server": {
            "name": name,
            "imageRef": "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
            "flavorRef": "1",
            "networks": "none",
            "metadata": {"bulkboot:fleet": "bench"},
        }
    }


async def measure(clouds: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    config = config_from_mapping(clouds, "simulator")
    results: dict[str, list[tuple[float, float]]] = {
        "raw_get": [],
        "client_get": [],
        "raw_post": [],
        "client_post": [],
    }
    async with open_cloud(config, options=HttpOptions(concurrency=CONCURRENCY)) as cloud:
        await cloud.compute.negotiate("auto")
        assert cloud.authenticator is not None
        token = (await cloud.authenticator.token()).value
        limits_url = cloud.endpoint + "/limits"
        servers_url = cloud.endpoint + "/servers"
        microversion = cloud.compute.microversion
        assert microversion is not None  # negotiated above
        headers = {
            "X-Auth-Token": token,
            "Accept": "application/json",
            **microversion.headers(),
        }
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as raw:
            call: Callable[[int], Awaitable[None]]

            async def raw_get(_: int) -> None:
                async with raw.get(limits_url, headers=headers) as answer:
                    await answer.json()

            async def client_get(_: int) -> None:
                await cloud.compute.limits()

            async def raw_post(i: int) -> None:
                async with raw.post(
                    servers_url, json=body(f"raw-{r}-{i}"), headers=headers
                ) as answer:
                    await answer.json()

            async def client_post(i: int) -> None:
                name = f"cli-{r}-{i}"
                await cloud.compute.create_server(
                    CreateRequest(body=body(name), name=name, fleet="bench")
                )

            await fan_out(200, CONCURRENCY, raw_get)  # warm both pools
            await fan_out(200, CONCURRENCY, client_get)
            for r in range(ROUNDS):  # noqa: B007 (r names the servers of the round)
                # Alternate who goes first: the simulator grows with every create.
                order = ("raw", "client") if r % 2 == 0 else ("client", "raw")
                for who in order:
                    call = raw_get if who == "raw" else client_get
                    results[f"{who}_get"].append(await fan_out(N, CONCURRENCY, call))
                for who in order:
                    call = raw_post if who == "raw" else client_post
                    results[f"{who}_post"].append(await fan_out(CREATES, CONCURRENCY, call))
    return results


def main() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        clouds = json.loads(child.stdout.readline())
        results = anyio.run(measure, clouds)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)
    print(f"machine: nproc={os.cpu_count()} python={sys.version.split()[0]}")
    print(
        f"N={N} GETs and {CREATES} creates per round, concurrency {CONCURRENCY}, "
        f"{ROUNDS} rounds (median)"
    )
    for kind, n in (("get", N), ("post", CREATES)):
        raw_wall = statistics.median(w for w, _ in results[f"raw_{kind}"])
        our_wall = statistics.median(w for w, _ in results[f"client_{kind}"])
        raw_cpu = statistics.median(c for _, c in results[f"raw_{kind}"]) / n * 1e6
        our_cpu = statistics.median(c for _, c in results[f"client_{kind}"]) / n * 1e6
        print(
            f"{kind.upper():4} req/s: bare aiohttp {n / raw_wall:6.0f}, "
            f"bulkboot {n / our_wall:6.0f}"
            f" | client CPU per request: bare {raw_cpu:5.0f} us, bulkboot {our_cpu:5.0f} us"
            f" (+{our_cpu - raw_cpu:.0f} us)"
        )


if __name__ == "__main__":
    main()
