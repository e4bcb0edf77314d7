"""One iteration's record: its schedule, its phase timings, its outcome.

A ``Sample`` is filled in by its iteration as the phases pass (one object per
iteration, written by one task), then handed to the recorder once, when the outcome
is known; from then on nothing changes it. Not a frozen dataclass: an iteration sets
a dozen fields, and a copy per field would cost more than the iteration's bookkeeping.

Times are the run's clock (``time.monotonic``, or a test's), in seconds; ``intended``
and ``started`` are offsets from the run's start, phases are durations.
"""

from __future__ import annotations

from typing import Any, Final, Literal

__all__ = ["OUTCOMES", "Outcome", "Sample", "status_class"]

Outcome = Literal["completed", "failed", "interrupted", "dropped"]
OUTCOMES: Final = ("completed", "failed", "interrupted", "dropped")


def status_class(status: int | None) -> str:
    """A POST's answer by class, as ``phases.post.by_status`` groups them: ``2xx``,
    ``4xx``, ``5xx`` (any class), or ``recovered`` (no answer read: the server was found
    by its name after its answer was lost)."""
    if status is None:
        return "recovered"
    return f"{status // 100}xx"


class Sample:
    """One iteration (see the module docstring)."""

    __slots__ = (
        "active",
        "attempts",
        "build",
        "delete",
        "ended",
        "failed_phase",
        "gone",
        "index",
        "intended",
        "list",
        "message",
        "name",
        "outcome",
        "post",
        "post_status",
        "request_id",
        "schedule_lag",
        "server_id",
        "started",
        "step",
        "total",
    )

    def __init__(self, index: int, intended: float, step: int = 0) -> None:
        self.index = index
        self.intended = intended
        self.step = step
        self.started: float | None = None
        self.ended: float | None = None
        self.name: str | None = None
        self.server_id: str | None = None
        self.request_id: str | None = None
        self.attempts = 0
        self.schedule_lag: float | None = None
        self.post: float | None = None
        # the POST's answer: its HTTP status; None when none came (a create found by
        # its name after its answer was lost, or a POST that got no answer at all)
        self.post_status: int | None = None
        self.active: float | None = None
        self.build: float | None = None
        self.list: float | None = None
        self.delete: float | None = None
        self.gone: float | None = None
        self.total: float | None = None
        self.outcome: Outcome | None = None
        self.failed_phase: str | None = None
        self.message: str | None = None

    def fail(self, phase: str, message: str) -> None:
        """The iteration failed in ``phase`` (the first failure is the one kept)."""
        if self.outcome is None:
            self.outcome = "failed"
            self.failed_phase = phase
            self.message = message

    def phase(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value

    def as_dict(self, phases: tuple[str, ...], digits: int = 6) -> dict[str, Any]:
        """The sample as the report's ``samples`` list holds it."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "index": self.index,
            "step": self.step,
            "name": self.name,
            "server_id": self.server_id,
            "request_id": self.request_id,
            "intended": rounded(self.intended),
            "started": rounded(self.started),
            "ended": rounded(self.ended),
            "outcome": self.outcome,
            "failed_phase": self.failed_phase,
            "message": self.message,
            "post_attempts": self.attempts or None,
            "post_status": self.post_status,
            "phases": {name: rounded(getattr(self, name)) for name in phases},
        }
