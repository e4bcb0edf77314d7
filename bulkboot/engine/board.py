"""The run's scoreboard: every server's state, kept current in O(1) per event, and
immutable snapshots of it for the live view.

Why a board: the live view refreshes from rich's own thread a few times a second, and
the engine handles thousands of events a second. The engine updates the board in its
event loop (cheap, incremental: counts, the in-flight list, bounded deques), and only
``snapshot()`` (called at the view's refresh rate, not per event) builds a frozen
``RunSnapshot`` that the view's thread may read without locks.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeAlias

from bulkboot.engine.state import FINAL_PHASES, Event, Found, Phase, ServerState, transition

if TYPE_CHECKING:
    from bulkboot.engine.journal import Journal

__all__ = ["Board", "Emit", "Observer", "RunHeader", "RunSnapshot", "emitter"]

Emit: TypeAlias = Callable[[Event], ServerState | None]
"""Apply an event to the run; the new state, or ``None`` when it changed nothing."""

_IN_FLIGHT = frozenset({Phase.CREATING, Phase.BUILDING, Phase.DELETING})
_FAILED = frozenset({Phase.ERROR, Phase.TIMEOUT, Phase.GONE})


@dataclass(frozen=True, slots=True, kw_only=True)
class RunHeader:
    """What the live view's header shows; fixed for a run once the cloud is known."""

    command: str  # "apply" or "destroy"
    fleet: str
    cloud: str
    endpoint: str
    microversion: str
    concurrency: int
    rate: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSnapshot:
    """One frozen picture of the run; safe to hand to another thread."""

    header: RunHeader
    now: float  # the clock's time of this picture (states' times are on the same clock)
    elapsed: float  # seconds since the run began
    total: int
    counts: Mapping[Phase, int]
    existed: int  # servers found already there (left alone)
    per_minute: float  # servers reaching their goal per minute (this run's work only)
    eta: float | None  # seconds to the end at the current pace; None when unknown
    rows: tuple[ServerState, ...]  # bounded: in flight, slowest, failed, recent
    done: bool = False
    note: str = ""  # e.g. "interrupted: finishing creates in flight"

    def count(self, phase: Phase) -> int:
        return self.counts.get(phase, 0)


