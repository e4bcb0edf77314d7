"""The ``bulkboot`` command as a user runs it: ``python -m bulkboot`` in a child process,
in a folder whose clouds.yaml is the only cloud it can see, bounded by a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.realnova.service import NovaService

__all__ = ["COMMAND_TIMEOUT", "Bulkboot"]

REPO = Path(__file__).resolve().parents[2]

# One command's ceiling: a small fleet on the fake computes is ACTIVE in seconds.
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Bulkboot:
    """``bulkboot`` run in ``folder`` against the real Nova only (cloud ``realnova``)."""

    folder: Path
    env: dict[str, str]

    @classmethod
    def in_folder(cls, nova: NovaService, folder: Path) -> Bulkboot:
        """Write ``folder/clouds.yaml`` and keep every other cloud of the developer out:
        no ``OS_*`` variable, ``HOME`` in the folder (no ~/.config/openstack)."""
        clouds = nova.write_clouds_yaml(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env |= {
            "OS_CLIENT_CONFIG_FILE": str(clouds),
            "HOME": str(folder),
            "PYTHONPATH": str(REPO),
            "NO_PROXY": "127.0.0.1",
        }
        return cls(folder=folder, env=env)

    def run(self, *argv: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run ``bulkboot ARGV``; a run past ``timeout`` fails the test (the child is killed)."""
        try:
            return subprocess.run(
                [sys.executable, "-m", "bulkboot", *argv],
                cwd=self.folder,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"bulkboot {' '.join(argv)} ran past {timeout:.0f}s: {exc.stderr!r}")

    def json(self, *argv: str, expect: int = 0) -> Any:
        """Run ``bulkboot ARGV`` (which must ask for ``--format json``): its stdout document."""
        done = self.run(*argv)
        assert done.returncode == expect, (
            f"bulkboot {' '.join(argv)} exited {done.returncode}\n"
            f"stdout: {done.stdout}\nstderr: {done.stderr}"
        )
        return json.loads(done.stdout)
