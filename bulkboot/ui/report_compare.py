"""Comparing two reports of the same kind: each aggregate's change, absolute and in
percent, flagged beyond a tolerance; a gate on chosen aggregates for CI.

A change is *flagged* when it is beyond both tolerances: more than ``percent`` of the
base value, and (for durations) more than ``seconds`` in absolute terms, so that a
1 ms to 2 ms change is not a "100 % regression". It is *worse* when it goes the wrong
way for its metric (latencies and failures up, achieved rate down). A *regression*
is a gated aggregate (``Gate.aggregates``: ``p95`` for every phase's, or one named as
``post.p95``) that is worse by more than ``Gate.percent`` and beyond the absolute
tolerance: ``bulkboot report compare --fail-on-regression`` exits 3 on one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bulkboot.errors import UsageError
from bulkboot.ui.load_series import ordered_phases
from bulkboot.ui.report_tables import (
    Cell,
    Table,
    fmt_count,
    fmt_rate,
    fmt_seconds,
    number,
    table,
    text_cell,
)
from bulkboot.ui.run_tables import TIMINGS, request_counts_of

__all__ = ["Change", "Comparison", "Gate", "Metric", "Tolerance", "compare", "metrics"]

Unit = Literal["seconds", "count", "rate"]
Better = Literal["lower", "higher", "neither"]

_SECTIONS = {"auth_seconds": "auth", "post_seconds": "post", "active_seconds": "active"}
_SECONDS_AGGREGATES = ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One comparable number of a report: ``section.aggregate`` (``post.p95``)."""

    section: str
    aggregate: str
    unit: Unit
    better: Better

    @property
    def name(self) -> str:
        return f"{self.section}.{self.aggregate}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    percent: float = 5.0
    seconds: float = 0.001


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    """``percent`` None: no gate. ``aggregates``: ``p95`` (every section's) or ``post.p95``."""

    percent: float | None = None
    aggregates: frozenset[str] = frozenset({"p95"})

    def covers(self, metric: Metric) -> bool:
        return metric.aggregate in self.aggregates or metric.name in self.aggregates


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    metric: Metric
    base: float | None
    new: float | None
    delta: float | None
    percent: float | None  # None: not comparable; inf: from zero to more
    flagged: bool
    worse: bool
    gated: bool
    regression: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    kind: str
    changes: tuple[Change, ...]
    tolerance: Tolerance
    gate: Gate

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.regression)

    def table(self) -> Table:
        rows = [_row(c) for c in self.changes]
        gate = (
            f"; gate: {', '.join(sorted(self.gate.aggregates))} worse by more than "
            f"{self.gate.percent:g}% fails"
            if self.gate.percent is not None
            else ""
        )
        return table(
            "comparison",
            "Base and new run compared",
            ("metric", "base", "new", "change", "change %", "verdict"),
            rows,
            numeric=(False, True, True, True, True, False),
            note=f"flagged beyond {self.tolerance.percent:g}% and "
            f"{fmt_seconds(self.tolerance.seconds)} (durations){gate}.",
        )


def _value(metric: Metric, value: float | None) -> str:
    if metric.unit == "seconds":
        return fmt_seconds(value)
    if metric.unit == "rate":
        return fmt_rate(value)
    return fmt_count(value)


def _row(change: Change) -> tuple[Cell, ...]:
    m = change.metric
    if change.delta is None:
        delta_text = "-"
    else:
        sign = "+" if change.delta > 0 else ""
        delta_text = sign + _value(m, change.delta)
    if change.percent is None:
        percent_text = "-"
    elif math.isinf(change.percent):
        percent_text = "new"
    else:
        percent_text = f"{change.percent:+.1f}%"
    if change.regression:
        verdict = text_cell("REGRESSION", "fail")
    elif change.flagged:
        verdict = text_cell(
            "worse" if change.worse else "better", "worse" if change.worse else "better"
        )
    else:
        verdict = text_cell("within tolerance" if change.delta is not None else "not in both")
    return (
        text_cell(m.name),
        Cell(text=_value(m, change.base), value=change.base),
        Cell(text=_value(m, change.new), value=change.new),
        Cell(text=delta_text, value=change.delta),
        Cell(
            text=percent_text,
            value=None
            if change.percent is None or math.isinf(change.percent)
            else round(change.percent, 3),
        ),
        verdict,
    )


