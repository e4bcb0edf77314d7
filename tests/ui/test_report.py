"""Percentiles, summaries and the JSON results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkboot.engine.state import Phase, ServerState
from bulkboot.engine.stats import percentile
from bulkboot.ui.report import (
    format_summary,
    results_document,
    stats,
    summarize,
    write_report,
)


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_stats_sorts_its_input() -> None:
    result = stats([5.0, 1.0, 3.0])
    assert result is not None
    assert (result.count, result.p50, result.max) == (3, 3.0, 5.0)
    assert stats([]) is None


def _states() -> list[ServerState]:
    return [
        ServerState(
            name="a",
            phase=Phase.ACTIVE,
            server_id="1",
            attempt=1,
            post_seconds=0.1,
            active_seconds=5.0,
            status="ACTIVE",
        ),
        ServerState(name="b", phase=Phase.ACTIVE, server_id="2", existed=True, status="ACTIVE"),
        ServerState(
            name="c",
            phase=Phase.ERROR,
            server_id="3",
            attempt=1,
            post_seconds=0.3,
            message="No valid host was found.",
            failure="fault",
            status="ERROR",
        ),
        ServerState(
            name="d",
            phase=Phase.ERROR,
            server_id="4",
            attempt=1,
            post_seconds=0.2,
            message="No valid host was found.",
            failure="fault",
            status="ERROR",
        ),
        ServerState(
            name="e",
            phase=Phase.ERROR,
            attempt=1,
            message="Quota exceeded for cores",
            failure="quota",
        ),
    ]


def test_summary_counts_and_groups_failures() -> None:
    summary = summarize(_states(), command="apply", fleet="lab", elapsed=12.5, auth_seconds=[0.05])
    assert summary.total == 5 and not summary.ok
    assert summary.counts["active"] == 2 and summary.counts["error"] == 3
    assert summary.existed == 1 and summary.created == 3
    assert summary.failures == (
        ("No valid host was found.", 2),
        ("quota: Quota exceeded for cores", 1),
    )
    assert summary.post is not None and summary.post.count == 3
    assert summary.active is not None and summary.active.max == 5.0
    lines = format_summary(summary)
    assert lines[0] == "lab: 5 servers in 12.50s: 2 active, 3 error"
    assert lines[1] == "3 created by this run, 1 already existed (left alone)"
    assert "  2 x No valid host was found." in lines
    assert any(line.startswith("time to ACTIVE: p50 5.00s") for line in lines)


def test_a_multi_create_is_one_post_in_the_timings() -> None:
    # Five servers of one max_count request share its send time and POST latency;
    # a single server in the same group template is a request of its own.
    members = [
        ServerState(
            name=f"pool-{i}",
            group="pool",
            phase=Phase.ACTIVE,
            server_id=f"id-{i}",
            attempt=1,
            sent_at=10.0,
            post_seconds=0.4,
            active_seconds=5.0 + i,
        )
        for i in range(1, 6)
    ]
    single = ServerState(
        name="pool",
        group="pool",
        phase=Phase.ACTIVE,
        server_id="id-single",
        attempt=1,
        sent_at=10.0001,
        post_seconds=0.4,
        active_seconds=5.0,
    )
    summary = summarize([*members, single], command="apply", fleet="lab", elapsed=9.0)
    assert summary.post is not None and summary.post.count == 2
    assert summary.active is not None and summary.active.count == 6  # per server
    assert summary.created == 6


def test_a_failure_rolled_back_by_apply_is_still_a_failure_but_not_for_destroy() -> None:
    failed_then_deleted = ServerState(
        name="a",
        phase=Phase.DELETED,
        status="DELETED",
        server_id="id-a",
        attempt=1,
        message="No valid host was found.",
        failure="fault",
    )
    fine_then_deleted = ServerState(
        name="b", phase=Phase.DELETED, status="DELETED", server_id="id-b", attempt=1
    )
    states = [failed_then_deleted, fine_then_deleted]
    applied = summarize(states, command="apply", fleet="lab", elapsed=3.0)
    assert applied.failures == (("No valid host was found.", 1),)
    assert "  1 x No valid host was found." in format_summary(applied)
    # destroy deleting a server that was in ERROR is the goal met
    destroyed = summarize(states, command="destroy", fleet="lab", elapsed=3.0)
    assert destroyed.failures == () and destroyed.ok


def test_results_document_field_by_field(tmp_path: Path) -> None:
    states = _states()
    summary = summarize(states, command="apply", fleet="lab", elapsed=1.0)
    document = results_document(summary, states)
    assert document["summary"]["counts"]["active"] == 2
    assert document["servers"][0] == {
        "name": "a",
        "id": "1",
        "state": "active",
        "status": "ACTIVE",
        "existed": False,
        "attempts": 1,
        "http_attempts": 0,
        "throttled": 0,
        "post_seconds": 0.1,
        "post_wait_seconds": None,
        "post_answer_seconds": None,
        "active_seconds": 5.0,
        "failure": None,
        "message": None,
    }
    target = tmp_path / "report.json"
    write_report(target, document)
    assert json.loads(target.read_text()) == document
