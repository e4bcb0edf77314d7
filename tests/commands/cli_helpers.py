"""Running the apply/status/destroy commands against the test simulator.

A clouds.yaml in the test's folder names the session simulator "simulator" (so the
command talks to it instead of starting the embedded one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bulkboot import cli
from bulkboot.simulator.server import RunningSimulator

LAB = """name: lab
microversion: auto
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks:
    - {net-name: private}
servers:
  - name: "web-{index:02d}"
    count: 5
    metadata: {role: web}
  - name: db
    flavor: m1.small
    admin_pass: "hunter2-not-for-logs"
"""


def use_simulator(sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(sim.clouds_yaml()))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.chdir(tmp_path)
    return clouds


def write_lab(tmp_path: Path, text: str = LAB) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
