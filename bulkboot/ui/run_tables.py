"""The tables of an ``apply`` or ``destroy`` report (see ``report_tables`` for the model).

Everything is read from the report's JSON, never recomputed differently: the timing
percentiles are the summary's, the request tables are counted from its ``requests``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bulkboot.engine.stats import percentile
from bulkboot.ui.report import PHASE_ORDER
from bulkboot.ui.report_requests import request_counts
from bulkboot.ui.report_tables import (
    Cell,
    Table,
    count_cell,
    fmt_count,
    number,
    seconds_cell,
    table,
    text_cell,
)

__all__ = [
    "AGGREGATES",
    "TIMINGS",
    "failure_groups",
    "request_counts_of",
    "route_of",
    "route_stats",
    "run_tables",
]

# The summary's timing distributions: (key in the summary, label).
TIMINGS = (
    ("auth_seconds", "authentication"),
    ("post_seconds", "POST /servers"),
    ("active_seconds", "time to ACTIVE"),
)
AGGREGATES = ("count", "min", "mean", "p50", "p90", "p95", "p99", "max")
_FAILED_NAMES_SHOWN = 20

# A path segment that is an identifier (a UUID, a long hex id, a number): grouped as {id}.
_ID = re.compile(r"/(?:[0-9a-fA-F-]{32,36}|[0-9a-fA-F]{16,}|\d+|req-[0-9a-fA-F-]+)(?=/|$)")
_NUMBER = (int, float)  # exact types: a bool is not a duration


def route_of(method: str, path: str) -> str:
    """``POST /compute/v2.1/servers`` stays; ``GET .../servers/<uuid>`` becomes
    ``GET .../servers/{id}`` so that one route is one row."""
    return f"{method} {_ID.sub('/{id}', path)}"


def _summary(document: Mapping[str, Any]) -> Mapping[str, Any]:
    summary = document.get("summary")
    return summary if isinstance(summary, Mapping) else {}


def _requests(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    requests = document.get("requests")
    return [r for r in requests if isinstance(r, Mapping)] if isinstance(requests, list) else []


def outcome_table(document: Mapping[str, Any]) -> Table:
    summary = _summary(document)
    found = summary.get("counts")
    counts: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    rows: list[list[Cell]] = [[text_cell("servers"), count_cell(summary.get("total"))]]
    for phase in PHASE_ORDER:
        value = counts.get(phase.value)
        if value:
            rows.append([text_cell(phase.value), count_cell(value)])
    if document.get("kind") == "apply":
        rows.append([text_cell("created by this run"), count_cell(summary.get("created"))])
        rows.append([text_cell("already there (left alone)"), count_cell(summary.get("existed"))])
    rows.append([text_cell("elapsed"), seconds_cell(summary.get("elapsed_seconds"))])
    verdict = (
        "interrupted"
        if summary.get("interrupted")
        else ("every server reached its goal" if summary.get("ok") else "failed")
    )
    rows.append([text_cell("result"), text_cell(verdict, "pass" if summary.get("ok") else "fail")])
    return table("outcome", "Outcome", ("", "servers"), rows)


def timings_table(document: Mapping[str, Any]) -> Table:
    summary = _summary(document)
    rows: list[list[Cell]] = []
    for key, label in TIMINGS:
        stats = summary.get(key)
        if not isinstance(stats, Mapping):
            continue
        row = [text_cell(label), count_cell(stats.get("count"))]
        row += [seconds_cell(stats.get(a)) for a in AGGREGATES[1:]]
        rows.append(row)
    return table(
        "timings",
        "Timings",
        ("measure", *AGGREGATES),
        rows,
        note="POST /servers: sent to answered (one per request; a multi-create is one); "
        "time to ACTIVE: create sent to ACTIVE seen by a poll round (± one poll interval).",
    )


def route_stats(requests: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per route: requests, final statuses, HTTP tries beyond the first, no answer, and
    the sorted durations. (Once per request of a 100,000-server report: kept lean.)"""
    routes: dict[str, dict[str, Any]] = {}
    known: dict[tuple[Any, Any], str] = {}
    for r in requests:
        key = (r.get("method"), r.get("path"))
        route = known.get(key)
        if route is None:
            route = known[key] = route_of(str(key[0] or "?"), str(key[1] or "?"))
        entry = routes.get(route)
        if entry is None:
            entry = routes[route] = {"count": 0, "status": Counter(), "retries": 0, "seconds": []}
        entry["count"] += 1
        status = r.get("status")
        entry["status"][str(status) if status is not None else "no answer"] += 1
        attempts = r.get("attempts")
        if type(attempts) is int and attempts > 1:
            entry["retries"] += attempts - 1
        seconds: Any = r.get("seconds")
        if type(seconds) in _NUMBER:
            entry["seconds"].append(float(seconds))
    for entry in routes.values():
        entry["seconds"].sort()
    return dict(sorted(routes.items(), key=lambda item: -item[1]["count"]))


def requests_table(document: Mapping[str, Any]) -> Table | None:
    requests = _requests(document)
    if not requests:
        return None
    rows: list[list[Cell]] = []
    for route, entry in route_stats(requests).items():
        ordered: Sequence[float] = entry["seconds"]
        statuses = ", ".join(
            f"{status} ×{fmt_count(n)}" for status, n in sorted(entry["status"].items())
        )
        rows.append(
            [
                text_cell(route),
                count_cell(entry["count"]),
                text_cell(statuses),
                count_cell(entry["retries"]),
                seconds_cell(percentile(ordered, 50) if ordered else None),
                seconds_cell(percentile(ordered, 99) if ordered else None),
                seconds_cell(ordered[-1] if ordered else None),
            ]
        )
    return table(
        "requests",
        "Requests by route and status",
        ("route", "requests", "final status", "retries", "p50", "p99", "max"),
        rows,
        numeric=(False, True, False, True, True, True, True),
        note="One row per route ({id} stands for any server id). A request's time runs "
        "from its first try to the end of its last, back-off and Retry-After waits included; "
        "retries are the HTTP tries beyond the first.",
    )


