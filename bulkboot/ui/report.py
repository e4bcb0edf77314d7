"""Summaries, percentiles and the JSON results of a run (no rich here: plain data).

The same ``Summary`` feeds the live view's last frame, the plain sink's last lines,
``--format json`` and ``--report FILE.json``, so they cannot disagree. Every document
carries ``schema_version`` (``SCHEMA_VERSION``; docs/reports.md), its ``kind`` and the
tool's version, so that ``bulkboot report`` can tell what it reads.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bulkboot import __version__
from bulkboot.engine.state import Phase, ServerState
from bulkboot.engine.stats import percentile
from bulkboot.ui.outfile import write_atomically
from bulkboot.ui.report_requests import request_counts
from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from bulkboot.cloud.timing import RequestTiming, RequestTotals
    from bulkboot.engine.board import RunHeader

__all__ = [
    "CHANGES",
    "SCHEMA_VERSION",
    "RequestSummary",
    "Stats",
    "Summary",
    "format_changes",
    "format_summary",
    "report_text",
    "results_document",
    "server_result",
    "stats",
    "summarize",
    "waits_matter",
    "write_report",
]

SCHEMA_VERSION = 2
"""The version of the report documents this bulkboot writes (1: before the version was
written; see docs/reports.md for what each adds)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Distribution of one timing, in seconds (the aggregates ``load`` reports per phase,
    so that ``report compare`` reads them alike)."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    min: float = 0.0
    mean: float = 0.0
    p95: float = 0.0
    p999: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "min": round(self.min, 6),
            "mean": round(self.mean, 6),
            "p50": round(self.p50, 6),
            "p90": round(self.p90, 6),
            "p95": round(self.p95, 6),
            "p99": round(self.p99, 6),
            "p999": round(self.p999, 6),
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
        min=ordered[0],
        mean=math.fsum(ordered) / len(ordered),
        p95=percentile(ordered, 95),
        p999=percentile(ordered, 99.9),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSummary:
    """The run's API requests (Keystone's aside), as the cloud client counted them.

    ``requests``: logical requests; ``attempts``: HTTP sends, retries included;
    ``retried``: requests sent more than once; ``throttled``: 429/503 answers, on
    ``throttled_requests`` requests; ``waited``: seconds the client spent waiting
    instead of talking to the API (``Retry-After``, back-off, queueing for a connection
    or a ``--rate`` slot), every request's waits added up.
    """

    requests: int
    attempts: int
    retried: int
    throttled: int
    throttled_requests: int
    waited: float

    @classmethod
    def of(cls, totals: RequestTotals) -> RequestSummary:
        return cls(
            requests=totals.requests,
            attempts=totals.attempts,
            retried=totals.retried,
            throttled=totals.throttled,
            throttled_requests=totals.throttled_requests,
            waited=totals.waited,
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "attempts": self.attempts,
            "retried": self.retried,
            "throttled": self.throttled,
            "throttled_requests": self.throttled_requests,
            "waited_seconds": round(self.waited, 3),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """The end of a run in numbers.

    ``post``: POST /servers from sending to the answer, waits included; of it,
    ``post_wait`` the client's own waits and ``post_answer`` the answer time of the
    attempt that succeeded (see ``RequestTiming``). ``requests``: the API requests.
    """

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
    post_answer: Stats | None = None
    post_wait: Stats | None = None
    requests: RequestSummary | None = None
    # apply: what it changed besides creating, and what it left as it was (``CHANGES``)
    changes: Mapping[str, int] | None = None

    @property
    def ok(self) -> bool:
        """True when every server reached the command's goal (and, for ``apply``, every
        replacement and deletion it was asked for was made)."""
        goal = "deleted" if self.command == "destroy" else "active"
        changes = self.changes or {}
        failed = sum(
            changes.get(key, 0) for key in ("replace_failed", "replace_held", "prune_failed")
        )
        return self.counts.get(goal, 0) == self.total and not self.interrupted and not failed


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
    requests: RequestSummary | None = None,
    changes: Mapping[str, int] | None = None,
) -> Summary:
    counts = dict.fromkeys((p.value for p in PHASE_ORDER), 0)
    # A failed server that ``apply --rollback-on-failure`` then deleted keeps its
    # failure on its state: it is still a failure of the run. (``destroy`` deleting a
    # server in ERROR is its goal met, not a failure.)
    rolled_back = command == "apply"
    posts: list[float] = []
    answers: list[float] = []
    waits: list[float] = []
    # The servers of one multi-create share their request's send time and POST latency:
    # it is one POST, counted once (a state's key is its request).
    seen: set[tuple[str, float | None, float]] = set()
    actives: list[float] = []
    failures: Counter[str] = Counter()
    existed = created = total = 0
    for state in states:
        total += 1
        counts[state.phase.value] += 1
        if state.existed:
            existed += 1
        if state.post_seconds is not None:
            request = (state.group, state.sent_at, state.post_seconds)
            if state.sent_at is None or request not in seen:
                if state.sent_at is not None:
                    seen.add(request)
                posts.append(state.post_seconds)
                if state.post_answer_seconds is not None:
                    answers.append(state.post_answer_seconds)
                if state.post_wait_seconds is not None:
                    waits.append(state.post_wait_seconds)
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
        post_answer=stats(answers),
        post_wait=stats(waits),
        requests=requests,
        changes=changes,
    )


