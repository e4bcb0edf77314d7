"""``apply`` converging on the simulator: replacements (rolling, both orders, a failure),
``--prune``, names taken outside the fleet. What the cloud holds is read from the
simulator's own records; the order of steps from the journal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkboot.engine.options import MaxUnavailable
from bulkboot.errors import UsageError
from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.simulator.server import RunningSimulator
from tests.engine.fleet_helpers import IMAGE, apply_manifest, fleet_paths

pytestmark = pytest.mark.anyio

MANIFEST = """name: lab
defaults:
  image: {image}
  flavor: "{flavor}"
  networks: none
servers:
  - name: "web-{{index}}"
    count: {count}
  - name: db
"""


def _write(tmp_path: Path, *, flavor: str = "1", count: int = 4, extra: str = "") -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(MANIFEST.format(image=IMAGE, flavor=flavor, count=count) + extra)
    return path


def _fleet(sim: RunningSimulator, fleet: str = "lab") -> list[dict[str, Any]]:
    """The fleet's servers now (not those deleted), from the simulator's records."""
    state = sim._state

    def read() -> list[dict[str, Any]]:
        now = state.clock()
        return [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status(now),
                "flavor": r.flavor.id,
                "spec": r.metadata.get(SPEC_MARK_KEY),
            }
            for r in state.records
            if r.metadata.get(FLEET_MARK_KEY) == fleet
            and r.status(now) != "DELETED"
            and r.deleted_at is None
        ]

    return sim._call(read)


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in fleet_paths(path, "lab").journal.read_text().splitlines()]


def _by_name(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    return by_name


async def _booted(sim: RunningSimulator, tmp_path: Path, **manifest: Any) -> Path:
    path = _write(tmp_path, **manifest)
    assert (await apply_manifest(sim, path)).ok
    return path


async def test_changed_servers_are_left_alone_without_replace_changed(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path)
    before = {r["id"] for r in _fleet(sim)}
    _write(tmp_path, flavor="2")
    outcome = await apply_manifest(sim, path)
    assert outcome.ok and {r["id"] for r in _fleet(sim)} == before
    assert outcome.converged.changed_kept == 5
    assert any("(changed, kept: --replace-changed replaces them)" in n for n in outcome.notes)


async def test_a_rolling_replacement_makes_each_server_anew_one_at_a_time(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path)
    old = {r["name"]: r["id"] for r in _fleet(sim)}
    _write(tmp_path, flavor="2")
    before = len(_journal(path))
    outcome = await apply_manifest(sim, path, replace_changed=True)
    assert outcome.ok, outcome.notes
    assert sorted(outcome.converged.rollout.replaced) == ["db", "web-1", "web-2", "web-3", "web-4"]
    servers = _by_name(_fleet(sim))
    assert sorted(servers) == sorted(old)  # one server per name, none left over
    for name, records in servers.items():
        (record,) = records
        assert record["flavor"] == "2" and record["status"] == "ACTIVE"
        assert record["id"] != old[name]
    # one spec mark for all: db's body is web's but for the name, which is not hashed
    assert len({r[0]["spec"] for r in servers.values()}) == 1
    # create first, one at a time in a group: web-N+1 is sent once web-N's old server
    # is gone; each old server's DELETE journaled before it went
    lines = _journal(path)[before:]
    web = [
        (line["ev"], line["name"])
        for line in lines
        if line["name"].startswith("web") and line["ev"] in ("sent", "delete", "deleted")
    ]
    assert web == [
        (event, f"web-{i}") for i in range(1, 5) for event in ("sent", "delete", "deleted")
    ]


async def test_max_unavailable_lets_that_many_of_a_group_go_at_once(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path)
    _write(tmp_path, flavor="2")
    before = len(_journal(path))
    limit = MaxUnavailable(percent=50.0)  # 2 of the 4 web servers
    outcome = await apply_manifest(sim, path, replace_changed=True, max_unavailable=limit)
    assert outcome.ok
    in_progress = peak = 0
    for line in _journal(path)[before:]:
        if not line["name"].startswith("web"):
            continue
        if line["ev"] == "sent":
            in_progress += 1
        elif line["ev"] == "deleted":
            in_progress -= 1
        peak = max(peak, in_progress)
    assert peak == 2


async def test_delete_first_deletes_the_old_server_before_the_create(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path, count=2)
    _write(tmp_path, flavor="2", count=2)
    outcome = await apply_manifest(sim, path, replace_changed=True, replace_order="delete-first")
    assert outcome.ok
    steps = ("sent", "delete", "deleted")
    order = [line["ev"] for line in _journal(path) if line["name"] == "db" and line["ev"] in steps]
    assert order == ["sent", "delete", "deleted", "sent"]  # the first apply's, then these
    assert all(r["flavor"] == "2" for r in _fleet(sim))


async def test_a_new_server_in_error_leaves_the_old_one_running_and_stops_its_group(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path)
    old = {r["name"]: r["id"] for r in _fleet(sim)}
    _write(tmp_path, flavor="2")
    sim.configure(error_fraction=1.0)  # every build ends in ERROR from now on
    outcome = await apply_manifest(sim, path, replace_changed=True)
    assert not outcome.ok
    rollout = outcome.converged.rollout
    assert sorted(name for name, _ in rollout.failed) == ["db", "web-1"]
    assert all("the old one was kept" in why for _, why in rollout.failed)
    assert rollout.held == ("web-2", "web-3", "web-4")  # not begun after web-1 failed
    servers = _by_name(_fleet(sim))
    # every name still has its old server, ACTIVE, and only it (the failed new one went)
    assert {name: [r["id"] for r in records] for name, records in servers.items()} == {
        name: [server_id] for name, server_id in old.items()
    }
    assert all(r[0]["status"] == "ACTIVE" for r in servers.values())
    states = {s.name: s for s in outcome.states}
    assert states["web-1"].failure == "fault" and states["web-2"].existed


async def test_prune_deletes_the_fleets_servers_the_manifest_no_longer_names_only(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = await _booted(sim, tmp_path)
    stranger = tmp_path / "other.yaml"  # another fleet with a server named web-4 too
    stranger.write_text(
        f"name: other\ndefaults: {{image: {IMAGE}, flavor: '1', networks: none}}\n"
        "servers:\n  - name: web-4\n"
    )
    assert (await apply_manifest(sim, stranger, allow_duplicate_names=True)).ok
    _write(tmp_path, count=2)
    kept = await apply_manifest(sim, path)
    assert kept.ok and kept.converged.extra_kept == 2
    assert sorted(_by_name(_fleet(sim))) == ["db", "web-1", "web-2", "web-3", "web-4"]
    pruned = await apply_manifest(sim, path, prune=True)
    assert pruned.ok and sorted(pruned.converged.pruned) == ["web-3", "web-4"]
    assert sorted(_by_name(_fleet(sim))) == ["db", "web-1", "web-2"]
    assert [r["name"] for r in _fleet(sim, "other")] == ["web-4"]  # never another fleet's
    deletes = [(d["ev"], d["name"]) for d in _journal(path) if d["ev"] in ("delete", "deleted")]
    assert sorted(deletes) == [
        ("delete", "web-3"),
        ("delete", "web-4"),
        ("deleted", "web-3"),
        ("deleted", "web-4"),
    ]


async def test_a_name_taken_outside_the_fleet_stops_the_run_before_anything_is_sent(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        f"name: other\ndefaults: {{image: {IMAGE}, flavor: '1', networks: none}}\n"
        "servers:\n  - name: db\n"
    )
    assert (await apply_manifest(sim, other)).ok
    path = _write(tmp_path)
    posts = sim.stats()["requests"].get("POST /compute/v2.1/servers", {})
    with pytest.raises(UsageError) as raised:
        await apply_manifest(sim, path)
    assert "1 name(s) to create are already carried by servers outside fleet 'lab'" in str(
        raised.value
    )
    assert "(fleet 'other''s)" in str(raised.value) and "--allow-duplicate-names" in str(
        raised.value
    )
    assert sim.stats()["requests"].get("POST /compute/v2.1/servers", {}) == posts
    outcome = await apply_manifest(sim, path, allow_duplicate_names=True)
    assert outcome.ok
    assert len(_by_name(_fleet(sim))["db"]) == 1  # lab's own, beside other's
