"""Request-body speed: ServerSpec -> POST /servers body, per server.

    python benchmarks/bench_body.py

Times ``build_bodies`` (one ``BodyBuilder``, the cyclic GC paused, as ``plan`` runs it)
over N servers in two shapes, and ``BodyBuilder.build`` one server at a time with the GC on:

* group: one group's servers, as the manifest loader hands them over (shared values are
  shared objects; name, metadata, description and hostname differ per server) — the
  common case, served from the per-group template;
* distinct: every server has its own fixed IP and its own pre-created volume, so no two
  share a template (the worst case: the whole body is built for each server).

Baselines in the same run: python-novaclient 18.x building the same body
(``ServerManager.create`` with its HTTP layer replaced by a recorder, NOVA_N servers),
and ``json.dumps`` of the bulkboot bodies (what sending them costs at the least).
Prints the median of RUNS runs in CPU µs per body, with every run's figure.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bulkboot.gcpause import gc_paused  # noqa: E402
from bulkboot.pipeline.body import BodyBuilder  # noqa: E402
from bulkboot.pipeline.microversion import Microversion, parse  # noqa: E402
from bulkboot.pipeline.spec import AS_WRITTEN, Location, Nic, References, ServerSpec  # noqa: E402

N = 100_000
NOVA_N = 10_000
RUNS = 5
MICROVERSION = "2.96"

LOCATION = Location("bench.yaml", 10, 5)
USER_DATA = b"#cloud-config\npackages: [nginx]\n" * 40
SHARED: dict[str, Any] = {
    "fleet": "bench",
    "location": LOCATION,
    "group": "web-{index:06d}",
    "image": "cirros-0.6.2",
    "flavor": "m1.small",
    "key_name": "ops",
    "user_data": USER_DATA,
    "security_groups": ("default", "web"),
    "scheduler_hints": {"group": "0b5e3c4e-6666-4000-8000-000000000001"},
    "tags": ("bench", "web"),
    "block_devices": ({"source": "blank", "dest": "volume", "size": "10"},),
}
NICS = (Nic(net_name="private", tag="eth0"),)


def group_specs() -> list[ServerSpec]:
    return [
        ServerSpec(
            name=f"web-{i:06d}",
            index=i,
            metadata={"role": "web", "slot": str(i)},
            description=f"web server {i}",
            hostname=f"web-{i:06d}",
            networks=NICS,
            **SHARED,
        )
        for i in range(N)
    ]


def distinct_specs() -> list[ServerSpec]:
    shared = {k: v for k, v in SHARED.items() if k != "block_devices"}
    return [
        ServerSpec(
            name=f"web-{i:06d}",
            index=i,
            metadata={"role": "web"},
            networks=(Nic(net_name="private", v4_fixed_ip=_address(i)),),
            block_devices=({"source": "volume", "id": f"0b5e3c4e-0000-4000-8000-{i:012d}"},),
            **shared,
        )
        for i in range(N)
    ]


def _address(i: int) -> str:
    return f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"


def timed(work: Callable[[], object]) -> float:
    """CPU seconds of this (single-threaded) process: steadier than wall time when the
    machine is shared."""
    start = time.process_time()
    work()
    return time.process_time() - start


def novaclient_builder() -> Callable[[int], object]:
    """novaclient's ServerManager.create for the 'group' server, HTTP layer recorded."""
    from novaclient import api_versions
    from novaclient.v2 import servers

    class Posted(Exception):
        pass

    class Http:
        def post(self, url: str, body: dict[str, Any]) -> None:
            raise Posted(body)

    class Client:
        api_version = api_versions.APIVersion(MICROVERSION)
        client = Http()

    manager = servers.ServerManager(Client())

    def build(i: int) -> object:
        try:
            manager.create(
                f"web-{i:06d}",
                "cirros-0.6.2",
                "m1.small",
                meta={"role": "web", "slot": str(i)},
                userdata=USER_DATA,
                key_name="ops",
                security_groups=["default", "web"],
                scheduler_hints={"group": "0b5e3c4e-6666-4000-8000-000000000001"},
                block_device_mapping_v2=[
                    {"source_type": "blank", "destination_type": "volume", "volume_size": "10"}
                ],
                nics=[{"net-id": "private", "tag": "eth0"}],
                description=f"web server {i}",
                tags=["bench", "web"],
                hostname=f"web-{i:06d}",
            )
        except Posted as posted:
            return posted.args[0]
        raise AssertionError("novaclient did not post")

    return build


def main() -> None:
    version = parse(MICROVERSION)
    group, distinct = group_specs(), distinct_specs()
    nova_build = novaclient_builder()
    figures: dict[str, list[float]] = {}

    def record(label: str, seconds: float, count: int) -> None:
        figures.setdefault(label, []).append(seconds / count)

    for _ in range(RUNS):
        bodies = build_bodies(group, AS_WRITTEN, version)  # warm, and kept for json
        record("build_bodies, group", timed(lambda: build_bodies(group, AS_WRITTEN, version)), N)
        record(
            "build_bodies, distinct",
            timed(lambda: build_bodies(distinct, AS_WRITTEN, version)),
            N,
        )
        record("build one by one, GC on", timed(lambda: _one_by_one(group, version)), N)
        record(
            "baseline novaclient, GC on",
            timed(lambda: [nova_build(i) for i in range(NOVA_N)]),
            NOVA_N,
        )
        record(
            "baseline novaclient, GC off",
            timed(lambda: _paused(lambda: [nova_build(i) for i in range(NOVA_N)])),
            NOVA_N,
        )
        record("baseline json.dumps", timed(lambda: [json.dumps(b) for b in bodies]), N)  # noqa: B023
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, N={N:,} "
        f"(novaclient {NOVA_N:,}), median of {RUNS} runs"
    )
    for label, values in figures.items():
        runs = ", ".join(f"{v * 1e6:.2f}" for v in values)
        print(f"{label:>28}: {statistics.median(values) * 1e6:6.2f} CPU µs/body  ({runs})")


def build_bodies(
    specs: list[ServerSpec], refs: References, version: Microversion
) -> list[dict[str, Any]]:
    """Every body kept, from one builder with the GC paused (``build_requests`` minus
    the request wrapper)."""
    build = BodyBuilder(refs, version).build
    with gc_paused():
        return [build(spec) for spec in specs]


def _one_by_one(specs: list[ServerSpec], version: Microversion) -> list[dict[str, Any]]:
    build = BodyBuilder(AS_WRITTEN, version).build
    return [build(spec) for spec in specs]


def _paused(work: Callable[[], object]) -> object:
    with gc_paused():
        return work()


if __name__ == "__main__":
    main()
