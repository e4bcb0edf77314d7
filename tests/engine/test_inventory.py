"""The inventory without a cloud: a listing, the manifest and the journal in, a plan out.

The records are Nova's ``GET /servers/detail`` items, cut down to what the inventory
reads; the apply tests run the same function against the simulator.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bulkboot.engine.inventory import InventoryPlan, Watch, take_inventory
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.replay import JournalEntry
from bulkboot.engine.state import Phase
from bulkboot.pipeline.spec import Limits, Location, Manifest, ServerSpec

FLEET = "lab"
MARK = {"bulkboot:fleet": FLEET}
NOW = 1000.0  # the run's clock at the listing
CLOUD_NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def _spec(name: str, **counts: int) -> ServerSpec:
    where = Location("lab.yaml", 3, 5)
    return ServerSpec(name=name, fleet=FLEET, location=where, group=name, **counts)  # type: ignore[arg-type]


def _manifest(*specs: ServerSpec) -> Manifest:
    return Manifest(
        path="lab.yaml",
        name=FLEET,
        cloud=None,
        microversion="auto",
        limits=Limits(),
        servers=specs,
    )


def _server(server_id: str, name: str, status: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    return {"id": server_id, "name": name, "status": status, "metadata": MARK, **extra}


def _take(
    manifest: Manifest,
    records: list[dict[str, Any]],
    entries: dict[str, JournalEntry] | None = None,
    **options: Any,
) -> InventoryPlan:
    return take_inventory(
        manifest, records, entries or {}, ApplyOptions(**options), now=NOW, cloud_now=CLOUD_NOW
    )


def _phases(plan: InventoryPlan) -> dict[str, Phase]:
    return {s.name: s.phase for s in plan.states}


def test_an_empty_cloud_creates_every_request_and_says_nothing() -> None:
    plan = _take(_manifest(_spec("web-1"), _spec("web-2"), _spec("pool", max_count=3)), [])
    assert plan.to_create == ("web-1", "web-2", "pool")
    assert _phases(plan) == {"web-1": Phase.QUEUED, "web-2": Phase.QUEUED, "pool": Phase.QUEUED}
    assert plan.found == () and plan.watches == () and plan.notes == ()
    assert plan.replace == () and plan.leaving == {} and plan.member_specs == {}


def test_existing_servers_are_found_and_left_alone() -> None:
    records = [_server("a", "web-1"), _server("x", "web-1", metadata={"bulkboot:fleet": "x"})]
    plan = _take(_manifest(_spec("web-1"), _spec("web-2")), records)
    assert plan.to_create == ("web-2",)
    assert [(e.name, e.server_id, e.status, e.at) for e in plan.found] == [
        ("web-1", "a", "ACTIVE", NOW)
    ]
    assert plan.watches == ()  # ACTIVE: nothing to wait for
    assert plan.notes == ("1 server(s) already existed and were left alone; 1 to create",)


def test_a_build_found_is_watched_from_its_creation_on_the_clouds_clock() -> None:
    created = "2026-01-01T11:59:30Z"  # 30 s before the cloud's now
    records = [_server("a", "web-1", "BUILD", created=created), _server("b", "web-2", "BUILD")]
    plan = _take(_manifest(_spec("web-1"), _spec("web-2")), records)
    # sorted by the moment their deadline runs from; an unknown age counts from now
    assert plan.watches == (
        Watch(server_id="a", name="web-1", since=NOW - 30.0),
        Watch(server_id="b", name="web-2", since=NOW),
    )
    assert plan.to_create == ()


def test_an_error_is_replaced_only_with_retry_errors_and_never_a_quota_failure() -> None:
    records = [
        _server("a", "web-1", "ERROR", fault={"message": "No valid host was found."}),
        _server("b", "web-2", "ERROR", fault={"message": "Quota exceeded for instances"}),
    ]
    manifest = _manifest(_spec("web-1"), _spec("web-2"))
    left_alone = _take(manifest, records)
    assert left_alone.replace == () and left_alone.to_create == ()
    assert left_alone.notes == ("2 server(s) already existed and were left alone; 0 to create",)
    retried = _take(manifest, records, retry_errors=1)
    assert retried.replace == ("web-1",)
    assert retried.notes == (
        "1 server(s) already existed and were left alone; 0 to create; "
        "1 in ERROR to delete and create again (--retry-errors)",
    )


def test_a_server_on_its_way_out_is_waited_out_then_created_again() -> None:
    leaving = _server("old", "web-1", **{"OS-EXT-STS:task_state": "deleting"})
    gone = _server("older", "web-2", "DELETED")
    plan = _take(_manifest(_spec("web-1"), _spec("web-2")), [leaving, gone])
    assert plan.to_create == ("web-2",)  # deleted already: created at once
    assert plan.leaving == {"old": "web-1"}
    state = next(s for s in plan.states if s.name == "web-1")
    assert (state.phase, state.server_id) == (Phase.DELETING, "old")
    assert plan.watches == (Watch(server_id="old", name="web-1", since=NOW),)
    assert plan.found == ()
    assert plan.notes == (
        "0 server(s) already existed and were left alone; 1 to create; "
        "1 being deleted (an interrupted destroy?), to create again once gone",
    )


def test_a_delete_the_journal_never_saw_done_decides_where_task_state_is_hidden() -> None:
    hidden = {"id": "old", "name": "web-1", "status": "ACTIVE", "metadata": MARK}
    entries = {"web-1": JournalEntry(name="web-1", ids=("old",), deleting=frozenset({"old"}))}
    plan = _take(_manifest(_spec("web-1")), [hidden], entries)
    assert plan.leaving == {"old": "web-1"} and plan.to_create == ()
    # where Nova shows task_state, it wins: the journaled DELETE did not take
    shown = {**hidden, "OS-EXT-STS:task_state": None}
    assert _take(_manifest(_spec("web-1")), [shown], entries).leaving == {}


def test_a_multi_create_found_in_part_is_its_members_and_the_rest_made_one_by_one() -> None:
    pool = _spec("pool", min_count=4, max_count=4)
    records = [_server("p1", "pool-1"), _server("p3", "pool-3", "BUILD")]
    plan = _take(_manifest(_spec("web-1"), pool), records)
    # the request is gone from the board: its members are servers of their own
    assert list(_phases(plan)) == ["web-1", "pool-1", "pool-3", "pool-2", "pool-4"]
    assert plan.to_create == ("web-1", "pool-2", "pool-4")
    assert [e.name for e in plan.found] == ["pool-1", "pool-3"]
    assert plan.watches == (Watch(server_id="p3", name="pool-3", since=NOW),)
    assert sorted(plan.member_specs) == ["pool-1", "pool-2", "pool-3", "pool-4"]
    member = plan.member_specs["pool-2"]
    assert (member.name, member.instance_count, member.group) == ("pool-2", 1, "pool")


def test_a_multi_create_with_no_member_left_is_sent_again_once_all_are_gone() -> None:
    pool = _spec("pool", min_count=2, max_count=2)
    deleting = {"OS-EXT-STS:task_state": "deleting"}
    records = [_server("p1", "pool-1", **deleting), _server("p2", "pool-2", **deleting)]
    plan = _take(_manifest(pool), records)
    assert plan.to_create == ()
    assert plan.leaving == {"p1": "pool", "p2": "pool"}
    assert _phases(plan) == {"pool": Phase.QUEUED}  # one request, queued once both are gone
    assert plan.watches == (
        Watch(server_id="p1", name="pool-1", since=NOW),
        Watch(server_id="p2", name="pool-2", since=NOW),
    )
    assert plan.notes[-1].endswith(
        "1 being deleted (an interrupted destroy?), to create again once gone"
    )


def test_a_name_the_manifest_gives_itself_is_no_member_and_past_the_count_is_drift() -> None:
    pool = _spec("pool", max_count=2)
    records = [_server("a", "pool-1"), _server("b", "pool-2"), _server("c", "pool-3")]
    plan = _take(_manifest(pool, _spec("pool-2")), records)
    assert [e.name for e in plan.found] == ["pool-1", "pool-2"]  # pool-2 as its own request
    assert "pool-2" not in plan.member_specs
    assert plan.notes[0] == (
        "1 server(s) of fleet 'lab' are no longer in the manifest and were left alone "
        "(extra, kept: --prune deletes them): pool-3"
    )


def test_drift_is_noted_and_left_alone() -> None:
    records = [_server(f"d{i}", f"old-{i}") for i in range(7)] + [_server("a", "web-1")]
    plan = _take(_manifest(_spec("web-1")), records)
    assert plan.to_create == () and [e.name for e in plan.found] == ["web-1"]
    assert plan.notes[0] == (
        "7 server(s) of fleet 'lab' are no longer in the manifest and were left alone "
        "(extra, kept: --prune deletes them): old-0, old-1, old-2, old-3, old-4 ..."
    )


def test_a_down_cells_partial_record_is_claimed_through_the_journal() -> None:
    partial = {"id": "b2", "status": "UNKNOWN"}  # no name, no metadata
    stranger = {"id": "c3", "status": "UNKNOWN"}
    entries = {"web-2": JournalEntry(name="web-2", ids=("b2",), sent=1)}
    plan = _take(_manifest(_spec("web-1"), _spec("web-2")), [partial, stranger], entries)
    assert plan.to_create == ("web-1",)  # web-2 exists: never created twice
    assert [(e.name, e.server_id, e.status) for e in plan.found] == [("web-2", "b2", "UNKNOWN")]
    assert plan.watches == (Watch(server_id="b2", name="web-2", since=NOW),)  # until it shows
    # without the journal, it is nobody's
    assert _take(_manifest(_spec("web-2")), [partial]).to_create == ("web-2",)


def test_duplicates_are_noted_and_one_is_accounted_for() -> None:
    records = [_server("e", "web-1", "ERROR"), _server("a", "web-1"), _server("b", "web-1")]
    plan = _take(_manifest(_spec("web-1")), records, retry_errors=1)
    assert [(e.name, e.server_id) for e in plan.found] == [("web-1", "a")]  # ACTIVE first
    assert plan.replace == ()
    assert plan.notes[0] == (
        "web-1: 3 servers of the fleet carry this name; accounting for one (see `bulkboot status`)"
    )


WALL = 1_767_268_800.0  # this machine's wall clock at the listing (the journal's clock)


def _sent(name: str, seconds_ago: float | None, *, answered: bool = False) -> JournalEntry:
    return JournalEntry(
        name=name,
        ids=("old",) if answered else (),
        sent=1,
        unconfirmed=not answered,
        last_sent_at=None if seconds_ago is None else WALL - seconds_ago,
    )


def test_a_create_sent_and_never_answered_within_the_window_is_possibly_created() -> None:
    manifest = _manifest(
        _spec("fresh"),
        _spec("stale"),
        _spec("untimed"),
        _spec("answered"),
        _spec("future"),
        _spec("pool", max_count=3),
    )
    entries = {
        "fresh": _sent("fresh", 30.0),  # 30 s ago, window 120 s: may still land
        "stale": _sent("stale", 150.0),  # its window has passed
        "untimed": _sent("untimed", None),  # no time kept: nothing to wait for
        "answered": _sent("answered", 5.0, answered=True),  # answered (and since gone)
        "future": _sent("future", -60.0),  # the clock was set back: just sent
        "pool": _sent("pool", 100.0),  # a multi-create: its members may land
    }
    plan = take_inventory(
        manifest,
        [],
        entries,
        ApplyOptions(),
        now=NOW,
        cloud_now=CLOUD_NOW,
        wall_now=WALL,
        window=120.0,
    )
    assert plan.possible == {"fresh": NOW + 90.0, "future": NOW + 120.0, "pool": NOW + 20.0}
    assert plan.to_create == ("stale", "untimed", "answered")
    assert _phases(plan)["fresh"] is Phase.QUEUED  # shown as not there yet
    note = next(n for n in plan.notes if "of an earlier run" in n)
    assert note.startswith("3 create(s) of an earlier run were sent and never answered")
    assert "until 12:02:00 UTC" in note and "fresh, future, pool" in note
    # no window known: nothing is possibly created
    again = take_inventory(
        manifest, [], entries, ApplyOptions(), now=NOW, cloud_now=CLOUD_NOW, wall_now=WALL
    )
    assert again.possible == {} and len(again.to_create) == 6


def test_a_possibly_created_server_already_listed_is_simply_found() -> None:
    manifest = _manifest(_spec("fresh"))
    plan = take_inventory(
        manifest,
        [_server("id-1", "fresh")],
        {"fresh": _sent("fresh", 10.0)},
        ApplyOptions(),
        now=NOW,
        cloud_now=CLOUD_NOW,
        wall_now=WALL,
        window=120.0,
    )
    assert plan.possible == {} and plan.to_create == () and plan.known_ids == {"id-1"}
    assert [(e.name, e.server_id) for e in plan.found] == [("fresh", "id-1")]
