"""Comparing two reports: changes, tolerances, the regression gate."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from bulkboot.errors import UsageError
from bulkboot.ui.report_compare import Gate, Tolerance, compare, metrics
from bulkboot.ui.report_read import parse_report
from tests.ui.report_fixtures import apply_document, destroy_document, load_document
from tests.ui.test_report_read import VERSION_1


def _read(document: dict[str, Any]) -> dict[str, Any]:
    return parse_report(json.loads(json.dumps(document)), source="x.json")


def _changes(comparison: Any) -> dict[str, Any]:
    return {c.metric.name: c for c in comparison.changes}


def test_the_same_run_changes_nothing() -> None:
    document = _read(load_document(200))
    result = compare(document, document, gate=Gate(percent=0.0))
    assert result.regressions == ()
    assert all(c.delta == 0 and not c.flagged for c in result.changes)
    assert {"post.p95", "total.p999", "rate.achieved", "iterations.dropped"} <= set(
        _changes(result)
    )


def test_a_slower_phase_is_worse_and_a_gated_one_a_regression() -> None:
    base = _read(load_document(300))
    new = copy.deepcopy(base)
    new["phases"]["post"]["p95"] = base["phases"]["post"]["p95"] * 1.2
    new["phases"]["active"]["p99"] = base["phases"]["active"]["p99"] * 0.5
    new["rate"]["achieved"] = base["rate"]["achieved"] * 0.8
    result = compare(base, new, gate=Gate(percent=10.0, aggregates=frozenset({"p95"})))
    changes = _changes(result)
    post = changes["post.p95"]
    assert post.percent == pytest.approx(20.0) and post.flagged and post.worse
    assert post.regression and [c.metric.name for c in result.regressions] == ["post.p95"]
    better = changes["active.p99"]
    assert better.flagged and not better.worse and not better.regression  # not gated, better
    rate = changes["rate.achieved"]
    assert rate.worse and rate.percent == pytest.approx(-20.0)  # higher is better
    table = result.table()
    verdicts = {row[0].text: row[-1].text for row in table.rows}
    assert verdicts["post.p95"] == "REGRESSION"
    assert verdicts["active.p99"] == "better" and verdicts["rate.achieved"] == "worse"


def test_a_gate_below_the_change_passes_and_a_chosen_metric_is_gated_alone() -> None:
    base = _read(load_document(300))
    new = copy.deepcopy(base)
    new["phases"]["post"]["p95"] = base["phases"]["post"]["p95"] * 1.08
    new["phases"]["total"]["p99"] = base["phases"]["total"]["p99"] * 1.5
    assert compare(base, new, gate=Gate(percent=10.0)).regressions == ()
    only_total = compare(base, new, gate=Gate(percent=10.0, aggregates=frozenset({"total.p99"})))
    assert [c.metric.name for c in only_total.regressions] == ["total.p99"]
    rate_gate = Gate(percent=5.0, aggregates=frozenset({"rate.achieved"}))
    new["rate"]["achieved"] = base["rate"]["achieved"] * 0.9
    assert [c.metric.name for c in compare(base, new, gate=rate_gate).regressions] == [
        "rate.achieved"
    ]


def test_tiny_absolute_changes_are_within_tolerance() -> None:
    base = _read(load_document(200))
    new = copy.deepcopy(base)
    new["phases"]["schedule_lag"]["p50"] = base["phases"]["schedule_lag"]["p50"] * 2  # ~0.4 ms
    result = compare(
        base,
        new,
        tolerance=Tolerance(percent=5.0, seconds=0.001),
        gate=Gate(percent=10.0, aggregates=frozenset({"p50"})),
    )
    lag = _changes(result)["schedule_lag.p50"]
    assert lag.percent == pytest.approx(100.0) and not lag.flagged and not lag.regression
    strict = compare(
        base,
        new,
        tolerance=Tolerance(percent=5.0, seconds=0.0),
        gate=Gate(percent=10.0, aggregates=frozenset({"p50"})),
    )
    assert _changes(strict)["schedule_lag.p50"].regression


def test_from_zero_to_some_is_a_change_of_no_finite_percent() -> None:
    base = _read(load_document(200))
    base["iterations"]["dropped"] = 0
    new = copy.deepcopy(base)
    new["iterations"]["dropped"] = 3
    change = _changes(compare(base, new))["iterations.dropped"]
    assert math.isinf(change.percent or 0) and change.flagged and change.worse
    row = next(r for r in compare(base, new).table().rows if r[0].text == "iterations.dropped")
    assert row[4].text == "new" and row[4].value is None


def test_apply_reports_compare_their_timings_and_a_version_1_base_says_what_it_lacks() -> None:
    base = _read(VERSION_1)
    new = _read(apply_document(100))
    result = compare(base, new)
    changes = _changes(result)
    assert (
        changes["post.p99"].base == 0.12
        and changes["post.p99"].new == new["summary"]["post_seconds"]["p99"]
    )
    assert changes["post.p95"].base is None and changes["post.p95"].delta is None  # not in v1
    row = next(r for r in result.table().rows if r[0].text == "post.p95")
    assert row[-1].text == "not in both"
    assert changes["run.failed"].new == 2  # servers 40 and 80 of 100 failed
    assert "run.elapsed" in changes and "run.retries" in changes


def test_different_kinds_and_unknown_gates_are_refused() -> None:
    with pytest.raises(UsageError, match="cannot compare an apply report with a load report"):
        compare(_read(apply_document(10)), _read(load_document(50)))
    with pytest.raises(UsageError, match="cannot compare an apply report with a destroy report"):
        compare(_read(apply_document(10)), _read(destroy_document()))
    document = _read(load_document(50))
    with pytest.raises(UsageError, match="--aggregate p42: no such aggregate"):
        compare(document, document, gate=Gate(percent=1.0, aggregates=frozenset({"p42"})))


def test_metrics_of_a_destroy_report() -> None:
    found = metrics(_read(destroy_document()))
    assert found["run.elapsed"][1] == 4.0
    assert "post.p50" not in found and found["auth.p50"][1] == pytest.approx(0.004)
