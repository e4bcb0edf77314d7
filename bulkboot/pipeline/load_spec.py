"""What a load test is asked to do, as written: scenarios, phases, stages, thresholds.

The manifest's ``load:`` mapping (``load_section``) and ``bulkboot load``'s flags are
both read into a ``LoadSection`` through the parsers here, so ``p95(post)<2s`` or
``30s:1,60s:5`` means the same wherever it is written, and a mistake in either is
found before anything is sent. Pure: strings in, frozen values or ``ValueError`` (a
message fit for the user) out.

Thresholds: ``AGGREGATE(METRIC) OP VALUE``.

- A phase (``PHASES``) takes ``count`` and ``failed`` (iterations) or a time aggregate
  (``min``, ``mean``, ``p50``, ``p90``, ``p95``, ``p99``, ``p99.9``, ``max``) compared
  with a duration (``2s``, ``500ms``, ``5m``; a bare number is seconds).
- An iteration counter (``COUNTERS``) takes ``count`` (a whole number) or ``rate`` (a
  share: ``1%`` or ``0.01``); see ``RATE_BASE`` for what each share is of.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from bulkboot.pipeline.durations import UNITS, parse_seconds
from bulkboot.pipeline.spec import Location

__all__ = [
    "AGGREGATES",
    "COUNTERS",
    "DEFAULT_SCENARIO",
    "LOAD_KEYS",
    "PHASES",
    "RATE_BASE",
    "SCENARIOS",
    "TIME_AGGREGATES",
    "CapacitySearch",
    "LoadSection",
    "Stage",
    "Threshold",
    "parse_share",
    "parse_stages",
    "parse_threshold",
    "scenario_phases",
]

SCENARIOS: Final = ("boot", "boot-delete", "boot-list-delete")
DEFAULT_SCENARIO: Final = "boot-delete"

# Every phase an iteration can be timed in, in the order they happen.
PHASES: Final = ("schedule_lag", "post", "active", "build", "list", "delete", "gone", "total")
_SCENARIO_PHASES: Final[Mapping[str, tuple[str, ...]]] = {
    "boot": ("schedule_lag", "post", "active", "build", "total"),
    "boot-delete": ("schedule_lag", "post", "active", "build", "delete", "gone", "total"),
    "boot-list-delete": PHASES,
}

TIME_AGGREGATES: Final = ("min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max")
AGGREGATES: Final = ("count", "failed", *TIME_AGGREGATES)
# Iteration counters, and what ``rate(...)`` of each is a share of.
RATE_BASE: Final[Mapping[str, str]] = {
    "failed": "finished",  # failed / (completed + failed)
    "dropped": "scheduled",  # not started: --max-in-flight iterations were running
    "late": "started",  # started more than --late-after after their intended start
    "interrupted": "started",
    "completed": "started",
}
COUNTERS: Final = tuple(RATE_BASE)

# The keys of the manifest's ``load:`` mapping (the flags' names with underscores).
LOAD_KEYS: Final = (
    "scenario",
    "rate",
    "concurrency",
    "max_in_flight",
    "stages",
    "duration",
    "iterations",
    "poll_interval",
    "late_after",
    "timeout",
    "thresholds",
    "abort_on_fail",
    "min_samples",
    "keep",
    "find_capacity",
)

_THRESHOLD = re.compile(
    r"^\s*(?P<aggregate>[A-Za-z][A-Za-z0-9.]*)\s*\(\s*(?P<metric>[A-Za-z_-]+)\s*\)\s*"
    r"(?P<op><=|>=|==|!=|<|>)\s*(?P<value>[+-]?(?:\d+(?:\.\d+)?|\.\d+))\s*"
    r"(?P<unit>ms|s|m|min|h|%)?\s*$"
)
_OPS: Final = ("<", "<=", ">", ">=", "==", "!=")


def scenario_phases(scenario: str) -> tuple[str, ...]:
    """The phases a scenario times, in order."""
    return _SCENARIO_PHASES[scenario]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """Ramp linearly to ``target`` (iterations per second, or workers) over ``duration``."""

    duration: float
    target: float


def parse_stages(text: str) -> tuple[Stage, ...]:
    """``30s:1,60s:5,30s:0`` -> stages (as k6's ramping executors: each ramps linearly
    from where the last one ended to its target)."""
    stages: list[Stage] = []
    for number, part in enumerate(text.split(","), 1):
        duration, colon, target = part.strip().partition(":")
        if not colon or not duration.strip() or not target.strip():
            raise ValueError(
                f"stage {number} {part.strip()!r}: write DURATION:TARGET, e.g. 30s:5 "
                "(stages are separated by commas)"
            )
        try:
            seconds = parse_seconds(duration)
        except ValueError as exc:
            raise ValueError(f"stage {number}: {exc}") from None
        stages.append(Stage(duration=seconds, target=_target(target.strip(), number)))
    return tuple(stages)


def _target(text: str, number: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"stage {number}: the target {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"stage {number}: the target must be 0 or more, not {text}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """One pass/fail criterion; ``value`` is in seconds (time aggregates), a share
    (``rate``: 0.01 for 1 %) or a count."""

    expression: str
    aggregate: str
    metric: str
    op: str
    value: float

    @property
    def on_phase(self) -> bool:
        return self.metric in PHASES

    def holds(self, observed: float) -> bool:
        op, value = self.op, self.value
        if op == "<":
            return observed < value
        if op == "<=":
            return observed <= value
        if op == ">":
            return observed > value
        if op == ">=":
            return observed >= value
        if op == "==":
            return observed == value
        return observed != value


def parse_threshold(text: str) -> Threshold:
    """``p95(post)<2s``, ``rate(failed)<1%``, ``count(dropped)==0`` -> a ``Threshold``."""
    match = _THRESHOLD.match(text)
    if match is None:
        raise ValueError(
            f"threshold {text!r}: write AGGREGATE(METRIC) OP VALUE, e.g. 'p95(post)<2s', "
            "'rate(failed)<1%', 'count(dropped)==0'"
        )
    aggregate = match["aggregate"].lower()
    aggregate = "p99.9" if aggregate == "p999" else aggregate
    metric = match["metric"].lower().replace("-", "_")
    unit = match["unit"]
    number = float(match["value"])
    expression = text.strip()
    if metric in PHASES:
        value = _phase_value(expression, aggregate, metric, number, unit)
    elif metric in COUNTERS:
        value = _counter_value(expression, aggregate, metric, number, unit)
    else:
        raise ValueError(
            f"threshold {expression!r}: unknown metric {metric!r}; phases: "
            f"{', '.join(PHASES)}; iteration counters: {', '.join(COUNTERS)}"
        )
    return Threshold(
        expression=expression, aggregate=aggregate, metric=metric, op=match["op"], value=value
    )


def _phase_value(
    expression: str, aggregate: str, metric: str, number: float, unit: str | None
) -> float:
    if aggregate in ("count", "failed"):
        if unit is not None:
            raise ValueError(
                f"threshold {expression!r}: {aggregate}({metric}) counts iterations; "
                f"compare it with a whole number, without {unit!r}"
            )
        return _whole(expression, number)
    if aggregate not in TIME_AGGREGATES:
        raise ValueError(
            f"threshold {expression!r}: unknown aggregate {aggregate!r} for the phase "
            f"{metric!r}; use one of {', '.join(AGGREGATES)}"
        )
    if unit == "%":
        raise ValueError(f"threshold {expression!r}: {aggregate}({metric}) is a time, not a share")
    if number < 0:
        raise ValueError(f"threshold {expression!r}: a time cannot be negative")
    return number * UNITS[unit]


def _counter_value(
    expression: str, aggregate: str, metric: str, number: float, unit: str | None
) -> float:
    if aggregate == "count":
        if unit is not None:
            raise ValueError(
                f"threshold {expression!r}: count({metric}) is a number of iterations; "
                f"compare it with a whole number, without {unit!r}"
            )
        return _whole(expression, number)
    if aggregate == "rate":
        if unit is not None and unit != "%":
            raise ValueError(
                f"threshold {expression!r}: rate({metric}) is a share of the iterations "
                f"{RATE_BASE[metric]}: write 1% or 0.01, not a time"
            )
        share = number / 100.0 if unit == "%" else number
        if not 0.0 <= share <= 1.0:
            raise ValueError(
                f"threshold {expression!r}: a share must be between 0 and 100% (0 and 1)"
            )
        return share
    raise ValueError(
        f"threshold {expression!r}: {metric!r} is an iteration counter: use count({metric}) "
        f"or rate({metric})"
    )


def _whole(expression: str, number: float) -> float:
    if number < 0 or not number.is_integer():
        raise ValueError(f"threshold {expression!r}: a count is a whole number, 0 or more")
    return number


def parse_share(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05 (a share between 0 and 1)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a share: write 5% or 0.05") from None
    share = value / 100.0 if percent else value
    if not 0.0 <= share < 1.0:
        raise ValueError(f"{text!r}: a share from 0 up to (not including) 100% (0 to 1)")
    return share


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacitySearch:
    """``--find-capacity``: open-loop steps of ``step`` seconds from ``start``
    iterations per second, each ``factor`` times the last, at most ``max_steps``. A
    step holds only if its achieved rate is at least ``1 - margin`` of its offered
    one (besides nothing dropped and every threshold held)."""

    start: float = 1.0
    factor: float = 1.5
    step: float = 60.0
    max_steps: int = 10
    margin: float = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSection:
    """Load settings as written (the manifest's ``load:``, or the flags); None: not given.

    ``locations``: where each key's value is written in the manifest (empty for
    flags), so that a problem found later (a threshold on a phase the scenario does
    not have) still points at its line.
    """

    scenario: str | None = None
    rate: float | None = None
    concurrency: int | None = None
    max_in_flight: int | None = None
    stages: tuple[Stage, ...] | None = None
    duration: float | None = None
    iterations: int | None = None
    poll_interval: float | None = None
    late_after: float | None = None
    timeout: float | None = None
    thresholds: tuple[Threshold, ...] | None = None
    abort_on_fail: bool | None = None
    min_samples: int | None = None
    keep: bool | None = None
    find_capacity: CapacitySearch | None = None
    locations: Mapping[str, Location] = field(default_factory=dict)

    def given(self, key: str) -> bool:
        return getattr(self, key) is not None
