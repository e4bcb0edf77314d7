"""The state machine: each transition, and that events which do not apply change nothing."""

from __future__ import annotations

import pytest

from bulkboot.engine.state import (
    Created,
    CreateRefused,
    CreateSent,
    DeadlinePassed,
    Deleted,
    DeleteSent,
    Found,
    Phase,
    Requeued,
    ServerState,
    StatusSeen,
    Vanished,
    transition,
)


def _building(name: str = "web-01") -> ServerState:
    state = ServerState(name=name)
    state = transition(state, CreateSent(name=name, at=10.0))
    return transition(
        state, Created(name=name, at=10.2, server_id="id-1", post_seconds=0.2, http_attempts=2)
    )


def test_create_then_active_records_timings() -> None:
    state = _building()
    assert state.phase is Phase.BUILDING
    assert (state.server_id, state.status, state.attempt) == ("id-1", "BUILD", 1)
    assert state.post_seconds == pytest.approx(0.2)
    assert state.http_attempts == 2
    active = transition(
        state, StatusSeen(name="web-01", at=15.5, server_id="id-1", status="ACTIVE")
    )
    assert active.phase is Phase.ACTIVE and active.final
    assert active.active_seconds == pytest.approx(5.5)
    assert active.finished_at == 15.5


def test_error_keeps_the_fault_and_spots_quota() -> None:
    fault = transition(
        _building(),
        StatusSeen(
            name="web-01", at=12, server_id="id-1", status="ERROR", fault="No valid host was found."
        ),
    )
    assert (fault.phase, fault.failure, fault.message) == (
        Phase.ERROR,
        "fault",
        "No valid host was found.",
    )
    quota = transition(
        _building(),
        StatusSeen(
            name="web-01",
            at=12,
            server_id="id-1",
            status="ERROR",
            fault="Quota exceeded for instances: Requested 1, but already used 10 of 10",
        ),
    )
    assert quota.failure == "quota"


def test_unknown_status_from_a_down_cell_keeps_waiting() -> None:
    state = transition(
        _building(), StatusSeen(name="web-01", at=11, server_id="id-1", status="UNKNOWN")
    )
    assert state.phase is Phase.BUILDING and state.status == "UNKNOWN"
    same = transition(state, StatusSeen(name="web-01", at=12, server_id="id-1", status="UNKNOWN"))
    assert same is state


def test_refused_create_is_an_error_with_its_message() -> None:
    state = transition(ServerState(name="a"), CreateSent(name="a", at=1))
    refused = transition(state, CreateRefused(name="a", at=2, message="over quota", quota=True))
    assert (refused.phase, refused.failure, refused.message) == (Phase.ERROR, "quota", "over quota")


def test_deadline_and_vanish_are_final_failures() -> None:
    timed_out = transition(_building(), DeadlinePassed(name="web-01", at=99))
    assert (timed_out.phase, timed_out.failure) == (Phase.TIMEOUT, "timeout")
    assert "BUILD" in (timed_out.message or "")
    gone = transition(_building(), Vanished(name="web-01", at=99))
    assert (gone.phase, gone.failure) == (Phase.GONE, "gone")
    deleted = transition(
        _building(), StatusSeen(name="web-01", at=13, server_id="id-1", status="DELETED")
    )
    assert deleted.phase is Phase.GONE


def test_retry_cycle_error_delete_requeue_create() -> None:
    error = transition(
        _building(), StatusSeen(name="web-01", at=12, server_id="id-1", status="ERROR", fault="x")
    )
    deleting = transition(error, DeleteSent(name="web-01", at=13, server_id="id-1"))
    assert deleting.phase is Phase.DELETING
    deleted = transition(deleting, Deleted(name="web-01", at=14, server_id="id-1"))
    assert deleted.phase is Phase.DELETED
    queued = transition(deleted, Requeued(name="web-01", at=14))
    assert queued.phase is Phase.QUEUED and queued.server_id is None
    again = transition(queued, CreateSent(name="web-01", at=15))
    assert again.attempt == 2 and again.message is None and again.failure is None


def test_found_existing_servers_take_their_status() -> None:
    queued = ServerState(name="a")
    active = transition(queued, Found(name="a", at=1, server_id="x", status="ACTIVE"))
    assert active.phase is Phase.ACTIVE and active.existed and active.active_seconds is None
    building = transition(queued, Found(name="a", at=1, server_id="x", status="BUILD"))
    assert building.phase is Phase.BUILDING and building.status == "BUILD" and building.existed
    error = transition(queued, Found(name="a", at=1, server_id="x", status="ERROR", fault="boom"))
    assert (error.phase, error.message) == (Phase.ERROR, "boom")


@pytest.mark.parametrize(
    "event",
    [
        StatusSeen(name="web-01", at=20, server_id="id-1", status="ERROR"),
        Created(name="web-01", at=20, server_id="id-2", post_seconds=1, http_attempts=1),
        CreateSent(name="web-01", at=20),
        DeadlinePassed(name="web-01", at=20),
        Vanished(name="web-01", at=20),
        Requeued(name="web-01", at=20),
    ],
)
def test_events_that_do_not_apply_return_the_same_state(event: object) -> None:
    active = transition(
        _building(), StatusSeen(name="web-01", at=15, server_id="id-1", status="ACTIVE")
    )
    assert transition(active, event) is active  # type: ignore[arg-type]
