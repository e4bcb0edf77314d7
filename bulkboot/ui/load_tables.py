"""The tables of a ``load`` report (see ``report_tables`` for the model).

The aggregates, thresholds, failures and clean-up are the report's own (computed by
``bulkboot load`` from exact samples); the failures table adds which iterations each
message hit, from the samples. Keys are docs/load.md's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from bulkboot.pipeline.durations import format_seconds
from bulkboot.ui.load_series import late_after_of, load_samples, ordered_phases
from bulkboot.ui.report_tables import (
    Cell,
    Table,
    count_cell,
    fmt_rate,
    fmt_seconds,
    number,
    seconds_cell,
    table,
    text_cell,
)

__all__ = [
    "LOAD_AGGREGATES",
    "capacity_table",
    "cleanup_table",
    "client_table",
    "failures_table",
    "iterations_table",
    "load_tables",
    "phases_table",
    "post_status_table",
    "requests_table",
    "settings_table",
    "thresholds_table",
]

LOAD_AGGREGATES = ("count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max")
_HEADINGS = {"p999": "p99.9"}
_ITERATIONS = ("scheduled", "started", "completed", "failed", "dropped", "late", "interrupted")
_SHOWN = 20


def _mapping(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    return value if isinstance(value, Mapping) else {}


def iterations_table(document: Mapping[str, Any]) -> Table:
    iterations = _mapping(document, "iterations")
    rate = _mapping(document, "rate")
    rows: list[list[Cell]] = [[text_cell(k), count_cell(iterations.get(k))] for k in _ITERATIONS]
    for key in ("offered", "achieved"):
        value = rate.get(key)
        rows.append([text_cell(f"rate {key}"), Cell(text=fmt_rate(value), value=number(value))])
    if "schedule_seconds" in rate:
        drain = rate.get("drain")
        drain = drain if isinstance(drain, Mapping) else {}
        rows.append([text_cell("schedule (window)"), seconds_cell(rate.get("schedule_seconds"))])
        rows.append([text_cell("drain after it"), seconds_cell(drain.get("seconds"))])
        rows.append([text_cell("completed in the drain"), count_cell(drain.get("completed"))])
    return table(
        "iterations",
        "Iterations",
        ("", "value"),
        rows,
        note=f"late: started more than {fmt_seconds(late_after_of(document))} after its "
        "intended start (schedule_lag has every start's lag); dropped: could not start on "
        "time (--max-in-flight reached), counted and never queued. Rates are over the "
        "schedule's window: offered its intended starts, achieved its iterations that "
        "completed (whenever they ended), each per second of it; the drain (waiting for "
        "the iterations in flight after it) is apart.",
    )


def phases_table(document: Mapping[str, Any]) -> Table:
    phases = _mapping(document, "phases")
    rows: list[list[Cell]] = []
    for phase in ordered_phases(phases):
        aggregates = phases[phase]
        row = [text_cell(phase)]
        for name in LOAD_AGGREGATES:
            value = aggregates.get(name)
            row.append(count_cell(value) if name in ("count", "failed") else seconds_cell(value))
        rows.append(row)
    polling = _mapping(document, "polling")
    bound = number(polling.get("bound_seconds"))
    seen = (
        f"late by at most {fmt_seconds(bound)} (one poll interval and the longest round), "
        "never early"
        if bound is not None
        else "late by at most one poll interval and a round, never early"
    )
    return table(
        "phases",
        "Aggregates per phase",
        ("phase", *(_HEADINGS.get(a, a) for a in LOAD_AGGREGATES)),
        rows,
        note="From exact samples. total runs from the intended start; active, gone and "
        f"total are seen by polling: {seen}; build is Nova's created to launched_at "
        "(whole seconds).",
    )


def post_status_table(document: Mapping[str, Any]) -> Table | None:
    """``post`` per class of its answer (``phases.post.by_status``): refusals are timed
    and in ``post``'s percentiles, and counted in its ``failed`` besides."""
    post = _mapping(_mapping(document, "phases"), "post")
    by_status = post.get("by_status")
    if not isinstance(by_status, Mapping) or not by_status:
        return None
    aggregates = [a for a in LOAD_AGGREGATES if a != "failed"]
    rows: list[list[Cell]] = []
    for kind, entry in by_status.items():
        entry = entry if isinstance(entry, Mapping) else {}
        row = [text_cell(kind)]
        for name in aggregates:
            value = entry.get(name)
            row.append(count_cell(value) if name == "count" else seconds_cell(value))
        rows.append(row)
    return table(
        "load_post_status",
        "POST /servers by answer",
        ("answer", *(_HEADINGS.get(a, a) for a in aggregates)),
        rows,
        note="Every POST that got an answer is timed and in post's percentiles, refusals "
        "(4xx, 5xx) included; they are also counted in post's failed. recovered: the "
        "answer was lost and the server found by its name. A POST that got no answer is "
        "not timed (only counted failed).",
    )


