"""Benchmark ``bulkboot apply`` against the simulator in another process, with baselines.

For each (N, concurrency) case and each run, on the same simulator settings (API latency
50 ms, builds 5 s +- 1 s), three clients boot N servers, each in its own process:

- ``bulkboot``: ``python -m bulkboot apply FLEET --format plain`` (the real command);
- ``floor``: a minimal raw-aiohttp client that only authenticates, POSTs a fixed body
  and polls with one ``changes-since`` list call per round (paged when needed): the
  least any client must spend;
- ``per-server``: the same creates, then one ``GET /servers/{id}`` per server every
  2 s (openstacksdk's ``wait_for_server`` default), as the field's tools do.

Per run: API requests per server (simulator stats, auth and look-ups included), CPU
per server (user+sys of the client process / N, from ``wait4``), wall time from the
first create to the last ACTIVE (each client's own wall clock), the create phase (first
create sent to last create answered: what concurrency changes; the wall time adds the
5 s builds and up to one poll interval, which dominate its noise), peak RSS. Median and
min-max of ``RUNS`` runs. The clients run interleaved (one run of each in turn), so a
change of load on a shared machine touches them alike; each run's load average is
printed. ``--live-cost`` also runs bulkboot on a pseudo-terminal twice per round, with
the live view and with ``--format plain``, and compares their whole-process CPU (user+sys
of the process, every thread and the imports included), run by run. ``--baseline-tree
DIR`` adds ``bulkboot-baseline``: the same command run from another checkout (an older
commit, e.g. a ``git worktree``), interleaved with the others, for a before/after
comparison that a noisy machine touches alike.

``--noop`` measures a re-apply of a fleet that is already complete instead: the fleet is
booted once (by bulkboot), then ``apply`` runs ``--runs`` times against it and must
change nothing; per run, the API requests it sent (the simulator's count, before and
after), its CPU (user+sys, ``wait4``), its wall time (process start to exit, imports
included) and peak RSS, with the requests broken down by route. ``--noop-plan`` adds
the same for ``plan`` online (what ``--detailed-exitcode`` costs in CI).

    python benchmarks/bench_apply.py                 # the cases below
    python benchmarks/bench_apply.py --cases 1000x200 --runs 3 --live-cost
    python benchmarks/bench_apply.py --cases 1000x200 --baseline-tree ../old-checkout
    python benchmarks/bench_apply.py --noop --cases 10000x200 --runs 5 --noop-plan
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- constants
CASES = ((1000, 200), (1000, 1000), (10_000, 200))  # (servers, concurrency)
RUNS = 3
LATENCY = 0.05  # seconds added to every API answer
BUILD_MEAN = 5.0
BUILD_STDDEV = 1.0
POLL_INTERVAL = 1.0  # bulkboot's --poll-interval and the floor's round interval
PER_SERVER_INTERVAL = 2.0  # openstacksdk wait_for_server's default
IMAGE_ID = "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51"  # cirros-0.6.2 in the simulator
FLAVOR_ID = "1"  # m1.tiny
REPO = Path(__file__).resolve().parents[1]
PYCACHE = os.path.join(tempfile.gettempdir(), "bulkboot-bench-pycache")

SIMULATOR_CODE = """
import sys
from bulkboot.simulator.config import SimConfig
from bulkboot.simulator.server import start_simulator
config = SimConfig(latency={latency}, build_time_mean={mean}, build_time_stddev={std})
with start_simulator(config) as sim:
    print(sim.port, flush=True)
    sys.stdin.read()
"""


# ---------------------------------------------------------------- the simulator process
class Simulator:
    def __init__(self) -> None:
        code = SIMULATOR_CODE.format(latency=LATENCY, mean=BUILD_MEAN, std=BUILD_STDDEV)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
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
    """The simulator's password. The raw clients get it from the environment: importing
    it from bulkboot would load bulkboot's modules into the floor, and bill it for them."""
    if "BENCH_PASSWORD" in os.environ:
        return os.environ["BENCH_PASSWORD"]
    from bulkboot.simulator.config import PASSWORD

    return PASSWORD


