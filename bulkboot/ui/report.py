"""Summaries, percentiles and the JSON results of a run (no rich here: plain data).

The same ``Summary`` feeds the live view's last frame, the plain sink's last lines,
``--format json`` and ``--report FILE.json``, so they cannot disagree.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.outfile import write_atomically
from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from bulkboot.cloud.timing import RequestTiming
    from bulkboot.engine.board import RunHeader

__all__ = [
    "Stats",
    "Summary",
    "format_summary",
    "percentile",
    "results_document",
    "server_result",
    "stats",
    "summarize",
    "write_report",
]

PHASE_ORDER = (
    Phase.QUEUED,
    Phase.CREATING,
    Phase.BUILDING,
    Phase.ACTIVE,
    Phase.ERROR,
    Phase.TIMEOUT,
    Phase.GONE,
    Phase.DELETING,
    Phase.DELETED,
)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolating linearly between
    ranks (the same definition as numpy's default and Rally's tables)."""
    if not ordered:
        raise ValueError("percentile of no values")
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Distribution of one timing, in seconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "p50": round(self.p50, 6),
            "p90": round(self.p90, 6),
            "p99": round(self.p99, 6),
            "max": round(self.max, 6),
        }


def stats(values: Iterable[float]) -> Stats | None:
    """p50/p90/p99/max of ``values``; ``None`` when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return Stats(
        count=len(ordered),
        p50=percentile(ordered, 50),
        p90=percentile(ordered, 90),
        p99=percentile(ordered, 99),
        max=ordered[-1],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """The end of a run in numbers."""

    command: str
    fleet: str
    total: int
    counts: Mapping[str, int]  # phase value -> servers, every phase present
    existed: int  # already there before the run
    created: int  # creates accepted by Nova in this run
    elapsed: float
    auth: Stats | None
    post: Stats | None
    active: Stats | None
    failures: tuple[tuple[str, int], ...]  # (message, servers), most frequent first
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every server reached the command's goal."""
        goal = "deleted" if self.command == "destroy" else "active"
        return self.counts.get(goal, 0) == self.total and not self.interrupted


_FAILED = frozenset({Phase.ERROR, Phase.TIMEOUT, Phase.GONE})
_DELETE_PHASES = frozenset({Phase.DELETING, Phase.DELETED})


def summarize(
    states: Iterable[ServerState],
    *,
    command: str,
    fleet: str,
    elapsed: float,
    auth_seconds: Iterable[float] = (),
    interrupted: bool = False,
) -> Summary:
    counts = dict.fromkeys((p.value for p in PHASE_ORDER), 0)
    # A failed server that ``apply --rollback-on-failure`` then deleted keeps its
    # failure on its state: it is still a failure of the run. (``destroy`` deleting a
    # server in ERROR is its goal met, not a failure.)
    rolled_back = command == "apply"
    posts: list[float] = []
    # The servers of one multi-create share their request's send time and POST latency:
    # it is one POST, counted once (a state's key is its request).
    requests: set[tuple[str, float, float]] = set()
    actives: list[float] = []
    failures: Counter[str] = Counter()
    existed = created = total = 0
    for state in states:
        total += 1
        counts[state.phase.value] += 1
        if state.existed:
            existed += 1
        if state.post_seconds is not None:
            if state.sent_at is None:
                posts.append(state.post_seconds)
            else:
                request = (state.group, state.sent_at, state.post_seconds)
                if request not in requests:
                    requests.add(request)
                    posts.append(state.post_seconds)
        if state.server_id is not None and not state.existed and state.attempt:
            created += 1
        if state.active_seconds is not None and state.phase is Phase.ACTIVE:
            actives.append(state.active_seconds)
        if state.phase in _FAILED or (
            rolled_back and state.failure is not None and state.phase in _DELETE_PHASES
        ):
            failures[_failure_line(state)] += 1
    return Summary(
        command=command,
        fleet=fleet,
        total=total,
        counts=counts,
        existed=existed,
        created=created,
        elapsed=elapsed,
        auth=stats(auth_seconds),
        post=stats(posts),
        active=stats(actives),
        failures=tuple(sorted(failures.items(), key=lambda item: (-item[1], item[0]))),
        interrupted=interrupted,
    )


