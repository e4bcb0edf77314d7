"""Benchmark ``bulkboot load`` against the simulator in another process, with baselines.

The workload: ``boot-delete`` iterations on an open loop against the simulator with
instant builds and 10 ms of API latency (every answer), polled every 500 ms. Each
client runs in its own process; the simulator in another.

1. **Highest sustained rate**: ``bulkboot load --rate R --duration 10s`` at rising
   rates, ``RUNS`` runs each; a rate holds when every run dropped nothing and the median
   of the runs' p99 ``schedule_lag`` is under 5 ms. The highest rate that held.
2. **Client CPU per iteration** at ``RATE`` for ``DURATION``, against ``floor``: a
   minimal raw-aiohttp open-loop client (POST, one shared ``changes-since`` poll per
   round, DELETE; nothing else: no journal, no timings, no report) measured in the
   same run, interleaved. bulkboot's is the ``client.cpu_seconds`` of its report (the
   load and its clean-up, every thread); the floor's the same window
   (``time.process_time``). Target: at most 1.3x.
3. **Requests per iteration** on the same workload against ``rally``: Rally's
   ``nova.boot_server`` / ``delete_server`` approach (POST, 1 s, then one GET per
   server every 2 s until ACTIVE; DELETE, 2 s, one GET every 2 s until 404), counted
   by the simulator (authentication included), for all three clients alike.

    python benchmarks/bench_load.py                    # everything
    python benchmarks/bench_load.py --only cpu --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- constants
RUNS = 3
LATENCY = 0.01
POLL_INTERVAL = 0.5
RATES = (25, 50, 75, 100, 150, 200, 300, 400)  # iterations/s tried for (1), in order
CAPACITY_DURATION = 10.0
RATE = 50.0  # for (2) and (3)
DURATION = 20.0
LAG_TARGET = 0.005
IMAGE_ID = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"  # cirros-0.6.2 in the simulator
FLAVOR_ID = "1"
REPO = Path(__file__).resolve().parents[1]
PYCACHE = os.path.join(tempfile.gettempdir(), "bulkboot-bench-pycache")

SIMULATOR_CODE = f"""
import sys
from bulkboot.simulator.config import SimConfig
from bulkboot.simulator.server import start_simulator
config = SimConfig(latency={LATENCY}, build_time_mean=0.0, build_time_stddev=0.0)
with start_simulator(config) as sim:
    print(sim.port, flush=True)
    sys.stdin.read()
"""

FLEET = """name: bench
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: load
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=PYCACHE, **extra)
    env.pop("OS_CLOUD", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Simulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "/_sim/stats") as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    def reset(self) -> None:
        request = urllib.request.Request(self.base + "/_sim/reset", method="POST", data=b"")
        urllib.request.urlopen(request).close()

    def clouds_yaml(self, folder: Path) -> Path:
        path = folder / "clouds.yaml"
        path.write_text(
            "clouds:\n  bench:\n    auth_type: password\n    auth:\n"
            f"      auth_url: {self.base}/identity/v3\n      username: admin\n"
            f"      password: {_password()}\n      project_name: demo\n"
            "      user_domain_name: Default\n      project_domain_name: Default\n"
            "    region_name: RegionOne\n"
        )
        return path

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _password() -> str:
    if "BENCH_PASSWORD" in os.environ:
        return os.environ["BENCH_PASSWORD"]
    from bulkboot.simulator.config import PASSWORD

    return PASSWORD


# ---------------------------------------------------------------- raw clients
async def _session_and_token(base: str) -> tuple[Any, dict[str, str]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2000))
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"name": "Default"},
                        "password": _password(),
                    }
                },
            },
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
        }
    }
    async with session.post(base + "/identity/v3/auth/tokens", json=auth) as answer:
        token = answer.headers["X-Subject-Token"]
    return session, {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}


def _body(index: int) -> dict[str, Any]:
    return {
        "server": {
            "name": f"raw-{index}",
            "imageRef": IMAGE_ID,
            "flavorRef": FLAVOR_ID,
            "networks": "none",
            "metadata": {"bulkboot:fleet": "raw"},
        }
    }


