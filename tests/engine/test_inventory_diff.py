"""The inventory's diff: each server found against the plan for its name (no cloud).

Records are cut-down ``GET /servers/detail`` items; the plan is given as ``Planned``
values, with spec marks written by hand (``1:<letter><8 hex>...``), so each test says
which field differs. The apply and plan tests run the same function on the simulator.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from bulkboot.engine.changes import Planned, compare, judge_name, needs_flavor_names
from bulkboot.engine.diff import Diff, Extra
from bulkboot.engine.inventory import InventoryPlan, take_inventory
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.replay import JournalEntry
from bulkboot.engine.state import Phase
from bulkboot.pipeline.spec import Limits, Location, Manifest, ServerSpec

FLEET = "lab"
NOW = 1000.0
WALL = 5_000_000.0
CLOUD_NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
MARK = "1:i00000001.f00000001.n00000001"
FLAVOR_CHANGED = "1:i00000001.f00000002.n00000001"
IMAGE_AND_NETWORKS_CHANGED = "1:i00000009.f00000001.n00000009"
PLANNED = Planned(mark=MARK, image="img-1", flavor="1")


def _spec(name: str, group: str | None = None, **counts: int) -> ServerSpec:
    where = Location("lab.yaml", 3, 5)
    return ServerSpec(name=name, fleet=FLEET, location=where, group=group or name, **counts)  # type: ignore[arg-type]


def _manifest(*specs: ServerSpec) -> Manifest:
    return Manifest(
        path="lab.yaml",
        name=FLEET,
        cloud=None,
        microversion="auto",
        limits=Limits(),
        servers=specs,
    )


def _server(
    server_id: str, name: str, mark: str | None = MARK, status: str = "ACTIVE", **extra: Any
) -> dict[str, Any]:
    metadata = {"bulkboot:fleet": FLEET}
    if mark is not None:
        metadata["bulkboot:spec"] = mark
    return {"id": server_id, "name": name, "status": status, "metadata": metadata, **extra}


def _take(
    manifest: Manifest,
    records: list[dict[str, Any]],
    *,
    planned: dict[str, Planned] | None = None,
    entries: dict[str, JournalEntry] | None = None,
    **options: Any,
) -> InventoryPlan:
    return take_inventory(
        manifest,
        records,
        entries or {},
        ApplyOptions(**options),
        now=NOW,
        cloud_now=CLOUD_NOW,
        wall_now=WALL,
        window=60.0,
        planned=planned if planned is not None else {s.name: PLANNED for s in manifest.servers},
        flavor_names={"1": "m1.tiny", "2": "m1.small"},
    )


def test_a_server_at_the_plan_is_unchanged_and_one_that_differs_says_how() -> None:
    manifest = _manifest(_spec("web-1"), _spec("web-2"), _spec("web-3"))
    records = [_server("a", "web-1"), _server("b", "web-2", FLAVOR_CHANGED)]
    plan = _take(manifest, records)
    diff = plan.diff
    assert diff.create == ("web-3",)
    assert diff.unchanged == ("web-1",)
    assert [(c.name, c.server_id, c.fields, c.compared) for c in diff.replace] == [
        ("web-2", "b", ("flavor",), "mark")
    ]
    assert diff.summary_line() == "1 to create, 1 to replace, 0 to delete, 1 unchanged"
    # without --replace-changed the changed server is left alone, and said so
    assert [e.name for e in plan.found] == ["web-1", "web-2"]
    assert plan.replacements == ()
    assert (
        "1 server(s) differ from the manifest and were left alone (changed, kept: "
        "--replace-changed replaces them): web-2 (flavor)"
    ) in plan.notes


def test_with_replace_changed_the_name_is_created_anew_and_its_old_server_goes() -> None:
    manifest = _manifest(_spec("web-1", "web-{index}"), _spec("web-2", "web-{index}"))
    records = [_server("a", "web-1"), _server("b", "web-2", IMAGE_AND_NETWORKS_CHANGED)]
    plan = _take(manifest, records, replace_changed=True)
    assert [e.name for e in plan.found] == ["web-1"]  # web-2 is not accounted as found
    assert {s.name: s.phase for s in plan.states}["web-2"] is Phase.QUEUED
    assert plan.to_create == ()  # the rollout queues it, in its turn
    (replacement,) = plan.replacements
    assert replacement.name == "web-2" and replacement.group == "web-{index}"
    assert replacement.old == (("b", "ACTIVE"),)
    assert not replacement.delete_first and not replacement.settled
    assert plan.diff.replace[0].fields == ("image", "networks")
    assert "1 server(s) changed, to replace (--replace-changed): web-2 (image, networks)" in (
        plan.notes
    )


@pytest.mark.parametrize(
    ("order", "pinned", "delete_first"),
    [
        ("create-first", False, False),
        ("delete-first", False, True),
        ("create-first", True, True),  # a port or fixed IP cannot be held by two servers
    ],
)
def test_which_replacements_delete_first(order: str, pinned: bool, delete_first: bool) -> None:
    planned = {"web-1": Planned(mark=MARK, image="img-1", flavor="1", pinned=pinned)}
    plan = _take(
        _manifest(_spec("web-1")),
        [_server("a", "web-1", FLAVOR_CHANGED)],
        planned=planned,
        replace_changed=True,
        replace_order=order,
    )
    assert plan.replacements[0].delete_first is delete_first


def test_an_interrupted_replacement_has_only_its_deletion_left() -> None:
    """Killed after the new server was created: both carry the name; the one at the
    plan is the name's server, the older one is what is left to delete."""
    records = [_server("old", "web-1", FLAVOR_CHANGED), _server("new", "web-1", status="BUILD")]
    plan = _take(_manifest(_spec("web-1")), records, replace_changed=True)
    assert [(e.name, e.server_id) for e in plan.found] == [("web-1", "new")]
    assert [w.server_id for w in plan.watches] == ["new"]
    (replacement,) = plan.replacements
    assert replacement.settled and replacement.old == (("old", "ACTIVE"),)
    assert [c.server_id for c in plan.diff.replace] == ["old"]
    assert not any("carry this name" in note for note in plan.notes)  # not a duplicate