def _failure_line(state: ServerState) -> str:
    message = (state.message or state.phase.value).strip().splitlines()[0][:200]
    prefix = {"quota": "quota: ", "refused": "refused: ", "timeout": "", "gone": ""}
    return prefix.get(state.failure or "", "") + message


def _seconds(value: float) -> str:
    if value < 1.0:
        return f"{value * 1000:.0f}ms"
    if value < 120.0:
        return f"{value:.2f}s"
    return f"{value / 60:.1f}min"


def format_stats(label: str, value: Stats | None) -> str:
    if value is None:
        return f"{label}: -"
    return (
        f"{label}: p50 {_seconds(value.p50)}  p90 {_seconds(value.p90)}  "
        f"p99 {_seconds(value.p99)}  max {_seconds(value.max)}  (n={value.count})"
    )


def format_summary(summary: Summary) -> list[str]:
    """The summary as plain lines (the plain sink prints them; the live view too)."""
    shown = ", ".join(f"{count} {phase}" for phase, count in summary.counts.items() if count)
    verb = "destroyed" if summary.command == "destroy" else "booted"
    lines = [
        f"{summary.fleet}: {summary.total} servers in {_seconds(summary.elapsed)}: "
        f"{shown or 'nothing to do'}"
    ]
    if summary.command == "apply":
        lines.append(
            f"{summary.created} created by this run, {summary.existed} already existed (left alone)"
        )
    if summary.interrupted:
        lines.append("interrupted: no new creates were sent after Ctrl-C")
    lines.append(format_stats("authentication", summary.auth))
    if summary.command == "apply":
        lines.append(format_stats("POST /servers", summary.post))
        lines.append(format_stats("time to ACTIVE", summary.active))
    if summary.failures:
        lines.append("failures:")
        lines.extend(f"  {count} x {printable(message)}" for message, count in summary.failures)
    elif summary.ok and summary.total:
        lines.append(f"all {summary.total} servers {verb}")
    return lines


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def server_result(state: ServerState) -> dict[str, Any]:
    """One server's line in ``--format json`` and the report."""
    return {
        "name": state.name,
        "id": state.server_id,
        "state": state.phase.value,
        "status": state.status,
        "existed": state.existed,
        "attempts": state.attempt,
        "http_attempts": state.http_attempts,
        "post_seconds": _rounded(state.post_seconds),
        "active_seconds": _rounded(state.active_seconds),
        "failure": state.failure,
        "message": state.message,
    }


def _summary_dict(summary: Summary) -> dict[str, Any]:
    return {
        "command": summary.command,
        "fleet": summary.fleet,
        "ok": summary.ok,
        "interrupted": summary.interrupted,
        "total": summary.total,
        "counts": dict(summary.counts),
        "existed": summary.existed,
        "created": summary.created,
        "elapsed_seconds": round(summary.elapsed, 3),
        "auth_seconds": None if summary.auth is None else summary.auth.as_dict(),
        "post_seconds": None if summary.post is None else summary.post.as_dict(),
        "active_seconds": None if summary.active is None else summary.active.as_dict(),
        "failures": [{"message": m, "servers": c} for m, c in summary.failures],
    }


def results_document(
    summary: Summary,
    states: Iterable[ServerState],
    *,
    header: RunHeader | None = None,
    requests: Sequence[RequestTiming] | None = None,
) -> dict[str, Any]:
    """The JSON document: summary and per-server results (plus every request's timing
    and the run's header for ``--report``)."""
    document: dict[str, Any] = {"summary": _summary_dict(summary)}
    if header is not None:
        document["run"] = {
            "cloud": header.cloud,
            "endpoint": header.endpoint,
            "microversion": header.microversion,
            "concurrency": header.concurrency,
            "rate": header.rate,
        }
    document["servers"] = [server_result(s) for s in states]
    if requests is not None:
        start = min((r.started for r in requests), default=0.0)
        document["requests"] = [
            {
                "method": r.method,
                "path": r.path,
                "status": r.status,
                "attempts": r.attempts,
                "started": round(r.started - start, 6),
                "seconds": round(r.seconds, 6),
            }
            for r in requests
        ]
    return document


def write_report(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    """Write the report atomically to a regular file (see ``ui.outfile``); a failure is
    an ``OutputError`` (exit 1: the run's work is done and journaled)."""
    data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    write_atomically(path, data, what="the report")
