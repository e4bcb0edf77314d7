"""The run a load test will be: the manifest's ``load:`` and the flags, combined and checked.

The flags override the manifest key by key, except the load model: ``--rate`` or
``--concurrency`` on the command line replaces the manifest's ``rate`` and
``concurrency`` together (one run has one model). Every combination that cannot run
is a problem before anything is sent, pointing at the manifest's line when the value
came from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from bulkboot.errors import ManifestError
from bulkboot.pipeline.load_spec import (
    DEFAULT_SCENARIO,
    CapacitySearch,
    LoadSection,
    Stage,
    Threshold,
    scenario_phases,
)
from bulkboot.pipeline.spec import Location, Problem

__all__ = [
    "DEFAULT_LATE_AFTER",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TIMEOUT",
    "LoadPlan",
    "resolve_plan",
]

DEFAULT_MAX_IN_FLIGHT: Final = 1000
DEFAULT_POLL_INTERVAL: Final = 0.5  # seconds: the bound on ACTIVE and gone
# Seconds after its intended start an iteration counts as late. Not 1 ms: asyncio's
# timers fire up to ~1 ms late on Linux as a matter of course (epoll's millisecond
# timeout), and the OS scheduler adds a few ms on a busy machine; measured here
# (docs/load.md), p50 0.6-1.2 ms, p99 2-4 ms, p99.9 8-34 ms on a shared 2-core machine
# (load 1.4). 10 ms is past that and far below anything a boot's timings notice.
DEFAULT_LATE_AFTER: Final = 0.001
DEFAULT_TIMEOUT: Final = 600.0  # seconds: per wait (to ACTIVE, to gone)
DEFAULT_MIN_SAMPLES: Final = 20

_MODEL_KEYS = ("rate", "concurrency")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadPlan:
    """A load run's settings, complete and consistent (``resolve_plan``).

    ``rate`` (open loop: iterations started per second, the first stage's starting
    point) or ``concurrency`` (closed loop: workers) is set, never both, except with
    ``capacity`` (an open loop whose rate the search sets step by step).
    """

    scenario: str = DEFAULT_SCENARIO
    rate: float | None = None
    concurrency: int | None = None
    stages: tuple[Stage, ...] = ()
    duration: float | None = None
    iterations: int | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    late_after: float = DEFAULT_LATE_AFTER
    timeout: float = DEFAULT_TIMEOUT
    thresholds: tuple[Threshold, ...] = ()
    abort_on_fail: bool = False
    min_samples: int = DEFAULT_MIN_SAMPLES
    keep: bool = False
    capacity: CapacitySearch | None = None

    @property
    def open_loop(self) -> bool:
        return self.concurrency is None

    @property
    def phases(self) -> tuple[str, ...]:
        return scenario_phases(self.scenario)

    def describe(self) -> str:
        """The load model in a few words, for headers and summaries."""
        if self.capacity is not None:
            c = self.capacity
            return (
                f"capacity search: open loop from {c.start:g}/s, x{c.factor:g} every "
                f"{c.step:g}s, at most {c.max_steps} steps, achieved within "
                f"{c.margin * 100:g}% of offered"
            )
        if self.concurrency is not None:
            model = f"closed loop, {self.concurrency} worker(s)"
        else:
            model = (
                f"open loop, {self.rate:g} iteration(s)/s, at most {self.max_in_flight} in flight"
            )
        if self.stages:
            ramp = ", ".join(f"{s.duration:g}s:{s.target:g}" for s in self.stages)
            model += f", stages {ramp}"
        length = []
        if self.duration is not None:
            length.append(f"{self.duration:g}s")
        if self.iterations is not None:
            length.append(f"{self.iterations} iteration(s)")
        return model + (f", for {' or '.join(length)}" if length else "")

    def as_dict(self) -> dict[str, Any]:
        """The settings as the report records them."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "stages":
                value = [{"duration": s.duration, "target": s.target} for s in value]
            elif item.name == "thresholds":
                value = [t.expression for t in value]
            elif item.name == "capacity" and value is not None:
                value = {
                    "start": value.start,
                    "factor": value.factor,
                    "step": value.step,
                    "max_steps": value.max_steps,
                    "margin": value.margin,
                }
            out[item.name] = value
        out["model"] = "open" if self.open_loop else "closed"
        return out


