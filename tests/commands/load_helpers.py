"""Running ``bulkboot load`` in the command tests: a small manifest, in-process runs
through ``cli.main``, and a child process for the signal and SIGKILL tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.cli_helpers import REPO, run_cli

FLEET = """name: lab
defaults:
  image: cirros-0.6.2
  flavor: m1.tiny
  networks: none
servers:
  - name: "web-{index}"
    count: 2
"""
FAST = ("--poll-interval", "100ms", "--yes")


def write_load_fleet(folder: Path) -> Path:
    """``lab.yaml`` (``FLEET``) in ``folder``."""
    path = folder / "lab.yaml"
    path.write_text(FLEET)
    return path


def load(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> tuple[int, str, str]:
    """``bulkboot load PATH --cloud simulator`` (a flag argparse refuses exits 2 too)."""
    try:
        return run_cli(capsys, "load", str(path), "--cloud", "simulator", *FAST, *flags)
    except SystemExit as exit:
        captured = capsys.readouterr()
        return int(exit.code or 0), captured.out, captured.err


def start_load(
    path: Path, clouds: Path, *flags: str, capture: bool = True
) -> subprocess.Popen[str]:
    """``python -m bulkboot load PATH --cloud simulator --format plain FLAGS`` in a child
    process, its output kept for ``communicate`` (``capture``) or thrown away."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "bulkboot", "load", str(path), "--cloud", "simulator", *FAST]
        + ["--format", "plain", *flags],
        cwd=path.parent,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO)),
        stdout=output,
        stderr=output,
        text=True,
    )
