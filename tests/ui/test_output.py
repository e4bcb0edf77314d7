"""Choosing the output: live only on a terminal, plain otherwise, JSON only at the end."""

from __future__ import annotations

import io
import json

from rich.console import Console

from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import CreateSent, ServerState, transition
from bulkboot.ui.output import make_output
from bulkboot.ui.report import results_document, summarize

HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="c",
    endpoint="http://h/compute/v2.1",
    microversion="2.96",
    concurrency=2,
    rate=None,
)


def _drive(output: object) -> None:
    board = Board(header=HEADER, started_at=0.0)
    board.add([ServerState(name="a")])
    output.start(HEADER, board.snapshot(0.0), ["a note"])  # type: ignore[attr-defined]
    event = CreateSent(name="a", at=0.5)
    output.event(event, transition(ServerState(name="a"), event))  # type: ignore[attr-defined]
    summary = summarize(board.states.values(), command="apply", fleet="lab", elapsed=1.0)
    document = results_document(summary, board.states.values())
    output.finish(summary, board.snapshot(1.0, done=True), document)  # type: ignore[attr-defined]


def test_default_without_a_terminal_is_plain_lines() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = make_output(None, out=out, err=err)
    assert output.refresh_interval is None and output.ui_cpu_seconds is None
    _drive(output)
    lines = out.getvalue().splitlines()
    assert lines[1] == "a note" and lines[2] == "+0.500s a create sent (attempt 1)"


def test_live_asked_for_without_a_terminal_falls_back_to_plain() -> None:
    out = io.StringIO()
    assert make_output("live", out=out).refresh_interval is None


def test_json_keeps_stdout_for_the_document() -> None:
    out, err = io.StringIO(), io.StringIO()
    _drive(make_output("json", out=out, err=err))
    assert json.loads(out.getvalue())["servers"][0]["name"] == "a"
    assert err.getvalue() == "a note\n"


def test_live_on_a_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    output = make_output(None, console=console)
    assert output.refresh_interval == 0.5
    _drive(output)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "a note" in text and "bulkboot apply lab" in text and "queued 1" in text
