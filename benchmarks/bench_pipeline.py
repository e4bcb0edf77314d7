"""Pipeline speed: YAML -> expanded specs -> validation -> POST bodies, for 100,000 servers.

    python benchmarks/bench_pipeline.py

Generates a manifest of GROUPS groups of COUNT servers each with varied fields
(templated metadata, hostnames and descriptions, nics, block devices, user data files,
tags, hints ...), then times, each in a fresh process so that peak RSS is its own:

* pipeline: ``load_manifest`` + ``validate`` + ``BodyBuilder.build`` for every server,
  from reading the file to the last body (bodies kept in a list, as a plan would);
* baselines on the same file: ``yaml.safe_load`` alone (what any YAML-reading tool
  pays before doing anything), and ``yaml.load`` with libyaml's ``CSafeLoader``.

Prints servers/second and peak RSS, medians of RUNS runs.
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
RUNS = 3
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
    """Run one measurement in this (fresh) process."""
    rss_before = peak_rss_mib()
    if mode == "pipeline":
        from bulkboot.pipeline import microversion as mv
        from bulkboot.pipeline.body import BodyBuilder
        from bulkboot.pipeline.manifest import load_manifest
        from bulkboot.pipeline.spec import AS_WRITTEN
        from bulkboot.pipeline.validate import validate

        version = mv.parse(MICROVERSION)
        builder = BodyBuilder(AS_WRITTEN, version)
        start = time.perf_counter()
        manifest = load_manifest(path)
        problems = validate(manifest, version)
        build = builder.build
        bodies = [build(spec) for spec in manifest.servers]
        seconds = time.perf_counter() - start
        assert not problems, problems[:3]
        assert len(bodies) == GROUPS * COUNT
    else:
        import yaml

        loader = yaml.SafeLoader if mode == "safe_load" else yaml.CSafeLoader
        start = time.perf_counter()
        with open(path, "rb") as stream:
            data = yaml.load(stream, Loader=loader)  # noqa: S506 - safe loaders only
        seconds = time.perf_counter() - start
        assert len(data["servers"]) == GROUPS
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib(), "rss_at_start": rss_before}


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
            for mode in ("pipeline", "safe_load", "csafe_load"):
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
            rss = statistics.median(r["peak_rss_mib"] for r in runs)
            every = ", ".join(f"{r['seconds']:.3f}" for r in runs)
            print(
                f"{mode:>10}: median {seconds:.3f} s ({every}) = {servers / seconds:,.0f} "
                f"servers/s; peak RSS {rss:.0f} MiB"
            )


if __name__ == "__main__":
    main()
