"""The journal learns and stays small: servers deleted outside bulkboot are looked up
once, then journaled as gone; no-op applies do not grow it without bound. Over real
sockets, against the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import config_from_mapping
from bulkboot.engine import compact
from bulkboot.engine.lock import FleetLock
from bulkboot.engine.replay import read_journal, replay
from bulkboot.engine.statedir import state_paths
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import applied, apply, destroy, journal_of, status

GET_ONE = "GET /compute/v2.1/servers/{server_id}"


def _gets(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get(GET_ONE, {}).values())


def _delete_outside(sim: RunningSimulator, names: set[str]) -> set[str]:
    """Delete the named servers through the compute API, as a colleague's script would
    (not bulkboot's journal); their ids, once the cloud no longer has them."""

    async def delete() -> set[str]:
        config = config_from_mapping(sim.clouds_yaml(), "simulator")
        async with open_cloud(config) as cloud:
            await cloud.compute.negotiate("auto")
            ids = {
                str(r["id"])
                for r in await cloud.compute.list_servers(None, detail=True)
                if r["name"] in names
            }
            for server_id in ids:
                await cloud.compute.delete_server(server_id)
            for _ in range(200):  # the simulator deletes after delete_delay (0.2 s)
                listed = {str(r["id"]) for r in await cloud.compute.list_servers(None)}
                if not ids & listed:
                    return ids
                await anyio.sleep(0.05)
        raise AssertionError("the servers were not deleted")

    return anyio.run(delete)


def _gone_lines(journal: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    return [line for line in lines if line["ev"] == "gone"]


def test_servers_deleted_outside_are_looked_up_once_then_never(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab)
    ids = _delete_outside(sim, {"web-02", "db"})
    looked = _gets(sim)
    code, out, _ = status(capsys, lab, fmt="json")
    document = json.loads(out)
    assert code == 1 and document["counts"] == {"ACTIVE": 4, "MISSING": 2}
    assert _gets(sim) - looked == 2  # the two the journal knows, looked up once
    missing = {s["name"]: s["note"] for s in document["servers"] if s["status"] == "MISSING"}
    assert missing == {"web-02": "deleted", "db": "deleted"}  # as every later run says
    gone = _gone_lines(journal_of(lab))
    assert {g["id"] for g in gone} == ids and {g["name"] for g in gone} == {"web-02", "db"}
    entries = replay(read_journal(journal_of(lab)))
    assert not set(entries["web-02"].live_ids) & ids and not set(entries["db"].live_ids) & ids

    looked = _gets(sim)
    code, out, _ = status(capsys, lab, fmt="json")
    document = json.loads(out)
    assert code == 1 and document["counts"] == {"ACTIVE": 4, "MISSING": 2}
    missing = {s["name"]: s["note"] for s in document["servers"] if s["status"] == "MISSING"}
    assert missing == {"web-02": "deleted", "db": "deleted"}
    assert _gets(sim) - looked == 0  # learned: not looked up again
    assert len(_gone_lines(journal_of(lab))) == 2  # and not journaled twice

    looked = _gets(sim)
    code, out, err = destroy(capsys, lab)
    assert code == 0, err
    assert json.loads(out)["summary"]["counts"]["deleted"] == 4
    assert _gets(sim) - looked == 0
    assert sim.stats()["servers_total"] == 0


def test_destroy_journals_what_it_found_gone(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab)
    _delete_outside(sim, {"web-01"})
    looked = _gets(sim)
    code, out, err = destroy(capsys, lab)
    assert code == 0, err
    assert json.loads(out)["summary"]["counts"]["deleted"] == 5
    assert _gets(sim) - looked == 1
    assert [g["name"] for g in _gone_lines(journal_of(lab))] == ["web-01"]
    looked = _gets(sim)
    code, _, _ = status(capsys, lab, fmt="json")
    assert code == 1 and _gets(sim) - looked == 0


def test_status_beside_a_run_holding_the_lock_writes_nothing_and_says_so(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab)
    _delete_outside(sim, {"web-03"})
    journal = journal_of(lab)
    before = journal.read_bytes()
    paths = state_paths(lab, cloud="simulator", fleet="lab")
    held = FleetLock.try_take(paths, command="apply")
    assert isinstance(held, FleetLock)
    with held:
        code, out, err = status(capsys, lab, fmt="json")
    assert code == 1 and json.loads(out)["counts"] == {"ACTIVE": 5, "MISSING": 1}
    assert "1 server(s) in the journal are gone from the cloud; not recorded now" in err
    assert "bulkboot apply" in err
    assert journal.read_bytes() == before
    # the lock free again: the next status records it, and the one after looks up nothing
    status(capsys, lab, fmt="json")
    assert [g["name"] for g in _gone_lines(journal)] == ["web-03"]
    looked = _gets(sim)
    status(capsys, lab, fmt="json")
    assert _gets(sim) - looked == 0


def test_status_that_cannot_write_its_state_still_shows_the_fleet(
    sim: RunningSimulator, lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(capsys, lab)
    _delete_outside(sim, {"db"})
    journal = journal_of(lab)
    before = journal.read_bytes()
    lock = journal.with_suffix(".lock")
    lock.unlink()
    lock.mkdir()  # the lock cannot be opened (as in a read-only folder, for root too)
    code, out, err = status(capsys, lab, fmt="json")
    assert code == 1 and json.loads(out)["counts"] == {"ACTIVE": 5, "MISSING": 1}
    assert "1 server(s) in the journal are gone from the cloud; not recorded now (" in err
    assert journal.read_bytes() == before


def test_no_op_applies_do_not_grow_the_journal_without_bound(
    sim: RunningSimulator,
    lab: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the lab fleet is six servers: compact from 1 KB rather than 16 KB
    monkeypatch.setattr(compact, "COMPACT_FROM_BYTES", 1024)
    journal = journal_of(lab)
    applied(capsys, lab)
    sizes = [journal.stat().st_size]
    notes = []
    for _ in range(10):
        code, out, err = apply(capsys, lab)
        assert code == 0 and json.loads(out)["summary"]["existed"] == 6, err
        notes.append(err)
        sizes.append(journal.stat().st_size)
    grown = sizes[1] - sizes[0]  # what one no-op apply writes
    assert grown > 0
    # without compaction: sizes[0] + 10 * grown; with it, never past twice the compact
    # form (under the first apply's size) and what one apply writes
    assert max(sizes) <= 2 * sizes[0] + grown
    assert sizes[-1] < sizes[0] + 3 * grown
    compacted = [n for n in notes if f"the journal {journal} was compacted" in n]
    assert 2 <= len(compacted) <= 6
    # every server is still known by its id: the cloud's ids are the journal's
    entries = replay(read_journal(journal))
    live = {i for e in entries.values() for i in e.live_ids}
    code, out, _ = status(capsys, lab, fmt="json")
    listed = {s["id"] for s in json.loads(out)["servers"]}
    assert code == 0 and live == listed and len(listed) == 6
    code, out, err = destroy(capsys, lab)
    assert code == 0 and json.loads(out)["summary"]["counts"]["deleted"] == 6, err
    assert sim.stats()["servers_total"] == 0


def test_the_journal_is_compacted_only_under_the_fleet_s_lock(tmp_path: Path) -> None:
    """``status`` reads without the lock and never rewrites; ``apply``, ``destroy`` and
    ``load`` read it inside ``fleet_lock``, where it is compacted."""
    from bulkboot.commands import _runtime as runtime

    paths = state_paths(tmp_path / "lab.yaml", cloud="prod", fleet="lab")
    paths.directory.mkdir(parents=True)
    found = "".join(
        f'{{"ev":"found","name":"web-{n}","id":"id-{n}","status":"ACTIVE","t":1}}\n'
        for n in range(100)
    )
    paths.journal.write_text(found * 10)
    before = paths.journal.read_bytes()
    notes: list[str] = []
    entries = runtime.fleet_journal(paths, notes, manifest_file=str(tmp_path / "lab.yaml"))
    assert paths.journal.read_bytes() == before and notes == []

    async def locked() -> list[str]:
        said: list[str] = []
        async with runtime.fleet_lock(
            paths, command="apply", wait=None, note=said.append, manifest_file="lab.yaml"
        ):
            assert runtime.fleet_journal(paths, said) == entries
        runtime.fleet_journal(paths, said)  # the lock released: nothing more is done
        return said

    said = anyio.run(locked)
    assert len(said) == 1 and said[0].startswith(f"the journal {paths.journal} was compacted")
    assert "from 1,000 lines" in said[0] and "to 101" in said[0]
    assert len(paths.journal.read_bytes()) < len(before) / 5
