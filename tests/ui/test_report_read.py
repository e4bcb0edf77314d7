"""Reading a saved report: one clear message for what is not one, older versions read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkboot.ui.html import render_report
from bulkboot.ui.report import SCHEMA_VERSION, report_text
from bulkboot.ui.report_read import ReportError, read_report
from tests.ui.report_fixtures import apply_document, load_document

# A report as bulkboot wrote it before schema_version existed (version 1).
VERSION_1: dict[str, Any] = {
    "summary": {
        "command": "apply",
        "fleet": "lab",
        "ok": True,
        "interrupted": False,
        "total": 2,
        "counts": {"queued": 0, "creating": 0, "building": 0, "active": 2, "error": 0},
        "existed": 0,
        "created": 2,
        "elapsed_seconds": 3.2,
        "auth_seconds": {"count": 1, "p50": 0.004, "p90": 0.004, "p99": 0.004, "max": 0.004},
        "post_seconds": {"count": 2, "p50": 0.1, "p90": 0.12, "p99": 0.12, "max": 0.12},
        "active_seconds": {"count": 2, "p50": 2.5, "p90": 2.9, "p99": 2.9, "max": 2.9},
        "failures": [],
    },
    "run": {
        "cloud": "simulator",
        "endpoint": "http://127.0.0.1:1/v2.1",
        "microversion": "2.96",
        "concurrency": 100,
        "rate": None,
    },
    "servers": [
        {
            "name": "a",
            "id": "1",
            "state": "active",
            "status": "ACTIVE",
            "existed": False,
            "attempts": 1,
            "http_attempts": 1,
            "post_seconds": 0.1,
            "active_seconds": 2.5,
            "failure": None,
            "message": None,
        },
        {
            "name": "b",
            "id": "2",
            "state": "active",
            "status": "ACTIVE",
            "existed": False,
            "attempts": 1,
            "http_attempts": 1,
            "post_seconds": 0.12,
            "active_seconds": 2.9,
            "failure": None,
            "message": None,
        },
    ],
    "requests": [
        {
            "method": "POST",
            "path": "/v2.1/servers",
            "status": 202,
            "attempts": 1,
            "started": 0.0,
            "seconds": 0.1,
        },
        {
            "method": "POST",
            "path": "/v2.1/servers",
            "status": 202,
            "attempts": 2,
            "started": 0.01,
            "seconds": 0.12,
        },
    ],
}


def _write(tmp_path: Path, content: str | bytes, name: str = "run.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _message(path: Path) -> str:
    with pytest.raises(ReportError) as caught:
        read_report(path)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_a_written_report_reads_back_as_it_was(tmp_path: Path) -> None:
    document = apply_document(40)
    path = _write(tmp_path, report_text(document))
    assert read_report(path) == json.loads(json.dumps(document))
    assert read_report(path)["schema_version"] == SCHEMA_VERSION == 2


def test_version_1_reads_and_draws_saying_what_it_lacks(tmp_path: Path) -> None:
    document = read_report(_write(tmp_path, json.dumps(VERSION_1)))
    assert document["schema_version"] == 1 and document["kind"] == "apply"
    page = render_report(document)
    assert "not in this report (schema version 1)" in page  # no UTC times, no tool version
    assert "This report has no time series" in page
    assert 'data-table="timings"' in page and 'data-value="0.12"' in page
    assert 'data-series="post_histogram"' in page  # from its requests


def test_a_truncated_report_is_called_truncated(tmp_path: Path) -> None:
    text = report_text(apply_document(40))
    message = _message(_write(tmp_path, text[: len(text) // 2]))
    assert message.startswith(f"{tmp_path / 'run.json'}: truncated: the JSON ends at line ")
    assert "\n" not in message


def test_a_newer_schema_version_is_refused_by_name(tmp_path: Path) -> None:
    document = apply_document(4)
    document["schema_version"] = SCHEMA_VERSION + 1
    message = _message(_write(tmp_path, json.dumps(document)))
    assert f"schema_version {SCHEMA_VERSION + 1} is newer than this bulkboot" in message
    assert f"reads (up to {SCHEMA_VERSION})" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        (
            "{'summary': 1}",
            "run.json:1:2: not a bulkboot report (not JSON: Expecting property name",
        ),
        ("[1, 2]", "not a bulkboot report (not a JSON object)"),
        (
            '{"name": "lab", "servers": []}',
            "not a bulkboot report (no schema_version, summary or kind)",
        ),
        ('{"schema_version": "2", "kind": "apply"}', "schema_version '2' is not a version"),
        ('{"schema_version": 2, "kind": "plan"}', "not a report bulkboot can render (kind 'plan'"),
        (
            '{"schema_version": 2, "kind": "apply", "summary": {"counts": []}, "servers": []}',
            "'counts' should be an object, not list",
        ),
        (
            '{"schema_version": 2, "kind": "apply", "summary": {"counts": {}}}',
            "not a complete bulkboot report (no 'servers')",
        ),
        (
            '{"schema_version": 2, "kind": "apply", "summary": {"counts": {}}, "servers": [1]}',
            "servers[0] should be an object",
        ),
        (
            '{"schema_version": 2, "kind": "apply", "summary": {"counts": {}}, "servers": [], '
            '"series": {"t": [0, 1], "columns": {"active": [1]}}}',
            "series.columns.active should be a list as long as series.t",
        ),
        (
            '{"schema_version": 2, "kind": "load", "iterations": {}}',
            "not a complete bulkboot report (no 'phases')",
        ),
        (b"\xff\xfe{}", "not a bulkboot report (not UTF-8 text)"),
    ],
)
def test_what_is_not_a_report_gets_one_clear_line(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    message = _message(_write(tmp_path, content))
    assert expected in message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_file_or_a_folder(tmp_path: Path) -> None:
    assert "cannot read it: No such file or directory" in _message(tmp_path / "nope.json")
    assert "cannot read it: Is a directory" in _message(tmp_path)


def test_a_load_report_without_a_version_reads_as_version_1(tmp_path: Path) -> None:
    document = load_document(50)
    del document["schema_version"]
    found = read_report(_write(tmp_path, json.dumps(document)))
    assert found["schema_version"] == 1 and found["kind"] == "load"


def test_a_timing_that_is_not_a_number_is_refused_by_its_place(tmp_path: Path) -> None:
    """A percentile or a chart drawn from text would be a number the run never measured."""
    document = apply_document(4)
    document["servers"][2]["post_seconds"] = "abc"
    message = _message(_write(tmp_path, json.dumps(document)))
    assert message.endswith(
        "servers[2].post_seconds should be a number of seconds or null, not 'abc'"
    )
    loaded = load_document(5)
    loaded["samples"][3]["phases"]["post"] = True
    message = _message(_write(tmp_path, json.dumps(loaded)))
    assert message.endswith(
        "samples[3].phases.post should be a number of seconds or null, not True"
    )
    # what the tool writes is read back whole: nulls and numbers pass
    assert read_report(_write(tmp_path, report_text(apply_document(40))))["servers"]
    assert read_report(_write(tmp_path, json.dumps(load_document(50))))["samples"]