def request_counts_of(document: Mapping[str, Any]) -> dict[str, int | float]:
    """The report's request counts: its ``request_counts`` (version 2), or the same
    counted from ``requests`` (version 1), plus any counters the summary holds under
    ``requests``."""
    counts = document.get("request_counts")
    found: dict[str, int | float] = {}
    if isinstance(counts, Mapping):
        found.update({k: v for k, v in counts.items() if number(v) is not None})
    elif _requests(document):
        found.update(request_counts(_TimingView(r) for r in _requests(document)))
    extra = _summary(document).get("requests")
    if isinstance(extra, Mapping):
        for key, value in extra.items():
            if number(value) is not None and key not in found:
                found[str(key)] = value
    return found


class _TimingView:
    """A request of a saved report, seen as ``RequestTiming`` for ``request_counts``."""

    __slots__ = ("attempts", "method", "path", "status")

    def __init__(self, r: Mapping[str, Any]) -> None:
        self.method = str(r.get("method", ""))
        self.path = str(r.get("path", ""))
        status = r.get("status")
        self.status = status if isinstance(status, int) else None
        attempts = number(r.get("attempts"))
        self.attempts = int(attempts) if attempts is not None else 1


_COUNT_LABELS = {
    "requests": "requests sent (Keystone and Nova)",
    "retries": "HTTP tries beyond the first (429/503 waited out, errors retried)",
    "final_429": "requests whose last answer was 429 (rate limited)",
    "final_503": "requests whose last answer was 503 (unavailable)",
    "unanswered": "requests with no HTTP answer at all",
    "authentications": "token requests to Keystone",
    "reauthentications": "re-authentications (token requests after the first)",
    # the summary's counters (the cloud client's; Keystone's requests aside)
    "attempts": "HTTP sends besides Keystone's, retries included",
    "retried": "requests besides Keystone's sent more than once",
    "throttled": "429/503 answers waited out (turned away)",
    "throttled_requests": "requests turned away at least once",
    "waited_seconds": "seconds waited for 429/503 and back-offs (all requests' waits added up)",
}


def counts_table(document: Mapping[str, Any]) -> Table | None:
    counts = request_counts_of(document)
    if not counts:
        return None
    rows = [[text_cell(_COUNT_LABELS.get(k, k)), count_cell(v)] for k, v in counts.items()]
    return table("request_counts", "Requests in all", ("", "count"), rows)


def failure_groups(document: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Failures by message (as the summary groups them) with the names of the servers
    they hit, most frequent first."""
    groups: dict[str, list[str]] = defaultdict(list)
    failed = {"error", "timeout", "gone"}
    servers = document.get("servers")
    for server in servers if isinstance(servers, list) else ():
        if not isinstance(server, Mapping):
            continue
        if server.get("state") in failed or server.get("failure"):
            message = str(server.get("message") or server.get("state") or "failed")
            line = message.strip().splitlines()[0][:200] if message.strip() else "failed"
            prefix = {"quota": "quota: ", "refused": "refused: "}.get(
                str(server.get("failure")), ""
            )
            groups[prefix + line].append(str(server.get("name")))
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def failures_table(document: Mapping[str, Any]) -> Table | None:
    groups = failure_groups(document)
    if not groups:
        return None
    rows = []
    for message, names in groups:
        shown = ", ".join(names[:_FAILED_NAMES_SHOWN])
        if len(names) > _FAILED_NAMES_SHOWN:
            shown += f" and {len(names) - _FAILED_NAMES_SHOWN:,} more"
        rows.append([text_cell(message), count_cell(len(names)), text_cell(shown)])
    return table(
        "failures",
        "Failures by message",
        ("message", "servers", "which"),
        rows,
        numeric=(False, True, False),
    )


_NOT_SETTINGS = frozenset(
    {
        "started_at",
        "ended_at",
        "command_line",
        "region",
        "manifest",
        "cloud",
        "endpoint",
        "microversion",
    }
)


def settings_table(document: Mapping[str, Any]) -> Table | None:
    """Every other scalar of the report's ``run`` block (concurrency, rate, CPU, the
    create window...), so a setting added later shows without a change here."""
    run = document.get("run")
    if not isinstance(run, Mapping):
        return None
    rows: list[list[Cell]] = []
    for key, value in run.items():
        if key in _NOT_SETTINGS:
            continue
        if isinstance(value, Mapping):
            for inner, item in value.items():
                if not isinstance(item, Mapping | list):
                    rows.append([text_cell(f"{key}.{inner}"), _setting(inner, item)])
        elif not isinstance(value, list):
            rows.append([text_cell(key), _setting(key, value)])
    return table("settings", "Settings", ("setting", "value"), rows, numeric=(False, False))


def _setting(key: str, value: Any) -> Cell:
    if number(value) is not None:
        return Cell(text=f"{value:g}" if isinstance(value, float) else str(value), value=value)
    if value is None:
        return text_cell("no limit" if key == "rate" else "-")
    return text_cell(value)


def run_tables(document: Mapping[str, Any]) -> list[Table]:
    """Every table of an apply or destroy report, in the page's order."""
    found = [
        outcome_table(document),
        timings_table(document),
        counts_table(document),
        requests_table(document),
        failures_table(document),
        settings_table(document),
    ]
    return [t for t in found if t is not None]