def _env(tree: Path = REPO, **extra: str) -> dict[str, str]:
    """The clients' environment, importing bulkboot from ``tree``. Bytecode caching is on
    (in a cache folder outside the tree), as in any installed package: without it every
    run would first spend ~0.25 s of CPU compiling bulkboot's sources, while aiohttp
    comes precompiled."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=PYCACHE, **extra)
    env.pop("OS_CLOUD", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _warm_up(tree: Path = REPO) -> None:
    """Compile every module the clients import once, before anything is measured."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=1); "
            "import aiohttp, anyio, rich.live, yaml",
            str(tree / "bulkboot"),
        ],
        env=_env(tree),
        check=True,
    )


# ---------------------------------------------------------------- raw clients (baselines)
async def _raw_client(base: str, count: int, concurrency: int, per_server: bool) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(connector=connector) as session:
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
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}
        compute = base + "/compute/v2.1"
        gate = asyncio.Semaphore(concurrency)
        ids: list[str] = []
        first_create = time.time()
        last_active = last_created = 0.0
        active = 0

        async def create(index: int) -> None:
            nonlocal last_created
            body = {
                "server": {
                    "name": f"raw-{index:05d}",
                    "imageRef": IMAGE_ID,
                    "flavorRef": FLAVOR_ID,
                    "networks": "none",
                    "metadata": {"bulkboot:fleet": "raw"},
                }
            }
            async with (
                gate,
                session.post(compute + "/servers", json=body, headers=headers) as answer,
            ):
                data = await answer.json()
            last_created = time.time()
            server_id = data["server"]["id"]
            ids.append(server_id)
            if per_server:
                await wait_one(server_id)

        async def wait_one(server_id: str) -> None:
            nonlocal last_active, active
            while True:
                await asyncio.sleep(PER_SERVER_INTERVAL)
                async with session.get(f"{compute}/servers/{server_id}", headers=headers) as answer:
                    status = (await answer.json())["server"]["status"]
                if status in ("ACTIVE", "ERROR"):
                    active += status == "ACTIVE"
                    last_active = time.time()
                    return

        async def poll_rounds() -> None:
            nonlocal last_active, active
            since: str | None = None
            finished: set[str] = set()
            while len(finished) < count:
                await asyncio.sleep(POLL_INTERVAL)
                params = {"changes-since": since} if since else {}
                newest = since
                started = time.monotonic()
                seen = 0
                while True:
                    async with session.get(
                        compute + "/servers/detail", params=params, headers=headers
                    ) as answer:
                        data = await answer.json()
                    seen += len(data["servers"])
                    for server in data["servers"]:
                        if newest is None or server["updated"] > newest:
                            newest = server["updated"]
                        if server["status"] in ("ACTIVE", "ERROR") and server["id"] not in finished:
                            finished.add(server["id"])
                            active += server["status"] == "ACTIVE"
                            last_active = time.time()
                    more = any(link.get("rel") == "next" for link in data.get("servers_links", ()))
                    if not more or not data["servers"]:
                        break
                    params = dict(params, marker=data["servers"][-1]["id"])
                if newest is not None and seen >= 100:
                    # several pages are not one snapshot: step back (as bulkboot does)
                    back = datetime.fromisoformat(newest.replace("Z", "+00:00")) - timedelta(
                        seconds=math.ceil(time.monotonic() - started) + 1
                    )
                    newest = max(since or "", back.strftime("%Y-%m-%dT%H:%M:%SZ"))
                since = newest

        # gathered, not a TaskGroup: Python 3.10 has none
        jobs = [create(index) for index in range(count)]
        if not per_server:
            jobs.append(poll_rounds())
        await asyncio.gather(*jobs)
        return {
            "first_create": first_create,
            "last_created": last_created,
            "last_active": last_active,
            "active": active,
        }


