"""Regenerate the README's report screenshots (docs/images/report-*.png).

    python docs/screenshots.py [apply] [load]     # both when none is named

* apply: ``bulkboot apply manifests/fleet.yaml --report --html`` (1,000 servers) on a
  simulator that answers in 30-50 ms, builds in about 6 s, fails 2 % of the builds
  and queues creates (so the create window has something to do);
* load: ``bulkboot load manifests/demo.yaml --rate 10 --duration 60s --report --html``
  (boot-delete, an open loop) on a simulator that answers in 30-50 ms and builds in
  about 3 s, fails 2 % of the builds, and answers in 0.6 s for five seconds from 25 s
  into the run (the spike shows in ``post`` and ``total``, measured from the intended
  start; the open loop's starts stay on time: 0 late past the 10 ms tolerance).

Each page is drawn by headless chromium (Debian's ``chromium``) at 1200 px wide and
cut to its first screen and a half, as a reader first sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bulkboot.simulator import SimConfig, start_simulator  # noqa: E402

IMAGES = REPO / "docs" / "images"
SIZE = "1200,1500"
SIMULATOR = SimConfig(
    seed=42,
    latency=0.03,
    jitter=0.02,
    create_queueing=0.002,
    build_time_mean=6.0,
    build_time_stddev=1.5,
    error_fraction=0.02,
)
LOAD_SIMULATOR = SimConfig(
    seed=42,
    latency=0.03,
    jitter=0.02,
    build_time_mean=3.0,
    build_time_stddev=0.8,
    error_fraction=0.02,
)
SPIKE_AT, SPIKE_FOR, SPIKE_LATENCY = 25.0, 5.0, 0.6  # seconds into the run, for, answering in


def shoot(page: Path, image: Path, folder: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install -y chromium")
    profile = tempfile.mkdtemp(dir=folder)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={SIZE}",
            f"--screenshot={image}",
            page.as_uri(),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"wrote {image.relative_to(REPO)} ({image.stat().st_size // 1024} KiB)")


def apply_page(folder: Path) -> Path:
    page = folder / "apply.html"
    with start_simulator(SIMULATOR) as simulator:
        clouds = folder / "clouds.yaml"
        clouds.write_text(yaml.safe_dump(simulator.clouds_yaml()))
        manifest = folder / "fleet.yaml"
        manifest.write_text((REPO / "manifests" / "fleet.yaml").read_text())
        subprocess.run(
            [sys.executable, "-m", "bulkboot", "apply", "fleet.yaml", "--cloud", "simulator"]
            + ["--format", "plain", "--yes", "--report", "apply.json", "--html", page.name],
            cwd=folder,
            env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO)),
            check=False,  # 2 % of the builds fail on purpose: exit 1
            stdout=subprocess.DEVNULL,
        )
    return page


def load_page(folder: Path) -> Path:
    page = folder / "load.html"
    with start_simulator(LOAD_SIMULATOR) as simulator:
        clouds = folder / "clouds.yaml"
        clouds.write_text(yaml.safe_dump(simulator.clouds_yaml()))
        manifest = folder / "demo.yaml"
        manifest.write_text((REPO / "manifests" / "demo.yaml").read_text())
        (folder / "cloud-init").mkdir(exist_ok=True)
        for file in (REPO / "manifests" / "cloud-init").iterdir():
            (folder / "cloud-init" / file.name).write_bytes(file.read_bytes())
        process = subprocess.Popen(
            [sys.executable, "-m", "bulkboot", "load", "demo.yaml", "--cloud", "simulator"]
            + ["--rate", "10", "--duration", "60s", "--poll-interval", "250ms", "--yes"]
            + ["--threshold", "p95(post)<500ms", "--threshold", "rate(failed)<1%"]
            + ["--threshold", "count(dropped)==0", "--format", "plain"]
            + ["--report", "load.json", "--html", page.name],
            cwd=folder,
            env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO)),
            stdout=subprocess.DEVNULL,
        )

        def spike() -> None:
            journal = folder / ".bulkboot" / "simulator" / "demo.jsonl"
            while not journal.exists() and process.poll() is None:
                time.sleep(0.05)  # the run begins with its journal
            time.sleep(SPIKE_AT)
            simulator.configure(latency=SPIKE_LATENCY)
            time.sleep(SPIKE_FOR)
            simulator.configure(latency=LOAD_SIMULATOR.latency)

        spiking = threading.Thread(target=spike, daemon=True)
        spiking.start()
        process.wait(timeout=600)  # exit 3: the spike breaks p95(post)<500ms, on purpose
        spiking.join(timeout=60)
    return page


def main() -> None:
    wanted = set(sys.argv[1:]) or {"apply", "load"}
    unknown = wanted - {"apply", "load"}
    if unknown:
        raise SystemExit(f"no such screenshot: {', '.join(sorted(unknown))} (apply, load)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if "apply" in wanted:
            shoot(apply_page(folder), IMAGES / "report-apply.png", folder)
        if "load" in wanted:
            shoot(load_page(folder), IMAGES / "report-load.png", folder)


if __name__ == "__main__":
    main()
