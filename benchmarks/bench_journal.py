"""The journal's size over no-op applies, and the look-ups of servers deleted outside bulkboot.

A fleet of ``--servers`` (1,000) is booted once with ``bulkboot apply``; then
``--applies`` (10) more ``apply`` runs of the same manifest, each of which finds every
server there and creates nothing (a no-op apply). After each run: the journal's size in
bytes and lines, and the run's wall time and CPU (user+sys of the ``bulkboot`` process,
``wait4``), so a compaction is seen where it happens and what it costs.

Then ``--deleted-outside`` (200) of the fleet's servers are deleted directly through the
compute API (as a colleague's script or the dashboard would), and ``bulkboot status``
runs twice: the ``GET /servers/{id}`` requests each status run sends (simulator stats)
say whether what the first run learned (those servers are gone) spares the second one
the look-ups.

Each command is the real one (``python -m bulkboot``, from ``--tree``: another checkout
gives the before figure), against a simulator in a process of its own (no latency,
builds of 0.2 s).

    python benchmarks/bench_journal.py
    python benchmarks/bench_journal.py --runs 3 --tree ../main --tree .   # before, after
"""

from __future__ import annotations

import argparse
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

REPO = Path(__file__).resolve().parents[1]
SERVERS = 1000
APPLIES = 10
DELETED_OUTSIDE = 200
RUNS = 3
GET_ONE = "GET /compute/v2.1/servers/{server_id}"

SIMULATOR_CODE = """
import sys
from bulkboot.simulator.config import SimConfig
from bulkboot.simulator.server import start_simulator
config = SimConfig(latency=0.0, build_time_mean=0.2, build_time_stddev=0.05, delete_delay=0.1)
with start_simulator(config) as sim:
    print(sim.port, flush=True)
    sys.stdin.read()
"""

MANIFEST = """name: growth
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: "node-{{index:05d}}"
    count: {count}
"""

CLOUDS = """clouds:
  simulator:
    auth_type: password
    auth:
      auth_url: http://127.0.0.1:{port}/identity/v3
      username: admin
      password: sim-secret-password
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
"""


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats") as answer:  # noqa: S310
        document: dict[str, Any] = json.load(answer)
    return document


def _gets(port: int) -> int:
    return sum(_stats(port)["requests"].get(GET_ONE, {}).values())


def _bulkboot(tree: Path, folder: Path, *argv: str) -> dict[str, Any]:
    """Run one command; its exit code, wall seconds and CPU seconds (user+sys)."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(folder / "clouds.yaml"), PYTHONPATH=str(tree))
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkboot", *argv],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit": process.returncode,
        "seconds": round(time.monotonic() - started, 2),
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "err": err.decode(errors="replace")[-300:],
    }


def _journal(folder: Path) -> dict[str, int]:
    path = folder / ".bulkboot" / "simulator" / "growth.jsonl"
    data = path.read_bytes() if path.exists() else b""
    return {"bytes": len(data), "lines": data.count(b"\n")}


def _delete_outside(port: int, folder: Path, count: int, total: int) -> None:
    """Delete ``count`` of the fleet's servers through the compute API, not bulkboot."""
    sys.path.insert(0, str(REPO))
    import anyio

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.config import load_cloud_config

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(folder / "clouds.yaml")

    async def delete() -> None:
        async with open_cloud(load_cloud_config("simulator")) as cloud:
            await cloud.compute.negotiate("auto")
            servers = await cloud.compute.list_servers(None, detail=True)
            for record in sorted(servers, key=lambda r: str(r["name"]))[:count]:
                await cloud.compute.delete_server(str(record["id"]))

    anyio.run(delete)
    deadline = time.monotonic() + 60
    while _stats(port)["servers_total"] > total - count and time.monotonic() < deadline:
        time.sleep(0.1)


def run(tree: Path, servers: int, applies: int, deleted: int) -> dict[str, Any]:
    simulator = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert simulator.stdout is not None
    port = int(simulator.stdout.readline())
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "clouds.yaml").write_text(CLOUDS.format(port=port))
            manifest = folder / "growth.yaml"
            manifest.write_text(MANIFEST.format(count=servers))
            common: tuple[str, ...] = ("--cloud", "simulator", "--format", "plain", "--yes")
            common += ("--concurrency", "200", "--poll-interval", "500ms")
            for number in range(applies + 1):
                result = _bulkboot(tree, folder, "apply", str(manifest), *common)
                if result["exit"] != 0:
                    raise SystemExit(f"apply {number} failed: {result['err']}")
                row = {"apply": "first" if number == 0 else f"no-op {number}", **result}
                row.update(_journal(folder))
                del row["err"]
                rows.append(row)
                print(json.dumps(row), flush=True)
            statuses: list[dict[str, Any]] = []
            if deleted:
                _delete_outside(port, folder, deleted, _stats(port)["servers_total"])
                for number in (1, 2):
                    before = _gets(port)
                    result = _bulkboot(
                        tree, folder, "status", str(manifest), "--cloud", "simulator"
                    )
                    entry = {
                        "status": number,
                        "exit": result["exit"],
                        "gets": _gets(port) - before,
                        **_journal(folder),
                    }
                    statuses.append(entry)
                    print(json.dumps(entry), flush=True)
    finally:
        simulator.communicate("")
    return {"applies": rows, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=SERVERS)
    parser.add_argument("--applies", type=int, default=APPLIES, help="no-op applies after one")
    parser.add_argument("--deleted-outside", type=int, default=DELETED_OUTSIDE)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        help="a checkout whose bulkboot runs (repeat to compare; the runs interleave)",
    )
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [REPO]]
    print(
        f"fleet of {args.servers}, {args.applies} no-op applies, {args.deleted_outside} "
        f"deleted outside, {args.runs} run(s) per tree; load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results: dict[Path, list[dict[str, Any]]] = {tree: [] for tree in trees}
    for _ in range(args.runs):
        for tree in trees:
            print(f"# bulkboot from {tree}", flush=True)
            results[tree].append(run(tree, args.servers, args.applies, args.deleted_outside))
    for tree, runs in results.items():
        first = statistics.median(r["applies"][0]["bytes"] for r in runs)
        last = statistics.median(r["applies"][-1]["bytes"] for r in runs)
        top = max(a["bytes"] for r in runs for a in r["applies"])
        cpu = statistics.median(a["cpu"] for r in runs for a in r["applies"][1:])
        print(
            f"{tree}: journal {first:,.0f} bytes after the first apply, {last:,.0f} after "
            f"{args.applies} no-op applies (largest {top:,}); CPU per no-op apply "
            f"{cpu:.2f} s (median of {len(runs) * args.applies})"
        )
        if args.deleted_outside:
            gets = [[s["gets"] for s in r["statuses"]] for r in runs]
            print(f"  GET /servers/{{id}} per status run, run by run: {gets}")


if __name__ == "__main__":
    main()