async def _floor(base: str, rate: float, duration: float) -> dict[str, Any]:
    """POST, one shared changes-since poll per round, DELETE: the least an open loop does."""
    loop = asyncio.get_running_loop()
    session, headers = await _session_and_token(base)
    compute = base + "/compute/v2.1"
    waiting: dict[str, asyncio.Event] = {}  # id -> woken when the wanted status is seen
    want: dict[str, str] = {}
    last: dict[str, str] = {}  # id -> the last status seen (a change seen before the wait)
    lags: list[float] = []
    done = 0
    since: str | None = None

    def wait_for(server_id: str, status: str) -> asyncio.Event:
        event = asyncio.Event()
        if last.get(server_id) == status:
            event.set()
        else:
            waiting[server_id], want[server_id] = event, status
        return event

    async def iteration(index: int, at: float) -> None:
        nonlocal done
        lags.append(loop.time() - at)
        async with session.post(compute + "/servers", json=_body(index), headers=headers) as r:
            server_id = (await r.json())["server"]["id"]
        await wait_for(server_id, "ACTIVE").wait()
        async with session.delete(compute + "/servers/" + server_id, headers=headers) as r:
            await r.read()
        await wait_for(server_id, "DELETED").wait()
        last.pop(server_id, None)
        done += 1

    async def poll() -> None:
        nonlocal since
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            if not waiting:
                continue
            params = {"changes-since": since} if since else None
            async with session.get(
                compute + "/servers/detail", params=params, headers=headers
            ) as answer:
                servers = (await answer.json())["servers"]
            for server in servers:
                server_id, status = server["id"], server["status"]
                if since is None or server["updated"] > since:
                    since = server["updated"]
                event = waiting.get(server_id)
                if event is not None and want[server_id] == status:
                    del waiting[server_id], want[server_id]
                    event.set()
                else:
                    last[server_id] = status

    cpu = time.process_time()
    start = loop.time()
    count = int(rate * duration)
    poller = asyncio.create_task(poll())
    tasks = []  # gathered, not a TaskGroup: Python 3.10 has none
    for index in range(count):
        at = start + index / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(iteration(index, at)))
    await asyncio.gather(*tasks)
    poller.cancel()
    cpu = time.process_time() - cpu
    await session.close()
    lags.sort()
    return {
        "cpu_seconds": cpu,
        "iterations": count,
        "completed": done,
        "lag_p99": lags[int(0.99 * (len(lags) - 1))],
    }


async def _rally(base: str, rate: float, duration: float) -> dict[str, Any]:
    """Rally's nova.boot_server + delete_server waits: a GET per server every 2 s."""
    loop = asyncio.get_running_loop()
    session, headers = await _session_and_token(base)
    compute = base + "/compute/v2.1"
    done = 0

    async def iteration(index: int) -> None:
        nonlocal done
        async with session.post(compute + "/servers", json=_body(index), headers=headers) as r:
            server_id = (await r.json())["server"]["id"]
        url = compute + "/servers/" + server_id
        await asyncio.sleep(1.0)  # nova_server_boot_prepoll_delay
        while True:
            async with session.get(url, headers=headers) as answer:
                if (await answer.json())["server"]["status"] == "ACTIVE":
                    break
            await asyncio.sleep(2.0)  # nova_server_boot_poll_interval
        async with session.delete(url, headers=headers) as answer:
            await answer.read()
        await asyncio.sleep(2.0)  # nova_server_delete_prepoll_delay
        while True:
            async with session.get(url, headers=headers) as answer:
                await answer.read()
                if answer.status == 404:
                    break
            await asyncio.sleep(2.0)
        done += 1

    start = loop.time()
    count = int(rate * duration)
    tasks = []  # gathered, not a TaskGroup: Python 3.10 has none
    for index in range(count):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(iteration(index)))
    await asyncio.gather(*tasks)
    await session.close()
    return {"iterations": count, "completed": done}


# ---------------------------------------------------------------- runs
def _bulkboot(folder: Path, clouds: Path, rate: float, duration: float) -> dict[str, Any]:
    fleet = folder / "bench.yaml"
    fleet.write_text(FLEET)
    report = folder / "report.json"
    subprocess.run(
        [sys.executable, "-m", "bulkboot", "load", str(fleet), "--cloud", "bench"]
        + ["--rate", f"{rate:g}", "--duration", f"{duration:g}s"]
        + ["--poll-interval", f"{POLL_INTERVAL * 1000:g}ms", "--format", "json", "--yes"]
        + ["--report", str(report)],
        cwd=folder,
        env=_env(OS_CLIENT_CONFIG_FILE=str(clouds)),
        stdout=subprocess.DEVNULL,
        check=False,
    )
    document: dict[str, Any] = json.loads(report.read_text())
    return document


