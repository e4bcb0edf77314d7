"""``bulkboot load --report/--html`` through the path apply and destroy take: output paths
checked before anything is sent, written after the summary (a late failure exit 1), the
page drawn from the real report, ``bulkboot report`` and ``report compare`` on it.

Real time on the session simulator: these hold what is written and read, never how
fast anything is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import journal_of, run_cli, wait_for_sends
from tests.commands.load_helpers import load, start_load, write_load_fleet


@pytest.fixture
def fleet(clouds: Path) -> Path:
    return write_load_fleet(clouds.parent)


RUN = ("--rate", "20", "--iterations", "8", "--format", "json")


@pytest.mark.parametrize("flag", ["--report", "--html"])
@pytest.mark.parametrize("where", ["missing-folder", "fifo", "directory"])
def test_an_output_path_that_cannot_be_written_is_refused_before_anything_is_sent(
    sim: RunningSimulator,
    fleet: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    where: str,
) -> None:
    import os

    folder = fleet.parent
    if where == "missing-folder":
        path = folder / "no-such-folder" / "out"
    elif where == "fifo":
        path = folder / "fifo"
        os.mkfifo(path)
    else:
        path = folder
    code, out, err = load(capsys, fleet, *RUN, flag, str(path))
    assert code == 2 and out == "", err
    assert err.startswith(f"bulkboot: error: {flag} {path}: ")
    assert sim.stats()["requests_total"] == 0  # not even a token


def test_a_report_that_fails_at_the_end_exits_1_after_the_summary_and_cleans_up(
    sim: RunningSimulator, fleet: Path, clouds: Path
) -> None:
    sim.configure(latency=0.02)
    folder = fleet.parent / "reports"
    folder.mkdir()
    process = start_load(
        fleet, clouds, "--rate", "20", "--iterations", "30", "--html", str(folder / "r.html")
    )
    wait_for_sends(journal_of(fleet), 4)
    folder.rename(fleet.parent / "gone")  # the page's folder disappears during the run
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert f"bulkboot: error: cannot write the page {folder}/r.html: " in err
    assert "iterations: 30 scheduled, 30 started, 30 completed" in out  # the summary first
    assert sim.stats()["servers_total"] == 0
    assert list((fleet.parent / "gone").iterdir()) == []  # no temporary file left behind


def _numbers(html: str, table: str) -> list[float]:
    """The ``data-value`` of every cell of one table of the page."""
    match = re.search(rf'<table data-table="{table}".*?</table>', html, re.DOTALL)
    assert match is not None, table
    return [float(v) for v in re.findall(r'data-value="([^"]+)"', match.group(0))]


def test_the_page_is_drawn_from_the_real_report_and_report_reads_it(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.configure(latency=0.01, build_time_mean=0.3, build_time_stddev=0.0, error_fraction=0.5)
    report, page = fleet.parent / "run.json", fleet.parent / "run.html"
    flags = ("--threshold", "rate(failed)<1%", "--report", str(report), "--html", str(page))
    code, out, err = load(capsys, fleet, *RUN, *flags)
    assert code == 3, err  # half the builds fail: the threshold does not hold
    document = json.loads(report.read_text())
    assert json.loads(out) == document
    html = page.read_text()
    # the header: every field from the report's run block
    for value in (
        document["run"]["started_at"],
        document["run"]["ended_at"],
        document["run"]["manifest"]["sha256"],
        document["run"]["endpoint"],
        "RegionOne",
    ):
        assert f"<td>{value}</td>" in html
    # the tables: the report's own numbers
    expected: list[float] = []
    for aggregates in document["phases"].values():
        for name in ("count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999"):
            expected.append(aggregates[name])
        expected.append(aggregates["max"])
    assert sorted(_numbers(html, "phases")) == sorted(v for v in expected if v is not None)
    iterations = document["iterations"]
    assert _numbers(html, "iterations")[:7] == [
        iterations[k]
        for k in ("scheduled", "started", "completed", "failed", "dropped", "late", "interrupted")
    ]
    assert 'class="fail">FAIL</td>' in html and "rate(failed)&lt;1%" in html
    by_route = document["requests"]["by_route"]
    assert _numbers(html, "load_requests")[::2] == [
        by_route[route]["count"] for route in sorted(by_route)
    ]
    failed = document["failures"][0]
    assert failed["phase"] == "active" and f"<td>{failed['message']}</td>" in html
    # every phase drawn over time and as a histogram, from the samples
    for phase in document["phases"]:
        assert f'data-chart="phase_{phase}_time"' in html
        assert f'data-chart="phase_{phase}_histogram"' in html
    assert 'data-series="achieved"' in html and 'data-series="offered"' in html

    code, out, err = run_cli(capsys, "report", str(report))
    assert code == 0, err
    assert document["run"]["started_at"] in out and "load (schema version 2)" in out
    assert "rate(failed)<1%" in out and "FAIL" in out


def test_report_compare_on_two_load_runs_finds_the_slower_post(
    sim: RunningSimulator, fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = fleet.parent / "base.json", fleet.parent / "new.json"
    sim.configure(latency=0.0)
    assert load(capsys, fleet, *RUN, "--report", str(base))[0] == 0
    sim.configure(latency=0.25)  # every answer a quarter of a second later
    assert load(capsys, fleet, *RUN, "--report", str(new))[0] == 0
    page = fleet.parent / "diff.html"
    code, out, err = run_cli(
        capsys,
        "report",
        "compare",
        str(base),
        str(new),
        "--fail-on-regression",
        "10%",
        "--aggregate",
        "post.p95",
        "--html",
        str(page),
    )
    assert code == 3, err
    assert "regression beyond 10%: post.p95" in err
    row = next(line for line in out.splitlines() if "post.p95" in line)
    assert "REGRESSION" in row
    new_p95 = json.loads(new.read_text())["phases"]["post"]["p95"]
    assert new_p95 >= 0.25  # what the report says, and the comparison read it
    assert 'data-chart="achieved"' in page.read_text()
    # the same two runs within a generous tolerance on an aggregate that did not move
    code, _, err = run_cli(
        capsys,
        "report",
        "compare",
        str(base),
        str(new),
        "--fail-on-regression",
        "10%",
        "--aggregate",
        "iterations.dropped",
    )
    assert code == 0, err
