"""Another writer, told from an earlier run's creates landing late: a server of the fleet
created after the run began is another writer's only if the journal has no create of
it that the manifest dropped since (a group's count lowered, a ``load`` run's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from bulkboot.engine.apply import FleetApply
from bulkboot.engine.journal import Journal
from bulkboot.engine.state import CreateSent
from bulkboot.simulator.server import RunningSimulator
from tests.engine.fleet_helpers import (
    IMAGE,
    apply_manifest,
    create_outside_the_run,
    fleet_paths,
    write_manifest,
)

pytestmark = pytest.mark.anyio
FLEET = "lowered"


def _journal_sent(path: Path, names: list[str]) -> None:
    """An earlier run's creates of ``names``, sent just now and never answered."""
    with Journal.open_fleet(fleet_paths(path, FLEET)) as journal:
        for name in names:
            journal.record(CreateSent(name=name, at=0.0))


def _landing(sim: RunningSimulator, names: list[str]) -> object:
    """A control that makes ``names`` land once the run has created a few servers."""

    async def land(_: FleetApply) -> None:
        while sim.stats()["servers_created"] < 5:  # noqa: ASYNC110 (another loop)
            await anyio.sleep(0.01)
        for name in names:
            await create_outside_the_run(sim, name, FLEET)

    return land


async def test_a_lowered_counts_earlier_creates_landing_are_no_other_writer(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_manifest(tmp_path, name=FLEET, count=60)  # was 64: 0061-0064 dropped
    dropped = [f"{FLEET}-{i:04d}" for i in range(61, 65)]
    _journal_sent(path, dropped)  # sent by the run with the higher count, in flight
    outcome = await apply_manifest(sim, path, concurrency=4, control=_landing(sim, dropped))
    assert outcome.ok and not outcome.another_writer, outcome.notes
    note = next(n for n in outcome.notes if "that the manifest does not name" in n)
    assert note.startswith(
        f"4 server(s) of fleet {FLEET!r} that the manifest does not name appeared during "
        f"the run ({FLEET}-0061, {FLEET}-0062, {FLEET}-0063, {FLEET}-0064): creates an "
        "earlier run sent"
    )
    assert sim.stats()["duplicate_names"] == 0 and sim.stats()["servers_total"] == 64


async def test_a_dropped_multi_creates_members_are_no_other_writer(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_manifest(tmp_path, name=FLEET, count=60)  # its `pool` group removed
    _journal_sent(path, ["pool"])
    members = ["pool-1", "pool-2"]
    outcome = await apply_manifest(sim, path, concurrency=4, control=_landing(sim, members))
    assert outcome.ok and not outcome.another_writer, outcome.notes
    assert any("(pool-1, pool-2)" in n for n in outcome.notes), outcome.notes


async def test_a_load_runs_creates_landing_during_apply_are_no_other_writer(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_manifest(tmp_path, name=FLEET, count=60)
    # a load run stopped at once: its iterations' creates in flight (their names are
    # the manifest's servers' with the run id and the iteration)
    loaded = [f"{FLEET}-0001-a1b2c3-{k}" for k in (7, 8)]
    _journal_sent(path, loaded)
    outcome = await apply_manifest(sim, path, concurrency=4, control=_landing(sim, loaded))
    assert outcome.ok and not outcome.another_writer, outcome.notes


async def test_a_server_the_journal_never_sent_still_stops_the_run(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(latency=0.05)
    path = write_manifest(tmp_path, name=FLEET, count=60)
    _journal_sent(path, [f"{FLEET}-{i:04d}" for i in range(61, 65)])
    # another machine's run of a manifest with a higher count still: names this
    # journal never sent, one the manifest asks for, one it does not
    strangers = [f"{FLEET}-0099", f"{FLEET}-0060"]
    outcome = await apply_manifest(sim, path, concurrency=4, control=_landing(sim, strangers))
    assert outcome.another_writer and not outcome.ok
    note = next(n for n in outcome.notes if n.startswith("another writer"))
    assert f"{FLEET}-0099" in note


class SlowListings:
    """The real client, except that a listing's answer reaches the run 0.3 s after Nova
    read it: a round that began before a create's answer is processed after
    it (a long page on a busy link)."""

    def __init__(self, compute: Any) -> None:
        self._compute = compute

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compute, name)

    async def list_servers(self, *args: Any, **kwargs: Any) -> Any:
        records = await self._compute.list_servers(*args, **kwargs)
        await anyio.sleep(0.3)
        return records


async def test_a_multi_creates_members_shown_a_round_apart_are_the_runs_own(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    """Nova writes a multi-create's members one by one before it answers: a round that
    read the servers before the answer, and is taken in after it, shows some of them;
    a later round the rest. Those are the run's own servers, never another writer's
    (seen once on real Nova 34: "pool-2 ... appeared that this run did not create")."""
    sim.configure(member_stagger=0.05, latency=0.01, build_time_mean=0.3, build_time_stddev=0.0)
    path = tmp_path / "pool.yaml"
    path.write_text(
        f"""name: pool
microversion: auto
defaults: {{image: {IMAGE}, flavor: "1", networks: none}}
servers:
  - {{name: solo}}  # watched: rounds run while the multi-create is in flight
  - {{name: pool, min_count: 8, max_count: 8}}
"""
    )
    outcome = await apply_manifest(sim, path, concurrency=2, wrap_compute=SlowListings)
    assert outcome.ok and not outcome.another_writer, outcome.notes
    names = sorted(s.name for s in outcome.states)
    assert names == [f"pool-{i}" for i in range(1, 9)] + ["solo"]
    assert sim.stats()["servers_total"] == 9 and sim.stats()["duplicate_names"] == 0
