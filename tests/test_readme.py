"""The README's first two commands: what a new user runs, and what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None, "the README starts with a sh block of two commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readmes_test_command_exactly() -> None:
    install_and_run, install_and_test = _commands()
    assert "bulkboot apply manifests/demo.yaml" in install_and_run
    assert install_and_test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_commands_need_no_system_wide_install() -> None:
    """PEP 668 hosts refuse ``pip install`` outside a virtual environment, and have no
    ``python``: every command makes and uses its own environment with ``python3``."""
    for command in _commands():
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
        assert not re.search(r"(^|&& )(python|pip|bulkboot) ", command), command
