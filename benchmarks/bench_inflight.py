"""Creates in flight when a run dies: duplicates after a re-apply, servers left after a destroy.

Nova has no idempotency key: a ``POST /servers`` that reached nova-api is carried out
even when its client has gone. This kills ``bulkboot apply`` (SIGKILL) while about
``IN_FLIGHT`` creates are in flight on a slow API (latency 0.3 s, create queueing 0.2 s
per other create: the simulator reads the whole request before it is slow, and acts on
it whether or not its client is still there), then at once runs

- ``apply`` again, and counts the servers of the fleet that share a name (duplicates)
  once every create in flight has landed;
- or ``destroy``, and counts the servers of the fleet left once every create in flight
  has landed (orphans), beside what ``destroy`` said.

Each case runs ``RUNS`` times on a fresh simulator in a process of its own.

    python benchmarks/bench_inflight.py                    # both cases
    python benchmarks/bench_inflight.py --case apply --runs 1
    python benchmarks/bench_inflight.py --tree ../old-checkout   # another checkout's bulkboot
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- constants
IN_FLIGHT = 100  # creates in flight when the run is killed (= --concurrency, fixed)
FLEET = 100  # servers in the fleet
LATENCY = 0.3
CREATE_QUEUEING = 0.2
RUNS = 3
SETTLE = 40.0  # seconds after which every create in flight has landed (100 x 0.2 s + margin)
REPO = Path(__file__).resolve().parents[1]

SIMULATOR_CODE = """
import sys
from bulkboot.simulator.config import SimConfig
from bulkboot.simulator.server import start_simulator
config = SimConfig(latency={latency}, create_queueing={queueing}, build_time_mean=0.5,
                   build_time_stddev=0.1, delete_delay=0.2)
with start_simulator(config) as sim:
    print(sim.port, flush=True)
    sys.stdin.read()
"""

MANIFEST = """name: inflight
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: "node-{{index:03d}}"
    count: {count}
"""


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats") as answer:  # noqa: S310
        document: dict[str, Any] = json.load(answer)
    return document


def _sent(folder: Path) -> int:
    return sum(
        path.read_text(errors="replace").count('"ev":"sent"')
        for path in (folder / ".bulkboot").rglob("*.jsonl")
    )


def _bulkboot(tree: Path, folder: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bulkboot", *argv],
        cwd=folder,
        env=dict(
            os.environ, OS_CLIENT_CONFIG_FILE=str(folder / "clouds.yaml"), PYTHONPATH=str(tree)
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def one_run(case: str, tree: Path) -> dict[str, Any]:
    code = SIMULATOR_CODE.format(latency=LATENCY, queueing=CREATE_QUEUEING)
    simulator = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert simulator.stdout is not None
    port = int(simulator.stdout.readline())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "clouds.yaml").write_text(
                "clouds:\n  simulator:\n    auth_type: password\n    auth:\n"
                f"      auth_url: http://127.0.0.1:{port}/identity/v3\n"
                "      username: admin\n      password: sim-secret-password\n"
                "      project_name: demo\n      user_domain_name: Default\n"
                "      project_domain_name: Default\n    region_name: RegionOne\n"
            )
            manifest = folder / "inflight.yaml"
            manifest.write_text(MANIFEST.format(count=FLEET))
            common = ("--cloud", "simulator", "--format", "plain", "--yes")
            first = _bulkboot(
                tree,
                folder,
                "apply",
                str(manifest),
                *common,
                "--concurrency",
                str(IN_FLIGHT),
                "--fixed-concurrency",
            )
            deadline = time.monotonic() + 60
            while _sent(folder) < IN_FLIGHT and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # the last requests leave
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed_at = time.monotonic()
            landed = _stats(port)["servers_total"]
            flags = ("--poll-interval", "500ms") if case == "apply" else ()
            second = _bulkboot(tree, folder, case, str(manifest), *common, *flags)
            out, err = second.communicate(timeout=600)
            took = time.monotonic() - killed_at
            time.sleep(max(0.0, SETTLE - (time.monotonic() - killed_at)))
            stats = _stats(port)
            said = [line for line in out.splitlines() if line.strip()][-1:]
            return {
                "case": case,
                "sent_before_kill": _sent(folder),
                "servers_at_kill": landed,
                "second_exit": second.returncode,
                "second_seconds": round(took, 1),
                "second_said": said[0] if said else err.strip()[-200:],
                "servers_after": stats["servers_total"],
                "duplicates": stats["duplicate_names"],
            }
    finally:
        simulator.communicate("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("apply", "destroy", "both"), default="both")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose bulkboot runs")
    args = parser.parse_args()
    cases = ("apply", "destroy") if args.case == "both" else (args.case,)
    print(
        f"fleet {FLEET}, {IN_FLIGHT} creates in flight at SIGKILL, latency {LATENCY}s, "
        f"create queueing {CREATE_QUEUEING}s; bulkboot from {args.tree}"
    )
    for case in cases:
        for _ in range(args.runs):
            print(json.dumps(one_run(case, args.tree.resolve())), flush=True)


if __name__ == "__main__":
    main()
