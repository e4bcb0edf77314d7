"""The comparison page: the table of changes, and both runs drawn on the same axes
(base in blue, new in orange): for apply/destroy the servers at their goal and the work
in flight over time and the latency histograms on shared bins; for load the achieved
rate over time and each phase's p95 over time and histogram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bulkboot.ui.html.binning import bin_values, shared_edges
from bulkboot.ui.html.page import Section, figure, render_table
from bulkboot.ui.html.palette import BASE, NEW
from bulkboot.ui.html.run_page import post_latencies, series_of, time_to_active
from bulkboot.ui.html.svg import Bars, Line, histogram, line_chart
from bulkboot.ui.load_series import Buckets, load_samples, ordered_phases, phase_percentiles, rates
from bulkboot.ui.report_compare import Comparison
from bulkboot.ui.report_tables import fmt_seconds

__all__ = ["compare_sections"]

_RUNS = (("base", BASE), ("new", NEW))


def _pair_lines(key: str, pairs: Sequence[Sequence[tuple[float, float]]]) -> list[Line]:
    return [
        Line(key=f"{key}_{run}", label=run, color=color, points=list(points))
        for (run, color), points in zip(_RUNS, pairs, strict=True)
    ]


def _pair_histogram(key: str, title: str, groups: Sequence[Sequence[float]], x_label: str) -> str:
    edges, cut = shared_edges(groups)
    if not edges:
        return f'<p class="note">{title}: no values in either report.</p>'
    binned = [bin_values(values, edges) for values in groups]
    svg = histogram(
        key,
        title,
        edges=edges,
        bars=[
            Bars(key=f"{key}_{run}", label=run, color=color, counts=b.counts)
            for (run, color), b in zip(_RUNS, binned, strict=True)
        ],
        x_label=x_label,
    )
    caption = "Both runs on the same bins: " + ", ".join(
        f"{run} {len(values):,} values" for (run, _), values in zip(_RUNS, groups, strict=True)
    )
    if cut:
        caption += f"; values above {fmt_seconds(edges[-1])} not drawn"
    return figure(svg, caption + ".")


def _run_charts(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[Section]:
    destroy = base.get("kind") == "destroy"
    goal, work = ("deleted", "deleting") if destroy else ("active", "creating")
    sides = [series_of(base), series_of(new)]
    parts = []
    goal_pairs = [list(zip(t, c.get(goal, [0.0] * len(t)), strict=True)) for t, c in sides]
    work_pairs = [list(zip(t, c.get(work, [0.0] * len(t)), strict=True)) for t, c in sides]
    for key, label, pairs, step in (
        ("goal", f"Servers {goal} over time", goal_pairs, False),
        ("work", f"{'Deletes' if destroy else 'Creates'} in flight over time", work_pairs, True),
    ):
        if any(pairs):
            svg = line_chart(
                key,
                label,
                lines=_pair_lines(key, pairs),
                x_label="time since the run began",
                x_kind="elapsed",
                y_label="servers",
                y_kind="count",
                step=step,
            )
            parts.append(figure(svg, f"{label}: both runs from their own start, on one axis."))
        else:
            parts.append(f'<p class="note">{label}: neither report has a time series.</p>')
    sections = [Section(key="over_time", title="Over time", body="\n".join(parts))]
    if not destroy:
        body = _pair_histogram(
            "post_compare",
            "POST /servers latency",
            [post_latencies(base), post_latencies(new)],
            "latency",
        ) + _pair_histogram(
            "active_compare",
            "Time to ACTIVE",
            [time_to_active(base), time_to_active(new)],
            "create sent to ACTIVE seen",
        )
        sections.append(Section(key="distributions", title="Distributions", body=body))
    return sections


def _load_charts(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[Section]:
    samples = [load_samples(base), load_samples(new)]
    buckets = Buckets.over(samples[0] + samples[1])  # one bucket width: same axes
    achieved = [rates(s, buckets)["achieved"] for s in samples]
    parts = [
        figure(
            line_chart(
                "achieved",
                "Achieved rate",
                lines=_pair_lines("achieved", achieved),
                x_label="time since the run began",
                x_kind="elapsed",
                y_label="iterations",
                y_kind="rate",
            ),
            f"Iterations completed per second (by their end), per "
            f"{fmt_seconds(buckets.width)} bucket.",
        )
    ]
    sections = [Section(key="over_time", title="Over time", body="\n".join(parts))]
    names = ordered_phases({p for side in samples for s in side for p in s.phases})
    for phase in names:
        p95 = [phase_percentiles(s, phase, buckets)[0]["p95"] for s in samples]
        body = figure(
            line_chart(
                f"phase_{phase}_p95",
                f"{phase}: p95 over time",
                lines=_pair_lines(f"{phase}_p95", p95),
                x_label="intended start",
                x_kind="elapsed",
                y_label=phase,
                y_kind="duration",
            ),
            f"p95 per {fmt_seconds(buckets.width)} bucket of intended starts.",
        ) + _pair_histogram(
            f"phase_{phase}_hist",
            f"{phase}: histogram",
            [[x.phases[phase] for x in s if phase in x.phases] for s in samples],
            phase,
        )
        sections.append(Section(key=f"phase_{phase}", title=f"Phase {phase}", body=body))
    return sections


def compare_sections(
    comparison: Comparison, base: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Section]:
    sections = [
        Section(key="comparison", title="Changes", body=render_table(comparison.table())),
    ]
    if comparison.kind == "load":
        sections += _load_charts(base, new)
    else:
        sections += _run_charts(base, new)
    return sections
