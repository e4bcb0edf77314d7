"""Frozen pictures of a load run for the views (live, plain lines), built in the event loop.

The live view redraws from rich's thread; it reads only these values, which nothing
changes once built (as ``board.RunSnapshot`` for ``apply``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bulkboot.engine.load.recorder import Counters
from bulkboot.engine.load.stats import PhaseStats
from bulkboot.engine.load.thresholds import ThresholdResult

__all__ = ["LoadHeader", "LoadSnapshot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadHeader:
    """What stays the same for a run: where, what, how."""

    fleet: str
    cloud: str
    endpoint: str
    microversion: str
    scenario: str
    model: str  # ``LoadPlan.describe()``
    run_id: str
    poll_interval: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSnapshot:
    """The run at one moment. Rates are per second over ``rate_window`` whole seconds."""

    header: LoadHeader
    elapsed: float
    counters: Counters
    target: str  # the rate or workers wanted now
    offered: float  # intended starts per second, recently (open loop)
    achieved: float  # completed iterations per second, recently
    rate_window: int
    phases: tuple[tuple[str, PhaseStats], ...]
    bound: float  # how late ACTIVE and gone can be seen
    errors: tuple[tuple[str, str, int], ...]  # (phase, message, iterations), most first
    thresholds: tuple[ThresholdResult, ...]
    step: str = ""  # --find-capacity: the step running
    note: str = ""
    done: bool = False
