"""A load report's samples, and the series its charts draw, derived from them.

Why derive: the report keeps every iteration (``samples``) with its times and phase
timings; rates, in flight and per-bucket percentiles over time are exact functions of
them, so the page computes them rather than trust a second, coarser copy.

What a sample holds (``bulkboot load``'s report, ``engine.load.sample.Sample.as_dict``;
docs/load.md): ``index``; ``intended``, ``started``, ``ended``: seconds since the run's
start (``started`` and ``ended`` null for a dropped iteration); ``outcome``:
``completed``, ``failed``, ``interrupted`` or ``dropped``; ``failed_phase`` and
``message`` for a failure; ``phases``: phase -> seconds, null for a phase not timed.
Reading goes through ``LoadSample.of`` only, so a renamed field is one change here.

Time buckets: the run is cut into at most ``MAX_BUCKETS`` equal buckets of a round
width (1, 2 or 5 times a power of ten seconds, one second at least); an iteration
counts in the bucket of its intended start (offered), its actual start (started), its
end (achieved: completed; the report's ``rate.achieved`` counts them by their
start's window instead) or, for its phase
timings, its intended start, so that a queue in the endpoint shows at the moment the
iterations were meant to run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bulkboot.engine.stats import percentile
from bulkboot.ui.report_tables import number

__all__ = [
    "MAX_BUCKETS",
    "PHASE_ORDER",
    "Buckets",
    "LoadSample",
    "in_flight",
    "late_after_of",
    "load_samples",
    "ordered_phases",
    "phase_percentiles",
    "rates",
]

MAX_BUCKETS = 120
# The order an iteration runs them in (``build`` is Nova's view of ``active``).
PHASE_ORDER = ("schedule_lag", "post", "active", "build", "list", "delete", "gone", "total")
# What "late" meant before ``--late-after`` (reports without ``settings.late_after``).
OLD_LATE_AFTER = 0.001


def late_after_of(document: Mapping[str, Any]) -> float:
    """The seconds past its intended start the run counted a start late after: its
    ``settings.late_after``, or 1 ms for a report written before that setting."""
    settings = document.get("settings")
    value = number(settings.get("late_after")) if isinstance(settings, Mapping) else None
    return OLD_LATE_AFTER if value is None else float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSample:
    """One iteration of a load run, as the page reads it."""

    iteration: int
    intended: float | None
    started: float | None
    ended: float | None
    outcome: str
    phases: Mapping[str, float]  # the phases timed (null ones left out)
    failed_phase: str | None
    message: str | None
    late_after: float = OLD_LATE_AFTER  # the run's tolerance (``late_after_of``)

    @classmethod
    def of(
        cls, raw: Mapping[str, Any], index: int, late_after: float = OLD_LATE_AFTER
    ) -> LoadSample:
        phases = raw.get("phases")
        timings = (
            {str(k): float(v) for k, v in phases.items() if number(v) is not None}
            if isinstance(phases, Mapping)
            else {}
        )
        iteration = number(raw.get("index"))

        def at(key: str) -> float | None:
            value = number(raw.get(key))
            return None if value is None else float(value)

        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else str(value)

        return cls(
            iteration=int(iteration) if iteration is not None else index,
            intended=at("intended"),
            started=at("started"),
            ended=at("ended"),
            outcome=str(raw.get("outcome") or "completed"),
            phases=timings,
            failed_phase=text("failed_phase"),
            message=text("message"),
            late_after=late_after,
        )

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def dropped(self) -> bool:
        return self.outcome == "dropped"

    @property
    def late(self) -> bool:
        """Started more than ``late_after`` after its intended start, as the run counts."""
        lag = self.phases.get("schedule_lag")
        return lag is not None and lag > self.late_after


def load_samples(document: Mapping[str, Any]) -> list[LoadSample]:
    samples = document.get("samples")
    if not isinstance(samples, list):
        return []
    late_after = late_after_of(document)
    return [
        LoadSample.of(s, i, late_after) for i, s in enumerate(samples) if isinstance(s, Mapping)
    ]


def ordered_phases(names: Iterable[str]) -> list[str]:
    """The known phases in the order an iteration runs them, then any others by name."""
    names = set(names)
    return [p for p in PHASE_ORDER if p in names] + sorted(names - set(PHASE_ORDER))


@dataclass(frozen=True, slots=True, kw_only=True)
class Buckets:
    """Equal time buckets over ``[0, end]``."""

    width: float
    count: int

    @classmethod
    def over(cls, samples: Sequence[LoadSample]) -> Buckets:
        end = 0.0
        for s in samples:
            for t in (s.intended, s.started, s.ended):
                if t is not None and t > end:
                    end = t
        width = _round_width(end / MAX_BUCKETS)
        return cls(width=width, count=max(1, math.ceil(end / width) or 1))

    def index(self, t: float) -> int:
        return min(self.count - 1, max(0, int(t // self.width)))

    def middle(self, i: int) -> float:
        return (i + 0.5) * self.width


def _round_width(least: float) -> float:
    """The smallest round width (1, 2 or 5 times a power of ten; one second at least)
    that is at least ``least``: a bucket of 1.037 s would alias a steady 10/s into a
    saw of 10 and 11."""
    if least <= 1.0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(least))
    for multiple in (1.0, 2.0, 5.0, 10.0):
        if multiple * magnitude >= least:
            return multiple * magnitude
    return 10.0 * magnitude


def rates(samples: Sequence[LoadSample], buckets: Buckets) -> dict[str, list[tuple[float, float]]]:
    """Per bucket, per second: ``offered`` (intended starts), ``started`` (actual
    starts), ``achieved`` (iterations completed, by their end: completions over
    time), ``late`` (by start), ``dropped`` and ``failed`` (by
    intended start)."""
    names = ("offered", "started", "achieved", "late", "dropped", "failed")
    counts = {name: [0] * buckets.count for name in names}
    for s in samples:
        if s.intended is not None:
            i = buckets.index(s.intended)
            counts["offered"][i] += 1
            if s.dropped:
                counts["dropped"][i] += 1
            if s.failed:
                counts["failed"][i] += 1
        if s.started is not None:
            j = buckets.index(s.started)
            counts["started"][j] += 1
            if s.late:
                counts["late"][j] += 1
        if s.outcome == "completed" and s.ended is not None:
            counts["achieved"][buckets.index(s.ended)] += 1
    return {
        name: [(buckets.middle(i), n / buckets.width) for i, n in enumerate(column)]
        for name, column in counts.items()
    }


def in_flight(samples: Sequence[LoadSample], *, limit: int = 2000) -> list[tuple[float, float]]:
    """Iterations in flight over time, as a step function (exact at every start and
    end), thinned to about ``limit`` points by keeping each stretch's highest value."""
    changes: dict[float, int] = defaultdict(int)
    for s in samples:
        if s.started is not None:
            changes[s.started] += 1
            changes[s.ended if s.ended is not None else s.started] -= 1
    level = 0
    points: list[tuple[float, float]] = [(0.0, 0.0)]
    for t in sorted(changes):
        points.append((t, float(level)))
        level += changes[t]
        points.append((t, float(level)))
    if len(points) <= limit:
        return points
    step = math.ceil(len(points) / limit)
    thinned = [points[0]]
    for k in range(1, len(points), step):
        chunk = points[k : k + step]
        top = max(chunk, key=lambda p: p[1])
        thinned.append((chunk[0][0], top[1]))
    thinned.append(points[-1])
    return thinned


def phase_percentiles(
    samples: Sequence[LoadSample], phase: str, buckets: Buckets
) -> tuple[dict[str, list[tuple[float, float]]], list[float]]:
    """Per bucket (by intended start) with samples of ``phase``: p50, p95 and p99 of
    it; and the intended starts of the iterations that failed (marked on the chart)."""
    values: dict[int, list[float]] = defaultdict(list)
    failures: list[float] = []
    for s in samples:
        start = s.intended if s.intended is not None else s.started
        if start is None:
            continue
        seconds = s.phases.get(phase)
        if seconds is not None:
            values[buckets.index(start)].append(seconds)
        if s.failed:
            failures.append(start)
    series: dict[str, list[tuple[float, float]]] = {"p50": [], "p95": [], "p99": []}
    for i in sorted(values):
        ordered = sorted(values[i])
        for name, q in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0)):
            series[name].append((buckets.middle(i), percentile(ordered, q)))
    return series, failures