def test_a_failed_new_server_goes_with_the_old_one_when_the_name_is_made_anew() -> None:
    records = [_server("old", "web-1", FLAVOR_CHANGED), _server("bad", "web-1", status="ERROR")]
    plan = _take(_manifest(_spec("web-1")), records, replace_changed=True)
    (replacement,) = plan.replacements
    assert not replacement.settled
    assert {i for i, _ in replacement.old} == {"old", "bad"}


def test_a_server_without_a_mark_is_compared_by_what_its_record_shows() -> None:
    by_id = {"id": "2", "links": []}  # before 2.47
    by_name = {"original_name": "m1.small", "vcpus": 1}  # from 2.47
    unknown = {"original_name": "m1.custom"}
    records = [
        _server("a", "s1", None, flavor={"id": "1"}, image={"id": "img-1"}),
        _server("b", "s2", None, flavor=by_id, image={"id": "img-1"}),
        _server("c", "s3", None, flavor=by_name, image={"id": "img-1"}),
        _server("d", "s4", None, flavor={"id": "1"}, image={"id": "img-2"}),
        _server("e", "s5", None, flavor={"id": "1"}, image=""),  # booted from a volume
        _server("f", "s6", "2:some-later-mark", flavor={"id": "1"}, image={"id": "img-1"}),
    ]
    plan = _take(_manifest(*(_spec(f"s{i}") for i in range(1, 7))), records)
    changed = {c.name: (c.fields, c.compared) for c in plan.diff.replace}
    assert changed == {
        "s2": (("flavor",), "record"),
        "s3": (("flavor",), "record"),
        "s4": (("image",), "record"),
    }
    assert plan.diff.unchanged == ("s1", "s5", "s6")
    # a flavor name nobody can map (the listing had no such flavor) tells nothing
    record = _server("g", "s7", None, flavor=unknown, image={"id": "img-1"})
    assert compare(record, PLANNED, {})[0] == ()
    assert needs_flavor_names([record]) and not needs_flavor_names([records[1]])


