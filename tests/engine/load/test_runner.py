"""The load engine on the simulator, on virtual time: what it measures, and from where.

The simulator runs in the test's own event loop on the same virtual clock
(``sim_time``), so a fixed build time, a fixed latency and a latency raised for a few
seconds give exact, repeatable timings, and minutes of load take a moment.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from bulkboot.cloud.client import Cloud
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.runner import LoadRun
from bulkboot.pipeline.load_spec import CapacitySearch, parse_threshold
from tests.engine.load.harness import run_load, simulator
from tests.engine.load.sim_time import VIRTUAL_LOOP

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("anyio_backend", [VIRTUAL_LOOP], ids=["virtual"]),
]

LATENCY = 0.05
BUILD = 3.0


async def test_active_is_the_build_time_within_the_polling_bound_and_post_the_latency(
    tmp_path: Path,
) -> None:
    async with simulator(
        latency=LATENCY, build_time_mean=BUILD, build_time_stddev=0.0, delete_delay=0.5
    ) as sim:
        ran = await run_load(sim, tmp_path, LoadPlan(rate=1.7, iterations=30, poll_interval=0.4))
        left = sim.stats()["servers_total"]
    result = ran.result
    assert result.counters.completed == 30 and result.counters.failed == 0
    post, active, build = result.phases["post"], result.phases["active"], result.phases["build"]
    assert post.p50 is not None and abs(post.p50 - LATENCY) <= 0.2 * LATENCY
    # ACTIVE is seen by a poll round: never early, late by at most the stated bound
    assert result.bound == pytest.approx(0.4 + LATENCY)
    assert active.min is not None and active.max is not None
    assert active.min >= BUILD - LATENCY  # the build starts once the POST is received
    assert active.max <= BUILD + result.bound
    assert active.p50 is not None and abs(active.p50 - BUILD) <= result.bound
    assert build.p50 is not None and abs(build.p50 - BUILD) <= 1.0  # Nova's whole seconds
    gone = result.phases["gone"]
    assert gone.min is not None and gone.max is not None
    assert 0.5 - LATENCY <= gone.min and gone.max <= 0.5 + result.bound
    total = result.phases["total"]
    assert total.count == 30 and total.min is not None and total.min >= BUILD
    assert left == 0
    # one list per round for every iteration in flight, never a GET per server
    assert ran.requests.count("GET /compute/v2.1/servers/{id}") == 0
    lists = ran.requests.count("GET /compute/v2.1/servers/detail")
    assert lists <= result.poll_rounds + 1  # the rounds, and the clean-up's one listing
    assert result.poll_rounds <= result.load_seconds / 0.4 + 1


async def test_a_latency_spike_shows_in_the_open_loops_total_and_drops_iterations(
    tmp_path: Path,
) -> None:
    async def spike(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(10)
        sim.configure(latency=2.0)
        await anyio.sleep(4)
        sim.configure(latency=LATENCY)

    plan = LoadPlan(rate=4.0, duration=30.0, max_in_flight=16, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, during=spike)
    result = ran.result
    counters = result.counters
    # the schedule did not wait for the cloud: every start was offered on time
    assert counters.scheduled == 120
    assert counters.dropped > 0 and counters.started + counters.dropped == 120
    assert counters.late == 0
    samples = result.recorder.samples
    calm = [s.total for s in samples if s.total is not None and s.intended < 7]
    spiked = [s.total for s in samples if s.total is not None and 10 <= s.intended < 14]
    assert calm and spiked
    assert max(calm) < 2.5
    assert min(spiked) > max(calm) + 1.5  # measured from the intended start: the queue shows
    dropped_at = [s.intended for s in samples if s.outcome == "dropped"]
    assert min(dropped_at) >= 10 and max(dropped_at) < 20


async def test_a_closed_loop_shows_the_same_spike_as_lower_throughput(tmp_path: Path) -> None:
    async def spike(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(10)
        sim.configure(latency=2.0)
        await anyio.sleep(4)
        sim.configure(latency=LATENCY)

    plan = LoadPlan(concurrency=4, duration=30.0, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        (tmp_path / "calm").mkdir()
        calm = await run_load(sim, tmp_path / "calm", plan)
        ran = await run_load(sim, tmp_path, plan, during=spike)
    result = ran.result
    # nothing is late or dropped in a closed loop: the cloud's slowness slows the
    # workers instead, and fewer iterations run
    assert result.counters.dropped == 0 and result.counters.late == 0
    assert result.counters.completed < calm.result.counters.completed - 4
    series = result.recorder.series()
    during = sum(series.get(second, (0, 0, 0, 0, 0))[1] for second in range(10, 14))
    before = sum(series.get(second, (0, 0, 0, 0, 0))[1] for second in range(2, 6))
    assert before >= 8 and during < before / 2


async def test_stopping_deletes_everything_in_flight(tmp_path: Path) -> None:
    async def stop(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(5.2)
        run.interrupt()

    plan = LoadPlan(rate=3.0, duration=60.0, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=20.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, during=stop)
        left = sim.stats()["servers_total"]
        created = sim.stats()["servers_created"]
    result = ran.result
    assert result.interrupted and result.counters.started == 16
    assert result.counters.interrupted == 16 and result.counters.completed == 0
    assert result.cleanup is not None and result.cleanup.clean
    assert result.cleanup.deleted == 16
    assert created == 16 and left == 0
    lines = [json.loads(line) for line in ran.journal.read_text().splitlines()]
    sent = {line["name"] for line in lines if line.get("ev") == "sent"}
    deleted = {line["name"] for line in lines if line.get("ev") == "deleted"}
    assert len(sent) == 16 and deleted == sent


async def test_the_boot_scenario_deletes_at_the_end_unless_kept(tmp_path: Path) -> None:
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        plan = LoadPlan(scenario="boot", rate=2.0, iterations=6, poll_interval=0.5)
        ran = await run_load(sim, tmp_path, plan)
        assert ran.result.counters.completed == 6
        assert ran.result.cleanup is not None and ran.result.cleanup.deleted == 6
        assert sim.stats()["servers_total"] == 0
        kept = LoadPlan(scenario="boot", rate=2.0, iterations=6, poll_interval=0.5, keep=True)
        ran = await run_load(sim, tmp_path, kept)
        assert ran.result.cleanup is not None and len(ran.result.cleanup.kept) == 6
        assert sim.stats()["servers_total"] == 6
    assert set(ran.result.phases) == {"schedule_lag", "post", "active", "build", "total"}


async def test_failed_boots_are_counted_grouped_and_their_servers_deleted(tmp_path: Path) -> None:
    plan = LoadPlan(
        rate=2.0,
        iterations=40,
        poll_interval=0.5,
        thresholds=(parse_threshold("rate(failed)<1%"), parse_threshold("p95(post)<1s")),
    )
    async with simulator(
        latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0, error_fraction=0.25
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    assert 0 < result.counters.failed < 40
    assert result.counters.failed + result.counters.completed == 40
    assert result.phases["active"].failed == result.counters.failed
    assert result.phases["total"].failed == result.counters.failed
    ((phase, message), count), *_ = result.recorder.errors.most_common()
    assert phase == "active" and "No valid host" in message and count == result.counters.failed
    verdicts = {t.expression: t.ok for t in result.thresholds}
    assert verdicts == {"rate(failed)<1%": False, "p95(post)<1s": True}
    assert not result.thresholds_held


async def test_refused_posts_are_in_posts_percentiles_by_status_and_counted_failed(
    tmp_path: Path,
) -> None:
    """A POST answered 409 took the API's time as a 202 did: it is in ``post``'s
    percentiles (and in its ``4xx`` class), and counted failed besides."""
    plan = LoadPlan(rate=2.0, iterations=40, poll_interval=0.5)
    async with simulator(
        latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0, conflict_fraction=0.3
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    refused = result.counters.failed
    assert 0 < refused < 40 and result.counters.completed == 40 - refused
    post = result.phases["post"]
    assert post.count == 40 and post.failed == refused
    assert post.min == pytest.approx(LATENCY) and post.max == pytest.approx(LATENCY)
    by_status = dict(post.by_status)
    assert set(by_status) == {"2xx", "4xx"}
    assert by_status["2xx"].count == 40 - refused and by_status["4xx"].count == refused
    assert by_status["4xx"].p50 == pytest.approx(LATENCY)
    assert post.as_dict()["by_status"]["4xx"]["count"] == refused
    refusals = [s for s in result.recorder.samples if s.outcome == "failed"]
    assert {(s.failed_phase, s.post_status) for s in refusals} == {("post", 409)}
    assert result.recorder.counts("post") == 40  # each POST once, refused or not
    # the summary, and `bulkboot report` (Markdown, and the page's tables), read them
    from bulkboot.ui.load_report import load_document
    from bulkboot.ui.load_text import summary_lines
    from bulkboot.ui.report_terminal import markdown_report

    document = load_document(
        result, header=ran.run.header, requests=ran.requests, cloud={}, exit_code=0
    )
    assert document["phases"]["post"]["by_status"]["4xx"]["count"] == refused
    assert {s["post_status"] for s in document["samples"]} == {202, 409}
    text = "\n".join(summary_lines(document))
    assert f"post by answer: 2xx {40 - refused} (p50 50.0ms" in text
    assert f", 4xx {refused} (p50 50.0ms" in text
    markdown = markdown_report(document)
    assert "POST /servers by answer" in markdown
    assert f"| 4xx | {refused} |" in markdown


@pytest.mark.parametrize(
    ("oversleep", "late_after", "late"),
    [(0.0004, None, False), (0.004, None, True), (0.004, 0.01, False), (0.025, 0.02, True)],
)
async def test_a_start_counts_late_past_the_stated_tolerance_and_not_within_it(
    tmp_path: Path, oversleep: float, late_after: float | None, late: bool
) -> None:
    """A start is late only past ``--late-after`` (1 ms by default, settable: the
    event loop's timers fire up to ~1 ms late as a matter of course); every start's lag is in
    ``schedule_lag`` either way, measured from its intended time."""

    async def oversleeping(seconds: float) -> None:
        await anyio.sleep(seconds + oversleep)

    settings = {} if late_after is None else {"late_after": late_after}
    plan = LoadPlan(rate=2.0, iterations=10, poll_interval=0.5, **settings)  # type: ignore[arg-type]
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, sleep=oversleeping)
    result = ran.result
    assert result.counters.started == 10
    # the first start is not slept for; each later one wakes ``oversleep`` late
    assert result.counters.late == (9 if late else 0)
    lag = result.phases["schedule_lag"]
    assert lag.count == 10 and lag.min == pytest.approx(0.0, abs=1e-9)
    assert lag.p50 == pytest.approx(oversleep, abs=1e-6)
    assert lag.max == pytest.approx(oversleep, abs=1e-6)


async def test_abort_on_fail_stops_after_min_samples_and_cleans_up(tmp_path: Path) -> None:
    plan = LoadPlan(
        rate=2.0,
        duration=120.0,
        poll_interval=0.5,
        thresholds=(parse_threshold("p95(post)<1s"),),
        abort_on_fail=True,
        min_samples=10,
    )
    async with simulator(latency=1.5, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    assert result.aborted_by == "p95(post)<1s" and not result.interrupted
    assert 10 <= result.phases["post"].count < 40  # stopped early: not 240 iterations
    assert result.cleanup is not None and result.cleanup.clean


async def test_stages_ramp_the_rate(tmp_path: Path) -> None:
    from bulkboot.pipeline.load_spec import parse_stages

    plan = LoadPlan(rate=1.0, stages=parse_stages("10s:5,10s:5,10s:0"), poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=0.5, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan)
    # 1 -> 5 over 10 s: 30 iterations' worth; 5 for 10 s: 50; 5 -> 0: 25
    assert ran.result.counters.scheduled == pytest.approx(105, abs=1)
    starts = sorted(s.intended for s in ran.result.recorder.samples)
    assert sum(1 for t in starts if 10 <= t < 20) == 50


async def test_find_capacity_reports_the_highest_rate_that_held(tmp_path: Path) -> None:
    # iterations of ~2.6 s with at most 8 in flight: 1/s and 2/s hold, 4/s must drop
    plan = LoadPlan(
        capacity=CapacitySearch(start=1.0, factor=2.0, step=10.0, max_steps=5),
        max_in_flight=8,
        poll_interval=0.25,
    )
    async with simulator(latency=LATENCY, build_time_mean=2.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    assert [step.rate for step in result.steps] == [1.0, 2.0, 4.0]
    assert [step.held for step in result.steps] == [True, True, False]
    assert result.steps[-1].counters.dropped > 0
    assert result.knee == 2.0


async def test_find_capacity_steps_up_until_the_api_slows_and_reports_every_step(
    tmp_path: Path,
) -> None:
    """End to end on the simulator: POST latency rises with the creates in flight
    (``create_queueing``), so a rate past ~5/s makes ``p95(post)`` fail. Every step's
    completed iterations count as completed (thresholds on ``total`` and
    ``rate(failed)`` see them), the knee is the last rate that held, and the report and
    the summary give each step's offered, achieved and dropped, and its thresholds."""
    from bulkboot.ui.load_report import load_document
    from bulkboot.ui.load_text import summary_lines

    plan = LoadPlan(
        capacity=CapacitySearch(start=1.0, factor=2.0, step=10.0, max_steps=6),
        poll_interval=0.25,
        thresholds=(
            parse_threshold("p95(post)<1s"),
            parse_threshold("rate(failed)<1%"),
            parse_threshold("p99(total)<10s"),
        ),
    )
    async with simulator(
        latency=0.2, build_time_mean=2.0, build_time_stddev=0.0, create_queueing=0.3
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    assert [step.rate for step in result.steps] == [1.0, 2.0, 4.0, 8.0]
    assert [step.held for step in result.steps] == [True, True, True, False]
    assert result.knee == 4.0 and result.thresholds_held
    for step in result.steps[:3]:
        assert step.counters.completed == step.counters.scheduled == step.rate * 10
        assert step.counters.interrupted == 0 and step.counters.dropped == 0
        assert step.offered == step.achieved == step.rate
        assert all(t.ok for t in step.thresholds)
    last = result.steps[-1]
    verdicts = {t.expression: t.ok for t in last.thresholds}
    assert verdicts == {"p95(post)<1s": False, "rate(failed)<1%": True, "p99(total)<10s": False}
    document = load_document(
        result, header=ran.run.header, requests=ran.requests, cloud={}, exit_code=0
    )
    steps = document["capacity"]["steps"]
    assert document["capacity"]["knee"] == 4.0
    assert [(s["offered"], s["achieved"], s["iterations"]["dropped"]) for s in steps] == [
        (1.0, 1.0, 0),
        (2.0, 2.0, 0),
        (4.0, 4.0, 0),
        (8.0, 8.0, 0),
    ]
    assert steps[-1]["thresholds"][0] == {
        "expression": "p95(post)<1s",
        "ok": False,
        "observed": pytest.approx(last.phases["post"].p95, abs=1e-6),
        "unit": "s",
    }
    text = "\n".join(summary_lines(document))
    assert (
        "  4/s: held: offered 4/s, achieved 4/s over 10.00s; 40 completed, 0 failed, 0 dropped"
        in text
    )
    assert "  8/s: did not hold (p95(post)<1s failed; p99(total)<10s failed): offered 8/s" in text
    assert "  knee: 4 iterations/s held" in text


async def test_a_step_whose_achieved_rate_falls_short_of_the_offered_does_not_hold(
    tmp_path: Path,
) -> None:
    """No threshold, nothing dropped: past 4/s the quota (10 servers; an iteration
    holds one for ~2.5 s) refuses creates, and the step achieves far less than it
    offered. The search stops there, saying why; within the margin a step holds."""
    plan = LoadPlan(
        capacity=CapacitySearch(start=1.0, factor=2.0, step=10.0, max_steps=5, margin=0.05),
        poll_interval=0.25,
    )
    async with simulator(
        latency=LATENCY, build_time_mean=2.0, build_time_stddev=0.0, quota_instances=10
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
        assert sim.stats()["servers_total"] == 0
    result = ran.result
    assert [(step.rate, step.held) for step in result.steps] == [
        (1.0, True),
        (2.0, True),
        (4.0, True),
        (8.0, False),
    ]
    assert result.knee == 4.0
    last = result.steps[-1]
    assert last.counters.dropped == 0 and last.thresholds == ()
    assert last.offered == 8.0 and last.achieved is not None and last.achieved < 8.0 * 0.95
    assert last.reasons == (
        f"achieved {last.achieved:.3g}/s, short of the offered 8/s by more than 5%",
    )
    assert last.as_dict()["reasons"] == list(last.reasons)
    # the whole search's rate: every step's window added up, drains apart
    window = result.schedule_window()
    assert window.seconds == 40.0 and window.achieved == result.counters.completed / 40.0


async def test_the_achieved_rate_is_over_the_schedules_window_and_the_drain_is_apart(
    tmp_path: Path,
) -> None:
    """2/s for 10 s of iterations lasting ~21 s: the cloud took every one of them on
    time, so 2/s were achieved; the 20-odd seconds the run then waits for them are the
    drain, reported apart instead of dividing the rate."""
    from bulkboot.ui.load_report import load_document

    plan = LoadPlan(rate=2.0, duration=10.0, poll_interval=0.5)
    async with simulator(
        latency=LATENCY, build_time_mean=20.0, build_time_stddev=0.0, delete_delay=0.5
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
    result = ran.result
    assert result.counters.completed == 20 and result.load_seconds > 30.0
    window = result.schedule_window()
    assert window.seconds == 10.0 and window.offered == 2.0 and window.achieved == 2.0
    assert window.drain_completed == 20  # every one ended after the schedule
    assert window.drain_seconds == pytest.approx(result.load_seconds - 10.0)
    rate = load_document(
        result, header=ran.run.header, requests=ran.requests, cloud={}, exit_code=0
    )["rate"]
    assert (rate["offered"], rate["achieved"], rate["schedule_seconds"]) == (2.0, 2.0, 10.0)
    assert rate["drain"]["completed"] == 20 and rate["drain"]["seconds"] > 20.0


async def test_a_stopped_runs_window_ends_at_the_stop(tmp_path: Path) -> None:
    async def stop(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(6.2)
        run.interrupt()

    plan = LoadPlan(rate=2.0, duration=60.0, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, during=stop)
    window = ran.result.schedule_window()
    assert window.seconds == pytest.approx(6.2)  # not the 60 s planned
    assert window.offered == pytest.approx(13 / 6.2)


async def test_a_closed_loop_ramp_adds_and_removes_workers(tmp_path: Path) -> None:
    from bulkboot.pipeline.load_spec import parse_stages

    plan = LoadPlan(concurrency=1, stages=parse_stages("6s:4,10s:4,4s:1"), poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan)
    result = ran.result
    assert result.counters.dropped == 0 and result.counters.failed == 0
    starts = sorted(s.intended for s in result.recorder.samples)
    assert starts[-1] < 20  # nothing starts once the stages are over
    early = sum(1 for t in starts if t < 2)
    plateau = sum(1 for t in starts if 8 <= t < 14)
    # one or two workers at first (an iteration takes ~1.6 s), four on the plateau
    assert early <= 3 and 12 <= plateau <= 17


async def test_stopping_at_once_leaves_the_servers_to_the_journal(tmp_path: Path) -> None:
    async def stop_twice(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(3.2)
        run.interrupt()
        run.abort()

    plan = LoadPlan(rate=3.0, duration=60.0, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=20.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, during=stop_twice)
        left = sim.stats()["servers_total"]
    result = ran.result
    assert result.interrupted and result.cleanup is None
    assert left == result.counters.started == 10
    lines = [json.loads(line) for line in ran.journal.read_text().splitlines()]
    created = {line["id"] for line in lines if line.get("ev") == "created"}
    assert len(created) == 10  # every server is in the journal for `bulkboot destroy`


async def test_an_error_no_request_gets_past_stops_the_run_and_the_clean_up_does_what_it_can(
    tmp_path: Path,
) -> None:
    """``fail`` (a token that can no longer be renewed, a polling round the client gave
    up on) stops the run as a first Ctrl-C does; the clean-up deletes what it still can
    without waiting on a poller that can see nothing, and the result names the error."""
    from bulkboot.errors import AuthError

    error = AuthError("cannot authenticate to cloud 'x': the token has expired")

    async def expire(run: LoadRun, cloud: Cloud) -> None:
        await anyio.sleep(5.2)
        run.fail(error)

    plan = LoadPlan(rate=2.0, duration=60.0, poll_interval=0.5)
    async with simulator(latency=LATENCY, build_time_mean=20.0, build_time_stddev=0.0) as sim:
        ran = await run_load(sim, tmp_path, plan, during=expire)
        await anyio.sleep(5.0)  # the DELETEs the clean-up sent take effect
        left = sim.stats()["servers_total"]
    result = ran.result
    assert result.fatal is error and not result.interrupted
    assert result.counters.started == 11  # none after the error (5.2 s at 2/s)
    assert result.counters.interrupted == 11
    assert result.cleanup is not None
    # every server was sent its DELETE; none could be seen gone, so each is named
    assert len(result.cleanup.left) == 11
    assert {x.reason for x in result.cleanup.left} == {
        "DELETE accepted, not seen gone: cannot authenticate to cloud 'x': the token has expired"
    }
    assert left == 0


async def test_a_create_sent_again_after_a_429_is_journaled_before_it_leaves(
    tmp_path: Path,
) -> None:
    """A load create turned away (429) and sent again is in flight from its last send:
    each later send is journaled (``attempt``) before it goes on the wire, so that
    ``destroy`` and the clean-up wait out the window from it."""
    plan = LoadPlan(rate=4.0, iterations=4, poll_interval=0.5)
    async with simulator(
        latency=LATENCY, build_time_mean=1.0, build_time_stddev=0.0, rate_limit=3.0
    ) as sim:
        ran = await run_load(sim, tmp_path, plan)
        throttled = sim.stats()["requests"]["POST /compute/v2.1/servers"].get("429", 0)
    assert ran.result.counters.completed == 4
    assert throttled > 0  # some creates were turned away and sent again
    lines = [json.loads(line) for line in ran.journal.read_text().splitlines()]
    attempts = [line["name"] for line in lines if line["ev"] == "attempt"]
    assert len(attempts) == throttled  # one line per send after the first
    sent = {line["name"] for line in lines if line["ev"] == "sent"}
    assert set(attempts) <= sent