def thresholds_table(document: Mapping[str, Any]) -> Table | None:
    thresholds = document.get("thresholds")
    if not isinstance(thresholds, list) or not thresholds:
        return None
    rows = []
    for item in thresholds:
        if not isinstance(item, Mapping):
            continue
        ok = item.get("ok") is True
        observed = item.get("observed")
        rows.append(
            [
                text_cell(item.get("expression")),
                Cell(text=_observed(observed, item.get("unit")), value=number(observed)),
                text_cell("pass" if ok else "FAIL", "pass" if ok else "fail"),
            ]
        )
    return table(
        "thresholds",
        "Thresholds",
        ("threshold", "observed", "result"),
        rows,
        numeric=(False, True, False),
    )


def _observed(value: Any, unit: Any) -> str:
    """As the threshold reads it: a duration, a share (``unit`` ratio) or a count."""
    if number(value) is None:
        return "nothing observed" if value is None else str(value)
    if unit == "s":
        return fmt_seconds(value)
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    return f"{value:g}"


def requests_table(document: Mapping[str, Any]) -> Table | None:
    requests = _mapping(document, "requests")
    by_route = requests.get("by_route")
    if not isinstance(by_route, Mapping) or not by_route:
        return None
    started = number(_mapping(document, "iterations").get("started"))
    rows = []
    for route, value in sorted(by_route.items()):
        entry = value if isinstance(value, Mapping) else {"count": value}
        count = entry.get("count")
        known = number(count)
        each = round(float(known) / float(started), 3) if known is not None and started else None
        statuses = entry.get("statuses")
        shown = (
            ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
            if isinstance(statuses, Mapping)
            else "-"
        )
        rows.append(
            [
                text_cell(route),
                count_cell(count),
                count_cell(each),
                text_cell(shown),
            ]
        )
    total = number(requests.get("per_iteration"))
    note = (
        "Every request the iterations, the polling and the clean-up sent (set-up aside), "
        "server ids as {id}; per iteration: over the iterations started; statuses: the "
        "last answer of each (none: no answer)"
    )
    if total is not None:
        note += f"; in all, {total:g} requests per iteration"
    return table(
        "load_requests",
        "Requests by route",
        ("route", "requests", "per iteration", "statuses"),
        rows,
        numeric=(False, True, True, False),
        note=note + ".",
    )


def client_table(document: Mapping[str, Any]) -> Table | None:
    """The cloud client's account: retries, 429/503 answers, time waited for them."""
    client = _mapping(document, "requests").get("client")
    if not isinstance(client, Mapping):
        return None
    rows = [
        [text_cell(label), count_cell(client.get(key))]
        for key, label in (
            ("requests", "requests"),
            ("attempts", "HTTP sends (retries included)"),
            ("retried", "requests sent more than once"),
            ("throttled", "answered 429/503 (turned away)"),
            ("throttled_requests", "requests turned away at least once"),
        )
    ]
    rows.append(
        [
            text_cell("waited (all requests' waits added up)"),
            seconds_cell(client.get("waited_seconds")),
        ]
    )
    return table(
        "load_client",
        "Requests in all (the cloud client's count)",
        ("", "value"),
        rows,
        note="The whole command, authentication and look-ups included, Keystone's "
        "requests aside; waits: Retry-After, back-off, queueing for a connection.",
    )


def failures_table(document: Mapping[str, Any]) -> Table | None:
    """The report's failures (phase, message, iterations), with which iterations."""
    which: dict[tuple[str, str], list[int]] = defaultdict(list)
    for sample in load_samples(document):
        if sample.failed:
            which[(sample.failed_phase or "total", sample.message or "")].append(sample.iteration)
    failures = document.get("failures")
    if not isinstance(failures, list) or not failures:
        return None
    rows = []
    for failure in failures:
        if not isinstance(failure, Mapping):
            continue
        phase, message = str(failure.get("phase")), str(failure.get("message") or "")
        iterations = which.get((phase, message), [])
        shown = ", ".join(str(i) for i in iterations[:_SHOWN])
        if len(iterations) > _SHOWN:
            shown += f" and {len(iterations) - _SHOWN:,} more"
        rows.append(
            [
                text_cell(phase),
                text_cell(message.strip().splitlines()[0][:200] if message.strip() else "-"),
                count_cell(failure.get("count")),
                text_cell(shown or "-"),
            ]
        )
    return table(
        "load_failures",
        "Failures by message",
        ("phase", "message", "iterations", "which"),
        rows,
        numeric=(False, False, True, False),
    )