def metrics(document: Mapping[str, Any]) -> dict[str, tuple[Metric, float]]:
    """Every comparable number of a report, by ``section.aggregate``."""
    found: dict[str, tuple[Metric, float]] = {}

    def put(section: str, aggregate: str, unit: Unit, better: Better, value: Any) -> None:
        v = number(value)
        if v is not None:
            metric = Metric(section=section, aggregate=aggregate, unit=unit, better=better)
            found[metric.name] = (metric, float(v))

    if document.get("kind") == "load":
        phases = document.get("phases")
        phases = phases if isinstance(phases, Mapping) else {}
        for phase in ordered_phases(phases):
            aggregates = phases[phase]
            put(phase, "count", "count", "neither", aggregates.get("count"))
            put(phase, "failed", "count", "lower", aggregates.get("failed"))
            for name in _SECONDS_AGGREGATES:
                put(phase, name, "seconds", "lower", aggregates.get(name))
        rate = document.get("rate")
        if isinstance(rate, Mapping):
            put("rate", "offered", "rate", "neither", rate.get("offered"))
            put("rate", "achieved", "rate", "higher", rate.get("achieved"))
        iterations = document.get("iterations")
        if isinstance(iterations, Mapping):
            put("iterations", "completed", "count", "higher", iterations.get("completed"))
            for name in ("failed", "dropped", "late"):
                put("iterations", name, "count", "lower", iterations.get(name))
        return found
    summary = document.get("summary")
    summary = summary if isinstance(summary, Mapping) else {}
    for key, _ in TIMINGS:
        stats = summary.get(key)
        if isinstance(stats, Mapping):
            put(_SECTIONS[key], "count", "count", "neither", stats.get("count"))
            for name in _SECONDS_AGGREGATES:
                put(_SECTIONS[key], name, "seconds", "lower", stats.get(name))
    put("run", "elapsed", "seconds", "lower", summary.get("elapsed_seconds"))
    failures = summary.get("failures")
    if isinstance(failures, list):
        failed = sum(
            int(f.get("servers", 0))
            for f in failures
            if isinstance(f, Mapping) and number(f.get("servers")) is not None
        )
        put("run", "failed", "count", "lower", failed)
    counts = request_counts_of(document)
    put("run", "requests", "count", "lower", counts.get("requests"))
    put("run", "retries", "count", "lower", counts.get("retries"))
    return found


def compare(
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    tolerance: Tolerance = Tolerance(),
    gate: Gate = Gate(),
) -> Comparison:
    """Every metric of either report, base against new (see the module docstring)."""
    if base.get("kind") != new.get("kind"):
        raise UsageError(
            f"cannot compare {_a(base.get('kind'))} report with {_a(new.get('kind'))} report"
        )
    old_metrics, new_metrics = metrics(base), metrics(new)
    names = list(old_metrics) + [n for n in new_metrics if n not in old_metrics]
    changes = [
        _change(
            (old_metrics.get(name) or new_metrics[name])[0],
            _get(old_metrics, name),
            _get(new_metrics, name),
            tolerance,
            gate,
        )
        for name in names
    ]
    unknown = _unknown_gates(gate, (c.metric for c in changes))
    if unknown:
        raise UsageError(
            f"--aggregate {', '.join(sorted(unknown))}: no such aggregate in these reports"
        )
    return Comparison(
        kind=str(base.get("kind")), changes=tuple(changes), tolerance=tolerance, gate=gate
    )


def _get(found: Mapping[str, tuple[Metric, float]], name: str) -> float | None:
    item = found.get(name)
    return None if item is None else item[1]


def _unknown_gates(gate: Gate, known: Iterable[Metric]) -> set[str]:
    if gate.percent is None:
        return set()
    names: set[str] = set()
    for metric in known:
        names.add(metric.aggregate)
        names.add(metric.name)
    return set(gate.aggregates) - names


def _change(
    metric: Metric, base: float | None, new: float | None, tolerance: Tolerance, gate: Gate
) -> Change:
    gated = gate.percent is not None and gate.covers(metric)
    if base is None or new is None:
        return Change(
            metric=metric,
            base=base,
            new=new,
            delta=None,
            percent=None,
            flagged=False,
            worse=False,
            gated=gated,
            regression=False,
        )
    delta = new - base
    if base == 0:
        percent = 0.0 if delta == 0 else math.copysign(math.inf, delta)
    else:
        percent = delta / abs(base) * 100.0
    floor = tolerance.seconds if metric.unit == "seconds" else 0.0
    beyond_floor = abs(delta) > floor
    flagged = beyond_floor and abs(percent) > tolerance.percent
    worse = (metric.better == "lower" and delta > 0) or (metric.better == "higher" and delta < 0)
    regression = (
        gated
        and worse
        and beyond_floor
        and gate.percent is not None
        and abs(percent) > gate.percent
    )
    return Change(
        metric=metric,
        base=base,
        new=new,
        delta=delta,
        percent=percent,
        flagged=flagged,
        worse=worse,
        gated=gated,
        regression=regression,
    )


def _a(kind: object) -> str:
    """``kind`` with its article, as the message reads it (an apply, a load)."""
    text = str(kind)
    return f"an {text}" if text[:1] in ("a", "e", "i", "o", "u") else f"a {text}"
