"""The sections of an ``apply`` or ``destroy`` page: servers by state over time, work in
flight and the create window, POST latency and time to ACTIVE, requests, failures,
settings. Charts read the report's sampled ``series``; a version 1 report has none,
and its page says so where the chart would be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bulkboot.ui.html.binning import bin_values, shared_edges
from bulkboot.ui.html.numbers import series_table
from bulkboot.ui.html.page import Section, figure, render_table
from bulkboot.ui.html.palette import PHASE_COLORS, color_of
from bulkboot.ui.html.svg import Bars, Layer, Line, histogram, line_chart, stacked_chart
from bulkboot.ui.report import PHASE_ORDER
from bulkboot.ui.report_tables import Table, fmt_seconds, number
from bulkboot.ui.run_tables import (
    counts_table,
    failures_table,
    outcome_table,
    requests_table,
    settings_table,
    timings_table,
)

__all__ = ["post_latencies", "run_sections", "series_of", "time_to_active"]

_NUMBER = (int, float)  # exact types: a bool is not a duration
_NO_SERIES = (
    '<p class="note">This report has no time series (written before bulkboot sampled '
    "runs: schema version 1, or a run that ended before it began).</p>"
)


def series_of(document: Mapping[str, Any]) -> tuple[list[float], dict[str, list[float]]]:
    """The sampled times and columns; empty when the report has none."""
    series = document.get("series")
    if not isinstance(series, Mapping):
        return [], {}
    times = [float(t) for t in series.get("t", []) if number(t) is not None]
    columns = series.get("columns")
    found: dict[str, list[float]] = {}
    if isinstance(columns, Mapping):
        for name, values in columns.items():
            if isinstance(values, list) and len(values) == len(times):
                found[str(name)] = [float(v) if number(v) is not None else 0.0 for v in values]
    return times, found


def post_latencies(document: Mapping[str, Any]) -> list[float]:
    """One POST /servers latency per create request: from ``requests`` when the report
    has them (a multi-create is one request), else from each server."""
    requests = document.get("requests")
    if isinstance(requests, list):
        found = [
            float(r["seconds"])
            for r in requests
            if type(r) is dict
            and r.get("method") == "POST"
            and str(r.get("path", "")).endswith("/servers")
            and type(r.get("seconds")) in _NUMBER
        ]
        if found:
            return found
    return _server_values(document, "post_seconds", states=None)


def time_to_active(document: Mapping[str, Any]) -> list[float]:
    return _server_values(document, "active_seconds", states={"active"})


def _server_values(
    document: Mapping[str, Any], key: str, *, states: set[str] | None
) -> list[float]:
    servers = document.get("servers")
    out: list[float] = []
    for server in servers if isinstance(servers, list) else ():
        if type(server) is not dict:
            continue
        if states is not None and server.get("state") not in states:
            continue
        value: Any = server.get(key)
        if type(value) in _NUMBER:
            out.append(float(value))
    return out


def _states_section(document: Mapping[str, Any]) -> Section:
    times, columns = series_of(document)
    layers = [
        Layer(key=p.value, label=p.value, color=PHASE_COLORS[p.value], values=columns[p.value])
        for p in PHASE_ORDER
        if p.value in columns
    ]
    if not times or not layers:
        return Section(key="states", title="Servers by state over time", body=_NO_SERIES)
    svg = stacked_chart(
        "states",
        "Servers by state over time",
        times=times,
        layers=layers,
        x_label="time since the run began",
        y_label="servers",
    )
    numbers = series_table(
        "states_numbers",
        "Servers by state",
        times,
        [(layer.label, layer.values) for layer in layers],
    )
    caption = (
        "Each phase's count at each sample (stacked). Sampled every "
        f"{_interval(document)} (the interval doubles as a run grows, to keep the report "
        "small); a change shorter than that may fall between two samples."
    )
    return Section(
        key="states", title="Servers by state over time", body=figure(svg, caption, numbers)
    )


def _interval(document: Mapping[str, Any]) -> str:
    series = document.get("series")
    interval = series.get("interval_seconds") if isinstance(series, Mapping) else None
    return fmt_seconds(interval) if number(interval) is not None else "interval"


def _flight_section(document: Mapping[str, Any]) -> Section:
    times, columns = series_of(document)
    destroy = document.get("kind") == "destroy"
    work = "deleting" if destroy else "creating"
    noun = "deletes" if destroy else "creates"
    title = f"{noun.capitalize()} in flight" + ("" if destroy else " and the create window")
    lines = []
    if work in columns:
        lines.append(
            Line(
                key=work,
                label=f"{noun} in flight",
                color=PHASE_COLORS[work],
                points=list(zip(times, columns[work], strict=True)),
            )
        )
    if "create_window" in columns:
        lines.append(
            Line(
                key="create_window",
                label="create window",
                color=color_of("window", 0),
                points=list(zip(times, columns["create_window"], strict=True)),
                dashed=True,
            )
        )
    if not lines:
        return Section(key="flight", title=title, body=_NO_SERIES)
    svg = line_chart(
        "flight",
        title,
        lines=lines,
        x_label="time since the run began",
        x_kind="elapsed",
        y_label=noun,
        y_kind="count",
        step=True,
        x_range=(0.0, max(times)),
    )
    caption = f"{noun.capitalize()} sent and not yet answered at each sample" + (
        "; the create window is how many the client allowed in flight then "
        "(at most --concurrency; smaller while the API was queueing)."
        if not destroy
        else "."
    )
    numbers = series_table(
        "flight_numbers",
        title,
        times,
        [(line.label, [y for _, y in line.points]) for line in lines],
    )
    return Section(key="flight", title=title, body=figure(svg, caption, numbers))


def _histogram(key: str, title: str, values: Sequence[float], stats: Any, x_label: str) -> str:
    edges, cut = shared_edges([values])
    if not edges:
        return f'<p class="note">{title}: no values in this report.</p>'
    binned = bin_values(values, edges)
    markers = []
    if isinstance(stats, Mapping):
        for name in ("p50", "p90", "p99"):
            value = number(stats.get(name))
            if value is not None and value <= edges[-1]:
                markers.append((name, float(value)))
    svg = histogram(
        key,
        title,
        edges=edges,
        bars=[Bars(key=key, label=title, color=PHASE_COLORS["active"], counts=binned.counts)],
        x_label=x_label,
        markers=markers,
    )
    caption = (
        f"{len(values):,} values in {len(edges) - 1} equal bins; "
        "dashed: the summary's p50, p90, p99."
    )
    if cut:
        caption += (
            f" {binned.hidden:,} values above {fmt_seconds(edges[-1])} (the tail past 4x the p99) "
            f"are not drawn; the largest is {fmt_seconds(max(values))}."
        )
    return figure(svg, caption)


def _timings_section(document: Mapping[str, Any]) -> Section:
    summary = document.get("summary")
    summary = summary if isinstance(summary, Mapping) else {}
    parts = []
    if document.get("kind") == "apply":
        parts.append(
            _histogram(
                "post_histogram",
                "POST /servers latency",
                post_latencies(document),
                summary.get("post_seconds"),
                "latency",
            )
        )
        parts.append(
            _histogram(
                "active_histogram",
                "Time to ACTIVE",
                time_to_active(document),
                summary.get("active_seconds"),
                "create sent to ACTIVE seen",
            )
        )
    parts.append(render_table(timings_table(document)))
    return Section(key="timings", title="Timings", body="\n".join(parts))


def _tables_section(key: str, title: str, tables: Sequence[Table | None], empty: str) -> Section:
    shown = [render_table(t) for t in tables if t is not None]
    return Section(key=key, title=title, body="\n".join(shown) or f'<p class="note">{empty}</p>')


def run_sections(document: Mapping[str, Any]) -> list[Section]:
    """Every section of an apply or destroy page, in order."""
    return [
        Section(key="outcome", title="Outcome", body=render_table(outcome_table(document))),
        _states_section(document),
        _flight_section(document),
        _timings_section(document),
        _tables_section(
            "requests",
            "Requests",
            [counts_table(document), requests_table(document)],
            "This report holds no request timings (written without --report).",
        ),
        _tables_section("failures", "Failures", [failures_table(document)], "No server failed."),
        _tables_section(
            "settings", "Settings", [settings_table(document)], "No settings in this report."
        ),
    ]
