"""Benchmark the simulator: POST /servers throughput and list latency at 100,000 servers.

    python benchmarks/bench_simulator.py            # full run (about a minute)
    python benchmarks/bench_simulator.py --quick    # smaller numbers, for a smoke test

The client is a raw aiohttp client in a separate process (so it does not share the
server's GIL), keeping CONCURRENCY requests in flight over keep-alive connections.
The baseline, measured in the same run with the same client, is a trivial
aiohttp.web handler answering 202 with a small JSON body: the ceiling aiohttp
itself sets on this machine. Each figure is the median of RUNS runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

POSTS = 10_000  # POST /servers per run
CONCURRENCY = 64  # requests in flight
RUNS = 3
HELD = 100_000  # servers held when timing list calls
LIST_CALLS = 10  # timed GET calls per list shape
QUICK = {"POSTS": 2_000, "HELD": 10_000, "LIST_CALLS": 3}

IMAGE = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"
BODY = {"server": {"name": "bench", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto"}}


# ------------------------------------------------------------------ client process
async def _client(url: str, count: int, concurrency: int, token: str) -> dict[str, Any]:
    import aiohttp

    headers = {
        "X-Auth-Token": token,
        "OpenStack-API-Version": "compute 2.96",
        "Content-Type": "application/json",
    }
    payload = json.dumps(BODY).encode()
    statuses: dict[int, int] = {}
    remaining = count
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with session.post(url, data=payload, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rate": count / elapsed, "statuses": statuses}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_client(url: str, count: int, token: str) -> dict[str, Any]:
    """One client run; also the server's CPU per request (this process runs only the
    server thread meanwhile): on a busy machine that is the figure that holds."""
    cpu = _cpu_seconds()
    out = subprocess.run(
        [sys.executable, __file__, "--client", url, str(count), str(CONCURRENCY), token],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    result["server_cpu_us"] = (_cpu_seconds() - cpu) / count * 1e6
    return result


# ------------------------------------------------------------------ baseline server
def _start_baseline() -> tuple[str, Any]:
    from aiohttp import web

    ready = threading.Event()
    holder: dict[str, Any] = {}
    answer = json.dumps({"server": {"id": "0" * 36}}).encode()

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=answer, status=202, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/servers", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        holder["port"] = sock.getsockname()[1]
        await web.SockSite(runner, sock, backlog=1024).start()
        holder["stop"] = asyncio.Event()
        holder["loop"] = asyncio.get_running_loop()
        ready.set()
        await holder["stop"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)

    return f"http://127.0.0.1:{holder['port']}/servers", stop


# ------------------------------------------------------------------ list timings
def _time_get(url: str, headers: dict[str, str], calls: int) -> tuple[float, int]:
    import urllib.request

    times = []
    size = 0
    for _ in range(calls):
        request = urllib.request.Request(url, headers=headers)
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            size = len(response.read())
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def _report(label: str, runs: list[dict[str, Any]]) -> None:
    rates = [r["rate"] for r in runs]
    cpu = [r["server_cpu_us"] for r in runs]
    print(
        f"{label:30s} median {statistics.median(rates):6.0f} req/s {[round(r) for r in rates]}"
        f"; server CPU median {statistics.median(cpu):5.0f} us/request"
        f" (= {1e6 / statistics.median(cpu):5.0f} req/s per free core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--client", nargs=4, metavar=("URL", "COUNT", "CONCURRENCY", "TOKEN"))
    args = parser.parse_args()
    if args.client:
        url, count, concurrency, token = args.client
        print(json.dumps(asyncio.run(_client(url, int(count), int(concurrency), token))))
        return
    if args.quick:
        globals().update(QUICK)

    import urllib.request

    from bulkboot.simulator import SimConfig, start_simulator
    from bulkboot.simulator.config import DOMAIN, PASSWORD, PROJECT_NAME, USERNAME

    print(f"machine: nproc={os.cpu_count()} python={sys.version.split()[0]}")
    print(f"POSTS={POSTS} CONCURRENCY={CONCURRENCY} RUNS={RUNS} HELD={HELD}")

    baseline_url, stop_baseline = _start_baseline()
    base_runs = [_run_client(baseline_url, POSTS, "-") for _ in range(RUNS)]
    stop_baseline()
    _report("baseline trivial aiohttp 202", base_runs)

    with start_simulator(SimConfig()) as sim:
        auth = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": USERNAME, "domain": {"name": DOMAIN}, "password": PASSWORD}
                    },
                },
                "scope": {"project": {"name": PROJECT_NAME, "domain": {"name": DOMAIN}}},
            }
        }
        request = urllib.request.Request(
            sim.auth_url + "/auth/tokens",
            data=json.dumps(auth).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token = response.headers["X-Subject-Token"]
        url = sim.base_url + "/compute/v2.1/servers"
        runs = []
        for _ in range(RUNS):
            result = _run_client(url, POSTS, token)
            assert set(result["statuses"]) == {"202"}, result["statuses"]
            runs.append(result)
        _report("simulator POST /servers", runs)

        # Fill up to HELD servers with multi-creates, then time the list shapes.
        missing = HELD - sim.stats()["servers_created"]
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}
        while missing > 0:
            batch = min(missing, 10_000)
            body = dict(BODY["server"], min_count=batch, max_count=batch)
            request = urllib.request.Request(
                url,
                data=json.dumps({"server": body}).encode(),
                headers=dict(headers, **{"Content-Type": "application/json"}),
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                assert response.status == 202
            missing -= batch
        held = sim.stats()["servers_total"]
        print(f"servers held: {held}")
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        shapes = {
            "GET /servers/detail?limit=1000 (first page)": "/servers/detail?limit=1000",
            "GET /servers?limit=1000 (first page)": "/servers?limit=1000",
            "GET /servers/detail?changes-since=<future> (empty)": (
                f"/servers/detail?changes-since={since}"
            ),
            "GET /servers/detail?name=^nomatch (full scan)": "/servers/detail?name=%5Enomatch",
        }
        for label, path in shapes.items():
            seconds, size = _time_get(sim.base_url + "/compute/v2.1" + path, headers, LIST_CALLS)
            print(f"{label:52s} median {seconds * 1000:7.1f} ms ({size} bytes)")
        pages, seconds = _page_through(sim.base_url + "/compute/v2.1/servers", headers)
        print(
            f"{'page through every server (GET /servers, 1000 a page)':52s} "
            f"{seconds:7.2f} s  ({pages} pages)"
        )


def _page_through(url: str, headers: dict[str, str]) -> tuple[int, float]:
    """Follow servers_links to the end, as a client listing everything does."""
    import urllib.request

    started = time.perf_counter()
    pages = 0
    next_url: str | None = url + "?limit=1000"
    while next_url is not None:
        request = urllib.request.Request(next_url, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        pages += 1
        links = body.get("servers_links") or []
        next_url = links[0]["href"] if links else None
    return pages, time.perf_counter() - started


if __name__ == "__main__":
    main()
