"""The run's tally: counters, every sample, and per-phase values kept for aggregates.

The recorder is the one place an iteration's outcome is counted, so the live view,
the thresholds checked during the run (``--abort-on-fail``) and the final report
read the same numbers. Single-threaded: the event loop's tasks call it; the view gets
frozen values built from it (``counters``, ``phase_stats``).

What is counted where:

- ``scheduled``: intended starts reached (open loop), or iterations begun (closed);
- ``dropped``: intended starts not started because ``--max-in-flight`` iterations
  were running: never queued, never started late in a burst;
- ``late``: started more than ``late_after`` (``--late-after``) after the intended
  start (every start's lag is kept besides, in ``schedule_lag``);
- ``completed`` / ``failed`` / ``interrupted``: how the started ones ended.

A phase's values are every iteration's time in it that got through it, failed
iterations' earlier phases included (a boot that went to ERROR still timed its POST),
and the time of a phase that failed with an answer (a POST refused with a 409 is
timed: a latency distribution without its errors' own time hides them); ``post``'s
are also kept per class of the answer (``by_status``). ``total`` only for completed
iterations. A failure counts against the phase it happened in, and against ``total``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bulkboot.engine.load.plan import DEFAULT_LATE_AFTER
from bulkboot.engine.load.sample import Sample, status_class
from bulkboot.engine.load.stats import PhaseStats, phase_stats

__all__ = ["Counters", "Recorder"]

# One second of the run: intended starts, starts, completions, failures, drops.
_OFFERED, _STARTED, _COMPLETED, _FAILED, _DROPPED = range(5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Counters:
    """How many iterations were scheduled, and what became of them, so far."""

    scheduled: int
    started: int
    completed: int
    failed: int
    dropped: int
    late: int
    interrupted: int
    in_flight: int

    def rate_of(self, counter: str) -> float | None:
        """``rate(counter)`` as thresholds read it: a share of its base (``RATE_BASE``),
        None while the base is zero."""
        if counter == "failed":
            part, base = self.failed, self.completed + self.failed
        elif counter == "dropped":
            part, base = self.dropped, self.scheduled
        elif counter == "late":
            part, base = self.late, self.started
        elif counter == "interrupted":
            part, base = self.interrupted, self.started
        elif counter == "completed":
            part, base = self.completed, self.started
        else:
            raise KeyError(counter)
        return part / base if base else None

    def count_of(self, counter: str) -> int:
        value: int = getattr(self, counter)
        return value


class Recorder:
    """Counters and samples of a run (or of one step of ``--find-capacity``).

    ``phases``: the scenario's phases; ``started_at``: the run's start on its clock
    (samples' ``intended``/``started`` are offsets from it); ``late_after``: seconds
    after its intended start a start counts as late.
    """

    __slots__ = (
        "_failed",
        "_post_by_status",
        "_untimed",
        "_series",
        "_values",
        "completed",
        "dropped",
        "errors",
        "failed",
        "in_flight",
        "interrupted",
        "late",
        "late_after",
        "phases",
        "samples",
        "scheduled",
        "started",
        "started_at",
    )

    def __init__(
        self, phases: tuple[str, ...], *, started_at: float, late_after: float = DEFAULT_LATE_AFTER
    ) -> None:
        self.phases = phases
        self.late_after = late_after
        self.started_at = started_at
        self._values: dict[str, list[float]] = {phase: [] for phase in phases}
        self._failed: dict[str, int] = dict.fromkeys(phases, 0)
        # failures in a phase with no time in it (a POST that got no answer): with the
        # values, the iterations a phase has seen (``counts``)
        self._untimed: dict[str, int] = dict.fromkeys(phases, 0)
        self._post_by_status: dict[str, list[float]] = {}
        self._series: dict[int, list[int]] = {}
        self.samples: list[Sample] = []
        self.errors: Counter[tuple[str, str]] = Counter()  # (phase, message) -> iterations
        self.scheduled = self.started = self.completed = self.failed = 0
        self.dropped = self.late = self.interrupted = self.in_flight = 0

    def _second(self, offset: float) -> list[int]:
        second = int(offset) if offset > 0 else 0
        row = self._series.get(second)
        if row is None:
            row = self._series[second] = [0, 0, 0, 0, 0]
        return row

    def drop(self, sample: Sample) -> None:
        """An intended start not started: ``--max-in-flight`` iterations were running."""
        sample.outcome = "dropped"
        self.samples.append(sample)
        self.scheduled += 1
        self.dropped += 1
        row = self._second(sample.intended)
        row[_OFFERED] += 1
        row[_DROPPED] += 1

    def start(self, sample: Sample, started: float) -> None:
        """``sample`` starts at ``started`` (an offset, as ``intended``)."""
        sample.started = started
        lag = started - sample.intended
        sample.schedule_lag = lag if lag > 0 else 0.0
        self.samples.append(sample)
        self.scheduled += 1
        self.started += 1
        self.in_flight += 1
        if lag > self.late_after:
            self.late += 1
        if "schedule_lag" in self._values:
            self._values["schedule_lag"].append(sample.schedule_lag)
        self._second(sample.intended)[_OFFERED] += 1
        self._second(started)[_STARTED] += 1

    def finish(self, sample: Sample, ended: float) -> None:
        """``sample`` has its outcome at ``ended``: None or ``completed`` is completed
        (the first of several recorders, a capacity step's beside the run's, sets it to
        ``completed``; the next one reads it so)."""
        sample.ended = ended
        self.in_flight -= 1
        values = self._values
        for phase in self.phases:
            if phase == "schedule_lag" or phase == "total":
                continue
            value = getattr(sample, phase)
            if value is not None:
                values[phase].append(value)
                if phase == "post":
                    by_status = self._post_by_status
                    kind = status_class(sample.post_status)
                    if kind in by_status:
                        by_status[kind].append(value)
                    else:
                        by_status[kind] = [value]
        outcome = sample.outcome
        row = self._second(ended)
        if outcome is None or outcome == "completed":
            sample.outcome = "completed"
            self.completed += 1
            if sample.total is not None and "total" in values:
                values["total"].append(sample.total)
            row[_COMPLETED] += 1
        elif outcome == "failed":
            self.failed += 1
            phase = sample.failed_phase or "total"
            if phase in self._failed:
                self._failed[phase] += 1
                if phase != "total" and getattr(sample, phase) is None:
                    self._untimed[phase] += 1
            if phase != "total" and "total" in self._failed:
                self._failed["total"] += 1
            self.errors[(phase, sample.message or "")] += 1
            row[_FAILED] += 1
        else:
            self.interrupted += 1

    def counters(self) -> Counters:
        return Counters(
            scheduled=self.scheduled,
            started=self.started,
            completed=self.completed,
            failed=self.failed,
            dropped=self.dropped,
            late=self.late,
            interrupted=self.interrupted,
            in_flight=self.in_flight,
        )

    def phase_stats(self) -> dict[str, PhaseStats]:
        """Every phase's aggregates so far (sorts the kept values in place)."""
        stats = {
            phase: phase_stats(self._values[phase], self._failed[phase]) for phase in self.phases
        }
        if "post" in stats and self._post_by_status:
            by_status = tuple(
                (kind, phase_stats(values, 0))
                for kind, values in sorted(
                    self._post_by_status.items(), key=lambda item: (item[0] == "recovered", item[0])
                )
            )
            stats["post"] = phase_stats(self._values["post"], self._failed["post"], by_status)
        return stats

    def counts(self, phase: str) -> int:
        """Iterations timed in ``phase`` so far, or failed in it without a time."""
        if phase == "total":
            return len(self._values[phase]) + self._failed[phase]
        return len(self._values[phase]) + self._untimed[phase]

    def series(self) -> Mapping[int, tuple[int, int, int, int, int]]:
        """Per second of the run: (intended starts, starts, completions, failures, drops)."""
        return {
            second: (row[0], row[1], row[2], row[3], row[4]) for second, row in self._series.items()
        }

    def recent_rates(self, now: float, window: float) -> tuple[float, float]:
        """Offered and achieved (completed) iterations per second over the last ``window``
        seconds before ``now`` (an offset), whole seconds only."""
        last = int(now)  # the second in progress is not over: not counted
        first = max(0, last - int(window))
        span = last - first
        if span <= 0:
            return 0.0, 0.0
        offered = completed = 0
        for second in range(first, last):
            row = self._series.get(second)
            if row is not None:
                offered += row[_OFFERED]
                completed += row[_COMPLETED]
        return offered / span, completed / span
