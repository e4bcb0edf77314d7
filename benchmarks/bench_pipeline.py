"""Pipeline speed: YAML -> expanded specs -> validation -> POST bodies, for 100,000 servers.

    python benchmarks/bench_pipeline.py

Generates a manifest of GROUPS groups of COUNT servers each with varied fields
(templated metadata, hostnames and descriptions, nics, block devices, user data files,
tags, hints ...), then times, each in a fresh process so that peak RSS is its own:

* pipeline: ``load_manifest`` + ``validate`` + every body built by one ``BodyBuilder``
  and kept in a list, the GC paused (as ``plan``'s ``build_requests`` does), from
  reading the file to the last body;
* streamed: the same with ``BodyBuilder.build`` one server at a time, each body dropped
  once built (as ``apply`` sends them);
* baselines on the same file: ``yaml.safe_load`` alone (what any YAML-reading tool
  pays before doing anything), and ``yaml.load`` with libyaml's ``CSafeLoader``.

Prints servers/second from CPU time (the process's own time: the machine is shared and
wall time swings with the neighbours' load) and from wall time, the phases' CPU time,
and peak RSS, medians of RUNS runs.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GROUPS = 1_000
COUNT = 100
RUNS = 5
MICROVERSION = "2.96"


def write_manifest(folder: Path) -> Path:
    """A deterministic manifest with a different mix of fields in each group."""
    for i in range(5):
        (folder / f"cloud-init-{i}.yaml").write_text(f"#cloud-config\nhostname: role{i}\n" * 20)
    lines = [
        "name: bench",
        "cloud: simulator",
        f"microversion: '{MICROVERSION}'",
        "defaults:",
        "  image: cirros-0.6.2",
        "  flavor: m1.small",
        "  networks: auto",
        "  metadata: {owner: bench, purpose: load}",
        "  security_groups: [default]",
        "servers:",
    ]
    for g in range(GROUPS):
        lines += [f"  - name: 'g{g:04d}-{{index:03d}}'", f"    count: {COUNT}"]
        kind = g % 5
        lines.append(f"    metadata: {{group: '{g}', slot: '{{index}}', role: r{g % 7}}}")
        if kind == 0:
            lines += ["    flavor: m1.tiny", f"    user_data: cloud-init-{g % 5}.yaml"]
        elif kind == 1:
            lines += [
                "    networks:",
                "      - {net-name: private, tag: eth0}",
                "      - {net-name: public}",
                "    hostname: '{name}'",
                "    tags: [bench, 'g" + str(g) + "']",
            ]
        elif kind == 2:
            lines += [
                "    boot_volume: 0b5e3c4e-0000-4000-8000-000000000001",
                "    block_devices:",
                "      - {source: blank, dest: volume, size: 10, shutdown: remove}",
                "    ephemeral: [{size: 1, format: ext4}]",
            ]
        elif kind == 3:
            lines += [
                "    description: 'server {index} of group " + str(g) + "'",
                "    key_name: bench-key",
                "    availability_zone: nova",
                "    scheduler_hints: {different_cell: [cell1, cell2]}",
                "    config_drive: true",
            ]
        else:
            lines += [
                "    image: ubuntu-24.04",
                "    flavor: m1.medium",
                "    user_data_text: |",
                "      #!/bin/sh",
                "      echo hello",
                "    disk_config: AUTO",
            ]
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(mode: str, path: str) -> dict[str, float]:
    """Run one measurement in this (fresh) process: wall and CPU seconds, peak RSS."""
    if mode in ("pipeline", "streamed"):
        from bulkboot.gcpause import gc_paused
        from bulkboot.pipeline import microversion as mv
        from bulkboot.pipeline.body import BodyBuilder
        from bulkboot.pipeline.manifest import load_manifest
        from bulkboot.pipeline.spec import AS_WRITTEN
        from bulkboot.pipeline.validate import validate

        version = mv.parse(MICROVERSION)
        builder = BodyBuilder(AS_WRITTEN, version)
        wall, cpu = time.perf_counter(), time.process_time()
        manifest = load_manifest(path)
        loaded = time.process_time()
        problems = validate(manifest, version)
        validated = time.process_time()
        build = builder.build
        if mode == "pipeline":  # every body kept, the GC paused, as `plan` does
            with gc_paused():
                bodies = [build(spec) for spec in manifest.servers]
            count = len(bodies)
        else:  # each body dropped once built, as `apply` sends them
            count = 0
            for spec in manifest.servers:
                build(spec)
                count += 1
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        assert not problems, problems[:3]
        assert count == GROUPS * COUNT
        phases = {
            "load_cpu": loaded - cpu,
            "validate_cpu": validated - loaded,
            "bodies_cpu": cpu_end - validated,
        }
    else:
        import yaml

        loader = yaml.SafeLoader if mode == "safe_load" else yaml.CSafeLoader
        wall, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as stream:
            data = yaml.load(stream, Loader=loader)  # noqa: S506 - safe loaders only
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        assert len(data["servers"]) == GROUPS
        phases = {}
    return {
        "seconds": wall_end - wall,
        "cpu": cpu_end - cpu,
        "peak_rss_mib": peak_rss_mib(),
        **phases,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], sys.argv[3])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = write_manifest(Path(tmp))
        size = path.stat().st_size
        print(
            f"manifest: {GROUPS} groups x {COUNT} = {GROUPS * COUNT:,} servers, "
            f"{size / 1024:.0f} KiB of YAML"
        )
        print(f"machine: nproc={os.cpu_count()}, Python {platform.python_version()}")
        results: dict[str, list[dict[str, float]]] = {}
        for _ in range(RUNS):  # interleaved, so that drift hits every mode alike
            for mode in ("pipeline", "streamed", "safe_load", "csafe_load"):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", mode, str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                results.setdefault(mode, []).append(json.loads(out.stdout))
        servers = GROUPS * COUNT
        for mode, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = statistics.median(r["peak_rss_mib"] for r in runs)
            every = ", ".join(f"{r['cpu']:.3f}" for r in runs)
            line = (
                f"{mode:>10}: CPU median {cpu:.3f} s ({every}) = {servers / cpu:,.0f} servers/s;"
                f" wall {seconds:.3f} s = {servers / seconds:,.0f}/s; peak RSS {rss:.0f} MiB"
            )
            if "load_cpu" in runs[0]:
                line += (
                    " [CPU: "
                    + ", ".join(
                        f"{phase[:-4]} {statistics.median(r[phase] for r in runs):.3f}"
                        for phase in ("load_cpu", "validate_cpu", "bodies_cpu")
                    )
                    + "]"
                )
            print(line)


if __name__ == "__main__":
    main()
