"""The load settings' parsers: durations, stages, thresholds (each mistake in words)."""

from __future__ import annotations

import pytest

from bulkboot.pipeline.load_spec import (
    Stage,
    parse_stages,
    parse_threshold,
    scenario_phases,
)


def test_stages_as_k6_writes_them() -> None:
    assert parse_stages("30s:1, 60s:5 ,30s:0") == (
        Stage(duration=30.0, target=1.0),
        Stage(duration=60.0, target=5.0),
        Stage(duration=30.0, target=0.0),
    )
    assert parse_stages("2m:0.5") == (Stage(duration=120.0, target=0.5),)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("30s", "stage 1 '30s': write DURATION:TARGET"),
        ("30s:1,:2", "stage 2"),
        ("30s:-1", "stage 1: the target must be 0 or more"),
        ("30s:lots", "stage 1: the target 'lots' is not a number"),
        ("soon:1", "stage 1: 'soon' is not a duration"),
        ("30s:inf", "stage 1: the target must be 0 or more"),
    ],
)
def test_bad_stages(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_stages(text)
    assert words in str(info.value)


def test_the_issues_thresholds() -> None:
    post = parse_threshold("p95(post)<2s")
    assert (post.aggregate, post.metric, post.op, post.value) == ("p95", "post", "<", 2.0)
    failed = parse_threshold("rate(failed)<1%")
    assert (failed.aggregate, failed.metric, failed.value) == ("rate", "failed", 0.01)
    dropped = parse_threshold("count(dropped)==0")
    assert (dropped.aggregate, dropped.op, dropped.value) == ("count", "==", 0.0)
    total = parse_threshold(" p99(total) < 300s ")
    assert total.expression == "p99(total) < 300s" and total.value == 300.0
    assert parse_threshold("p999(active)<=90s").aggregate == "p99.9"
    assert parse_threshold("p99.9(gone)<500ms").value == 0.5
    assert parse_threshold("max(schedule_lag)<5ms").value == pytest.approx(0.005)
    assert parse_threshold("rate(dropped)<=0.02").value == 0.02
    assert parse_threshold("failed(post)==0").aggregate == "failed"
    assert parse_threshold("mean(build)>1m").value == 60.0


@pytest.mark.parametrize(
    ("op", "observed", "holds"),
    [
        ("<", 1.0, True),
        ("<", 2.0, False),
        ("<=", 2.0, True),
        (">", 2.0, False),
        (">=", 2.0, True),
        ("==", 2.0, True),
        ("!=", 2.0, False),
    ],
)
def test_comparisons(op: str, observed: float, holds: bool) -> None:
    assert parse_threshold(f"p50(post){op}2s").holds(observed) is holds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("p95(pots)<2s", "unknown metric 'pots'; phases: schedule_lag, post"),
        ("p95 post < 2s", "write AGGREGATE(METRIC) OP VALUE"),
        ("median(post)<2s", "unknown aggregate 'median' for the phase 'post'"),
        ("count(post)<2s", "compare it with a whole number, without 's'"),
        ("p95(post)<5%", "is a time, not a share"),
        ("rate(failed)<2s", "write 1% or 0.01, not a time"),
        ("rate(failed)<150%", "between 0 and 100%"),
        ("p95(failed)<1", "'failed' is an iteration counter: use count(failed) or rate(failed)"),
        ("count(dropped)==1.5", "a whole number"),
        ("p95(post)<-1s", "a time cannot be negative"),
        ("rate(post)<1%", "unknown aggregate 'rate' for the phase 'post'"),
    ],
)
def test_bad_thresholds_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_threshold(text)
    assert words in str(info.value)


def test_scenarios_time_their_own_phases() -> None:
    assert "delete" not in scenario_phases("boot")
    assert "list" not in scenario_phases("boot-delete")
    assert scenario_phases("boot-list-delete")[-1] == "total"