def _raw(kind: str, simulator: Simulator, rate: float, duration: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--client", kind, "--base", simulator.base]
        + ["--rate", f"{rate:g}", "--duration", f"{duration:g}"],
        env=_env(BENCH_PASSWORD=_password()),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def _requests(simulator: Simulator) -> int:
    return int(simulator.stats()["requests_total"])


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def capacity(simulator: Simulator, folder: Path, clouds: Path, runs: int) -> None:
    print(f"# (1) highest open-loop rate, boot-delete, {CAPACITY_DURATION:g}s per run")
    held = None
    for rate in RATES:
        lags, drops, cpus = [], [], []
        for _ in range(runs):
            simulator.reset()
            document = _bulkboot(folder, clouds, rate, CAPACITY_DURATION)
            lags.append(document["phases"]["schedule_lag"]["p99"])
            drops.append(document["iterations"]["dropped"])
            cpus.append(document["client"]["cpu_per_iteration"])
        lag = statistics.median(lags)
        ok = lag < LAG_TARGET and not any(drops)
        print(
            f"rate {rate}/s: p99 schedule_lag {[round(x * 1000, 2) for x in lags]} ms "
            f"(median {lag * 1000:.2f}), dropped {drops}, cpu/iteration "
            f"{[round(x * 1e6) for x in cpus]} us: {'held' if ok else 'did not hold'}; "
            f"load {_load_average()}",
            flush=True,
        )
        if not ok:
            break
        held = rate
    print(f"highest rate held: {held}/s")


def cpu_and_requests(simulator: Simulator, folder: Path, clouds: Path, runs: int) -> None:
    print(f"# (2) and (3) at {RATE:g}/s for {DURATION:g}s, {runs} interleaved runs")
    rows: dict[str, list[tuple[float | None, float]]] = {"bulkboot": [], "floor": [], "rally": []}
    for run in range(runs):
        for kind in ("bulkboot", "floor", "rally"):
            simulator.reset()
            before = _requests(simulator)
            if kind == "bulkboot":
                document = _bulkboot(folder, clouds, RATE, DURATION)
                cpu = document["client"]["cpu_seconds"] / document["iterations"]["started"]
                count = document["iterations"]["started"]
            else:
                result = _raw(kind, simulator, RATE, DURATION)
                cpu = result["cpu_seconds"] / result["iterations"] if kind == "floor" else None
                count = result["iterations"]
            per = (_requests(simulator) - before) / count
            rows[kind].append((cpu, per))
            shown = f"{cpu * 1e6:.0f} us cpu/iteration, " if cpu is not None else ""
            print(
                f"run {run + 1} {kind}: {shown}{per:.3f} requests/iteration; "
                f"load {_load_average()}",
                flush=True,
            )
    medians = {
        kind: (
            statistics.median([c for c, _ in values if c is not None]) if kind != "rally" else None,
            statistics.median([p for _, p in values]),
        )
        for kind, values in rows.items()
    }
    bulk_cpu, bulk_req = medians["bulkboot"]
    floor_cpu, floor_req = medians["floor"]
    _, rally_req = medians["rally"]
    assert bulk_cpu is not None and floor_cpu is not None
    print(
        f"median cpu/iteration: bulkboot {bulk_cpu * 1e6:.0f} us, floor {floor_cpu * 1e6:.0f} us: "
        f"{bulk_cpu / floor_cpu:.2f}x"
    )
    print(
        f"median requests/iteration: bulkboot {bulk_req:.3f}, floor {floor_req:.3f}, "
        f"rally-style {rally_req:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("capacity", "cpu"))
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--client", choices=("floor", "rally"), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client = _floor if args.client == "floor" else _rally
        print(json.dumps(asyncio.run(client(args.base, args.rate, args.duration))))
        return
    print(
        f"nproc {os.cpu_count()}, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {_load_average()}"
    )
    simulator = Simulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            clouds = simulator.clouds_yaml(folder)
            if args.only in (None, "cpu"):
                cpu_and_requests(simulator, folder, clouds, args.runs)
            if args.only in (None, "capacity"):
                capacity(simulator, folder, clouds, args.runs)
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
