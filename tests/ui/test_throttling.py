"""Throttling shown as it was: HTTP tries per create, 429/503 answers, the time waited
apart from the answer's own, in the live table, the plain lines, the summary and the
JSON results."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from bulkboot.cloud.timing import RequestTiming, RequestTotals
from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import Created, CreateSent, Phase, ServerState, transition
from bulkboot.ui.live import render_snapshot, render_summary
from bulkboot.ui.plain import format_event
from bulkboot.ui.report import RequestSummary, format_summary, results_document, summarize

HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="sim",
    endpoint="http://h/compute/v2.1",
    microversion="2.96",
    concurrency=5,
    rate=None,
)
# web-1 went through at once; web-2 was turned away twice (Retry-After 1 s, then 2 s)
FIRST = Created(
    name="web-1",
    at=100.05,
    server_id="id-1",
    post_seconds=0.05,
    http_attempts=1,
    post_wait_seconds=0.0,
    post_answer_seconds=0.05,
)
THROTTLED = Created(
    name="web-2",
    at=103.1,
    server_id="id-2",
    post_seconds=3.1,
    http_attempts=3,
    throttled=2,
    post_wait_seconds=3.0,
    post_answer_seconds=0.04,
)


def _states() -> list[ServerState]:
    states = []
    for created in (FIRST, THROTTLED):
        state = transition(ServerState(name=created.name), CreateSent(name=created.name, at=100.0))
        states.append(transition(state, created))
    return states


def _totals() -> RequestSummary:
    totals = RequestTotals()
    for attempts, throttled, waited in ((1, 0, 0.0), (3, 2, 3.0), (1, 0, 0.0)):
        totals.add(
            RequestTiming(
                method="POST",
                path="/servers",
                status=202,
                attempts=attempts,
                started=100.0,
                seconds=waited + 0.05,
                throttled=throttled,
                waited=waited,
                answer_seconds=0.05,
            )
        )
    return RequestSummary.of(totals)


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_tries_column_counts_http_sends_and_the_wait_has_its_own() -> None:
    board = Board(header=HEADER, started_at=100.0)
    board.add(ServerState(name=name) for name in ("web-1", "web-2"))
    for created in (FIRST, THROTTLED):
        board.apply(CreateSent(name=created.name, at=100.0))
        board.apply(created)
    table = _text(render_snapshot(board.snapshot(104.0))).splitlines()
    header = next(line for line in table if line.startswith("server"))
    assert header.split()[3:8] == ["POST", "waited", "to", "ACTIVE", "tries"]
    row = {line.split()[0]: line.split() for line in table if line.startswith("web-")}
    assert row["web-2"][3:5] == ["3.10s", "3.00s"]  # 3.1 s of which 3 s waited
    assert row["web-2"][6] == "3"  # three HTTP sends, not 1
    assert row["web-1"][3] == "50ms" and row["web-1"][5] == "1"


def test_a_server_created_again_shows_its_creates_and_their_tries() -> None:
    sent = CreateSent(name="web-2", at=100.0)
    first = transition(transition(ServerState(name="web-2"), sent), THROTTLED)
    again = transition(dataclasses.replace(first, phase=Phase.QUEUED), sent)  # --retry-errors
    assert (again.attempt, again.http_attempts) == (2, 0)  # in flight: no count yet
    board = Board(header=HEADER, started_at=100.0)
    board.add([transition(again, THROTTLED)])
    assert "2×3" in _text(render_snapshot(board.snapshot(104.0)))


def test_plain_lines_say_how_often_a_create_was_turned_away() -> None:
    states = _states()
    assert format_event(FIRST, states[0], 100.0) == (
        "+0.050s web-1 created id id-1 in 50ms (1 HTTP attempt)"
    )
    assert format_event(THROTTLED, states[1], 100.0) == (
        "+3.100s web-2 created id id-2 in 3100ms "
        "(3 HTTP attempts, 2 turned away (429/503), 3000ms waited)"
    )


def test_the_summary_splits_post_time_and_counts_the_throttled_requests() -> None:
    summary = summarize(_states(), command="apply", fleet="lab", elapsed=4.0, requests=_totals())
    lines = format_summary(summary)
    assert any(line.startswith("  answer (the attempt that took): p50 45ms") for line in lines)
    assert any(
        line.startswith("  waited (429/503 back-off, queueing): p50 1.50s") for line in lines
    )
    assert (
        "API requests: 3 (Keystone's aside), 5 sent; 1 retried; 2 answered 429/503 "
        "(turned away), on 1 requests; 3.00s waited (all requests' waits added up)"
    ) in lines
    live = _text(render_summary(summary))
    assert "  waited" in live and "2 answered 429/503" in live
    document = results_document(summary, _states())
    assert document["summary"]["requests"] == {
        "requests": 3,
        "attempts": 5,
        "retried": 1,
        "throttled": 2,
        "throttled_requests": 1,
        "waited_seconds": 3.0,
    }
    assert document["summary"]["post_wait_seconds"]["max"] == 3.0
    assert document["summary"]["post_answer_seconds"]["max"] == 0.05
    web2 = document["servers"][1]
    assert (web2["http_attempts"], web2["throttled"], web2["post_wait_seconds"]) == (3, 2, 3.0)


def test_a_run_without_waits_shows_no_split() -> None:
    state = transition(
        transition(ServerState(name="web-1"), CreateSent(name="web-1", at=100.0)), FIRST
    )
    lines = format_summary(summarize([state], command="apply", fleet="lab", elapsed=1.0))
    assert not any("waited" in line for line in lines)


def test_the_reports_request_counts_are_labelled_for_people_never_raw_keys() -> None:
    """Every row of "Requests in all" says what it counts (the client's counters count
    Keystone's requests aside, the table's first row includes them)."""
    from bulkboot.ui.run_tables import counts_table

    summary = summarize(_states(), command="apply", fleet="lab", elapsed=4.0, requests=_totals())
    document = results_document(summary, _states())
    table = counts_table(document)
    assert table is not None
    labels = [row[0].text for row in table.rows]
    assert "seconds waited for 429/503 and back-offs (all requests' waits added up)" in labels
    assert not [label for label in labels if "_" in label or label.isidentifier()], labels
