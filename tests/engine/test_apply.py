"""apply and destroy against the simulator over real sockets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bulkboot.cloud.compute import CreateRequest
from bulkboot.engine.state import Created, CreateSent, Phase
from bulkboot.errors import CreateUncertain, QuotaCheckError
from bulkboot.simulator.server import RunningSimulator
from tests.engine.fleet_helpers import (
    Recorder,
    apply_manifest,
    create_outside_the_run,
    destroy_manifest,
    fleet_paths,
    journal_entries,
    write_manifest,
)
from tests.engine.sim_loop import ON_VIRTUAL_TIME, loop_simulator

pytestmark = pytest.mark.anyio


def _posts(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get("POST /compute/v2.1/servers", {}).values())


@ON_VIRTUAL_TIME
async def test_300_servers_active_then_reapply_creates_nothing_then_destroy(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        path = write_manifest(tmp_path, name="big", count=300)
        recorder = Recorder()
        outcome = await apply_manifest(sim, path, recorder=recorder)
        assert outcome.ok, [s for s in outcome.states if s.phase is not Phase.ACTIVE][:3]
        assert len(outcome.states) == 300
        assert all(
            s.active_seconds is not None and s.post_seconds is not None for s in outcome.states
        )
        stats = sim.stats()
        assert stats["servers"] == {"ACTIVE": 300} and stats["duplicate_names"] == 0
        assert _posts(sim) == 300
        # batched polling: a handful of list calls, not one GET per server
        lists = sum(stats["requests"]["GET /compute/v2.1/servers/detail"].values())
        assert lists <= 30
        assert "GET /compute/v2.1/servers/{server_id}" not in stats["requests"]
        assert stats["requests_total"] / 300 <= 1.15
        # every create journaled before and after
        sent = [e for e, _ in recorder.events if isinstance(e, CreateSent)]
        created = [e for e, _ in recorder.events if isinstance(e, Created)]
        assert len(sent) == len(created) == 300
        entries = journal_entries(path)
        assert len(entries) == 300 and all(len(e.live_ids) == 1 for e in entries.values())

        again = await apply_manifest(sim, path)
        assert again.ok and all(s.existed for s in again.states)
        assert _posts(sim) == 300  # nothing re-sent
        assert "300 server(s) already existed and were left alone; 0 to create" in again.notes

        gone = await destroy_manifest(sim, path)
        assert gone.ok and len(gone.states) == 300
        assert sim.stats()["servers_total"] == 0


@ON_VIRTUAL_TIME
async def test_faults_together_every_server_accounted_for_and_retried(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, name="faults", count=200)
    async with loop_simulator() as sim:
        sim.configure(
            unavailable_fraction=0.10,
            lost_response_fraction=0.02,
            error_fraction=0.05,
            token_lifetime=1.0,
            rate_limit=100.0,
            seed=7,
        )
        outcome = await apply_manifest(sim, path, retry_errors=2)
        stats = sim.stats()
    # A server fails 3 builds in a row with probability 0.05**3: rare, and then it
    # must have used every retry it had, and be reported with Nova's fault.
    failed = [s for s in outcome.states if s.phase is not Phase.ACTIVE]
    assert len(failed) <= 1, failed
    assert all(s.attempt == 3 and s.failure == "fault" for s in failed), failed
    assert stats["duplicate_names"] == 0
    assert stats["servers"].get("ACTIVE", 0) == 200 - len(failed)
    assert stats["servers_total"] == 200
    faults = stats["faults"]
    assert faults["unavailable"] > 0 and faults["lost_response"] > 0, faults
    assert faults.get("rate_limited", 0) > 0, faults
    assert stats["authentications"] >= 2  # the token expired during the run
    retried = [s for s in outcome.states if s.attempt > 1]
    assert retried, "with 5% ERROR some servers must have been re-created"
    entries = journal_entries(path)
    live = {i for e in entries.values() for i in e.live_ids}
    assert len(entries) == 200 and len(live) == 200
    assert live == {s.server_id for s in outcome.states}


@ON_VIRTUAL_TIME
async def test_errors_without_retry_are_reported_with_the_fault(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(error_fraction=1.0)
        path = write_manifest(tmp_path, name="bad", count=3)
        outcome = await apply_manifest(sim, path)
        assert not outcome.ok
        assert {s.phase for s in outcome.states} == {Phase.ERROR}
        assert all("No valid host" in (s.message or "") for s in outcome.states)
        # re-apply leaves the ERRORs alone unless told to retry
        again = await apply_manifest(sim, path)
        assert {s.phase for s in again.states} == {Phase.ERROR} and _posts(sim) == 3
        sim.configure(error_fraction=0.0)
        fixed = await apply_manifest(sim, path, retry_errors=1)
        assert fixed.ok and _posts(sim) == 6
        assert sim.stats()["servers"] == {"ACTIVE": 3}


async def test_timeout_is_per_server(sim: RunningSimulator, tmp_path: Path) -> None:
    sim.configure(never_finish_fraction=1.0)
    path = write_manifest(tmp_path, name="slow", count=2)
    outcome = await apply_manifest(sim, path, timeout=0.6)
    assert {s.phase for s in outcome.states} == {Phase.TIMEOUT}
    assert all(s.message and "BUILD" in s.message for s in outcome.states)


async def test_quota_checked_before_any_create(sim: RunningSimulator, tmp_path: Path) -> None:
    sim.configure(quota_instances=5)
    path = write_manifest(tmp_path, name="quota", count=6)
    with pytest.raises(QuotaCheckError, match="instances: the fleet needs 6, 5 left"):
        await apply_manifest(sim, path)
    assert _posts(sim) == 0


async def test_late_quota_error_is_final_and_reported_as_quota(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(late_quota_fraction=1.0)
    path = write_manifest(tmp_path, name="late", count=2)
    outcome = await apply_manifest(sim, path, retry_errors=3)
    assert {s.failure for s in outcome.states} == {"quota"}
    assert _posts(sim) == 2  # a quota failure is not retried


async def test_multi_create_group_is_one_request_with_members(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = write_manifest(
        tmp_path,
        name="grp",
        count=1,
        extra="  - name: pool\n    min_count: 4\n    max_count: 4\n",
    )
    outcome = await apply_manifest(sim, path)
    assert outcome.ok
    assert sorted(s.name for s in outcome.states) == [
        "grp-0001",
        "pool-1",
        "pool-2",
        "pool-3",
        "pool-4",
    ]
    assert _posts(sim) == 2
    again = await apply_manifest(sim, path)
    assert again.ok and _posts(sim) == 2


async def test_rollback_deletes_what_this_run_created(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(error_fraction=0.3, seed=3)
    path = write_manifest(tmp_path, name="rb", count=20)
    outcome = await apply_manifest(sim, path, rollback_on_failure=True)
    assert not outcome.ok and outcome.rolled_back > 0
    assert sim.stats()["servers_total"] == 0
    assert {s.phase for s in outcome.states} <= {Phase.DELETED}


@ON_VIRTUAL_TIME
async def test_a_server_deleted_behind_our_back_ends_gone(tmp_path: Path) -> None:
    import anyio

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.config import config_from_mapping

    async with loop_simulator() as sim:
        sim.configure(build_time_mean=1.5, build_time_stddev=0.0)
        path = write_manifest(tmp_path, name="gone", count=3)
        result = {}

        async def apply() -> None:
            result["outcome"] = await apply_manifest(sim, path)

        async with anyio.create_task_group() as group:
            group.start_soon(apply)
            config = config_from_mapping(sim.clouds_yaml(), "simulator")
            async with open_cloud(config) as cloud:
                await cloud.compute.negotiate("auto")
                with anyio.fail_after(5):
                    while True:
                        servers = await cloud.compute.list_servers({"name": "^gone-0002$"})
                        if servers:
                            break
                        await anyio.sleep(0.05)
                assert await cloud.compute.delete_server(servers[0]["id"])
        states = {s.name: s for s in result["outcome"].states}
        assert states["gone-0002"].phase is Phase.GONE
        assert states["gone-0002"].failure == "gone"
        assert states["gone-0001"].phase is states["gone-0003"].phase is Phase.ACTIVE


def test_partial_records_from_down_cells_are_claimed_through_the_journal() -> None:
    from bulkboot.engine.fleet import claim_records
    from bulkboot.engine.replay import JournalEntry

    records = [
        {"id": "a1", "name": "web-1", "status": "ACTIVE", "metadata": {"bulkboot:fleet": "lab"}},
        {"id": "b2", "status": "UNKNOWN"},  # a down cell: no name, no metadata
        {"id": "c3", "status": "UNKNOWN"},  # not ours
        {"id": "d4", "name": "web-9", "status": "ACTIVE", "metadata": {"bulkboot:fleet": "x"}},
    ]
    entries = {"web-2": JournalEntry(name="web-2", ids=("b2",), sent=1)}
    claimed = claim_records(records, "lab", entries)
    assert {name: [r["id"] for r in found] for name, found in claimed.items()} == {
        "web-1": ["a1"],
        "web-2": ["b2"],
    }


class LostAnswers:
    """The real client, except that every other create's answer is lost for good: the
    server IS created in the simulator, but the caller only learns ``CreateUncertain``
    (what ``Compute.create_server`` raises when a create may have reached Nova and its
    look-ups did not see the server in time)."""

    def __init__(self, compute: Any) -> None:
        self._compute = compute
        self._creates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compute, name)

    async def create_server(self, request: CreateRequest) -> Any:
        created = await self._compute.create_server(request)
        self._creates += 1
        if self._creates % 2:
            raise CreateUncertain("answer lost", name=created.name, fleet=request.fleet)
        return created


async def test_uncertain_creates_are_adopted_by_name_never_resent(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    path = write_manifest(
        tmp_path,
        name="lost",
        count=6,
        extra="  - name: pool\n    min_count: 3\n    max_count: 3\n",
    )
    outcome = await apply_manifest(sim, path, wrap_compute=LostAnswers)
    assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
    names = sorted(s.name for s in outcome.states)
    assert names == [f"lost-{i:04d}" for i in range(1, 7)] + ["pool-1", "pool-2", "pool-3"]
    assert all(s.server_id for s in outcome.states)
    stats = sim.stats()
    assert _posts(sim) == 7 and stats["duplicate_names"] == 0
    # The journal knows every server's id, so destroy and re-apply account for them.
    entries = journal_entries(path)
    assert {e.name: e.ids[-1] for e in entries.values() if e.ids} == {
        s.name: s.server_id for s in outcome.states
    }
    again = await apply_manifest(sim, path)
    assert again.ok and _posts(sim) == 7


@ON_VIRTUAL_TIME
async def test_an_uncertain_create_that_never_appears_times_out(tmp_path: Path) -> None:
    class Vanishing(LostAnswers):
        async def create_server(self, request: CreateRequest) -> Any:
            raise CreateUncertain("answer lost", name=request.name, fleet=request.fleet)

    async with loop_simulator() as sim:
        path = write_manifest(tmp_path, name="ghost", count=2)
        outcome = await apply_manifest(sim, path, wrap_compute=Vanishing, timeout=1.0)
        assert not outcome.ok
        assert sorted((s.name, s.phase) for s in outcome.states) == [
            ("ghost-0001", Phase.TIMEOUT),
            ("ghost-0002", Phase.TIMEOUT),
        ]
        assert _posts(sim) == 0


def _deletes(sim: RunningSimulator) -> int:
    return sum(
        count
        for route, by_status in sim.stats()["requests"].items()
        if route.startswith("DELETE ")
        for count in by_status.values()
    )


@ON_VIRTUAL_TIME
@pytest.mark.parametrize("wait", [True, False], ids=["wait", "no-wait"])
async def test_servers_left_deleting_by_a_killed_destroy_are_waited_out_and_created_again(
    tmp_path: Path, wait: bool
) -> None:
    import anyio

    async with loop_simulator() as sim:
        path = write_manifest(
            tmp_path,
            name="kd",
            count=6,
            extra="  - name: pool\n    min_count: 3\n    max_count: 3\n",
        )
        assert (await apply_manifest(sim, path)).ok
        sim.configure(delete_delay=1.5)
        # destroy, stopped dead once every DELETE is accepted (as kill -9 would)
        async with anyio.create_task_group() as group:
            group.start_soon(destroy_manifest, sim, path)
            with anyio.fail_after(5):
                while _deletes(sim) < 9:  # noqa: ASYNC110 (the simulator is another loop)
                    await anyio.sleep(0.02)
            group.cancel_scope.cancel()
        entries = journal_entries(path)
        assert sum(len(e.deleting) for e in entries.values()) == 9
        assert sim.stats()["servers_total"] == 9  # still listed, task_state "deleting"

        outcome = await apply_manifest(sim, path, wait=wait)
        assert not any(s.existed for s in outcome.states)
        assert _posts(sim) == 2 * 7  # created again: the 6 singles and the group, once each
        assert any("7 being deleted" in note for note in outcome.notes), outcome.notes
        # the old ones were gone before their successors were created
        assert sim.stats()["servers_total"] == 9 and sim.stats()["duplicate_names"] == 0
        if wait:
            assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
            assert sim.stats()["servers"] == {"ACTIVE": 9}
        entries = journal_entries(path)
        assert all(not e.deleting for e in entries.values())


def test_a_server_on_its_way_out_is_told_by_task_state_or_else_by_the_journal() -> None:
    from bulkboot.identity import is_leaving

    deleting = {"id": "a", "status": "ACTIVE", "OS-EXT-STS:task_state": "deleting"}
    alive = {"id": "b", "status": "ACTIVE", "OS-EXT-STS:task_state": None}
    hidden = {"id": "c", "status": "UNKNOWN"}  # a down cell's partial record: no task_state
    assert is_leaving(deleting, frozenset())
    assert not is_leaving(alive, frozenset())
    # the journal says a DELETE went out and its end was never seen
    assert is_leaving(hidden, frozenset({"c"}))
    assert not is_leaving(hidden, frozenset())
    # where Nova shows task_state, it wins: the journaled DELETE did not take
    assert not is_leaving(alive, frozenset({"b"}))


@ON_VIRTUAL_TIME
async def test_with_a_rate_a_stop_abandons_the_creates_waiting_for_their_slot(
    tmp_path: Path,
) -> None:
    import anyio

    from bulkboot.engine.apply import FleetApply

    async with loop_simulator() as sim:
        path = write_manifest(tmp_path, name="stop", count=60)
        recorder = Recorder()
        seen: dict[str, float] = {}

        async def stop_soon(run: FleetApply) -> None:
            # stopped once the first create has left, with a queue of 4 s at 5 per second
            while not any(isinstance(e, CreateSent) for e, _ in recorder.events):  # noqa: ASYNC110
                await anyio.sleep(0.01)
            seen["posts"] = _posts(sim)
            run.request_stop()

        outcome = await apply_manifest(
            sim, path, recorder=recorder, rate=5.0, concurrency=20, control=stop_soon
        )
        assert outcome.interrupted
        assert _posts(sim) <= seen["posts"] + 1  # at most the one already on its way
        # every create journaled as sent was sent, and none other
        sent = [e for e, _ in recorder.events if isinstance(e, CreateSent)]
        assert len(sent) == _posts(sim) <= 8
        entries = journal_entries(path)
        assert sum(e.sent for e in entries.values()) == _posts(sim)
        assert all(not e.unconfirmed for e in entries.values())


@ON_VIRTUAL_TIME
async def test_with_a_rate_timings_start_when_the_create_leaves(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(latency=0.02)
        path = write_manifest(tmp_path, name="paced", count=12)
        recorder = Recorder()
        outcome = await apply_manifest(sim, path, recorder=recorder, rate=8.0, concurrency=12)
        assert outcome.ok
        sent = sorted(e.at for e, _ in recorder.events if isinstance(e, CreateSent))
        # "sent" is stamped as each create leaves, paced by the rate: not all at the start
        assert sent[-1] - sent[0] >= 0.9
        # POST latency is Nova's (20 ms here), not the wait for a slot (up to 1.4 s)
        posts = sorted(s.post_seconds or 0.0 for s in outcome.states)
        assert posts[-1] < 0.4, posts


@ON_VIRTUAL_TIME
async def test_a_rollback_keeps_what_failed_on_the_deleted_servers(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(error_fraction=0.2, never_finish_fraction=0.15, seed=5)
        path = write_manifest(tmp_path, name="rbk", count=30)
        recorder = Recorder()
        outcome = await apply_manifest(
            sim, path, recorder=recorder, rollback_on_failure=True, timeout=1.0
        )
        assert sim.stats()["servers_total"] == 0
        assert {s.phase for s in outcome.states} == {Phase.DELETED}
        # what the run saw fail, before the rollback deleted it
        failed_during_run = {
            state.name: state.failure
            for _, state in recorder.events
            if state.phase in (Phase.ERROR, Phase.TIMEOUT)
        }
        assert {"fault", "timeout"} <= set(failed_during_run.values())
        kept = {s.name: s for s in outcome.failures}
        assert {name: s.failure for name, s in kept.items()} == failed_during_run
        assert all(s.failed and s.phase is Phase.DELETED for s in kept.values())
        assert all(
            "No valid host" in (s.message or "")
            or "not ACTIVE by the deadline" in (s.message or "")
            for s in kept.values()
        )


@ON_VIRTUAL_TIME
async def test_reapply_with_retry_errors_says_which_existing_servers_it_replaces(
    tmp_path: Path,
) -> None:
    async with loop_simulator() as sim:
        sim.configure(error_fraction=1.0)
        path = write_manifest(tmp_path, name="fix", count=2)
        first = await apply_manifest(sim, path)
        assert {s.phase for s in first.states} == {Phase.ERROR}
        sim.configure(error_fraction=0.0)
        # two new servers in the manifest, the two ERRORs replaced
        path.write_text(path.read_text().replace("count: 2", "count: 4"))
        run: dict[str, Any] = {}

        async def keep(fleet: Any) -> None:
            run["fleet"] = fleet

        again = await apply_manifest(sim, path, retry_errors=1, control=keep)
        assert again.ok and _posts(sim) == 2 + 4
        assert (
            "0 server(s) already existed and were left alone; 2 to create; "
            "2 in ERROR to delete and create again (--retry-errors)"
        ) in again.notes
        assert sum(s.existed for s in again.states) == 0
        assert run["fleet"].board.existed == 0  # the live view's count agrees


async def test_destroy_with_a_rate_a_stop_abandons_the_deletes_waiting_for_their_slot(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    import time

    import anyio

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.config import config_from_mapping
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.engine.board import Board
    from bulkboot.engine.destroy import DestroyOptions, destroy_fleet
    from bulkboot.engine.journal import Journal
    from bulkboot.engine.state import DeleteSent
    from tests.engine.fleet_helpers import FAST, header

    path = write_manifest(tmp_path, name="teardown", count=40)
    assert (await apply_manifest(sim, path)).ok
    recorder = Recorder()
    stopped = anyio.Event()
    seen: dict[str, float] = {}

    def deletes() -> int:
        return sum(
            count
            for route, statuses in sim.stats()["requests"].items()
            if route.startswith("DELETE ")
            for count in statuses.values()
        )

    async def stop_soon() -> None:
        # stopped once the first delete has left, with a queue of 7 s at 5 per second
        with anyio.fail_after(30):  # a guard against a hang, not a timing
            while not any(isinstance(e, DeleteSent) for e, _ in recorder.events):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        seen["deletes"] = deletes()
        stopped.set()

    config = config_from_mapping(sim.clouds_yaml(), "simulator")
    async with open_cloud(config, options=HttpOptions(concurrency=24, rate=5.0)) as cloud:
        await cloud.compute.negotiate("auto")
        board = Board(header=header(cloud.endpoint, "destroy"), started_at=time.monotonic())
        entries = journal_entries(path)
        with Journal.open_fleet(fleet_paths(path)) as journal:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(stop_soon)
                await destroy_fleet(
                    cloud.compute,
                    "teardown",
                    board=board,
                    journal=journal,
                    entries=entries,
                    options=DestroyOptions(concurrency=20, pacing=FAST, seed=1),
                    observers=[recorder],
                    should_stop=stopped.is_set,
                    stopped=stopped,
                    in_flight_window=cloud.transport.attempt_timeout,
                )
    assert deletes() <= seen["deletes"] + 1  # at most the one already on its way
    sent = [e for e, _ in recorder.events if isinstance(e, DeleteSent)]
    assert len(sent) == deletes() <= 8  # journaled as sent == sent, and no more


@ON_VIRTUAL_TIME
async def test_a_multi_create_member_in_error_is_created_again_on_its_own(tmp_path: Path) -> None:
    import anyio

    async with loop_simulator() as sim:
        sim.configure(error_fraction=1.0)  # the group's four members all end in ERROR
        path = write_manifest(
            tmp_path,
            name="mem",
            count=1,
            extra="  - name: pool\n    min_count: 4\n    max_count: 4\n",
        )

        async def heal_once_members_exist(_: object) -> None:
            while sim.stats()["servers_created"] < 5:  # noqa: ASYNC110 (another loop)
                await anyio.sleep(0.005)
            sim.configure(error_fraction=0.0)  # the retries build

        outcome = await apply_manifest(sim, path, retry_errors=1, control=heal_once_members_exist)
        assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
        members = {s.name: s for s in outcome.states if s.name.startswith("pool-")}
        assert sorted(members) == ["pool-1", "pool-2", "pool-3", "pool-4"]
        assert all(s.attempt == 2 for s in members.values())
        stats = sim.stats()
        # the group once, grp-0001 once (in ERROR, then again), each member again on its own
        assert _posts(sim) == 2 + 1 + 4
        assert stats["duplicate_names"] == 0 and stats["servers_total"] == 5


@ON_VIRTUAL_TIME
async def test_a_member_found_in_error_by_a_re_apply_is_replaced_on_its_own(tmp_path: Path) -> None:
    async with loop_simulator() as sim:
        sim.configure(error_fraction=1.0)
        path = write_manifest(
            tmp_path,
            name="mre",
            count=1,
            extra="  - name: pool\n    min_count: 3\n    max_count: 3\n",
        )
        first = await apply_manifest(sim, path)
        assert not first.ok
        sim.configure(error_fraction=0.0)
        again = await apply_manifest(sim, path, retry_errors=1)
        assert again.ok, [(s.name, s.phase, s.message) for s in again.states]
        assert sorted(s.name for s in again.states) == ["mre-0001", "pool-1", "pool-2", "pool-3"]
        assert _posts(sim) == 2 + 4  # then each of the four again, the group never re-sent
        assert sim.stats()["duplicate_names"] == 0 and sim.stats()["servers_total"] == 4


async def test_a_build_found_by_a_re_apply_keeps_its_deadline_from_its_creation(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    import anyio

    sim.configure(never_finish_fraction=1.0)  # every build hangs in BUILD
    path = write_manifest(tmp_path, name="old", count=3)
    first = await apply_manifest(sim, path, wait=False)
    assert {s.phase for s in first.states} == {Phase.BUILDING}
    # the builds are now over 1 s old on the cloud's clock (whole seconds: its Date
    # header and the servers' ``created`` are a second apart at least)
    await anyio.sleep(1.2)
    again = await apply_manifest(sim, path, timeout=1.0)
    assert {s.phase for s in again.states} == {Phase.TIMEOUT}
    assert _posts(sim) == 3  # nothing created again
    # found already past its deadline: timed out at once, not after 1 s more of rounds
    # (a round every 0.2 s here)
    assert again.poll_rounds <= 2


async def test_a_build_found_by_a_re_apply_young_enough_is_waited_for(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(build_time_mean=1.5, build_time_stddev=0.0)
    path = write_manifest(tmp_path, name="young", count=3)
    first = await apply_manifest(sim, path, wait=False)
    assert {s.phase for s in first.states} == {Phase.BUILDING}
    again = await apply_manifest(sim, path, timeout=30.0)
    assert again.ok and _posts(sim) == 3


class LockedServers:
    """Nova refusing every DELETE (409: the server is locked)."""

    def __init__(self, compute: Any) -> None:
        self._compute = compute

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compute, name)

    async def delete_server(self, server_id: str) -> bool:
        from bulkboot.errors import Conflict

        raise Conflict(f"Instance {server_id} is locked", status=409)


async def test_a_refused_retry_delete_ends_that_server_not_the_run(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    sim.configure(error_fraction=0.5, seed=4)
    path = write_manifest(tmp_path, name="lock", count=12)
    outcome = await apply_manifest(sim, path, retry_errors=1, wrap_compute=LockedServers)
    refused = [s for s in outcome.states if s.failure == "refused"]
    assert refused, [(s.name, s.phase, s.message) for s in outcome.states]
    assert all("delete refused: Instance" in (s.message or "") for s in refused)
    assert {s.phase for s in refused} == {Phase.ERROR}
    # every other server still ran to its end
    assert all(s.final for s in outcome.states)
    assert sum(s.phase is Phase.ACTIVE for s in outcome.states) == 12 - len(refused)


@ON_VIRTUAL_TIME
async def test_members_a_destroy_deleted_are_created_again_on_their_own(tmp_path: Path) -> None:
    """A destroy killed after deleting some members of a group, not all: a re-apply
    creates each missing member on its own name, waits for one still on its way out,
    and never sends the group again."""
    import anyio

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.config import config_from_mapping

    async with loop_simulator() as sim:
        path = write_manifest(
            tmp_path,
            name="pd",
            count=1,
            extra="  - name: pool\n    min_count: 4\n    max_count: 4\n",
        )
        assert (await apply_manifest(sim, path)).ok
        config = config_from_mapping(sim.clouds_yaml(), "simulator")
        async with open_cloud(config) as cloud:
            await cloud.compute.negotiate("auto")
            ids = {s["name"]: s["id"] for s in await cloud.compute.list_servers(None)}
            sim.configure(delete_delay=0.0)
            assert await cloud.compute.delete_server(ids["pool-2"])
            with anyio.fail_after(5):  # pool-2 is gone for good
                while "pool-2" in {s["name"] for s in await cloud.compute.list_servers(None)}:  # noqa: ASYNC110 (the simulator is another loop)
                    await anyio.sleep(0.05)
            sim.configure(delete_delay=1.0)
            assert await cloud.compute.delete_server(ids["pool-4"])  # still on its way out
        posts = _posts(sim)

        again = await apply_manifest(sim, path)
        assert again.ok, [(s.name, s.phase, s.message) for s in again.states]
        assert sorted(s.name for s in again.states) == [
            "pd-0001",
            "pool-1",
            "pool-2",
            "pool-3",
            "pool-4",
        ]
        assert _posts(sim) == posts + 2  # pool-2 and pool-4, each on its own
        stats = sim.stats()
        assert stats["duplicate_names"] == 0
        assert stats["servers"] == {"ACTIVE": 5} and stats["servers_total"] == 5
        assert {s.name for s in again.states if not s.existed} == {"pool-2", "pool-4"}
        async with open_cloud(config) as cloud:
            await cloud.compute.negotiate("auto")
            listed = sorted(s["name"] for s in await cloud.compute.list_servers(None))
        assert listed == ["pd-0001", "pool-1", "pool-2", "pool-3", "pool-4"]


async def test_members_nova_never_made_are_not_missing(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    """min_count 2, max_count 4 and room for 2: Nova makes 2, which is the whole group.
    A re-apply creates nothing (it is not short of pool-3 and pool-4)."""
    sim.configure(quota_instances=3)
    path = write_manifest(
        tmp_path,
        name="mm",
        count=1,
        extra="  - name: pool\n    min_count: 2\n    max_count: 4\n",
    )
    first = await apply_manifest(sim, path, skip_quota_check=True)
    assert first.ok, [(s.name, s.phase, s.message) for s in first.states]
    assert sorted(s.name for s in first.states) == ["mm-0001", "pool-1", "pool-2"]
    posts = _posts(sim)
    again = await apply_manifest(sim, path, skip_quota_check=True)
    assert again.ok and _posts(sim) == posts
    assert all(s.existed for s in again.states)


class HealAfterFirstCreate:
    """The real client; once the first create has been answered, the simulator builds
    every later server well: the builds of that first request are already drawn."""

    def __init__(self, compute: Any, sim: RunningSimulator) -> None:
        self._compute = compute
        self._sim = sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compute, name)

    async def create_server(self, request: CreateRequest) -> Any:
        created = await self._compute.create_server(request)
        self._sim.configure(error_fraction=0.0)
        return created


async def test_members_in_error_when_first_seen_are_retried(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    from bulkboot.engine.state import StatusSeen

    # Builds end at once: the first round sees the members already final, 4 of the 10
    # in ERROR (this seed's draws).
    sim.configure(build_time_mean=0.0, build_time_stddev=0.0, error_fraction=0.4, seed=8)
    path = write_manifest(
        tmp_path,
        name="first",
        count=0,
        extra="  - name: pool\n    min_count: 10\n    max_count: 10\n",
    )
    recorder = Recorder()
    outcome = await apply_manifest(
        sim,
        path,
        recorder=recorder,
        retry_errors=1,
        wrap_compute=lambda compute: HealAfterFirstCreate(compute, sim),
    )
    first_seen: dict[str, str] = {}
    for event, _ in recorder.events:
        if isinstance(event, StatusSeen):
            first_seen.setdefault(event.name, event.status)
    assert len(first_seen) == 10
    assert sum(status == "ERROR" for status in first_seen.values()) == 4
    assert outcome.ok, [(s.name, s.phase, s.message) for s in outcome.states]
    assert sorted(s.name for s in outcome.states) == sorted(f"pool-{i}" for i in range(1, 11))
    assert _posts(sim) == 1 + 4  # the group once, each member in ERROR again on its own
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers"] == {"ACTIVE": 10}


async def test_another_writer_of_the_fleet_stops_the_run(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    import anyio

    sim.configure(latency=0.05)
    path = write_manifest(tmp_path, name="shared", count=200)

    async def intrude(_: object) -> None:
        while sim.stats()["servers_created"] < 10:  # noqa: ASYNC110 (another loop)
            await anyio.sleep(0.01)
        # the other writer creates a name of the fleet this run has not reached yet
        await create_outside_the_run(sim, "shared-0200", "shared")

    outcome = await apply_manifest(sim, path, concurrency=4, control=intrude)
    assert outcome.another_writer and not outcome.ok and not outcome.interrupted
    note = next(n for n in outcome.notes if n.startswith("another writer"))
    assert note.startswith(
        "another writer: 1 server(s) of fleet 'shared' appeared that this run did not "
        "create, created after it began (shared-0200)"
    )
    phases = {s.name: s.phase for s in outcome.states}
    assert phases["shared-0200"] is Phase.QUEUED  # stopped before it: never sent twice
    assert sum(p is Phase.QUEUED for p in phases.values()) > 100  # it stopped creating
    assert sim.stats()["duplicate_names"] == 0
    assert not any(p is Phase.CREATING for p in phases.values())  # in flight: finished


async def test_servers_the_run_found_or_created_are_no_other_writer(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    # found at the start, created (some seen before their answer came back), adopted
    # after a lost answer, a multi-create's members: all the run's own
    half = write_manifest(tmp_path, name="mine", count=3)
    assert (await apply_manifest(sim, half)).ok
    path = write_manifest(
        tmp_path,
        name="mine",
        count=8,
        extra="  - name: pool\n    min_count: 3\n    max_count: 3\n",
    )
    sim.configure(latency=0.05)
    outcome = await apply_manifest(sim, path, wrap_compute=LostAnswers, concurrency=2)
    assert outcome.ok and not outcome.another_writer, outcome.notes
    assert sim.stats()["duplicate_names"] == 0 and sim.stats()["servers_total"] == 11


async def test_destroy_does_not_call_a_fleet_gone_that_another_writer_refilled(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    import anyio

    path = write_manifest(tmp_path, name="refill", count=6)
    assert (await apply_manifest(sim, path)).ok
    sim.configure(delete_delay=0.5)
    result: dict[str, Any] = {}

    async def tear_down() -> None:
        result["outcome"] = await destroy_manifest(sim, path)

    async with anyio.create_task_group() as group:
        group.start_soon(tear_down)
        with anyio.fail_after(10):  # a guard against a hang, not a timing
            while _deletes(sim) < 6:  # noqa: ASYNC110 (the simulator is another loop)
                await anyio.sleep(0.01)
        await create_outside_the_run(sim, "refill-0007", "refill")
    outcome = result["outcome"]
    assert not outcome.ok
    stranger = next(s for s in outcome.states if s.name == "refill-0007")
    assert stranger.phase is Phase.ERROR
    assert stranger.message == "created after this destroy began, by another writer: left alone"
    assert any(n.startswith("another writer: 1 server(s) of fleet 'refill'") for n in outcome.notes)
    assert sim.stats()["servers_total"] == 1  # the six went; the stranger was left


async def test_destroy_waits_not_for_a_create_of_an_earlier_run_that_already_landed(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    import anyio

    from bulkboot.cloud.session import HttpOptions
    from bulkboot.engine.journal import Journal
    from bulkboot.engine.state import CreateSent

    path = write_manifest(tmp_path, name="landed", count=3)
    # A killed apply: three creates journaled as sent, never answered; all three landed.
    with Journal.open_fleet(fleet_paths(path)) as journal:
        for index in (1, 2, 3):
            journal.record(CreateSent(name=f"landed-000{index}", at=0.0))
    for index in (1, 2, 3):
        await create_outside_the_run(sim, f"landed-000{index}", "landed")
    # an hour's window: a destroy that waited for them would not end
    with anyio.fail_after(60):  # a guard against that wait, not a timing
        outcome = await destroy_manifest(sim, path, http=HttpOptions(total_timeout=3600.0))
    assert outcome.ok and outcome.in_flight == 0
    assert sorted(s.name for s in outcome.states) == [f"landed-000{i}" for i in (1, 2, 3)]
    assert sim.stats()["servers_total"] == 0
