"""Regenerate the README's report screenshots (docs/images/report-*.png).

    python docs/screenshots.py

* apply: ``bulkboot apply manifests/fleet.yaml --report --html`` (1,000 servers) on a
  simulator that answers in 30-50 ms, builds in about 6 s, fails 2 % of the builds
  and queues creates (so the create window has something to do);
* load: the page of a generated load report (``tests/ui/report_fixtures.py``,
  ``load_document``: the load report's schema, an open loop at 10/s with a five-second
  latency spike) until ``bulkboot load`` writes real ones.

Each page is drawn by headless chromium (Debian's ``chromium``) at 1200 px wide and
cut to its first screen and a half, as a reader first sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bulkboot.simulator import SimConfig, start_simulator  # noqa: E402
from bulkboot.ui.html import render_report  # noqa: E402
from bulkboot.ui.report_read import parse_report  # noqa: E402
from tests.ui.report_fixtures import load_document  # noqa: E402

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
    document = parse_report(json.loads(json.dumps(load_document(1200))), source="load.json")
    page = folder / "load.html"
    page.write_text(render_report(document, source="load.json"), encoding="utf-8")
    return page


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        shoot(apply_page(folder), IMAGES / "report-apply.png", folder)
        shoot(load_page(folder), IMAGES / "report-load.png", folder)


if __name__ == "__main__":
    main()
