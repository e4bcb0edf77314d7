"""The sections of a ``load`` page: offered against achieved rate, in flight, late and
dropped over time; per phase, its p50/p95/p99 over time with failures marked and its
histogram; the aggregates to p99.9; thresholds; the capacity search's steps; requests
per iteration by route and the client's retries and 429/503 answers; failures; what
the clean-up deleted and left.

The time charts are derived from the report's samples (``ui.load_series``); the
aggregates and thresholds tables are the report's own numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bulkboot.ui.html.binning import bin_values, shared_edges
from bulkboot.ui.html.numbers import series_table
from bulkboot.ui.html.page import Section, figure, render_table
from bulkboot.ui.html.palette import PHASE_COLORS, QUANTILE_COLORS
from bulkboot.ui.html.svg import Bars, Line, Marks, histogram, line_chart
from bulkboot.ui.load_series import (
    Buckets,
    LoadSample,
    in_flight,
    load_samples,
    ordered_phases,
    phase_percentiles,
    rates,
)
from bulkboot.ui.load_tables import (
    capacity_table,
    cleanup_table,
    client_table,
    failures_table,
    iterations_table,
    phases_table,
    post_status_table,
    requests_table,
    settings_table,
    thresholds_table,
)
from bulkboot.ui.report_tables import fmt_seconds, number

__all__ = ["load_sections"]

_NO_SAMPLES = '<p class="note">This report holds no samples to draw over time.</p>'
_RATE_COLORS = {
    "offered": "#0072B2",
    "started": "#56B4E9",
    "achieved": "#009E73",
    "late": "#E69F00",
    "dropped": "#D55E00",
    "failed": "#CC79A7",
}


def _rate_section(samples: Sequence[LoadSample], buckets: Buckets) -> Section:
    title = "Offered and achieved rate"
    if not samples:
        return Section(key="rate", title=title, body=_NO_SAMPLES)
    per_second = rates(samples, buckets)
    lines = [
        Line(
            key="offered",
            label="offered",
            color=_RATE_COLORS["offered"],
            points=per_second["offered"],
            dashed=True,
        ),
        Line(
            key="started",
            label="started",
            color=_RATE_COLORS["started"],
            points=per_second["started"],
        ),
        Line(
            key="achieved",
            label="achieved (completed)",
            color=_RATE_COLORS["achieved"],
            points=per_second["achieved"],
        ),
    ]
    svg = line_chart(
        "rate",
        title,
        lines=lines,
        x_label="time since the run began",
        x_kind="elapsed",
        y_label="iterations",
        y_kind="rate",
    )
    caption = (
        f"Per {fmt_seconds(buckets.width)} bucket: offered counts iterations by their "
        "intended start, started by their actual start, achieved the iterations "
        "completed, by their end (the report's achieved rate is over the schedule's "
        "window instead: the iterations started in it that completed, whenever they "
        "ended)."
    )
    numbers = _numbers(
        "rate_numbers", title, [(k, per_second[k]) for k in ("offered", "started", "achieved")]
    )
    return Section(key="rate", title=title, body=figure(svg, caption, numbers))


def _flight_section(samples: Sequence[LoadSample], buckets: Buckets) -> Section:
    title = "In flight, late and dropped"
    if not samples:
        return Section(key="load_flight", title=title, body=_NO_SAMPLES)
    flight = in_flight(samples)
    svg_flight = line_chart(
        "load_flight",
        "Iterations in flight",
        lines=[
            Line(key="in_flight", label="in flight", color=PHASE_COLORS["creating"], points=flight)
        ],
        x_label="time since the run began",
        x_kind="elapsed",
        y_label="iterations",
        y_kind="count",
        step=True,
    )
    per_second = rates(samples, buckets)
    problems = [
        Line(key=k, label=k, color=_RATE_COLORS[k], points=per_second[k])
        for k in ("late", "dropped", "failed")
        if any(v for _, v in per_second[k])
    ]
    parts = [
        figure(svg_flight, "Iterations started and not yet ended, exact at every start and end.")
    ]
    if problems:
        svg = line_chart(
            "late_dropped",
            "Late, dropped and failed iterations",
            lines=problems,
            x_label="time since the run began",
            x_kind="elapsed",
            y_label="iterations",
            y_kind="rate",
        )
        numbers = _numbers(
            "late_numbers", "Late, dropped and failed", [(ln.key, ln.points) for ln in problems]
        )
        parts.append(
            figure(
                svg,
                f"Per {fmt_seconds(buckets.width)} bucket: late (started over "
                f"{fmt_seconds(samples[0].late_after)} after its intended start), dropped "
                "(never started), failed.",
                numbers,
            )
        )
    else:
        parts.append('<p class="note">No iteration was late, dropped or failed.</p>')
    return Section(key="load_flight", title=title, body="\n".join(parts))


def _numbers(
    key: str, title: str, columns: Sequence[tuple[str, Sequence[tuple[float, float]]]]
) -> Any:
    times = [t for t, _ in columns[0][1]]
    return series_table(
        key, title, times, [(name, [v for _, v in points]) for name, points in columns]
    )


def _phase_section(
    phase: str, samples: Sequence[LoadSample], buckets: Buckets, aggregates: Mapping[str, Any]
) -> Section:
    title = f"Phase {phase}"
    key = f"phase_{phase}"
    quantiles, failures = phase_percentiles(samples, phase, buckets)
    parts = []
    lines = [
        Line(key=f"{phase}_{q}", label=q, color=QUANTILE_COLORS[q], points=points)
        for q, points in quantiles.items()
        if points
    ]
    if lines:
        svg = line_chart(
            f"{key}_time",
            f"{phase}: p50, p95 and p99 over time",
            lines=lines,
            x_label="intended start",
            x_kind="elapsed",
            y_label=phase,
            y_kind="duration",
            marks=[
                Marks(
                    key=f"{phase}_failed", label="failed iterations", color="#D55E00", xs=failures
                )
            ],
        )
        numbers = _numbers(f"{key}_numbers", title, [(ln.label, ln.points) for ln in lines])
        parts.append(
            figure(
                svg,
                f"Per {fmt_seconds(buckets.width)} bucket of intended starts; crosses along "
                "the top: iterations that failed.",
                numbers,
            )
        )
    values = [s.phases[phase] for s in samples if phase in s.phases]
    edges, cut = shared_edges([values])
    if edges:
        binned = bin_values(values, edges)
        markers = [
            (name, float(v))
            for name in ("p50", "p95", "p99")
            if (v := number(aggregates.get(name))) is not None and v <= edges[-1]
        ]
        svg = histogram(
            f"{key}_histogram",
            f"{phase}: histogram",
            edges=edges,
            bars=[
                Bars(
                    key=f"{phase}_histogram",
                    label=phase,
                    color=PHASE_COLORS["building"],
                    counts=binned.counts,
                )
            ],
            x_label=phase,
            markers=markers,
        )
        caption = f"{len(values):,} samples; dashed: the report's p50, p95, p99."
        if cut:
            caption += f" {binned.hidden:,} above {fmt_seconds(edges[-1])} not drawn."
        parts.append(figure(svg, caption))
    if not parts:
        parts.append(_NO_SAMPLES)
    return Section(key=key, title=title, body="\n".join(parts))


def load_sections(document: Mapping[str, Any]) -> list[Section]:
    """Every section of a load page, in order."""
    samples = load_samples(document)
    buckets = Buckets.over(samples)
    phases = document.get("phases")
    phases = phases if isinstance(phases, Mapping) else {}
    names = ordered_phases(set(phases) | {p for s in samples for p in s.phases})
    sections = [
        Section(
            key="iterations", title="Iterations", body=render_table(iterations_table(document))
        ),
        _rate_section(samples, buckets),
        _flight_section(samples, buckets),
        Section(
            key="aggregates",
            title="Aggregates",
            body="\n".join(
                render_table(t)
                for t in (phases_table(document), post_status_table(document))
                if t is not None
            ),
        ),
    ]
    thresholds = thresholds_table(document)
    if thresholds is not None:
        sections.append(
            Section(key="thresholds", title="Thresholds", body=render_table(thresholds))
        )
    capacity = capacity_table(document)
    if capacity is not None:
        sections.append(
            Section(key="load_capacity", title="Capacity search", body=render_table(capacity))
        )
    for phase in names:
        aggregates = phases.get(phase)
        sections.append(
            _phase_section(
                phase, samples, buckets, aggregates if isinstance(aggregates, Mapping) else {}
            )
        )
    requests = [t for t in (requests_table(document), client_table(document)) if t is not None]
    if requests:
        body = "\n".join(render_table(t) for t in requests)
        sections.append(Section(key="load_requests", title="Requests", body=body))
    for key, title, found in (
        ("load_failures", "Failures", failures_table(document)),
        ("load_cleanup", "Clean-up", cleanup_table(document)),
        ("load_settings", "Settings", settings_table(document)),
    ):
        if found is not None:
            sections.append(Section(key=key, title=title, body=render_table(found)))
    return sections
