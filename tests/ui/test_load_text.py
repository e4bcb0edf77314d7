"""The load run's document, summary, progress line and live frame, from a known run."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime, timezone

import pytest
from rich.console import Console

from bulkboot.engine.load.cleanup import Cleanup, Leftover
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.recorder import Recorder
from bulkboot.engine.load.requests import RequestLog
from bulkboot.engine.load.result import LoadResult
from bulkboot.engine.load.sample import Sample
from bulkboot.engine.load.snapshot import LoadHeader, LoadSnapshot
from bulkboot.engine.load.thresholds import evaluate
from bulkboot.pipeline.load_spec import parse_stages, parse_threshold
from bulkboot.ui.load_output import make_load_output
from bulkboot.ui.load_report import load_document, offered_rate
from bulkboot.ui.load_text import format_seconds, progress_line, summary_lines
from bulkboot.ui.load_view import render_load
from bulkboot.ui.report import SCHEMA_VERSION

PLAN = LoadPlan(
    rate=2.0,
    duration=2.0,
    thresholds=(parse_threshold("p95(post)<100ms"), parse_threshold("rate(failed)<1%")),
)
HEADER = LoadHeader(
    fleet="lab",
    cloud="sim",
    endpoint="http://127.0.0.1:1/compute/v2.1",
    microversion="2.96",
    scenario="boot-delete",
    model=PLAN.describe(),
    run_id="abcd1234",
    poll_interval=0.5,
)


def _recorder() -> Recorder:
    recorder = Recorder(PLAN.phases, started_at=0.0)
    for index, (post, fault) in enumerate([(0.05, None), (0.07, None), (0.2, "No valid host")]):
        sample = Sample(index, index * 0.5)
        recorder.start(sample, index * 0.5 + 0.0004)
        sample.name, sample.request_id, sample.post = f"web-abcd1234-{index}", f"req-{index}", post
        if fault:
            sample.fail("active", fault)
        else:
            sample.active, sample.build, sample.delete, sample.gone = 3.0, 3.0, 0.01, 0.4
            sample.total = 3.5
        recorder.finish(sample, index * 0.5 + 3.5)
    recorder.drop(Sample(3, 1.5))
    return recorder


def _result(cleanup: Cleanup | None = None) -> LoadResult:
    recorder = _recorder()
    phases, counters = recorder.phase_stats(), recorder.counters()
    return LoadResult(
        plan=PLAN,
        run_id="abcd1234",
        recorder=recorder,
        counters=counters,
        phases=phases,
        thresholds=evaluate(PLAN.thresholds, phases, counters),
        cleanup=cleanup if cleanup is not None else Cleanup(deleted=1),
        interrupted=False,
        aborted_by=None,
        load_seconds=4.5,
        elapsed=5.0,
        started_wall=datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc),
        ended_wall=datetime(2026, 12, 1, 10, 0, 5, tzinfo=timezone.utc),
        poll_interval=0.5,
        bound=0.55,
        poll_rounds=9,
    )


def _document(result: LoadResult) -> dict[str, object]:
    return load_document(
        result,
        header=HEADER,
        requests=RequestLog(),
        cloud={"name": "sim", "auth_url": "http://127.0.0.1:1/identity/v3"},
        exit_code=3,
    )


def test_the_document() -> None:
    document = _document(_result())
    assert document["kind"] == "load" and document["schema_version"] == SCHEMA_VERSION
    assert document["iterations"] == {
        "scheduled": 4,
        "started": 3,
        "completed": 2,
        "failed": 1,
        "dropped": 1,
        "late": 0,
        "interrupted": 0,
    }
    # over the schedule's 2 s, not the 4.5 s the run lasted with its drain
    assert document["rate"]["offered"] == 2.0 and document["rate"]["achieved"] == 1.0
    assert document["rate"]["schedule_seconds"] == 2.0
    assert document["rate"]["drain"] == {"seconds": 2.5, "completed": 2}
    assert document["rate"]["series"][0] == {
        "t": 0,
        "offered": 2.0,
        "started": 2.0,
        "completed": 0.0,
        "failed": 0.0,
        "dropped": 0.0,
    }
    phases = document["phases"]
    assert isinstance(phases, dict)
    assert phases["post"]["count"] == 3 and phases["post"]["p50"] == 0.07
    assert phases["active"]["failed"] == 1 and phases["active"]["bound_seconds"] == 0.55
    assert phases["build"]["bound_seconds"] == 1.0 and "bound_seconds" not in phases["post"]
    assert document["failures"] == [{"phase": "active", "message": "No valid host", "count": 1}]
    assert [t["ok"] for t in document["thresholds"]] == [False, False]  # type: ignore[index]
    samples = document["samples"]
    assert isinstance(samples, list) and len(samples) == 4
    assert samples[0]["phases"]["post"] == 0.05 and samples[0]["request_id"] == "req-0"
    assert samples[3]["outcome"] == "dropped" and samples[3]["phases"]["post"] is None
    json.dumps(document)  # all of it is JSON


def test_offered_is_the_schedules() -> None:
    result = _result()
    assert offered_rate(result) == 2.0  # 4 scheduled over the 2 s the schedule lasts
    closed = dataclasses.replace(result, plan=LoadPlan(concurrency=2, duration=2.0))
    assert offered_rate(closed) is None  # a closed loop has no schedule
    ramp = dataclasses.replace(result, plan=LoadPlan(rate=1.0, stages=parse_stages("8s:1")))
    assert offered_rate(ramp) == 0.5  # 4 scheduled over the 8 s of the stages


def test_the_summary_names_what_was_left_behind() -> None:
    left = Cleanup(
        deleted=0, left=(Leftover(name="web-abcd1234-7", server_id="id-7", reason="locked"),)
    )
    lines = summary_lines(_document(_result(left)))
    text = "\n".join(lines)
    assert "iterations: 4 scheduled, 3 started, 2 completed, 1 failed, 1 dropped" in text
    assert (
        "rate over the schedule's 2.00s: offered 2/s, achieved 1/s (started in it and "
        "completed); then a drain of 2.50s (2 completed in it; load 4.50s in all)"
    ) in text
    assert "FAIL  p95(post)<100ms  187ms" in text
    assert "FAIL  rate(failed)<1%  33.33%" in text
    assert "      1  active: No valid host" in text
    assert "LEFT BEHIND: web-abcd1234-7 (id-7): locked" in text
    table = [line for line in lines if line.startswith("  active ")]
    assert table and table[0].endswith("poll +0..550ms")
    assert any(line.startswith("  build ") and line.endswith("Nova +-1s") for line in lines)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.0004, "0.40ms"),
        (0.052, "52.0ms"),
        (0.4, "400ms"),
        (3.05, "3.05s"),
        (125, "2m05.0s"),
    ],
)
def test_seconds_read_as_people_write_them(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def _snapshot() -> LoadSnapshot:
    recorder = _recorder()
    phases, counters = recorder.phase_stats(), recorder.counters()
    return LoadSnapshot(
        header=HEADER,
        elapsed=65.0,
        counters=counters,
        target="2/s",
        offered=2.0,
        achieved=1.5,
        rate_window=10,
        phases=tuple(phases.items()),
        bound=0.55,
        errors=(("active", "No valid host", 1),),
        thresholds=evaluate(PLAN.thresholds, phases, counters),
        note="interrupted: starting nothing more",
    )


def test_the_progress_line_and_the_live_frame() -> None:
    line = progress_line(_snapshot())
    assert line.startswith("[1:05]  2/s  started 3  done 2  failed 1  in flight 0")
    assert "dropped 1" in line and "p95 post 187ms" in line
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(render_load(_snapshot()))
    frame = console.file.getvalue()  # type: ignore[attr-defined]
    assert "bulkboot load  fleet lab  run abcd1234" in frame
    assert "offered 2.00/s  achieved 1.50/s" in frame
    assert "dropped 1" in frame and "1x active: No valid host" in frame
    assert "poll +0..550ms" in frame and "FAIL  p95(post)<100ms" in frame
    assert "interrupted: starting nothing more" in frame


def test_json_output_is_the_document_alone() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = make_load_output("json", out=out, err=err)
    output.start(HEADER, ["a note"])
    output.tick(_snapshot())
    output.note("another")
    output.finish({"kind": "load"})
    assert json.loads(out.getvalue()) == {"kind": "load"}
    assert err.getvalue() == "a note\nanother\n"


def test_plain_output_has_no_escape_codes() -> None:
    out = io.StringIO()
    output = make_load_output(None, out=out)  # not a terminal: plain
    output.start(HEADER, [])
    output.tick(_snapshot())
    output.finish(_document(_result()))
    text = out.getvalue()
    assert "\x1b" not in text and "[1:05]" in text and "thresholds:" in text


def test_the_live_view_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    output = make_load_output(None, console=console)
    assert output.refresh_interval == 0.5
    output.start(HEADER, ["a note"])
    output.tick(_snapshot())
    output.finish(_document(_result()))
    text = out.getvalue()
    assert "a note" in text and "achieved 1.50/s" in text and "thresholds:" in text


HOSTILE = "No valid host\x1b[2J\x1b[H\x1b]0;pwned\x07 was \x9b31mfound\r\x07\u202eesrever."
_CONTROLS = frozenset(
    [chr(c) for c in (*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + ["\u202e"]
)


def _clean(text: str) -> bool:
    return not _CONTROLS.intersection(text)


def _hostile_result() -> LoadResult:
    """A run whose fault message, clean-up reason, server name and listing error all
    came from the cloud with escape sequences in them."""
    left = Leftover(name="web\x1b[31m-x", server_id="id\x07-7", reason="locked: " + HOSTILE)
    result = _result(Cleanup(deleted=0, left=(left,), listing_failed="listing: " + HOSTILE))
    result.recorder.errors.clear()
    result.recorder.errors[("active", HOSTILE)] = 1
    return result


def test_what_the_cloud_wrote_reaches_no_terminal_raw() -> None:
    """Fault messages, error bodies and names go through ``printable``: in the summary,
    the progress line, the live frame and the notes (the report keeps them as sent)."""
    document = _document(_hostile_result())
    assert document["failures"][0]["message"] == HOSTILE  # type: ignore[index]
    snapshot = dataclasses.replace(
        _snapshot(), errors=(("active", HOSTILE, 1),), note="stopped: " + HOSTILE
    )
    summary = "\n".join(summary_lines(document))
    assert _clean(summary) and "No valid host was found" in summary
    assert "LEFT BEHIND: web-x (id-7): locked: No valid host" in summary
    assert _clean(progress_line(snapshot)) and "No valid host was" in progress_line(snapshot)
    console = Console(file=io.StringIO(), width=200, color_system=None, record=True)
    console.print(render_load(snapshot))
    frame = console.export_text()
    assert _clean(frame) and "No valid host was found" in frame
    for fmt in ("plain", "json"):
        out, err = io.StringIO(), io.StringIO()
        output = make_load_output(fmt, out=out, err=err)
        output.start(HEADER, ["a note from the cloud: " + HOSTILE])
        output.note(HOSTILE)
        shown = err.getvalue() if fmt == "json" else out.getvalue()
        assert _clean(shown.replace("\n", "")) and shown.count("No valid host was found") == 2
