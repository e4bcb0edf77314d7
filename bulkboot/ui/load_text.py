"""The load run in words: the header, a progress line, and the summary (plain text).

The summary is drawn from the JSON document (``load_report``), so what the terminal
says and what the report holds cannot disagree. Text the cloud wrote (fault messages,
error bodies, names found by the run mark) goes through ``ui.text.printable``. Polled
phases carry their bound ("+0..0.55s": seen that much late at most, never early);
``build`` is Nova's own timestamps (whole seconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bulkboot.engine.load.snapshot import LoadHeader, LoadSnapshot
from bulkboot.engine.load.thresholds import ThresholdResult
from bulkboot.ui.report import RequestSummary, format_requests
from bulkboot.ui.text import printable

__all__ = ["format_seconds", "header_lines", "progress_line", "summary_lines"]

_COLUMNS = ("count", "failed", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max")


def format_seconds(value: float | None) -> str:
    """``0.4ms``, ``52ms``, ``3.05s``, ``2m05s``; empty for None."""
    if value is None:
        return "-"
    if value < 0.001:
        return f"{value * 1000:.2f}ms"
    if value < 1:
        return f"{value * 1000:.1f}ms" if value < 0.1 else f"{value * 1000:.0f}ms"
    if value < 120:
        return f"{value:.2f}s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)}m{seconds:04.1f}s"


def _observed(result: Mapping[str, Any]) -> str:
    value = result.get("observed")
    if value is None:
        return "nothing observed"
    unit = result.get("unit")
    if unit == "s":
        return format_seconds(value)
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    return f"{value:g}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}/s"


def header_lines(header: LoadHeader) -> list[str]:
    return [
        f"bulkboot load  fleet {header.fleet}  run {header.run_id}  scenario {header.scenario}",
        f"{header.model}",
        f"cloud {header.cloud}  {header.endpoint}  compute {header.microversion}  "
        f"poll every {format_seconds(header.poll_interval)}",
    ]


def progress_line(snapshot: LoadSnapshot) -> str:
    """One line of progress (plain output, every few seconds)."""
    c = snapshot.counters
    minutes, seconds = divmod(int(snapshot.elapsed), 60)
    parts = [
        f"[{minutes}:{seconds:02d}]",
        snapshot.step or snapshot.target,
        f"started {c.started}",
        f"done {c.completed}",
        f"failed {c.failed}",
        f"in flight {c.in_flight}",
        f"late {c.late}",
        f"dropped {c.dropped}",
        f"offered {snapshot.offered:.2f}/s achieved {snapshot.achieved:.2f}/s",
    ]
    for name, stats in snapshot.phases:
        if name in ("post", "active", "total") and stats.count:
            parts.append(f"p95 {name} {format_seconds(stats.p95)}")
    if snapshot.errors:
        phase, message, count = snapshot.errors[0]
        parts.append(f"top error ({count}x, {phase}): {printable(message)[:60]}")
    return "  ".join(parts)


def _bound(name: str, entry: Mapping[str, Any]) -> str:
    bound = entry.get("bound_seconds")
    if bound is None:
        return "direct"
    if name == "build":
        return f"Nova +-{bound:g}s"
    return f"poll +0..{format_seconds(bound)}"


def _table(phases: Mapping[str, Mapping[str, Any]]) -> list[str]:
    heads = ("phase", *_COLUMNS, "bound")
    rows: list[Sequence[str]] = [heads]
    for name, entry in phases.items():
        cells = [name, str(entry["count"]), str(entry["failed"])]
        cells += [format_seconds(entry[key]) for key in _COLUMNS[2:]]
        cells.append(_bound(name, entry))
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    lines = []
    for row in rows:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
        lines.append("  " + "  ".join([first, *rest, row[-1]]))
    return lines


def _by_status(post: Mapping[str, Any] | None) -> list[str]:
    """``post``'s answers per class: every answered POST is in its percentiles, the
    refused ones too (also counted in ``failed``)."""
    by_status = (post or {}).get("by_status")
    if not by_status:
        return []
    parts = [
        f"{kind} {entry['count']} (p50 {format_seconds(entry.get('p50'))}, "
        f"p99 {format_seconds(entry.get('p99'))}, max {format_seconds(entry.get('max'))})"
        for kind, entry in by_status.items()
    ]
    return ["  post by answer: " + ", ".join(parts)]


def threshold_lines(results: Sequence[Mapping[str, Any]]) -> list[str]:
    if not results:
        return []
    width = max(len(r["expression"]) for r in results)
    lines = ["thresholds:"]
    for result in results:
        verdict = "pass" if result["ok"] else "FAIL"
        lines.append(f"  {verdict}  {result['expression'].ljust(width)}  {_observed(result)}")
    return lines


def live_thresholds(results: Sequence[ThresholdResult]) -> list[str]:
    return threshold_lines([r.as_dict() for r in results])


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    """The end of the run, from its document."""
    it = document["iterations"]
    rate = document["rate"]
    lines = [
        f"load {document['scenario']} on fleet {document['fleet']} (run {document['run_id']}): "
        f"{document['model']}",
        f"iterations: {it['scheduled']} scheduled, {it['started']} started, "
        f"{it['completed']} completed, {it['failed']} failed, {it['dropped']} dropped, "
        f"{it['late']} late (>{format_seconds(document['settings']['late_after'])}), "
        f"{it['interrupted']} interrupted",
    ]
    outcome = document["outcome"]
    if outcome["interrupted"]:
        lines.append(
            "interrupted (Ctrl-C or SIGTERM): no iteration started after it"
            + (", the clean-up ran" if document["cleanup"] is not None else "")
        )
    offered = rate["offered"]
    achieved = rate["achieved"]
    drain = rate.get("drain") or {}
    lines.append(
        f"rate over the schedule's {format_seconds(rate.get('schedule_seconds'))}: "
        + (f"offered {offered:.3g}/s, " if offered is not None else "closed loop, ")
        + (
            f"achieved {achieved:.3g}/s (started in it and completed)"
            if achieved is not None
            else "none completed"
        )
        + f"; then a drain of {format_seconds(drain.get('seconds'))} "
        f"({drain.get('completed', 0)} completed in it; load "
        f"{format_seconds(document['load_seconds'])} in all)"
    )
    lines.append("phases (from exact samples; bound: how late a polled time can be, never early):")
    lines += _table(document["phases"])
    lines += _by_status(document["phases"].get("post"))
    failures = document["failures"]
    if failures:
        lines.append("failures:")
        for failure in failures[:10]:
            message = printable(str(failure["message"]))
            lines.append(f"  {failure['count']:>5}  {failure['phase']}: {message}")
        if len(failures) > 10:
            lines.append(f"  ... and {len(failures) - 10} other message(s) in the report")
    capacity = document.get("capacity")
    if capacity is not None:
        lines.append("capacity search:")
        for step in capacity["steps"]:
            verdict = "held" if step["held"] else "did not hold"
            its = step["iterations"]
            reasons = step.get("reasons")
            if reasons is None:  # a report from before reasons were kept
                reasons = [f"{t['expression']} failed" for t in step["thresholds"] if not t["ok"]]
            why = f" ({'; '.join(reasons)})" if reasons else ""
            lines.append(
                f"  {step['rate']:.3g}/s: {verdict}{why}: offered {_rate(step.get('offered'))}, "
                f"achieved {_rate(step.get('achieved'))} over "
                f"{format_seconds(step.get('window_seconds'))}; {its['completed']} completed, "
                f"{its['failed']} failed, {its['dropped']} dropped"
            )
        knee = capacity["knee"]
        lines.append(
            f"  knee: {knee:.3g} iterations/s held"
            if knee is not None
            else "  knee: not found (the first step did not hold)"
        )
    lines += threshold_lines(document["thresholds"])
    requests = document["requests"]
    per = requests["per_iteration"]
    lines.append(
        f"requests: {requests['total']} during the run"
        + (f", {per:.2f} per iteration" if per is not None else "")
        + f" ({requests['setup']} before it: authentication, discovery, look-ups)"
    )
    for route, entry in list(requests["by_route"].items())[:8]:
        lines.append(f"  {entry['count']:>7}  {route}")
    client = requests.get("client")
    if client is not None:
        lines.append(format_requests(_request_summary(client)) + " (the whole command)")
    lines += _cleanup_lines(document)
    error = document["outcome"].get("error")
    if error:
        lines.append(f"stopped by an error: {printable(error)}")
    return lines


def _request_summary(client: Mapping[str, Any]) -> RequestSummary:
    """The report's ``requests.client`` read back (its keys are ``as_dict``'s)."""
    return RequestSummary(
        requests=client["requests"],
        attempts=client["attempts"],
        retried=client["retried"],
        throttled=client["throttled"],
        throttled_requests=client["throttled_requests"],
        waited=client["waited_seconds"],
    )


def _cleanup_lines(document: Mapping[str, Any]) -> list[str]:
    cleanup = document["cleanup"]
    if cleanup is None:
        return [
            "clean-up: not done (stopped at once); `bulkboot destroy` on the manifest "
            "deletes what this run left"
        ]
    lines = [f"clean-up: {cleanup['deleted']} server(s) deleted at the end"]
    if cleanup["found_by_mark"]:
        lines[0] += f" ({cleanup['found_by_mark']} found by the run mark only)"
    if cleanup["kept"]:
        lines.append(f"  kept (--keep): {len(cleanup['kept'])} server(s)")
    for left in cleanup["left"]:
        name, reason = printable(str(left["name"])), printable(str(left["reason"]))
        lines.append(f"  LEFT BEHIND: {name} ({printable(str(left['id']))}): {reason}")
    if cleanup["listing_failed"]:
        lines.append(f"  {printable(cleanup['listing_failed'])}")
    return lines
