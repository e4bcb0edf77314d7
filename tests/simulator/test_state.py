"""bulkboot/simulator/state.py: lifecycle from timestamps, changes-since, paging, quota.

Pure: a hand-driven clock, no sockets.
"""

from __future__ import annotations

import random

import pytest

from bulkboot.simulator.clock import ManualClock
from bulkboot.simulator.config import FLAVORS, NETWORKS, SimConfig
from bulkboot.simulator.records import OUTCOME_ACTIVE, OUTCOME_ERROR, OUTCOME_NEVER, ServerRecord
from bulkboot.simulator.state import CloudState, ListQuery


def _add(
    state: CloudState, name: str, *, build: float = 1.0, outcome: int = OUTCOME_ACTIVE
) -> ServerRecord:
    now = state.clock()
    record = ServerRecord(
        seq=len(state.records),
        id=state.new_uuid(),
        name=name,
        created=now,
        ready_at=now + build,
        outcome=outcome,
        flavor=FLAVORS[1],
        image_id="",
        nics=((NETWORKS[0], None),),
        reservation_id=state.new_reservation_id(),
        metadata={},
    )
    state.add(record)
    return record


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
def state(clock: ManualClock) -> CloudState:
    return CloudState(SimConfig(delete_delay=2.0), clock=clock)


def test_status_is_derived_from_time(state: CloudState, clock: ManualClock) -> None:
    ok = _add(state, "ok", build=1.0)
    bad = _add(state, "bad", build=1.0, outcome=OUTCOME_ERROR)
    stuck = _add(state, "stuck", build=1.0, outcome=OUTCOME_NEVER)
    now = clock.time()
    assert [r.status(now) for r in (ok, bad, stuck)] == ["BUILD"] * 3
    assert ok.progress(now + 0.5) == 50
    later = now + 1.0
    assert [r.status(later) for r in (ok, bad, stuck)] == ["ACTIVE", "ERROR", "BUILD"]
    assert ok.updated(later) == later
    assert stuck.updated(later + 100) == now


def test_delete_then_gone_after_the_delay(state: CloudState, clock: ManualClock) -> None:
    record = _add(state, "doomed", build=0.0)
    clock.advance(1)
    state.delete(record, clock.time())
    assert state.visible(record, clock.time() + 1.9)
    assert record.status(clock.time() + 1.9) == "ACTIVE"
    assert not state.visible(record, clock.time() + 2.0)
    assert record.status(clock.time() + 2.0) == "DELETED"
    assert state.used_instances == 0


def test_changes_since_matches_a_brute_force_scan(state: CloudState, clock: ManualClock) -> None:
    rng = random.Random(5)
    records: list[ServerRecord] = []
    for step in range(400):
        clock.advance(rng.uniform(0, 0.5))
        action = rng.random()
        live = [r for r in records if r.deleted_at is None]
        if action < 0.7 or not live:
            records.append(_add(state, f"s{step}", build=rng.uniform(0, 5)))
        else:
            state.delete(rng.choice(live), clock.time())
    end = clock.time()
    for _ in range(50):
        now = rng.uniform(end, end + 10)  # every change so far lies in the past
        since = rng.uniform(end - 120, now)
        expected = [r.id for r in sorted(records, key=lambda r: -r.seq) if r.updated(now) >= since]
        got = [r.id for r in state.changed_since(since, now)]
        assert got == expected


def test_list_pages_newest_first_and_hides_gone(state: CloudState, clock: ManualClock) -> None:
    records = [_add(state, f"n{i}") for i in range(5)]
    state.delete(records[2], clock.time())
    clock.advance(10)
    page, more = state.list_servers(ListQuery(limit=2), clock.time())
    assert [r.name for r in page] == ["n4", "n3"] and more
    page, more = state.list_servers(ListQuery(limit=2, marker=page[-1].id), clock.time())
    assert [r.name for r in page] == ["n1", "n0"] and not more


def test_duplicate_names_counted_among_live_servers(state: CloudState, clock: ManualClock) -> None:
    first = _add(state, "same")
    _add(state, "same")
    _add(state, "same")
    assert state.duplicate_names == 2
    state.delete(first, clock.time())
    assert state.duplicate_names == 1


def test_allowed_count_by_the_tightest_quota(clock: ManualClock) -> None:
    state = CloudState(SimConfig(quota_instances=10, quota_cores=4, quota_ram=100_000), clock=clock)
    small = FLAVORS[1]  # 1 vCPU
    medium = FLAVORS[2]  # 2 vCPUs
    assert state.allowed_count(small, 3) == (3, [])
    assert state.allowed_count(medium, 3) == (2, ["cores"])


def test_reset_forgets_everything_and_reseeds(state: CloudState) -> None:
    first_ids = [_add(state, "a").id for _ in range(3)]
    state.reset(state.config)
    assert state.records == [] and state.by_id == {} and state.used_instances == 0
    assert [_add(state, "a").id for _ in range(3)] == first_ids


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("since", [None, 0.0])
def test_paging_visits_every_server_once(
    state: CloudState, clock: ManualClock, ascending: bool, since: float | None
) -> None:
    records = [_add(state, f"p{i}") for i in range(23)]
    state.delete(records[5], clock.time())
    clock.advance(10)  # records[5] is gone: only changes-since still shows it
    seen: list[str] = []
    marker = None
    while True:
        query = ListQuery(limit=4, marker=marker, ascending=ascending, changes_since=since)
        page, more = state.list_servers(query, clock.time())
        seen += [r.name for r in page]
        if not more:
            break
        marker = page[-1].id
    expected = [r.name for r in records if since is not None or r is not records[5]]
    assert seen == (expected if ascending else expected[::-1])
