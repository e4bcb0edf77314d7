"""The tally of a run: exact aggregates, counters, late and dropped, thresholds, routes."""

from __future__ import annotations

import pytest

from bulkboot.cloud.timing import RequestTiming
from bulkboot.engine.load.recorder import Counters, Recorder
from bulkboot.engine.load.requests import RequestLog, route_of
from bulkboot.engine.load.sample import Sample
from bulkboot.engine.load.stats import phase_stats
from bulkboot.engine.load.thresholds import evaluate, ready
from bulkboot.engine.stats import percentile
from bulkboot.pipeline.load_spec import parse_threshold, scenario_phases

PHASES = scenario_phases("boot-delete")


def test_percentiles_interpolate_between_exact_samples() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.5
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99.9) == pytest.approx(99.901)
    assert percentile([7.0], 99) == 7.0
    stats = phase_stats([3.0, 1.0, 2.0], failed=4)
    assert (stats.count, stats.failed, stats.min, stats.mean, stats.p50, stats.max) == (
        3,
        4,
        1.0,
        2.0,
        2.0,
        3.0,
    )
    assert stats.value("p99.9") == stats.p999 and stats.value("failed") == 4.0
    empty = phase_stats([], failed=2)
    assert empty.count == 0 and empty.p50 is None and empty.value("count") == 0.0


def _finished(
    recorder: Recorder, index: int, intended: float, started: float, **phases: float
) -> Sample:
    sample = Sample(index, intended)
    recorder.start(sample, started)
    for name, value in phases.items():
        setattr(sample, name, value)
    return sample


def test_the_recorder_counts_late_dropped_failed_and_times_per_phase() -> None:
    recorder = Recorder(PHASES, started_at=100.0)
    ok = _finished(
        recorder, 0, 0.0, 0.0005, post=0.05, active=3.0, delete=0.01, gone=0.4, total=3.5
    )
    recorder.finish(ok, 3.5)
    late = _finished(recorder, 1, 0.25, 0.75, post=0.06)
    late.fail("active", "No valid host was found.")
    recorder.finish(late, 2.0)
    dropped = Sample(2, 0.5)
    recorder.drop(dropped)
    stopped = _finished(recorder, 3, 0.75, 0.75)
    stopped.outcome = "interrupted"
    recorder.finish(stopped, 1.0)
    assert recorder.counters() == Counters(
        scheduled=4,
        started=3,
        completed=1,
        failed=1,
        dropped=1,
        late=1,
        interrupted=1,
        in_flight=0,
    )
    stats = recorder.phase_stats()
    assert stats["schedule_lag"].count == 3 and stats["schedule_lag"].max == 0.5
    assert stats["post"].count == 2  # the failed boot's POST was timed all the same
    assert (stats["active"].count, stats["active"].failed) == (1, 1)
    assert (stats["total"].count, stats["total"].failed) == (1, 1)
    assert recorder.errors == {("active", "No valid host was found."): 1}
    assert recorder.counts("active") == 2
    assert ok.outcome == "completed" and dropped.outcome == "dropped"
    series = recorder.series()
    assert series[0] == (4, 3, 0, 0, 1) and series[2] == (0, 0, 0, 1, 0) and series[3][2] == 1
    assert recorder.recent_rates(4.2, 10) == (1.0, 0.25)