@dataclass(slots=True)
class Board:
    """Mutable, single-threaded (the event loop's) tracker of every server's state."""

    header: RunHeader
    started_at: float
    max_rows: int = 16
    states: dict[str, ServerState] = field(default_factory=dict)
    counts: dict[Phase, int] = field(default_factory=dict)
    existed: int = 0
    goal_reached: int = 0  # ACTIVE (apply) or DELETED (destroy) by this run's work
    first_work_at: float | None = None
    note: str = ""
    _in_flight: dict[str, None] = field(default_factory=dict)  # insertion order = oldest first
    _failed: deque[str] = field(default_factory=lambda: deque(maxlen=64))
    _recent: deque[str] = field(default_factory=lambda: deque(maxlen=64))
    _slowest: list[tuple[float, str]] = field(default_factory=list)  # min-heap, bounded

    def add(self, states: Iterable[ServerState]) -> None:
        """Start tracking servers (queued, or already in any phase)."""
        for state in states:
            self.states[state.name] = state
            self.counts[state.phase] = self.counts.get(state.phase, 0) + 1
            if state.phase in _IN_FLIGHT:
                self._in_flight[state.name] = None

    def remove(self, name: str) -> None:
        """Stop tracking a name (a multi-create request replaced by its members)."""
        state = self.states.pop(name, None)
        if state is not None:
            self.counts[state.phase] -= 1
            self._in_flight.pop(name, None)

    def apply(self, event: Event) -> ServerState | None:
        """Apply one event; the new state, or ``None`` when it changed nothing."""
        old = self.states.get(event.name)
        if old is None:
            return None
        new = transition(old, event)
        if new is old:
            return None
        self.states[event.name] = new
        if isinstance(event, Found):
            self.existed += 1
        if new.phase is not old.phase:
            counts = self.counts
            counts[old.phase] -= 1
            counts[new.phase] = counts.get(new.phase, 0) + 1
            name = new.name
            if new.phase in _IN_FLIGHT:
                if old.phase not in _IN_FLIGHT:
                    self._in_flight[name] = None
                    if self.first_work_at is None:
                        self.first_work_at = event.at
            elif old.phase in _IN_FLIGHT:
                del self._in_flight[name]
            if old.existed and not new.existed:  # an existing ERROR, requeued to replace
                self.existed -= 1
            if new.phase in FINAL_PHASES:
                self._recent.append(name)
                if (new.phase is Phase.ACTIVE or new.phase is Phase.DELETED) and not isinstance(
                    event, Found
                ):
                    self.goal_reached += 1
                if new.phase in _FAILED:
                    self._failed.append(name)
                if new.active_seconds is not None and new.phase is Phase.ACTIVE:
                    item = (new.active_seconds, name)
                    if len(self._slowest) < self.max_rows:
                        heapq.heappush(self._slowest, item)
                    elif item > self._slowest[0]:
                        heapq.heapreplace(self._slowest, item)
        return new

    def get(self, name: str) -> ServerState | None:
        return self.states.get(name)

    def count(self, phase: Phase) -> int:
        return self.counts.get(phase, 0)

    def pending(self) -> int:
        """Servers not final yet (queued or in flight)."""
        return len(self.states) - sum(self.counts.get(p, 0) for p in FINAL_PHASES)

    def _rows(self) -> tuple[ServerState, ...]:
        """Failed first (they must stay visible), then the oldest in flight (the slowest
        still running), the slowest finished, and the most recent; at most ``max_rows``."""
        limit = self.max_rows
        chosen: dict[str, None] = {}
        quota = max(1, limit // 4)

        def take(names: Iterable[str], upto: int) -> None:
            for name in names:
                if len(chosen) >= upto:
                    return
                if name in self.states:
                    chosen.setdefault(name, None)

        take(reversed(self._failed), quota)
        in_flight = iter(self._in_flight)
        take(in_flight, min(limit, len(chosen) + limit // 2))
        take((name for _, name in sorted(self._slowest, reverse=True)), len(chosen) + quota)
        take(reversed(self._recent), limit)
        take(in_flight, limit)
        return tuple(self.states[name] for name in chosen)

    def snapshot(self, now: float, *, done: bool = False) -> RunSnapshot:
        total = len(self.states)
        elapsed = now - self.started_at
        per_minute = 0.0
        eta: float | None = None
        if self.first_work_at is not None and self.goal_reached:
            working = max(1e-9, now - self.first_work_at)
            per_second = self.goal_reached / working
            per_minute = per_second * 60.0
            eta = self.pending() / per_second
        return RunSnapshot(
            header=self.header,
            now=now,
            elapsed=elapsed,
            total=total,
            counts=MappingProxyType(dict(self.counts)),
            existed=self.existed,
            per_minute=per_minute,
            eta=None if done else eta,
            rows=self._rows(),
            done=done,
            note=self.note,
        )


class Observer(Protocol):
    """A sink: sees every event that changed a state, with the new state."""

    def event(self, event: Event, state: ServerState) -> None: ...


def emitter(board: Board, journal: Journal, observers: Iterable[Observer] = ()) -> Emit:
    """The run's one way to apply an event: on the board, then, when it changed
    something, into the journal and to every sink, so that what is shown, journaled
    and reported cannot disagree."""
    notify = tuple(o.event for o in observers)
    apply = board.apply
    record = journal.record

    def emit(event: Event) -> ServerState | None:
        new = apply(event)
        if new is not None:
            record(event)
            for observer in notify:
                observer(event, new)
        return new

    return emit
