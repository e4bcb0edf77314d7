"""bulkboot/ui/text.py: what the cloud or the manifest wrote never drives the terminal,
in every place bulkboot prints it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bulkboot import cli
from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import (
    Created,
    CreateSent,
    ServerState,
    StatusSeen,
    transition,
)
from bulkboot.engine.status import StatusRow
from bulkboot.errors import ApiError
from bulkboot.ui.live import render_snapshot, render_summary
from bulkboot.ui.plain import PlainOutput
from bulkboot.ui.plan_table import PlanRow, print_plan_table
from bulkboot.ui.report import summarize
from bulkboot.ui.status_table import print_status_table
from bulkboot.ui.text import printable

# What a hostile or broken cloud may send: clear the screen, set the window title,
# an 8-bit CSI, a carriage return over the line, a bell, a right-to-left override.
HOSTILE = (
    "No valid host\x1b[2J\x1b[H\x1b]0;pwned\x07 was \x9b31mfound\r\x07\u202eesrever\x1bP1$r\x1b\\."
)
CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]


def _clean(text: str) -> bool:
    return not any(c in text for c in CONTROLS)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("web-01", "web-01"),
        ("café ☕ 東京", "café ☕ 東京"),  # printable Unicode stays
        ("a\x1b[31mred\x1b[0m", "ared"),
        ("\x1b]0;title\x07after", "after"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST-ended
        ("\x9b2Jx", "x"),  # the 8-bit CSI
        ("tab\there\nnext", "tab here next"),
        ("bell\x07\x00nul\x7fdel\x85nel", "bellnuldelnel"),
        ("\u202eevil", "evil"),
        ("unterminated \x1b]0;title", "unterminated "),
        ("lone escape at the end \x1b", "lone escape at the end "),
    ],
)
def test_printable_removes_sequences_and_controls(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_multiline_keeps_newlines_and_tabs_only() -> None:
    assert printable("line 1\n\tline 2\x1b[2K\r", multiline=True) == "line 1\n\tline 2"


def test_every_control_character_goes() -> None:
    assert printable("".join(CONTROLS)) == ""
    assert printable("".join(CONTROLS), multiline=True) == ""


HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="c",
    endpoint="http://nova/v2.1",
    microversion="2.96",
    concurrency=1,
    rate=None,
)


def _failed(name: str) -> tuple[list[object], ServerState]:
    state = ServerState(name=name)
    events: list[object] = [
        CreateSent(name=name, at=1.0),
        Created(name=name, at=1.5, server_id="id-1", post_seconds=0.5, http_attempts=1),
        StatusSeen(name=name, at=3.0, server_id="id-1", status="ERROR", fault=HOSTILE),
    ]
    for event in events:
        state = transition(state, event)  # type: ignore[arg-type]
    return events, state


def test_plain_lines_notes_and_summary_are_clean() -> None:
    out = io.StringIO()
    sink = PlainOutput(out)
    sink.start(HEADER, since=0.0, notes=["a note from the cloud: " + HOSTILE])
    events, _ = _failed("web-01")
    state = ServerState(name="web-01")
    for event in events:
        state = transition(state, event)  # type: ignore[arg-type]
        sink.event(event, state)  # type: ignore[arg-type]
    sink.note(HOSTILE)
    sink.finish(summarize([state], command="apply", fleet="lab", elapsed=3.0), ())
    text = out.getvalue()
    assert _clean(text)
    assert "+3.000s web-01 ERROR: No valid host was found" in text  # still readable
    assert "1 x No valid host was found" in text


def test_live_frame_and_summary_are_clean() -> None:
    _, state = _failed("web-01")
    building = transition(
        ServerState(name="web-02"),
        StatusSeen(name="web-02", at=2.0, server_id="id-2", status="BUILD\x1b]0;x\x07"),
    )
    board = Board(header=HEADER, started_at=0.0)
    board.add([state, building])
    console = Console(file=io.StringIO(), width=160, color_system=None, record=True)
    console.print(render_snapshot(board.snapshot(4.0)))
    console.print(render_summary(summarize([state], command="apply", fleet="lab", elapsed=4.0)))
    text = console.export_text()
    assert _clean(text)
    assert "No valid host was found" in text


def test_status_table_is_clean_and_takes_no_markup() -> None:
    row = StatusRow(
        name="web-[bold]01[/bold]",
        in_manifest=True,
        status="ERROR\x1b]0;x\x07",
        server_id="id-1",
        addresses="net=10.0.0.1\x1b[2J",
        note=HOSTILE,
    )
    for terminal in (True, False):
        console = Console(
            file=io.StringIO(), width=300, color_system=None, force_terminal=terminal, record=True
        )
        print_status_table(console, "lab", "c", [row])
        text = console.export_text() if terminal else console.file.getvalue()  # type: ignore[attr-defined]
        assert _clean(text)
        assert "web-[bold]01[/bold]" in text  # shown as written, not as markup


def test_plan_table_is_clean_and_takes_no_markup() -> None:
    row = PlanRow(
        group="g",
        name="[red]web[/red]",
        image="img\x1b[2J",
        flavor="m1\x9b31m",
        networks="net",
        count=1,
        count_text="1",
    )
    console = Console(file=io.StringIO(), width=200, color_system=None, record=True)
    print_plan_table([row], console, title="fleet [x]", caption="cap\x07")
    text = console.export_text()
    assert _clean(text)
    assert "[red]web[/red]" in text


def test_the_error_printer_strips_what_the_cloud_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_: object) -> int:
        raise ApiError(f"POST /servers: 400 {HOSTILE}", status=400)

    monkeypatch.setattr(cli, "_command_modules", lambda names: [_Failing(fail)])
    code = cli.main(["failing"])
    err = capsys.readouterr().err
    assert code == 1
    assert _clean(err) and "No valid host was found" in err


class _Failing:
    def __init__(self, run: object) -> None:
        self._run = run

    def register(self, subparsers: object) -> None:
        parser = subparsers.add_parser("failing")  # type: ignore[attr-defined]
        parser.set_defaults(run=self._run)