def test_thresholds_hold_fail_and_wait_for_samples() -> None:
    recorder = Recorder(PHASES, started_at=0.0)
    for index in range(10):
        sample = _finished(recorder, index, index, index, post=0.1 * (index + 1), total=1.0)
        if index == 9:
            sample.fail("gone", "still there")
        recorder.finish(sample, index + 1.0)
    phases, counters = recorder.phase_stats(), recorder.counters()
    expressions = [
        "p95(post)<2s",
        "max(post)<=0.5s",
        "rate(failed)<1%",
        "count(dropped)==0",
        "p50(active)<1s",
        "count(completed)>=9",
    ]
    results = evaluate([parse_threshold(e) for e in expressions], phases, counters)
    assert [(r.expression, r.ok) for r in results] == [
        ("p95(post)<2s", True),
        ("max(post)<=0.5s", False),
        ("rate(failed)<1%", False),
        ("count(dropped)==0", True),
        ("p50(active)<1s", False),  # nothing observed: not a pass
        ("count(completed)>=9", True),
    ]
    assert results[2].observed == pytest.approx(0.1) and results[4].observed is None
    assert results[1].as_dict() == {
        "expression": "max(post)<=0.5s",
        "ok": False,
        "observed": 1.0,
        "unit": "s",
    }
    counts = {phase: recorder.counts(phase) for phase in PHASES}
    assert ready(parse_threshold("p95(post)<2s"), counts, counters, 10)
    assert not ready(parse_threshold("p95(post)<2s"), counts, counters, 11)
    assert not ready(parse_threshold("p95(gone)<2s"), counts, counters, 2)
    assert ready(parse_threshold("rate(failed)<1%"), counts, counters, 10)


def test_routes_group_server_ids_and_setup_is_apart() -> None:
    assert route_of("DELETE", "/compute/v2.1/servers/8c1f2a3b-0000-4000-8000-00000000c1a0") == (
        "DELETE /compute/v2.1/servers/{id}"
    )
    assert route_of("GET", "/compute/v2.1/servers/detail") == "GET /compute/v2.1/servers/detail"
    assert route_of("GET", "/v2.1/6a1b6f5e0c1d4e3f/flavors/42") == "GET /v2.1/{id}/flavors/{id}"
    log = RequestLog()

    def timing(method: str, path: str, status: int | None, attempts: int = 1) -> RequestTiming:
        return RequestTiming(
            method=method, path=path, status=status, attempts=attempts, started=0.0, seconds=0.1
        )

    log(timing("POST", "/identity/v3/auth/tokens", 201))
    log.start()
    log(timing("POST", "/compute/v2.1/servers", 202, attempts=3))
    log(timing("POST", "/compute/v2.1/servers", 202))
    log(timing("POST", "/compute/v2.1/servers", None))
    log(timing("DELETE", "/compute/v2.1/servers/8c1f2a3b-0000-4000-8000-00000000c1a0", 204))
    assert log.setup == 1 and log.total == 4 and log.attempts == 6
    assert log.by_route() == {
        "POST /compute/v2.1/servers": {"count": 3, "statuses": {"202": 2, "none": 1}},
        "DELETE /compute/v2.1/servers/{id}": {"count": 1, "statuses": {"204": 1}},
    }


def test_a_sample_finished_by_two_recorders_is_completed_in_both() -> None:
    """``--find-capacity`` records each iteration in the run's recorder and in its
    step's: the first sets ``outcome`` to ``completed``, and the second must read it
    so (not as interrupted), with its ``total``."""
    run, step = Recorder(PHASES, started_at=0.0), Recorder(PHASES, started_at=0.0)
    sample = Sample(0, 0.0)
    for recorder in (run, step):
        recorder.start(sample, 0.0)
    sample.post, sample.total = 0.05, 3.0
    for recorder in (run, step):
        recorder.finish(sample, 3.0)
    for recorder in (run, step):
        counters = recorder.counters()
        assert (counters.completed, counters.interrupted, counters.in_flight) == (1, 0, 0)
        assert recorder.phase_stats()["total"].count == 1


def test_late_is_counted_past_the_recorders_tolerance_only() -> None:
    recorder = Recorder(PHASES, started_at=0.0, late_after=0.010)
    within, past = Sample(0, 1.0), Sample(1, 2.0)
    recorder.start(within, 1.0 + 0.009)
    recorder.start(past, 2.0 + 0.011)
    assert recorder.counters().late == 1
    assert (within.schedule_lag, past.schedule_lag) == pytest.approx((0.009, 0.011))