def test_extra_servers_are_kept_or_pruned_and_never_outside_the_scope() -> None:
    records = [_server("a", "web-1"), _server("x", "web-9"), _server("y", "db-2")]
    manifest = _manifest(_spec("web-1"))
    kept = _take(manifest, records)
    assert kept.diff.extra == (
        Extra(name="db-2", server_id="y", status="ACTIVE"),
        Extra(name="web-9", server_id="x", status="ACTIVE"),
    )
    assert kept.diff.summary_line() == (
        "0 to create, 0 to replace, 0 to delete, 1 unchanged, 2 extra, kept (--prune deletes them)"
    )
    pruned = _take(manifest, records, prune=True)
    assert pruned.diff.summary_line() == "0 to create, 0 to replace, 2 to delete, 1 unchanged"
    assert pruned.diff.changes == 2
    assert any("are deleted (--prune): db-2, web-9" in note for note in pruned.notes)
    scoped = take_inventory(
        manifest,
        records,
        {},
        ApplyOptions(prune=True),
        now=NOW,
        cloud_now=CLOUD_NOW,
        planned={"web-1": PLANNED},
        in_scope=lambda name: name.startswith("web-"),
    )
    assert [e.name for e in scoped.diff.extra] == ["web-9"]


def test_a_name_taken_outside_the_fleet_is_never_adopted_and_said() -> None:
    stranger = {"id": "s1", "name": "web-1", "status": "ACTIVE", "metadata": {}}
    other = {"id": "o2", "name": "pool-2", "status": "ACTIVE", "metadata": {"bulkboot:fleet": "x"}}
    plan = _take(_manifest(_spec("web-1"), _spec("pool", max_count=3)), [stranger, other])
    assert plan.to_create == ("web-1", "pool")
    assert plan.diff.create == ("web-1", "pool-1", "pool-2", "pool-3")
    assert plan.diff.name_taken == {
        "web-1": "s1 (not marked as a fleet's)",
        "pool-2": "o2 (fleet 'x''s)",
    }
    assert plan.found == ()


def test_servers_in_error_are_listed_apart_and_not_as_changes() -> None:
    records = [
        _server("e", "web-1", FLAVOR_CHANGED, status="ERROR", fault={"message": "no host"}),
        _server("q", "web-2", status="ERROR", fault={"message": "Quota exceeded for cores"}),
    ]
    plan = _take(_manifest(_spec("web-1"), _spec("web-2")), records, replace_changed=True)
    assert [(e.name, e.fault, e.retryable) for e in plan.diff.errors] == [
        ("web-1", "no host", True),
        ("web-2", "Quota exceeded for cores", False),
    ]
    assert plan.diff.replace == () and plan.diff.unchanged == () and plan.replacements == ()
    assert plan.diff.summary_line().endswith("2 in ERROR (1 --retry-errors would replace)")


def test_an_earlier_create_that_may_land_is_waited_for_before_a_replacement() -> None:
    entries = {
        "web-1": JournalEntry(name="web-1", sent=1, unconfirmed=True, last_sent_at=WALL - 10)
    }
    records = [_server("old", "web-1", FLAVOR_CHANGED)]
    replacing = _take(_manifest(_spec("web-1")), records, entries=entries, replace_changed=True)
    assert replacing.possible == {"web-1": NOW + 50.0}
    kept = _take(_manifest(_spec("web-1")), records, entries=entries)
    assert kept.possible == {} and kept.may_land == frozenset({"web-1"})


def test_members_are_compared_with_their_requests_plan() -> None:
    records = [_server("a", "pool-1"), _server("b", "pool-2", FLAVOR_CHANGED)]
    plan = _take(_manifest(_spec("pool", max_count=2)), records)
    assert plan.diff.unchanged == ("pool-1",)
    assert [c.name for c in plan.diff.replace] == ["pool-2"]


def test_judge_name_prefers_the_plans_working_server() -> None:
    old, new = _server("old", "n", FLAVOR_CHANGED), _server("new", "n", status="BUILD")
    verdict = judge_name("n", [old, new], PLANNED, {})
    assert verdict.chosen is new and verdict.settled and verdict.going == (old,)
    alone = judge_name("n", [old], PLANNED, {})
    assert alone.chosen is old and not alone.settled and alone.going == (old,)
    assert judge_name("n", [old], None, {}).changes == ()  # no plan: nothing to compare


def test_nothing_to_do_says_so() -> None:
    assert Diff(unchanged=("a",)).summary_line() == (
        "0 to create, 0 to replace, 0 to delete, 1 unchanged"
    )
    assert Diff().changes == 0
