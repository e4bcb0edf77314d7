"""The tables of a ``load`` report (see ``report_tables`` for the model).

The aggregates and thresholds are the report's own (computed by ``bulkboot load`` from
exact samples); only the failures are grouped here, from the samples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from bulkboot.ui.load_series import load_samples, ordered_phases
from bulkboot.ui.report_tables import (
    Cell,
    Table,
    count_cell,
    fmt_rate,
    number,
    seconds_cell,
    table,
    text_cell,
)

__all__ = ["LOAD_AGGREGATES", "load_tables"]

LOAD_AGGREGATES = ("count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max")
_HEADINGS = {"p999": "p99.9"}
_ITERATIONS = ("scheduled", "started", "completed", "failed", "dropped", "late")
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
    return table(
        "iterations",
        "Iterations",
        ("", "value"),
        rows,
        note="late: started more than 1 ms after its intended start; dropped: could not "
        "start on time (--max-in-flight reached), counted and never queued.",
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
    return table(
        "phases",
        "Aggregates per phase",
        ("phase", *(_HEADINGS.get(a, a) for a in LOAD_AGGREGATES)),
        rows,
        note="total runs from the intended start; active and gone are seen by polling "
        "(± one poll interval).",
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
                Cell(text=_observed(observed), value=number(observed)),
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


def _observed(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if number(value) is not None else str(value)


def requests_table(document: Mapping[str, Any]) -> Table | None:
    requests = _mapping(document, "requests")
    by_route = requests.get("by_route")
    if not isinstance(by_route, Mapping) or not by_route:
        return None
    per_iteration = requests.get("per_iteration")
    completed = number(_mapping(document, "iterations").get("started"))
    rows = []
    for route, value in sorted(by_route.items()):
        count = value.get("count", value.get("requests")) if isinstance(value, Mapping) else value
        if isinstance(per_iteration, Mapping):
            each = per_iteration.get(route)
        elif number(count) is not None and completed:
            each = round(float(count) / float(completed), 3)
        else:
            each = None
        rows.append([text_cell(route), count_cell(count), count_cell(each)])
    total = number(per_iteration) if not isinstance(per_iteration, Mapping) else None
    note = "per iteration: requests of the route over the iterations started"
    if total is not None:
        note += f"; in all, {total:g} requests per iteration (the report's per_iteration)"
    return table(
        "load_requests",
        "Requests by route",
        ("route", "requests", "per iteration"),
        rows,
        note=note + ".",
    )


def failures_table(document: Mapping[str, Any]) -> Table | None:
    groups: dict[str, list[int]] = defaultdict(list)
    for sample in load_samples(document):
        if sample.failed:
            groups[(sample.error or "failed").strip().splitlines()[0][:200]].append(
                sample.iteration
            )
    if not groups:
        return None
    rows = []
    for message, iterations in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        shown = ", ".join(str(i) for i in iterations[:_SHOWN])
        if len(iterations) > _SHOWN:
            shown += f" and {len(iterations) - _SHOWN:,} more"
        rows.append([text_cell(message), count_cell(len(iterations)), text_cell(shown)])
    return table(
        "load_failures",
        "Failures by message",
        ("message", "iterations", "which"),
        rows,
        numeric=(False, True, False),
    )


def settings_table(document: Mapping[str, Any]) -> Table | None:
    settings = document.get("settings")
    if not isinstance(settings, Mapping) or not settings:
        return None
    rows = [
        [text_cell(k), text_cell(v if not isinstance(v, list) else ", ".join(map(str, v)))]
        for k, v in settings.items()
        if not isinstance(v, Mapping)
    ]
    return table("load_settings", "Settings", ("setting", "value"), rows, numeric=(False, False))


def load_tables(document: Mapping[str, Any]) -> list[Table]:
    """Every table of a load report, in the page's order."""
    found = [
        iterations_table(document),
        phases_table(document),
        thresholds_table(document),
        requests_table(document),
        failures_table(document),
        settings_table(document),
    ]
    return [t for t in found if t is not None]
