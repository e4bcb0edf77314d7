"""Plain lines and JSON output, field by field."""

from __future__ import annotations

import io
import json

from bulkboot.engine.board import RunHeader
from bulkboot.engine.state import (
    Created,
    CreateRefused,
    CreateSent,
    DeadlinePassed,
    Found,
    ServerState,
    StatusSeen,
    transition,
)
from bulkboot.ui.plain import JsonOutput, PlainOutput, format_found, format_header
from bulkboot.ui.report import results_document, summarize

HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="sim",
    endpoint="http://h/compute/v2.1",
    microversion="2.96",
    concurrency=5,
    rate=None,
)


def test_one_line_per_event_then_the_summary() -> None:
    out = io.StringIO()
    sink = PlainOutput(out)
    sink.start(HEADER, since=100.0, notes=["2 servers already exist"])
    states = {"a": ServerState(name="a"), "b": ServerState(name="b"), "c": ServerState(name="c")}
    events = [
        CreateSent(name="a", at=100.5),
        Created(name="a", at=100.75, server_id="id-a", post_seconds=0.25, http_attempts=2),
        StatusSeen(name="a", at=105.5, server_id="id-a", status="ACTIVE"),
        CreateSent(name="b", at=100.5),
        CreateRefused(name="b", at=100.6, message="Quota exceeded for instances", quota=True),
        Found(name="c", at=100.1, server_id="id-c", status="BUILD"),
        DeadlinePassed(name="c", at=160.0),
    ]
    for event in events:
        states[event.name] = transition(states[event.name], event)
        sink.event(event, states[event.name])
    summary = summarize(states.values(), command="apply", fleet="lab", elapsed=60.0)
    sink.finish(summary, states.values())
    lines = out.getvalue().splitlines()
    assert lines[:9] == [
        format_header(HEADER),
        "2 servers already exist",
        "+0.500s a create sent (attempt 1)",
        "+0.750s a created id id-a in 250ms (2 HTTP attempts)",
        "+5.500s a ACTIVE after 5.00s",
        "+0.500s b create sent (attempt 1)",
        "+0.600s b create refused: Quota exceeded for instances",
        "+0.100s c already exists (BUILD, id id-c)",
        "+60.000s c TIMEOUT: not ACTIVE by the deadline (last status BUILD)",
    ]
    assert lines[9] == "lab: 3 servers in 60.00s: 1 active, 1 error, 1 timeout"
    assert "failures:" in lines
    assert format_header(HEADER) == (
        "apply lab: cloud sim (http://h/compute/v2.1), compute 2.96, concurrency 5, rate unlimited"
    )


def test_servers_found_before_start_are_summarised_after_the_header() -> None:
    # The inventory finds existing servers before the header can be printed: a
    # re-apply of a complete fleet of 1,000 is one line, not 1,000.
    out = io.StringIO()
    sink = PlainOutput(out)
    for i in range(1000):
        status = "ERROR" if i in (3, 7) else "BUILD" if i == 9 else "ACTIVE"
        found = Found(name=f"web-{i:04d}", at=5656.25, server_id=f"id-{i}", status=status)
        sink.event(found, transition(ServerState(name=found.name), found))
    assert out.getvalue() == ""
    sink.start(HEADER, since=5656.0, notes=["1000 server(s) already existed"])
    sent = CreateSent(name="a", at=5657.0)
    sink.event(sent, transition(ServerState(name="a"), sent))
    assert out.getvalue().splitlines() == [
        format_header(HEADER),
        "1000 server(s) already existed",
        "already existed: 997 ACTIVE",
        "already existed: 2 ERROR (web-0003, web-0007)",
        "already existed: 1 BUILD (web-0009)",
        "+1.000s a create sent (attempt 1)",
    ]


def test_a_summary_of_servers_found_names_a_few_only() -> None:
    found = [Found(name=f"s{i}", at=0.0, server_id="x", status="ERROR") for i in range(20)]
    assert format_found(found) == [
        "already existed: 20 ERROR (s0, s1, s2, s3, s4, s5, s6, s7, ... (12 more))"
    ]


def test_json_output_is_the_results_document() -> None:
    out = io.StringIO()
    states = [ServerState(name="a")]
    summary = summarize(states, command="apply", fleet="lab", elapsed=1.0)
    JsonOutput(out).write(results_document(summary, states))
    document = json.loads(out.getvalue())
    assert document["summary"]["ok"] is False
    assert document["summary"]["counts"]["queued"] == 1
    assert [s["name"] for s in document["servers"]] == ["a"]
