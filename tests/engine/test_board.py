"""The board: counts per phase, bounded rows that keep failures visible, snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import Created, CreateSent, Found, Phase, ServerState, StatusSeen

HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="simulator",
    endpoint="http://127.0.0.1:1/compute/v2.1",
    microversion="2.96",
    concurrency=10,
    rate=None,
)


def _run(board: Board, name: str, at: float, status: str = "ACTIVE", fault: str | None = None):
    board.apply(CreateSent(name=name, at=at))
    board.apply(
        Created(name=name, at=at + 0.1, server_id=f"id-{name}", post_seconds=0.1, http_attempts=1)
    )
    return board.apply(
        StatusSeen(name=name, at=at + 5, server_id=f"id-{name}", status=status, fault=fault)
    )


def test_counts_follow_every_transition() -> None:
    board = Board(header=HEADER, started_at=0.0)
    board.add(ServerState(name=f"s{i}") for i in range(5))
    assert board.count(Phase.QUEUED) == 5 and board.pending() == 5
    board.apply(CreateSent(name="s0", at=1))
    assert board.count(Phase.CREATING) == 1 and board.count(Phase.QUEUED) == 4
    _run(board, "s1", 1)
    _run(board, "s2", 1, "ERROR", "No valid host was found.")
    board.apply(Found(name="s3", at=1, server_id="x", status="ACTIVE"))
    assert board.count(Phase.ACTIVE) == 2 and board.count(Phase.ERROR) == 1
    assert board.existed == 1 and board.goal_reached == 1
    assert board.pending() == 2
    assert sum(board.counts.values()) == 5
    # an event for an unknown name or one that does not apply changes nothing
    assert board.apply(CreateSent(name="nope", at=2)) is None
    assert board.apply(CreateSent(name="s1", at=2)) is None


def test_rows_are_bounded_and_keep_failures_and_slowest() -> None:
    board = Board(header=HEADER, started_at=0.0, max_rows=8)
    board.add(ServerState(name=f"s{i:04d}") for i in range(2000))
    for i in range(1500):
        _run(board, f"s{i:04d}", i * 0.001)
    # make one much slower, one failed
    board.apply(CreateSent(name="s1500", at=0))
    board.apply(Created(name="s1500", at=0.1, server_id="x", post_seconds=0.1, http_attempts=1))
    board.apply(StatusSeen(name="s1500", at=60, server_id="x", status="ACTIVE"))
    _run(board, "s1501", 2, "ERROR", "boom")
    for i in range(1502, 1600):
        board.apply(CreateSent(name=f"s{i}", at=3))
    snap = board.snapshot(70.0)
    names = [row.name for row in snap.rows]
    assert len(names) == 8 and len(set(names)) == 8
    assert "s1501" in names  # the failure stays visible
    assert "s1500" in names  # the slowest stays visible
    assert "s1502" in names  # the oldest in flight
    assert snap.count(Phase.ACTIVE) == 1501 and snap.count(Phase.CREATING) == 98
    assert snap.total == 2000
    assert snap.per_minute > 0 and snap.eta is not None and snap.eta > 0


def test_snapshots_are_frozen_and_detached() -> None:
    board = Board(header=HEADER, started_at=0.0)
    board.add([ServerState(name="a"), ServerState(name="b")])
    snap = board.snapshot(1.0)
    _run(board, "a", 1)
    assert snap.count(Phase.QUEUED) == 2  # the old snapshot did not move
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.total = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.counts[Phase.ACTIVE] = 1  # type: ignore[index]
