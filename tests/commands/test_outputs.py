"""``apply --report``: a path that cannot take the report is found before the first
request (exit 2, nothing sent); one that fails at the end is exit 1, with the fleet
built and the journal whole."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, journal_of, start_apply, wait_for_sends, write_fleet
from tests.ui.test_outfile import device_like_dev_full


def _missing_folder(tmp: Path) -> str:
    return str(tmp / "no-such-folder" / "report.json")


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "fifo.json")
    return str(tmp / "fifo.json")


def _symlink(tmp: Path) -> str:
    (tmp / "link.json").symlink_to(tmp / "lab.yaml")
    return str(tmp / "link.json")


def _folder(tmp: Path) -> str:
    return str(tmp)


def _under_a_file(tmp: Path) -> str:
    return str(tmp / "lab.yaml" / "report.json")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_missing_folder, "does not exist"),
        (_fifo, "is a FIFO"),
        (_symlink, "is a symbolic link"),
        (_folder, "is a directory"),
        (_under_a_file, "Not a directory"),
        (lambda tmp: str(device_like_dev_full(tmp)), "is a character device"),
    ],
    ids=["missing-folder", "fifo", "symlink", "directory", "under-a-file", "dev-full"],
)
def test_a_report_path_that_cannot_be_written_is_refused_before_any_request(
    sim: RunningSimulator,
    lab: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], str],
    says: str,
) -> None:
    path = make(lab.parent)
    code, out, err = apply(capsys, lab, "--report", path)
    assert code == 2 and out == ""
    assert err.startswith(f"bulkboot: error: --report {path}: ") and says in err
    assert sim.stats()["requests_total"] == 0  # not even a token
    assert lab.read_text().startswith("name: lab")  # the symlink's target untouched


def test_a_report_that_fails_at_the_end_exits_1_with_the_fleet_built_and_journaled(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_fleet(tmp_path, "late", 40)
    folder = tmp_path / "reports"
    folder.mkdir()
    process = start_apply(path, clouds, "--concurrency", "4", "--report", str(folder / "r.json"))
    wait_for_sends(journal_of(path), 4)
    folder.rename(tmp_path / "gone")  # the report's folder disappears during the run
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert f"bulkboot: error: cannot write the report {folder}/r.json: " in err
    assert "all 40 servers booted" in out  # the summary was shown first
    assert sim.stats()["servers_total"] == 40
    for line in journal_of(path).read_text().splitlines():
        json.loads(line)  # every line whole
    assert list((tmp_path / "gone").iterdir()) == []  # no temporary file left behind


def test_a_reader_that_stops_reading_does_not_stop_the_run(
    sim: RunningSimulator, tmp_path: Path, clouds: Path
) -> None:
    """``bulkboot apply f.yaml | head -3``: the fleet is built all the same, the exit
    code is the run's, and nothing says "internal error"."""
    path = write_fleet(tmp_path, "piped", 200)  # more lines than a pipe's buffer
    process = start_apply(path, clouds, "--concurrency", "20")
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # as head does once it has its lines
    err = process.stderr.read()
    code = process.wait(timeout=120)
    process.stderr.close()
    assert first.startswith("authenticating at")
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err and "BrokenPipe" not in err
    assert sim.stats()["servers_total"] == 200
    journal = journal_of(path).read_text()
    assert journal.count('"ev":"sent"') == 200