class _Merged:
    """The merged settings, remembering where each came from (for messages)."""

    def __init__(self, manifest: LoadSection | None, flags: LoadSection) -> None:
        self.values: dict[str, Any] = {}
        self.where: dict[str, Location | None] = {}
        self.from_flags: set[str] = set()
        self.locations: Mapping[str, Location] = manifest.locations if manifest else {}
        flag_model = any(flags.given(k) for k in _MODEL_KEYS)
        for item in fields(LoadSection):
            key = item.name
            if key == "locations":
                continue
            if flags.given(key):
                self.values[key] = getattr(flags, key)
                self.where[key] = None
                self.from_flags.add(key)
            elif manifest is not None and manifest.given(key):
                if key in _MODEL_KEYS and flag_model:
                    continue  # the command line's model replaces the manifest's
                self.values[key] = getattr(manifest, key)
                self.where[key] = manifest.locations.get(key)

    def has(self, key: str) -> bool:
        return key in self.values

    def name(self, key: str) -> str:
        """How the user wrote it: ``--max-in-flight`` or ``load.max_in_flight``."""
        if key in self.from_flags:
            return "--" + key.replace("_", "-")
        return f"load.{key}"


def resolve_plan(manifest: LoadSection | None, flags: LoadSection) -> LoadPlan:
    """The run's plan; ``ManifestError`` listing every problem (nothing sent)."""
    merged = _Merged(manifest, flags)
    problems: list[Problem] = []

    def problem(key: str | None, message: str) -> None:
        where = merged.where.get(key) if key is not None else None
        problems.append(Problem(where, "load", message))

    v = merged.values
    scenario = v.get("scenario", DEFAULT_SCENARIO)
    capacity: CapacitySearch | None = v.get("find_capacity")
    if capacity is not None:
        for key in ("rate", "concurrency", "stages", "duration", "iterations", "abort_on_fail"):
            if merged.has(key):
                problem(
                    key,
                    f"{merged.name(key)}: --find-capacity sets the rate and the length itself "
                    "(its start, factor, step and max steps); leave this out",
                )
    else:
        if not merged.has("rate") and not merged.has("concurrency"):
            problem(
                None,
                "say how much load: --rate R (an open loop: R iterations started per "
                "second) or --concurrency N (a closed loop: N workers), here or in load:",
            )
        stages: tuple[Stage, ...] = v.get("stages", ())
        if stages and merged.has("duration"):
            problem(
                "duration",
                f"{merged.name('duration')}: the stages set the run's length; "
                "give --iterations to stop earlier",
            )
        if not stages and not merged.has("duration") and not merged.has("iterations"):
            problem(None, "say how long: --duration D, --iterations K or --stages")
        if merged.has("concurrency"):
            if merged.has("max_in_flight"):
                problem(
                    "max_in_flight",
                    f"{merged.name('max_in_flight')} is for the open loop (--rate); "
                    "a closed loop has --concurrency iterations in flight",
                )
            for number, stage in enumerate(stages, 1):
                if not stage.target.is_integer():
                    problem(
                        "stages",
                        f"{merged.name('stages')}: stage {number}'s target "
                        f"{stage.target:g} is a number of workers (closed loop): a whole number",
                    )
    if v.get("keep") and scenario != "boot":
        problem("keep", f"{merged.name('keep')}: only the boot scenario leaves servers to keep")
    thresholds: tuple[Threshold, ...] = v.get("thresholds", ())
    phases = scenario_phases(scenario)
    for number, threshold in enumerate(thresholds):
        if threshold.on_phase and threshold.metric not in phases:
            where = merged.locations.get(f"thresholds.{number}")
            if "thresholds" in merged.from_flags:
                where = None
            problems.append(
                Problem(
                    where,
                    "load",
                    f"threshold {threshold.expression!r}: the {scenario} scenario has no "
                    f"{threshold.metric!r} phase (its phases: {', '.join(phases)})",
                )
            )
    if v.get("abort_on_fail") and not thresholds:
        problem("abort_on_fail", f"{merged.name('abort_on_fail')} needs at least one threshold")
    if problems:
        raise ManifestError(problems)
    return LoadPlan(
        scenario=scenario,
        rate=None if capacity is not None else v.get("rate"),
        concurrency=v.get("concurrency"),
        stages=v.get("stages", ()),
        duration=v.get("duration"),
        iterations=v.get("iterations"),
        max_in_flight=v.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT),
        poll_interval=v.get("poll_interval", DEFAULT_POLL_INTERVAL),
        late_after=v.get("late_after", DEFAULT_LATE_AFTER),
        timeout=v.get("timeout", DEFAULT_TIMEOUT),
        thresholds=thresholds,
        abort_on_fail=bool(v.get("abort_on_fail", False)),
        min_samples=v.get("min_samples", DEFAULT_MIN_SAMPLES),
        keep=bool(v.get("keep", False)),
        capacity=capacity,
    )
