"""The live view rendered into a capture console and read back as text."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import Created, CreateSent, Phase, ServerState, StatusSeen
from bulkboot.ui.live import LiveView, render_snapshot, render_summary
from bulkboot.ui.report import summarize

HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="simulator",
    endpoint="http://127.0.0.1:8774/compute/v2.1",
    microversion="2.96",
    concurrency=200,
    rate=50.0,
)


def _console() -> Console:
    return Console(
        file=io.StringIO(),
        width=120,
        color_system=None,
        record=True,
        force_terminal=False,
        legacy_windows=False,
    )


def _board() -> Board:
    board = Board(header=HEADER, started_at=100.0, max_rows=6)
    board.add(ServerState(name=f"web-{i:03d}") for i in range(1, 1001))
    for i in range(1, 801):
        name = f"web-{i:03d}"
        # separate creates leave at separate times (one instant, one latency: one request)
        board.apply(CreateSent(name=name, at=101.0 + i / 100_000))
        board.apply(
            Created(name=name, at=101.2, server_id=f"id{i}", post_seconds=0.2, http_attempts=1)
        )
        if i <= 700:
            status, fault = ("ERROR", "No valid host was found.") if i == 7 else ("ACTIVE", None)
            board.apply(
                StatusSeen(
                    name=name, at=106.0 + i / 1000, server_id=f"id{i}", status=status, fault=fault
                )
            )
    return board


def _text(renderable: object) -> str:
    console = _console()
    console.print(renderable)
    return console.export_text()


def test_frame_shows_header_counts_pace_and_a_bounded_table() -> None:
    snapshot = _board().snapshot(110.0)
    text = _text(render_snapshot(snapshot))
    lines = text.splitlines()
    assert lines[0].startswith("bulkboot apply lab  cloud simulator  http://127.0.0.1:8774")
    assert lines[1] == "compute 2.96  concurrency 200  rate 50/s"
    assert "1000 servers" in lines[2]
    assert lines[3] == "active 699  error 1  timeout 0  building 100  creating 0  queued 200"
    assert lines[4].startswith("4") and "/min  ETA 0:" in lines[4]  # 699 in ~8.7 s
    assert "elapsed 0:10" in lines[4]
    table = lines[5:]
    assert table[0].split() == [
        "server",
        "state",
        "nova",
        "POST",
        "waited",
        "to",
        "ACTIVE",
        "tries",
        "message",
    ]
    assert len(table) == 1 + 6  # header + max_rows, never the whole fleet
    error_row = next(line for line in table if line.startswith("web-007"))
    assert error_row.split()[:4] == ["web-007", "error", "ERROR", "200ms"]
    assert error_row.endswith("No valid host was found.")
    in_flight = next(line for line in table if "building" in line)
    assert "9.0s…" in in_flight  # sent at 101, now 110: still building


def test_summary_has_percentiles_and_failures() -> None:
    board = _board()
    summary = summarize(
        board.states.values(), command="apply", fleet="lab", elapsed=10.0, auth_seconds=[0.03, 0.05]
    )
    text = _text(render_summary(summary))
    assert "lab: 1000 servers in 10.0s  queued 200  building 100  active 699  error 1" in text
    assert "800 created by this run, 0 already existed (left alone)" in text
    post = next(line for line in text.splitlines() if line.startswith("POST /servers"))
    assert post.split() == ["POST", "/servers", "200ms", "200ms", "200ms", "200ms", "800"]
    auth = next(line for line in text.splitlines() if line.startswith("authentication"))
    assert auth.split()[1:] == ["40ms", "48ms", "50ms", "50ms", "2"]
    assert "1  No valid host was found." in text


def test_live_view_draws_the_latest_snapshot_and_stops_with_the_summary() -> None:
    console = _console()
    view = LiveView(console, refresh_per_second=50)
    board = _board()
    view.start(board.snapshot(105.0))
    view.update(board.snapshot(110.0))
    summary = summarize(board.states.values(), command="apply", fleet="lab", elapsed=10.0)
    view.finish(summary, board.snapshot(111.0, done=True))
    text = console.export_text()
    assert "active 699" in text
    assert "elapsed 0:11" in text  # the last snapshot was drawn
    assert "lab: 1000 servers in 10.0s" in text
    assert board.count(Phase.ACTIVE) == 699


def _bar_line(board: Board, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bar as a terminal without colour shows it (NO_COLOR, as rich reads it)."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system="truecolor")
    assert console.no_color
    console.print(render_snapshot(board.snapshot(100.0)))
    written = out.getvalue()
    assert "\x1b[3" not in written and "\x1b[9" not in written  # no colour left at all
    plain = re.sub(r"\x1b\[[0-9;]*m", "", written)  # bold and dim may stay
    return plain.splitlines()[2]


def test_without_colour_the_bar_is_empty_before_anything_is_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = Board(header=HEADER, started_at=100.0)
    board.add(ServerState(name=f"web-{i:02d}") for i in range(40))
    assert _bar_line(board, monkeypatch) == "░" * 40 + " 40 servers"


def test_without_colour_done_moving_failed_and_waiting_look_different(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = Board(header=HEADER, started_at=100.0)
    board.add(ServerState(name=f"web-{i:02d}") for i in range(40))
    for i in range(20):
        name = f"web-{i:02d}"
        board.apply(CreateSent(name=name, at=101.0))
        if i < 12:
            board.apply(
                Created(name=name, at=101.2, server_id=f"id{i}", post_seconds=0.2, http_attempts=1)
            )
            status = "ERROR" if i >= 10 else "ACTIVE"
            board.apply(StatusSeen(name=name, at=103.0, server_id=f"id{i}", status=status))
    # 10 active, 2 error, 8 creating, 20 queued
    assert _bar_line(board, monkeypatch) == "█" * 10 + "▓" * 2 + "▒" * 8 + "░" * 20 + " 40 servers"
