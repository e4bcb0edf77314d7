"""The poller's bookkeeping: changes-since from the server's clock, partial records,
fleet members it does not watch yet, and servers missing from a full listing.

The lister here replays scripted answers: these tests are about how a round reads
answers, not about HTTP (the apply tests run the poller against the simulator).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bulkboot.engine.poll import Poller


class Scripted:
    def __init__(self, *answers: list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.calls: list[Mapping[str, str] | None] = []

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        assert detail
        self.calls.append(dict(filters) if filters else None)
        return self.answers.pop(0)


FLEET = "lab"


def _rec(sid: str, status: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "status": status,
        "updated": updated,
        "name": sid,
        "metadata": {"bulkboot:fleet": "lab"},
        **extra,
    }


@pytest.mark.anyio
async def test_since_comes_from_the_servers_records_not_our_clock() -> None:
    lister = Scripted(
        [_rec("a", "BUILD", "2026-01-01T10:00:05Z"), _rec("b", "BUILD", "2026-01-01T10:00:07Z")],
        [_rec("a", "ACTIVE", "2026-01-01T10:00:09Z")],
        [],
        [_rec("b", "ERROR", "2026-01-01T10:00:11Z", fault={"message": "No valid host"})],
    )
    clock = iter(range(100, 200)).__next__
    poller = Poller(lister, fleet=FLEET, clock=lambda: float(clock()), full_interval=math.inf)
    poller.watch("a", "web-a")
    poller.watch("b", "web-b")
    first = await poller.round()  # no since yet: a full listing
    assert lister.calls[0] is None and first.full
    second = await poller.round()
    assert lister.calls[1] == {"changes-since": "2026-01-01T10:00:07Z"}
    assert [(s.key, s.status) for s in second.sightings] == [("web-a", "ACTIVE")]
    await poller.round()  # nothing changed: since stays where it was
    assert lister.calls[2] == {"changes-since": "2026-01-01T10:00:09Z"}
    fourth = await poller.round()
    assert lister.calls[3] == {"changes-since": "2026-01-01T10:00:09Z"}
    assert [(s.key, s.status, s.fault) for s in fourth.sightings] == [
        ("web-b", "ERROR", "No valid host")
    ]


@pytest.mark.anyio
async def test_partial_records_from_down_cells_are_matched_by_id() -> None:
    lister = Scripted([{"id": "a", "status": "UNKNOWN"}, {"id": "zzz"}])
    poller = Poller(
        lister, fleet=FLEET, since="2026-01-01T00:00:00Z", clock=lambda: 1.0, full_interval=math.inf
    )
    poller.watch("a", "web-a", at=0.0)
    result = await poller.round()
    assert [(s.key, s.status) for s in result.sightings] == [("web-a", "UNKNOWN")]
    assert result.unknown == () and result.missing == ()
    assert poller.since == "2026-01-01T00:00:00Z"  # partial records carry no time


@pytest.mark.anyio
async def test_unwatched_fleet_records_are_reported_other_fleets_are_not() -> None:
    other = _rec("x", "BUILD", "2026-01-01T10:00:00Z")
    other["metadata"] = {"bulkboot:fleet": "other"}
    lister = Scripted(
        [
            _rec("g-1", "BUILD", "2026-01-01T10:00:00Z"),
            other,
            {"id": "y", "status": "BUILD", "updated": "2026-01-01T10:00:00Z"},
        ]
    )
    poller = Poller(
        lister, fleet=FLEET, since="2026-01-01T09:00:00Z", clock=lambda: 1.0, full_interval=math.inf
    )
    result = await poller.round()
    assert [r["id"] for r in result.unknown] == ["g-1"]


@pytest.mark.anyio
async def test_full_rounds_report_watched_servers_missing_but_not_new_ones() -> None:
    now = [10.0]
    lister = Scripted([_rec("a", "BUILD", "2026-01-01T10:00:00Z")])
    poller = Poller(lister, fleet=FLEET, clock=lambda: now[0], full_interval=0.0)
    poller.watch("a", "web-a", at=1.0)
    poller.watch("b", "web-b", at=2.0)
    poller.watch("c", "web-c", at=10.5)  # created while the listing was under way
    result = await poller.round()
    assert result.full and result.missing == (("b", "web-b"),)
    assert [key for _, key in poller.watched_before(5.0)] == ["web-a", "web-b"]


@pytest.mark.anyio
async def test_a_server_watched_after_a_round_listed_it_final_is_still_reported() -> None:
    """A create answered late (retried, or found after a lost answer): its server went
    ACTIVE while unwatched, and ``changes-since`` has moved past that change."""
    lister = Scripted(
        [
            _rec("late", "ACTIVE", "2026-01-01T10:00:05Z"),
            _rec("other", "BUILD", "2026-01-01T10:00:09Z"),
        ],
        [],
        [],
    )
    poller = Poller(
        lister, fleet=FLEET, since="2026-01-01T10:00:00Z", clock=lambda: 1.0, full_interval=math.inf
    )
    first = await poller.round()
    assert [r["id"] for r in first.unknown] == ["late", "other"] and first.sightings == ()
    assert poller.since == "2026-01-01T10:00:09Z"  # past the late one's last change
    poller.watch("late", "web-late")  # its create's answer comes back now
    second = await poller.round()
    assert [(s.key, s.status) for s in second.sightings] == [("web-late", "ACTIVE")]
    third = await poller.round()  # reported once
    assert third.sightings == ()


@pytest.mark.anyio
async def test_a_full_round_is_the_truth_over_a_late_record() -> None:
    lister = Scripted([_rec("late", "BUILD", "2026-01-01T10:00:05Z")], [])
    now = [1.0]
    poller = Poller(lister, fleet=FLEET, since="2026-01-01T10:00:00Z", clock=lambda: now[0])
    await poller.round()
    poller.watch("late", "web-late", at=0.5)
    now[0] = 100.0  # the next round is a full one, and the server is no longer listed
    result = await poller.round()
    assert result.full and result.sightings == () and result.missing == (("late", "web-late"),)


def test_since_steps_back_after_a_round_big_enough_to_be_paged() -> None:
    from bulkboot.engine.poll import PAGED_GUARD, since_after

    small = [{"id": str(i), "updated": "2026-01-01T10:00:07Z"} for i in range(3)]
    assert since_after("2026-01-01T10:00:00Z", small, 0.2) == "2026-01-01T10:00:07Z"
    big = [{"id": str(i), "updated": "2026-01-01T10:00:07Z"} for i in range(PAGED_GUARD)]
    # a change during the 1.5 s listing may hide behind the newest stamp: step back
    assert since_after("2026-01-01T10:00:00Z", big, 1.5) == "2026-01-01T10:00:05Z"
    assert since_after("2026-01-01T10:00:00Z", big, 0.2) == "2026-01-01T10:00:06Z"
    # never behind what was already safe
    assert since_after("2026-01-01T10:00:06Z", big, 1.5) == "2026-01-01T10:00:06Z"
    assert since_after("2026-01-01T10:00:06Z", [], 0.1) == "2026-01-01T10:00:06Z"
    assert since_after(None, [{"id": "x"}], 0.1) is None


def test_reorder_puts_back_dated_watches_first_for_deadlines() -> None:
    clock = [100.0]
    poller = Poller(Scripted(), fleet=FLEET, clock=lambda: clock[0])
    poller.watch("fresh", "a")  # at 100
    poller.watch("old", "b", at=10.0)  # found by a re-apply, created long ago
    # watched_before walks in watch order and stops at the first one not overdue
    assert poller.watched_before(50.0) == []
    poller.reorder()
    assert poller.watched_before(50.0) == [("old", "b")]
    assert poller.watched_before(101.0) == [("old", "b"), ("fresh", "a")]


def test_nova_time_reads_nova_timestamps_and_refuses_others() -> None:
    from datetime import datetime, timezone

    from bulkboot.engine.poll import nova_time

    assert nova_time("2026-11-25T18:00:05Z") == datetime(
        2026, 11, 25, 18, 0, 5, tzinfo=timezone.utc
    )
    assert nova_time("2026-11-25T18:00:05") == datetime(2026, 11, 25, 18, 0, 5, tzinfo=timezone.utc)
    assert nova_time("yesterday") is None


@pytest.mark.anyio
@pytest.mark.parametrize("changing", [True, False])
async def test_a_deletion_no_round_shows_brings_a_full_listing(changing: bool) -> None:
    """Nova deletes a server still being scheduled without a trace: no DELETED record in
    ``changes-since``, ever. Watched for a change that must come, it is found gone by a
    full listing once it has shown in no round for UNSEEN_AFTER seconds; a build watched
    without one costs no full listing."""
    from bulkboot.engine.poll import UNSEEN_AFTER

    since = "2026-01-01T10:00:00Z"
    lister = Scripted(*([[]] * 4))
    now = [100.0]
    poller = Poller(lister, fleet=FLEET, since=since, clock=lambda: now[0], full_interval=60.0)
    poller.watch("gone-at-once", "web-1", changing=changing)
    rounds = []
    for _ in range(4):
        now[0] += UNSEEN_AFTER / 2
        rounds.append(await poller.round())
        for server_id, _key in rounds[-1].missing:
            poller.unwatch(server_id)  # as its caller does: gone
    full = [r.full for r in rounds]
    if changing:
        assert full == [False, True, False, False]
        assert rounds[1].missing == (("gone-at-once", "web-1"),)
    else:
        assert full == [False] * 4 and not any(r.missing for r in rounds)


class LateCommits:
    """Nova's ``changes-since`` over records that become visible after they were stamped
    (a save committed after a listing read): ``commit`` makes a stamped record visible."""

    def __init__(self) -> None:
        self.visible: dict[str, dict[str, Any]] = {}

    def commit(self, record: dict[str, Any]) -> None:
        self.visible[record["id"]] = record

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        since = (filters or {}).get("changes-since")
        # Nova compares its own stamp, which has more than whole seconds; ``updated``
        # shows whole seconds: the records here stamp on whole seconds (the same test)
        return [r for r in self.visible.values() if since is None or r["updated"] >= since]


@pytest.mark.anyio
@pytest.mark.parametrize("settle", [0.0, 1.0])
async def test_a_change_committed_after_a_listing_read_is_seen_when_since_settles(
    settle: float,
) -> None:
    """Seen on Nova 34: ``a``'s deletion is stamped 10:00:04 but visible only after a
    round has listed ``b``'s 10:00:05 change; ``changes-since=10:00:05`` never lists it
    again. Held back a second, the next round does."""
    nova = LateCommits()
    nova.commit(_rec("a", "ACTIVE", "2026-01-01T10:00:03Z"))
    poller = Poller(nova, fleet=FLEET, clock=lambda: 1.0, full_interval=math.inf, settle=settle)
    poller.watch("a", "web-a")
    await poller.round()  # a full listing: a ACTIVE
    nova.commit(_rec("b", "BUILD", "2026-01-01T10:00:05Z"))
    await poller.round()  # lists b: since moves to b's second (less ``settle``)
    nova.commit(_rec("a", "DELETED", "2026-01-01T10:00:04Z"))  # stamped before b, seen after
    seen = await poller.round()
    statuses = {s.server_id: s.status for s in seen.sightings}
    if settle:
        assert statuses.get("a") == "DELETED"
        assert poller.since == "2026-01-01T10:00:04Z"
    else:
        assert "a" not in statuses  # lost until the next full listing: the defect
