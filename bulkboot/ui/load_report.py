"""The load run's JSON document: ``--report FILE.json``, ``--html``, ``--format json``,
and the source of the terminal summary (``load_text``) and of the HTML page.

The schema is docs/load.md's. Its version is every report's (``ui.report.SCHEMA_VERSION``),
and so is its header, the ``run`` block: the cloud, endpoint and microversion here; the
UTC start and end, the masked command line, the region and the manifest's hash added
by the command (``commands/_reporting.RunRecord``), as for ``apply`` and ``destroy``.
Times are seconds, rates per second, shares between 0 and 1; every phase says where it
was measured from in docs/load.md. No secret reaches it: the cloud is named by its auth
URL, region and endpoint only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bulkboot import __version__
from bulkboot.engine.load.requests import RequestLog
from bulkboot.engine.load.result import LoadResult
from bulkboot.engine.load.snapshot import LoadHeader
from bulkboot.ui.report import SCHEMA_VERSION, RequestSummary

__all__ = ["MAX_SERIES_POINTS", "load_document", "offered_rate"]

MAX_SERIES_POINTS: Final = 600  # rate-over-time rows at most (wider windows beyond)

# How each phase is measured, for the summary and the report (docs/load.md has more).
PHASE_SOURCES: Final[Mapping[str, str]] = {
    "schedule_lag": "client: the iteration's start minus its intended start",
    "post": "client: POST /servers sent -> answered",
    "active": "poll: POST answered -> ACTIVE seen",
    "build": "cloud: Nova's created -> launched_at",
    "list": "client: GET /servers/detail, every page",
    "delete": "client: DELETE sent -> answered",
    "gone": "poll: DELETE answered -> deletion seen",
    "total": "intended start -> last phase done",
}
POLLED: Final = frozenset({"active", "gone", "total"})
CLOUD_TIMESTAMP_RESOLUTION: Final = 1.0  # Nova's ``created`` has whole seconds


def offered_rate(result: LoadResult) -> float | None:
    """Iterations per second the schedule offered over its window (None: a closed
    loop has no schedule)."""
    return result.schedule_window().offered


def _series(result: LoadResult) -> tuple[int, list[dict[str, Any]]]:
    rows = result.recorder.series()
    if not rows:
        return 1, []
    last = max(rows)
    window = max(1, -(-(last + 1) // MAX_SERIES_POINTS))
    merged: dict[int, list[int]] = {}
    for second, row in rows.items():
        bucket = merged.setdefault(second // window, [0, 0, 0, 0, 0])
        for i, value in enumerate(row):
            bucket[i] += value
    series = [
        {
            "t": bucket * window,
            "offered": round(row[0] / window, 6),
            "started": round(row[1] / window, 6),
            "completed": round(row[2] / window, 6),
            "failed": round(row[3] / window, 6),
            "dropped": round(row[4] / window, 6),
        }
        for bucket, row in sorted(merged.items())
    ]
    return window, series


def load_document(
    result: LoadResult,
    *,
    header: LoadHeader,
    requests: RequestLog,
    cloud: Mapping[str, Any],
    exit_code: int,
    client: RequestSummary | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The whole document (see docs/load.md for every key) but the header fields the
    command adds (``run``: start, end, command line, region, manifest). ``client``: the
    cloud client's account of the requests (retries, 429/503 answers, waits);
    ``error``: what stopped the run, when an error did."""
    c = result.counters
    plan = result.plan
    window, series = _series(result)
    schedule = result.schedule_window()
    total_requests = requests.total
    phases: dict[str, dict[str, Any]] = {
        name: dict(stats.as_dict()) for name, stats in result.phases.items()
    }
    for name, entry in phases.items():
        entry["measured"] = PHASE_SOURCES[name]
        if name in POLLED:
            entry["bound_seconds"] = round(result.bound, 6)
        elif name == "build":
            entry["bound_seconds"] = CLOUD_TIMESTAMP_RESOLUTION
    capacity = None
    if plan.capacity is not None:
        capacity = {"knee": result.knee, "steps": [step.as_dict() for step in result.steps]}
    return {
        "kind": "load",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "bulkboot", "version": __version__},
        "run_id": result.run_id,
        "fleet": header.fleet,
        "scenario": plan.scenario,
        "model": header.model,
        "settings": plan.as_dict(),
        "run": {
            "cloud": header.cloud,
            "endpoint": header.endpoint,
            "microversion": header.microversion,
        },
        "cloud": dict(cloud),
        "load_seconds": round(result.load_seconds, 6),
        "elapsed_seconds": round(result.elapsed, 6),
        "outcome": {
            "exit_code": exit_code,
            "interrupted": result.interrupted,
            "aborted_by": result.aborted_by,
            "thresholds_held": result.thresholds_held,
            "error": error,
        },
        "iterations": {
            "scheduled": c.scheduled,
            "started": c.started,
            "completed": c.completed,
            "failed": c.failed,
            "dropped": c.dropped,
            "late": c.late,
            "interrupted": c.interrupted,
        },
        "rate": {
            "offered": _rounded(schedule.offered),
            "achieved": _rounded(schedule.achieved),
            "schedule_seconds": round(schedule.seconds, 6),
            "drain": {
                "seconds": round(schedule.drain_seconds, 6),
                "completed": schedule.drain_completed,
            },
            "window_seconds": window,
            "series": series,
        },
        "polling": {
            "interval_seconds": result.poll_interval,
            "bound_seconds": round(result.bound, 6),
            "rounds": result.poll_rounds,
        },
        "phases": phases,
        "failures": [
            {"phase": phase, "message": message, "count": count}
            for (phase, message), count in result.recorder.errors.most_common()
        ],
        "requests": {
            "by_route": requests.by_route(),
            "total": total_requests,
            "attempts": requests.attempts,
            "setup": requests.setup,
            "per_iteration": _rounded(total_requests / c.started if c.started else None),
            "client": None if client is None else client.as_dict(),
        },
        "thresholds": [t.as_dict() for t in result.thresholds],
        "capacity": capacity,
        "cleanup": None if result.cleanup is None else result.cleanup.as_dict(),
        "lost_creates": list(result.unsure),
        "samples": [sample.as_dict(plan.phases) for sample in result.recorder.samples],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