def cleanup_table(document: Mapping[str, Any]) -> Table | None:
    """What the end of the run deleted, kept, and left behind (each named)."""
    if "cleanup" not in document:
        return None
    cleanup = document.get("cleanup")
    if not isinstance(cleanup, Mapping):
        return table(
            "load_cleanup",
            "Clean-up",
            ("", "value"),
            [[text_cell("clean-up"), text_cell("not done: the run was stopped at once")]],
            numeric=(False, False),
            note="bulkboot destroy on the manifest deletes what the run left.",
        )
    rows: list[list[Cell]] = [
        [text_cell("deleted at the end"), count_cell(cleanup.get("deleted"))],
        [text_cell("found by the run mark only"), count_cell(cleanup.get("found_by_mark"))],
    ]
    kept = cleanup.get("kept")
    if isinstance(kept, list) and kept:
        rows.append([text_cell("kept (--keep)"), count_cell(len(kept))])
    left = cleanup.get("left")
    for item in left if isinstance(left, list) else []:
        if isinstance(item, Mapping):
            rows.append(
                [
                    text_cell(f"LEFT BEHIND: {item.get('name')} ({item.get('id')})", "fail"),
                    text_cell(item.get("reason")),
                ]
            )
    if cleanup.get("listing_failed"):
        rows.append([text_cell("listing failed", "fail"), text_cell(cleanup["listing_failed"])])
    return table(
        "load_cleanup",
        "Clean-up",
        ("", "value"),
        rows,
        numeric=(False, False),
        note="Every server the run created and did not see gone is deleted at the end; "
        "what could not be is named here.",
    )


def capacity_table(document: Mapping[str, Any]) -> Table | None:
    """``--find-capacity``: each step's rate, whether it held, and the knee."""
    capacity = document.get("capacity")
    if not isinstance(capacity, Mapping):
        return None
    rows = []
    for step in capacity.get("steps") or []:
        if not isinstance(step, Mapping):
            continue
        iterations = step.get("iterations")
        iterations = iterations if isinstance(iterations, Mapping) else {}
        held = step.get("held") is True
        reasons = step.get("reasons")
        failed = (
            [str(r) for r in reasons]
            if isinstance(reasons, list)
            else [
                f"{t.get('expression')} failed"
                for t in step.get("thresholds") or []
                if isinstance(t, Mapping) and not t.get("ok")
            ]
        )
        rows.append(
            [
                Cell(text=fmt_rate(step.get("rate")), value=number(step.get("rate"))),
                Cell(text=fmt_rate(step.get("offered")), value=number(step.get("offered"))),
                Cell(text=fmt_rate(step.get("achieved")), value=number(step.get("achieved"))),
                count_cell(iterations.get("completed")),
                count_cell(iterations.get("failed")),
                count_cell(iterations.get("dropped")),
                text_cell("held" if held else "did not hold", "pass" if held else "fail"),
                text_cell(", ".join(failed) or "-"),
            ]
        )
    knee = number(capacity.get("knee"))
    return table(
        "load_capacity",
        "Capacity search",
        (
            "rate",
            "offered",
            "achieved",
            "completed",
            "failed",
            "dropped",
            "verdict",
            "why not",
        ),
        rows,
        numeric=(True, True, True, True, True, True, False, False),
        note=(
            f"knee: {fmt_rate(knee)} held (the highest rate that held)"
            if knee is not None
            else "knee: not found (the first step did not hold)"
        )
        + "; offered: the step's intended starts, achieved: its iterations that "
        "completed, each per second of the step's schedule.",
    )


def settings_table(document: Mapping[str, Any]) -> Table | None:
    settings = document.get("settings")
    if not isinstance(settings, Mapping) or not settings:
        return None
    rows = [
        [text_cell(k), text_cell(_setting(v))]
        for k, v in settings.items()
        if not isinstance(v, Mapping)
    ]
    return table(
        "load_settings",
        "Settings",
        ("setting", "value"),
        rows,
        numeric=(False, False),
        note="durations in seconds; stages as DURATION:TARGET.",
    )


def _setting(value: Any) -> str | None:
    """A setting as written: stages ``30s:1``, lists joined, nothing as "-"."""
    if isinstance(value, list):
        if not value:
            return None
        return ", ".join(
            f"{format_seconds(float(v['duration']))}:{v.get('target')}"
            if isinstance(v, Mapping) and number(v.get("duration"))
            else str(v)
            for v in value
        )
    return None if value is None else str(value)


def load_tables(document: Mapping[str, Any]) -> list[Table]:
    """Every table of a load report, in the page's order."""
    found = [
        iterations_table(document),
        phases_table(document),
        post_status_table(document),
        thresholds_table(document),
        capacity_table(document),
        requests_table(document),
        client_table(document),
        failures_table(document),
        cleanup_table(document),
        settings_table(document),
    ]
    return [t for t in found if t is not None]
