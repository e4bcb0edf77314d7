"""``apply``/``destroy`` ``--report`` and ``--html`` against the simulator, and
``bulkboot report`` / ``report compare`` on saved reports: tables, Markdown, pages,
exit codes, and one clear line for a file that is not a report."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bulkboot import __version__
from bulkboot.simulator.server import RunningSimulator
from bulkboot.ui.report import report_text
from tests.commands.cli_helpers import apply, destroy, run_cli
from tests.ui.report_fixtures import apply_document, load_document

SIM_PASSWORD = "sim-secret-password"  # the simulator's clouds.yaml password


def _utc(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def test_apply_writes_the_report_and_its_page(
    sim: RunningSimulator, lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, page = tmp_path / "run.json", tmp_path / "run.html"
    before = datetime.now(timezone.utc)
    code, out, err = apply(capsys, lab, "--report", str(report), "--html", str(page), fmt="plain")
    after = datetime.now(timezone.utc)
    assert code == 0, err
    text = report.read_text()
    document = json.loads(text)
    assert document["schema_version"] == 2 and document["kind"] == "apply"
    assert document["tool"] == {"name": "bulkboot", "version": __version__}
    run = document["run"]
    started, ended = _utc(run["started_at"]), _utc(run["ended_at"])
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= started <= ended
    assert ended <= after
    assert run["command_line"] == [
        "bulkboot", "apply", str(lab), "--cloud", "simulator", "--format", "plain",
        "--poll-interval", "200ms", "--report", str(report), "--html", str(page),
    ]  # fmt: skip
    assert run["region"] == "RegionOne" and run["microversion"] == "2.104"
    assert run["manifest"] == {
        "path": str(lab),
        "sha256": hashlib.sha256(lab.read_bytes()).hexdigest(),
    }
    series = document["series"]
    assert len(series["t"]) >= 2 and series["t"] == sorted(series["t"])
    assert series["columns"]["active"][-1] == 6  # the last picture: all six ACTIVE
    assert series["columns"]["queued"][0] == 6  # the first: all six waiting
    assert set(series["columns"]["create_window"]) <= set(range(1, 101))
    counts = document["request_counts"]
    assert counts["requests"] == len(document["requests"]) and counts["authentications"] == 1
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    for chart in ("states", "flight", "post_histogram", "active_histogram"):
        assert f'data-chart="{chart}"' in html
    for secret in ("hunter2", SIM_PASSWORD):  # the manifest's admin_pass, the cloud's
        assert secret not in text and secret not in html


def test_html_alone_keeps_no_json(
    sim: RunningSimulator, lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "only.html"
    code, _, err = apply(capsys, lab, "--html", str(page))
    assert code == 0, err
    assert "from this run (no JSON kept)" in page.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".json", ".html")) == [
        "only.html"
    ]


def test_destroy_writes_its_report_and_page(
    sim: RunningSimulator, lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(capsys, lab)[0] == 0
    report, page = tmp_path / "gone.json", tmp_path / "gone.html"
    code, _, err = destroy(capsys, lab, "--report", str(report), "--html", str(page))
    assert code == 0, err
    document = json.loads(report.read_text())
    assert document["kind"] == "destroy" and document["summary"]["counts"]["deleted"] == 6
    assert document["series"]["columns"]["deleted"][-1] == 6
    deletes = [r for r in document["requests"] if r["method"] == "DELETE"]
    assert len(deletes) == 6 and {r["status"] for r in deletes} == {204}
    html = page.read_text()
    assert 'data-chart="states"' in html and "Deletes in flight" in html


# ----------------------------------------------------------------- bulkboot report


def _saved(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(report_text(document))
    return path


def test_report_prints_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = apply_document(120)
    path = _saved(tmp_path, "run.json", document)
    code, out, err = run_cli(capsys, "report", str(path))
    assert code == 0 and err == ""
    for heading in ("Outcome", "Timings", "Requests in all", "Requests by route and status"):
        assert heading in out
    post = document["summary"]["post_seconds"]
    assert f"{post['p99'] * 1000:.1f} ms" in out
    assert "2025-03-14T09:26:53.589Z" in out


def test_report_as_markdown_and_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = load_document(300)
    path = _saved(tmp_path, "load.json", document)
    page = tmp_path / "load.html"
    code, out, err = run_cli(
        capsys, "report", str(path), "--format", "markdown", "--html", str(page)
    )
    assert code == 0
    assert err == f"wrote {page}\n"  # the note on stderr; stdout is only the Markdown
    assert out.startswith("## bulkboot load: fleet lab\n")
    assert "| phase | count | failed | min | mean | p50 | p90 | p95 | p99 | p99.9 | max |" in out
    assert "| count(dropped)==0 | 3 | **FAIL** |" in out  # iterations 50, 147, 244
    assert 'data-table="thresholds"' in page.read_text()


def test_compare_shows_changes_and_gates_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = load_document(300)
    new = copy.deepcopy(base)
    new["phases"]["post"]["p95"] *= 1.25
    base_path, new_path = _saved(tmp_path, "base.json", base), _saved(tmp_path, "new.json", new)
    code, out, err = run_cli(capsys, "report", "compare", str(base_path), str(new_path))
    assert code == 0 and "post.p95" in out and "+25.0%" in out and err == ""
    page = tmp_path / "compare.html"
    code, out, err = run_cli(
        capsys, "report", "compare", str(base_path), str(new_path),
        "--fail-on-regression", "10%", "--html", str(page), "--format", "markdown",
    )  # fmt: skip
    assert code == 3
    assert err.splitlines() == [
        f"wrote {page}",
        "bulkboot: regression beyond 10%: post.p95",
    ]
    assert "| post.p95 |" in out and "**REGRESSION**" in out
    assert 'path data-series="phase_post_hist_new"' in page.read_text()
    code, _, _ = run_cli(
        capsys, "report", "compare", str(base_path), str(new_path),
        "--fail-on-regression", "30%",
    )  # fmt: skip
    assert code == 0  # 25 % is within 30 %
    code, _, err = run_cli(
        capsys, "report", "compare", str(base_path), str(new_path),
        "--fail-on-regression", "10%", "--aggregate", "p99",
    )  # fmt: skip
    assert code == 0, err  # p95 is not gated


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"schema_version": 99, "kind": "apply"}',
            "schema_version 99 is newer than this bulkboot",
        ),
        ('{"hello": "world"}', "not a bulkboot report"),
        (report_text(apply_document(30))[:5000], "truncated: the JSON ends at line"),
    ],
    ids=["newer", "not-a-report", "truncated"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    for argv in (["report", str(path)], ["report", "compare", str(path), str(path)]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == ""
        assert err.startswith(f"bulkboot: error: {path}: ") and expected in err
        assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["a.json", "b.json"], "report takes one report (RUN.json)"),
        (["compare", "a.json"], "report compare takes two reports: BASE.json NEW.json"),
        (["a.json", "--fail-on-regression", "5%"], "--fail-on-regression is for 'report compare"),
        (["a.json", "--aggregate", "p99"], "--aggregate is for 'report compare"),
    ],
)
def test_misused_flags(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = run_cli(capsys, "report", *argv)
    assert code == 2 and out == "" and expected in err


def test_a_bad_percentage_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli(capsys, "report", "compare", "a", "b", "--fail-on-regression", "ten")
    assert caught.value.code == 2
    assert "'ten' is not a percentage (say 10%)" in capsys.readouterr().err


def test_comparing_an_apply_with_a_load_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _saved(tmp_path, "a.json", apply_document(20))
    b = _saved(tmp_path, "b.json", load_document(50))
    code, out, err = run_cli(capsys, "report", "compare", str(a), str(b))
    assert code == 2 and "cannot compare an apply report with a load report" in err


def test_what_a_run_writes_masks_the_command_lines_secrets(tmp_path: Path) -> None:
    import argparse

    from bulkboot.cloud.config import CloudConfig
    from bulkboot.commands._reporting import RunRecord

    manifest = tmp_path / "lab.yaml"
    manifest.write_text("name: lab\n")
    args = argparse.Namespace(
        report=str(tmp_path / "r.json"),
        html=str(tmp_path / "r.html"),
        file=str(manifest),
        command="apply",
        command_line=["bulkboot", "apply", "lab.yaml", "--os-password", "pw-1", "pw-2-in-a-note"],
    )
    record = RunRecord.start(args, now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    config = CloudConfig(name="c", source="test", auth_type="password", password="pw-2")
    document = apply_document(10)
    document["run"]["endpoint"] = "https://user:pw-3@nova.example/v2.1"
    record.write(document, args=args, config=config, secrets=["admin-pw-4"])
    for path in (tmp_path / "r.json", tmp_path / "r.html"):
        text = path.read_text()
        for secret in ("pw-1", "pw-2", "pw-3", "admin-pw-4"):
            assert secret not in text, (path.name, secret)
    run = json.loads((tmp_path / "r.json").read_text())["run"]
    assert run["command_line"][3:] == ["--os-password", "***", "***-in-a-note"]
    assert run["endpoint"] == "https://nova.example/v2.1"
    assert run["started_at"] == "2025-01-01T00:00:00.000Z"
    assert run["manifest"]["sha256"] == hashlib.sha256(b"name: lab\n").hexdigest()
