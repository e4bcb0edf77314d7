"""Combining the manifest's load: with the flags: what overrides what, what cannot go."""

from __future__ import annotations

import pytest

from bulkboot.engine.load.plan import DEFAULT_MAX_IN_FLIGHT, LoadPlan, resolve_plan
from bulkboot.errors import ManifestError
from bulkboot.pipeline.load_spec import CapacitySearch, LoadSection, parse_stages, parse_threshold
from bulkboot.pipeline.spec import Location

HERE = Location("lab.yaml", 12, 9)


def messages(manifest: LoadSection | None, flags: LoadSection) -> list[str]:
    with pytest.raises(ManifestError) as info:
        resolve_plan(manifest, flags)
    return [str(p) for p in info.value.problems]


def test_flags_override_the_manifest_key_by_key() -> None:
    manifest = LoadSection(
        scenario="boot-list-delete", rate=2.0, duration=60.0, poll_interval=1.0, keep=None
    )
    plan = resolve_plan(manifest, LoadSection(duration=30.0, max_in_flight=10))
    assert plan == LoadPlan(
        scenario="boot-list-delete", rate=2.0, duration=30.0, max_in_flight=10, poll_interval=1.0
    )
    assert plan.open_loop and plan.phases[4] == "list"


def test_late_after_defaults_past_the_event_loops_granularity_and_can_be_set() -> None:
    from bulkboot.engine.load.plan import DEFAULT_LATE_AFTER

    assert DEFAULT_LATE_AFTER == 0.001  # docs/load.md states it, and what it measures
    plan = resolve_plan(None, LoadSection(rate=1.0, iterations=3))
    assert plan.late_after == DEFAULT_LATE_AFTER and plan.as_dict()["late_after"] == 0.001
    manifest = LoadSection(rate=1.0, iterations=3, late_after=0.05)
    assert resolve_plan(manifest, LoadSection()).late_after == 0.05
    assert resolve_plan(manifest, LoadSection(late_after=0.002)).late_after == 0.002


def test_the_command_lines_model_replaces_the_manifests() -> None:
    plan = resolve_plan(LoadSection(rate=5.0, iterations=9), LoadSection(concurrency=3))
    assert plan.concurrency == 3 and plan.rate is None and not plan.open_loop
    plan = resolve_plan(LoadSection(concurrency=3, iterations=9), LoadSection(rate=0.5))
    assert plan.rate == 0.5 and plan.concurrency is None
    assert plan.max_in_flight == DEFAULT_MAX_IN_FLIGHT


def test_how_much_and_how_long_are_needed() -> None:
    assert messages(None, LoadSection()) == [
        "load: say how much load: --rate R (an open loop: R iterations started per second) "
        "or --concurrency N (a closed loop: N workers), here or in load:",
        "load: say how long: --duration D, --iterations K or --stages",
    ]


def test_settings_that_cannot_go_together_point_at_the_manifest() -> None:
    manifest = LoadSection(
        concurrency=2,
        max_in_flight=10,
        stages=parse_stages("10s:2.5"),
        duration=30.0,
        keep=True,
        locations={"max_in_flight": HERE, "keep": Location("lab.yaml", 14, 9)},
    )
    assert messages(manifest, LoadSection()) == [
        "load: load.duration: the stages set the run's length; give --iterations to stop earlier",
        "lab.yaml:12:9: load: load.max_in_flight is for the open loop (--rate); a closed loop "
        "has --concurrency iterations in flight",
        "load: load.stages: stage 1's target 2.5 is a number of workers (closed loop): "
        "a whole number",
        "lab.yaml:14:9: load: load.keep: only the boot scenario leaves servers to keep",
    ]


def test_a_threshold_on_a_phase_the_scenario_lacks() -> None:
    listing = parse_threshold("p95(list)<1s")
    manifest = LoadSection(
        rate=1.0,
        iterations=3,
        thresholds=(parse_threshold("p95(post)<1s"), listing),
        locations={"thresholds.1": HERE},
    )
    assert messages(manifest, LoadSection()) == [
        "lab.yaml:12:9: load: threshold 'p95(list)<1s': the boot-delete scenario has no "
        "'list' phase (its phases: schedule_lag, post, active, build, delete, gone, total)"
    ]
    plan = resolve_plan(manifest, LoadSection(scenario="boot-list-delete"))
    assert plan.thresholds[1] is listing
    assert messages(None, LoadSection(rate=1.0, iterations=1, thresholds=(listing,))) == [
        "load: threshold 'p95(list)<1s': the boot-delete scenario has no 'list' phase "
        "(its phases: schedule_lag, post, active, build, delete, gone, total)"
    ]
    assert messages(None, LoadSection(rate=1.0, iterations=1, abort_on_fail=True)) == [
        "load: --abort-on-fail needs at least one threshold"
    ]


def test_find_capacity_sets_rate_and_length_itself() -> None:
    capacity = CapacitySearch(start=2.0)
    plan = resolve_plan(None, LoadSection(find_capacity=capacity))
    assert plan.capacity == capacity and plan.open_loop and plan.rate is None
    assert messages(LoadSection(rate=3.0), LoadSection(find_capacity=capacity)) == [
        "load: load.rate: --find-capacity sets the rate and the length itself (its start, "
        "factor, step and max steps); leave this out"
    ]


def test_describe() -> None:
    assert LoadPlan(rate=2.0, duration=60.0).describe() == (
        "open loop, 2 iteration(s)/s, at most 1000 in flight, for 60s"
    )
    assert LoadPlan(concurrency=4, stages=parse_stages("30s:8"), iterations=50).describe() == (
        "closed loop, 4 worker(s), stages 30s:8, for 50 iteration(s)"
    )