# What each count of ``Summary.changes`` says, in the order the summary line says it.
CHANGES: Mapping[str, str] = {
    "replaced": "replaced (--replace-changed)",
    "replace_failed": "not replaced (the new server failed; the old one kept)",
    "replace_held": "not replaced (held after a failure in their group)",
    "pruned": "deleted (--prune)",
    "prune_failed": "not deleted (--prune)",
    "extra_kept": "extra, kept (not in the manifest: --prune deletes them)",
    "changed_kept": "changed, kept (differ from the manifest: --replace-changed replaces them)",
}


def format_changes(summary: Summary) -> str | None:
    """``2 replaced (--replace-changed), 3 extra, kept (...)``: None when nothing to say."""
    changes = summary.changes or {}
    parts = [f"{changes[key]} {words}" for key, words in CHANGES.items() if changes.get(key)]
    return ", ".join(parts) if parts else None


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


def waits_matter(summary: Summary) -> bool:
    """Whether some create waited a millisecond or more (then the POST time is shown
    split into the answer and the wait)."""
    return summary.post_wait is not None and summary.post_wait.max >= 0.001


def format_requests(requests: RequestSummary) -> str:
    """One line on the API requests: retries, 429/503 answers, time waited for them."""
    line = f"API requests: {requests.requests} (Keystone's aside), {requests.attempts} sent"
    if requests.retried:
        line += f"; {requests.retried} retried"
    if requests.throttled:
        line += (
            f"; {requests.throttled} answered 429/503 (turned away), on "
            f"{requests.throttled_requests} requests"
        )
    if requests.waited >= 0.0005:
        line += f"; {_seconds(requests.waited)} waited (all requests' waits added up)"
    return line


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
        changed = format_changes(summary)
        if changed is not None:
            lines.append(changed)
    if summary.interrupted:
        lines.append("interrupted: no new creates were sent after Ctrl-C")
    lines.append(format_stats("authentication", summary.auth))
    if summary.command == "apply":
        lines.append(format_stats("POST /servers", summary.post))
        if waits_matter(summary):
            lines.append(format_stats("  answer (the attempt that took)", summary.post_answer))
            lines.append(format_stats("  waited (429/503 back-off, queueing)", summary.post_wait))
        lines.append(format_stats("time to ACTIVE", summary.active))
    if summary.requests is not None:
        lines.append(format_requests(summary.requests))
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
        "throttled": state.throttled,
        "post_seconds": _rounded(state.post_seconds),
        "post_wait_seconds": _rounded(state.post_wait_seconds),
        "post_answer_seconds": _rounded(state.post_answer_seconds),
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
        "post_answer_seconds": None
        if summary.post_answer is None
        else summary.post_answer.as_dict(),
        "post_wait_seconds": None if summary.post_wait is None else summary.post_wait.as_dict(),
        "active_seconds": None if summary.active is None else summary.active.as_dict(),
        "requests": None if summary.requests is None else summary.requests.as_dict(),
        "failures": [{"message": m, "servers": c} for m, c in summary.failures],
        **({} if summary.changes is None else {"changes": dict(summary.changes)}),
    }


def results_document(
    summary: Summary,
    states: Iterable[ServerState],
    *,
    header: RunHeader | None = None,
    requests: Sequence[RequestTiming] | None = None,
) -> dict[str, Any]:
    """The JSON document: summary and per-server results (plus every request's timing,
    their counts and the run's header for ``--report``)."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": summary.command,
        "tool": {"name": "bulkboot", "version": __version__},
        "summary": _summary_dict(summary),
    }
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
                "throttled": r.throttled,
                "started": round(r.started - start, 6),
                "seconds": round(r.seconds, 6),
                "waited": round(r.waited, 6),
                "answer_seconds": _rounded(r.answer_seconds),
            }
            for r in requests
        ]
        document["request_counts"] = request_counts(requests)
    return document


def report_text(document: Mapping[str, Any]) -> str:
    """The report as JSON people can read and grep, at a size a 100,000-server run can
    afford: objects indented, each item of a list of objects on one line (one server,
    one request), lists of numbers on one line (a series' column)."""
    return _format(document, "") + "\n"


def _format(value: Any, indent: str) -> str:
    if isinstance(value, Mapping) and value:
        inner = indent + "  "
        items = ",\n".join(f"{inner}{json.dumps(k)}: {_format(v, inner)}" for k, v in value.items())
        return "{\n" + items + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        inner = indent + "  "
        # compact inside an item: a 100,000-server report saves ~2 bytes per key
        encode = json.JSONEncoder(separators=(",", ":")).encode
        return "[\n" + ",\n".join(inner + encode(v) for v in value) + "\n" + indent + "]"
    return json.dumps(value, separators=(", ", ": "))


def write_report(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    """Write the report atomically to a regular file (see ``ui.outfile``); a failure is
    an ``OutputError`` (exit 1: the run's work is done and journaled)."""
    write_atomically(path, report_text(document).encode("utf-8"), what="the report")