# ---------------------------------------------------------------- one run of one client
def _wait(process: subprocess.Popen[Any]) -> tuple[float, int]:
    """CPU seconds (user+sys) and peak RSS (MiB) of a finished child."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def run_raw(sim: Simulator, count: int, concurrency: int, per_server: bool) -> dict[str, Any]:
    mode = "per-server" if per_server else "floor"
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--raw",
                mode,
                "--port",
                str(sim.port),
                "--count",
                str(count),
                "--concurrency",
                str(concurrency),
            ],
            stdout=out,
            env=_env(BENCH_PASSWORD=_password()),
        )
        cpu, rss = _wait(process)
        out.seek(0)
        result: dict[str, Any] = json.loads(out.read())
    return {
        "cpu": cpu,
        "rss": rss,
        "wall": result["last_active"] - result["first_create"],
        "creates": result["last_created"] - result["first_create"],
        "active": result["active"],
    }


def run_bulkboot(
    sim: Simulator,
    folder: Path,
    count: int,
    concurrency: int,
    *,
    live: bool = False,
    terminal: bool = False,
    tree: Path = REPO,
) -> dict[str, Any]:
    manifest = folder / "fleet.yaml"
    manifest.write_text(
        "name: bench\nmicroversion: auto\ndefaults:\n  image: cirros-0.6.2\n"
        "  flavor: m1.tiny\n  networks: none\nservers:\n"
        f'  - name: "bench-{{index:05d}}"\n    count: {count}\n'
    )
    # .bulkboot/<cloud>/<fleet>.jsonl (older trees: .bulkboot/<fleet>.jsonl)
    for old in (folder / ".bulkboot").rglob("bench.jsonl"):
        old.unlink()
    report = folder / "report.json"
    command = [
        sys.executable,
        "-m",
        "bulkboot",
        "apply",
        str(manifest),
        "--cloud",
        "bench",
        "--concurrency",
        str(concurrency),
        "--poll-interval",
        f"{POLL_INTERVAL}s",
        "--format",
        "live" if live else "plain",
        "--yes",
    ]
    env = _env(
        tree,
        OS_CLIENT_CONFIG_FILE=str(sim.clouds_yaml(folder)),
        COLUMNS="120",
        TERM="xterm-256color",
    )
    if live:  # the report carries the view's own CPU, measured in its thread
        command += ["--report", str(report)]
    if live or terminal:
        master, slave = pty.openpty()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=folder
        )
        os.close(slave)
        drained = threading.Thread(target=_drain, args=(master,), daemon=True)
        drained.start()
        cpu, rss = _wait(process)
        drained.join(timeout=5)
    else:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, cwd=folder
        )
        cpu, rss = _wait(process)
    if process.returncode != 0:
        raise SystemExit(f"bulkboot apply exited {process.returncode}")
    sent = active = None
    last = last_created = 0.0
    count_active = 0
    journal = next((folder / ".bulkboot").rglob("bench.jsonl"))
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        if record.get("ev") == "sent" and sent is None:
            sent = record["t"]
        if record.get("ev") == "created":
            last_created = max(last_created, record["t"])
        if record.get("ev") == "status" and record.get("status") == "ACTIVE":
            last = max(last, record["t"])
            count_active += 1
    active = count_active
    assert sent is not None
    result = {
        "cpu": cpu,
        "rss": rss,
        "wall": last - sent,
        "creates": last_created - sent,
        "active": active,
    }
    if live:
        run = json.loads(report.read_text())["run"]
        result["ui_share"] = (run["ui_cpu_seconds"] or 0.0) / run["process_cpu_seconds"]
    return result


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


# ---------------------------------------------------------------- a no-op re-apply
NOOP_MANIFEST = (
    "name: bench\nmicroversion: auto\ndefaults:\n  image: cirros-0.6.2\n"
    "  flavor: m1.tiny\n  networks: none\nservers:\n"
    '  - name: "bench-{{index:05d}}"\n    count: {count}\n'
)


def _bulkboot(sim: Simulator, folder: Path, *argv: str) -> dict[str, Any]:
    """``python -m bulkboot ARGV --cloud bench`` (output thrown away): exit code, CPU,
    peak RSS, wall seconds, and the API requests the simulator counted meanwhile."""
    env = _env(OS_CLIENT_CONFIG_FILE=str(sim.clouds_yaml(folder)))
    before = sim.stats()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkboot", *argv, "--cloud", "bench"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=folder,
    )
    cpu, rss = _wait(process)
    wall = time.monotonic() - started
    after = sim.stats()
    routes: dict[str, int] = {}
    for route, by_status in after["requests"].items():
        sent = sum(by_status.values()) - sum(before["requests"].get(route, {}).values())
        if sent:
            routes[route] = sent
    return {
        "code": process.returncode,
        "cpu": cpu,
        "rss": rss,
        "wall": wall,
        "requests": after["requests_total"] - before["requests_total"],
        "routes": routes,
    }


def run_noop(
    sim: Simulator, folder: Path, count: int, concurrency: int, runs: int, *, plan: bool
) -> None:
    """Boot ``count`` servers once, then ``runs`` no-op re-applies (and plans)."""
    sim.reset()
    manifest = folder / "fleet.yaml"
    manifest.write_text(NOOP_MANIFEST.format(count=count))
    apply = ["apply", str(manifest), "--format", "plain", "--yes"]
    boot = _bulkboot(sim, folder, *apply, "--concurrency", str(concurrency))
    if boot["code"] != 0:
        raise SystemExit(f"booting the fleet: bulkboot apply exited {boot['code']}")
    rows: dict[str, list[dict[str, Any]]] = {"apply (no-op)": []}
    if plan:
        rows["plan --detailed-exitcode (no change)"] = []
    for _ in range(runs):
        for label, results in rows.items():
            if label.startswith("apply"):
                result = _bulkboot(sim, folder, *apply)
                expected = 0
            else:
                result = _bulkboot(sim, folder, "plan", str(manifest), "--detailed-exitcode")
                expected = 0  # 0: no changes
            if result["code"] != expected:
                raise SystemExit(f"{label}: exited {result['code']}, not {expected}")
            result["load1"] = os.getloadavg()[0]
            results.append(result)
            print(
                f"  {label} N={count}: "
                + json.dumps({k: v for k, v in result.items() if k != "routes"}),
                file=sys.stderr,
                flush=True,
            )
    if sim.stats()["servers_total"] != count:
        raise SystemExit("a no-op re-apply changed the fleet")
    print(f"\n## No-op re-apply, N = {count} (booted once, then {runs} runs each)\n")
    print("| command | API requests | CPU s | wall s (start to exit) | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for label, results in rows.items():
        print(
            f"| {label} | {_cell([r['requests'] for r in results], '.0f')} "
            f"| {_cell([r['cpu'] for r in results], '.2f')} "
            f"| {_cell([r['wall'] for r in results], '.2f')} "
            f"| {_cell([r['rss'] for r in results], '.0f')} |"
        )
    for label, results in rows.items():
        routes = ", ".join(f"{route} {n}" for route, n in sorted(results[-1]["routes"].items()))
        print(f"\n{label}, requests of the last run by route: {routes}")
    # the fleet's journal after the boot and ``runs`` no-op applies (compacted as they go)
    journal = next((folder / ".bulkboot").rglob("bench.jsonl"), None)  # the fleet's name
    if journal is not None:
        size = journal.stat().st_size
        print(
            f"\nthe fleet's journal after the boot and {runs} no-op applies: "
            f"{size / 1024:.0f} KiB ({size / count:.0f} bytes per server)"
        )
    loads = [r["load1"] for results in rows.values() for r in results]
    print(f"\nload average (1 min) after each run: {_cell(loads, '.2f')}")


# ---------------------------------------------------------------- the benchmark
def _measure(sim: Simulator, count: int, action: Any) -> dict[str, Any]:
    sim.reset()
    result: dict[str, Any] = action()
    stats = sim.stats()
    result["requests_per_server"] = stats["requests_total"] / count
    result["cpu_ms_per_server"] = 1000 * result["cpu"] / count
    if result["active"] != count:
        raise SystemExit(f"only {result['active']} of {count} servers ACTIVE")
    return result


def _cell(values: list[float], fmt: str) -> str:
    return (
        f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-"
        f"{format(max(values), fmt)})"
    )


def _ratios(rows: dict[str, list[dict[str, Any]]], top: str, bottom: str, label: str) -> None:
    """Whole-process CPU of ``top`` against ``bottom``: run by run (runs of one round
    ran back to back), and the ratio of the medians."""
    if not rows.get(top) or not rows.get(bottom):
        return
    pairs = [a["cpu"] / b["cpu"] for a, b in zip(rows[top], rows[bottom], strict=True)]
    medians = statistics.median(r["cpu"] for r in rows[top]) / statistics.median(
        r["cpu"] for r in rows[bottom]
    )
    print(
        f"{label}: run by run {', '.join(f'{x:.3f}' for x in pairs)}; "
        f"median of pairs {statistics.median(pairs):.3f}; ratio of medians {medians:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="*", help="NxC, e.g. 1000x200")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--live-cost", action="store_true")
    parser.add_argument("--clients", default="bulkboot,floor,per-server")
    parser.add_argument("--raw", choices=("floor", "per-server"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--count", type=int)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument(
        "--baseline-tree", type=Path, help="another checkout, run as client bulkboot-baseline"
    )
    parser.add_argument("--noop", action="store_true", help="a no-op re-apply of a fleet")
    parser.add_argument("--noop-plan", action="store_true", help="with --noop: plan too")
    args = parser.parse_args()
    if args.raw:
        result = asyncio.run(
            _raw_client(
                f"http://127.0.0.1:{args.port}",
                args.count,
                args.concurrency,
                args.raw == "per-server",
            )
        )
        print(json.dumps(result))
        return
    cases = [tuple(int(x) for x in c.split("x")) for c in args.cases] if args.cases else CASES
    clients = args.clients.split(",")
    baseline: Path | None = args.baseline_tree.resolve() if args.baseline_tree else None
    if baseline is not None:
        clients.append("bulkboot-baseline")
    print(
        f"# nproc {os.cpu_count()}, Python {sys.version.split()[0]}, latency "
        f"{LATENCY * 1000:.0f} ms, build {BUILD_MEAN}s +- {BUILD_STDDEV}s, {args.runs} runs"
    )
    _warm_up()
    if baseline is not None:
        _warm_up(baseline)
    sim = Simulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for count, concurrency in cases if args.noop else ():
                run_noop(sim, folder, count, concurrency, args.runs, plan=args.noop_plan)
            for count, concurrency in () if args.noop else cases:
                rows: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
                if args.live_cost:
                    rows["bulkboot-plain-pty"] = []
                    rows["bulkboot-live"] = []
                for _ in range(args.runs):
                    for client in rows:
                        if client.startswith("bulkboot"):
                            action = functools.partial(
                                run_bulkboot,
                                sim,
                                folder,
                                count,
                                concurrency,
                                live=client == "bulkboot-live",
                                terminal=client == "bulkboot-plain-pty",
                                tree=(
                                    baseline
                                    if client == "bulkboot-baseline" and baseline is not None
                                    else REPO
                                ),
                            )
                        else:
                            action = functools.partial(
                                run_raw, sim, count, concurrency, client == "per-server"
                            )
                        rows[client].append(_measure(sim, count, action))
                        rows[client][-1]["load1"] = os.getloadavg()[0]
                        print(
                            f"  {client} N={count} c={concurrency}: "
                            + json.dumps({k: round(v, 4) for k, v in rows[client][-1].items()}),
                            file=sys.stderr,
                            flush=True,
                        )
                print(f"\n## N = {count}, concurrency {concurrency}\n")
                print(
                    "| client | requests/server | CPU ms/server | wall s (first create to "
                    "last ACTIVE) | creates s (first sent to last answered) | peak RSS MiB |"
                )
                print("|---|---|---|---|---|---|")
                for client, results in rows.items():
                    print(
                        f"| {client} | {_cell([r['requests_per_server'] for r in results], '.3f')} "
                        f"| {_cell([r['cpu_ms_per_server'] for r in results], '.2f')} "
                        f"| {_cell([r['wall'] for r in results], '.2f')} "
                        f"| {_cell([r['creates'] for r in results], '.2f')} "
                        f"| {_cell([r['rss'] for r in results], '.0f')} |",
                        flush=True,
                    )
                _ratios(rows, "bulkboot", "floor", "bulkboot / floor CPU")
                _ratios(rows, "bulkboot-baseline", "floor", "bulkboot-baseline / floor CPU")
                _ratios(rows, "bulkboot", "bulkboot-baseline", "bulkboot / bulkboot-baseline CPU")
                _ratios(
                    rows, "bulkboot-live", "bulkboot-plain-pty", "live / plain CPU (both on a pty)"
                )
                loads = [r["load1"] for results in rows.values() for r in results]
                print(f"load average (1 min) after each run: {_cell(loads, '.2f')}")
                shares = [r["ui_share"] for r in rows.get("bulkboot-live", ())]
                if shares:
                    print(
                        f"\nlive view drawing thread: {_cell([100 * x for x in shares], '.1f')}"
                        " % of the process's CPU\n"
                    )
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
