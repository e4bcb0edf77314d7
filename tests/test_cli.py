"""The CLI front: exit codes and error printing hold for every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bulkboot import cli


def test_version_flag_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("bulkboot ")


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_front() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bulkboot", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "usage: bulkboot" in result.stdout
