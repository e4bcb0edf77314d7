"""What a finished load run (and each step of a capacity search) hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bulkboot.engine.load.cleanup import Cleanup
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.recorder import Counters, Recorder
from bulkboot.engine.load.stats import PhaseStats
from bulkboot.engine.load.thresholds import ThresholdResult
from bulkboot.engine.load.window import Window, planned_length, window_of
from bulkboot.errors import CloudError

__all__ = ["LoadResult", "StepResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """One ``--find-capacity`` step: its rate, what it offered and achieved, and
    whether it held.

    ``window``: the step's schedule, in seconds (its length, or up to a stop);
    ``offered``: its intended starts per second of it; ``achieved``: its iterations
    (all started in the window) that completed, per second of it, whenever they
    completed; ``drain``: seconds from the window's end to its last iteration's end.
    """

    rate: float
    held: bool
    counters: Counters
    thresholds: tuple[ThresholdResult, ...]
    phases: dict[str, PhaseStats]
    window: float
    drain: float
    drain_completed: int = 0  # its iterations that completed after its window's end
    interrupted: bool = False
    # why it did not hold, in words (empty when it held)
    reasons: tuple[str, ...] = ()

    @property
    def offered(self) -> float | None:
        return self.counters.scheduled / self.window if self.window > 0 else None

    @property
    def achieved(self) -> float | None:
        return self.counters.completed / self.window if self.window > 0 else None

    def as_dict(self) -> dict[str, Any]:
        c = self.counters
        offered, achieved = self.offered, self.achieved
        return {
            "rate": round(self.rate, 6),
            "held": self.held,
            "interrupted": self.interrupted,
            "window_seconds": round(self.window, 6),
            "drain_seconds": round(self.drain, 6),
            "drain_completed": self.drain_completed,
            "offered": None if offered is None else round(offered, 6),
            "achieved": None if achieved is None else round(achieved, 6),
            "reasons": list(self.reasons),
            "iterations": {
                "scheduled": c.scheduled,
                "started": c.started,
                "completed": c.completed,
                "failed": c.failed,
                "dropped": c.dropped,
                "late": c.late,
            },
            "thresholds": [t.as_dict() for t in self.thresholds],
            "phases": {name: stats.as_dict() for name, stats in self.phases.items()},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    """A finished run. ``cleanup`` is None when it was aborted (Ctrl-C twice)."""

    plan: LoadPlan
    run_id: str
    recorder: Recorder
    counters: Counters
    phases: dict[str, PhaseStats]
    thresholds: tuple[ThresholdResult, ...]
    cleanup: Cleanup | None
    interrupted: bool
    aborted_by: str | None
    load_seconds: float  # from the start to the last iteration's end
    elapsed: float  # the whole run, clean-up included
    started_wall: datetime  # UTC: the load's start (after any question was answered)
    ended_wall: datetime  # UTC: the clean-up's end
    poll_interval: float
    bound: float
    poll_rounds: int
    steps: tuple[StepResult, ...] = ()
    knee: float | None = None
    unsure: tuple[str, ...] = field(default=())
    fatal: CloudError | None = None  # the error that stopped the run, if one did
    in_flight: int = 0  # creates sent and never answered (a run stopped at once)
    # the schedule's window (offered, achieved, the drain); None: as planned, unstopped
    window: Window | None = None

    def schedule_window(self) -> Window:
        """The run's ``window``, or the one its plan gives when it was not kept."""
        if self.window is not None:
            return self.window
        samples = self.recorder.samples
        return window_of(
            self.plan,
            samples,
            length=planned_length(self.plan, samples),
            stopped=None,
            load_seconds=self.load_seconds,
        )

    @property
    def thresholds_held(self) -> bool:
        return all(t.ok for t in self.thresholds) and (
            self.plan.capacity is None or self.knee is not None
        )
