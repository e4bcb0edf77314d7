"""The live terminal view: header, a progress bar with counts per state, a bounded
table of servers with their timings, and the summary at the end.

Why this shape: rich's ``Live`` redraws from its own thread. The engine hands this
view immutable ``RunSnapshot`` values (built in the event loop at the refresh rate),
the thread renders whichever snapshot is current, and nothing is shared mutably. The
console is injected, so tests render into a capture console and compare text.
Rendering cost is bounded by the table's row cap, not by the fleet's size, and the
refresh rate is capped, so the view's CPU does not grow with the fleet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bulkboot.engine.board import RunHeader, RunSnapshot
from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.report import Stats, Summary

__all__ = ["LiveView", "render_snapshot", "render_summary"]

_BAR_WIDTH = 40
# Order and colours of the bar's segments and of the counts after it.
_SEGMENTS: tuple[tuple[Phase, str, str], ...] = (
    (Phase.ACTIVE, "green", "active"),
    (Phase.DELETED, "green", "deleted"),
    (Phase.ERROR, "red", "error"),
    (Phase.TIMEOUT, "yellow", "timeout"),
    (Phase.GONE, "magenta", "gone"),
    (Phase.BUILDING, "blue", "building"),
    (Phase.CREATING, "cyan", "creating"),
    (Phase.DELETING, "cyan", "deleting"),
    (Phase.QUEUED, "bright_black", "queued"),
)
_STATE_STYLE = {phase: style for phase, style, _ in _SEGMENTS}
# States always shown in the counts line (others only when non-zero).
_ALWAYS = {
    "apply": (
        Phase.QUEUED,
        Phase.CREATING,
        Phase.BUILDING,
        Phase.ACTIVE,
        Phase.ERROR,
        Phase.TIMEOUT,
    ),
    "destroy": (Phase.QUEUED, Phase.DELETING, Phase.DELETED, Phase.ERROR),
}


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def render_header(header: RunHeader) -> Text:
    rate = "unlimited" if header.rate is None else f"{header.rate:g}/s"
    text = Text()
    text.append(f"bulkboot {header.command} ", style="bold")
    text.append(header.fleet, style="bold cyan")
    text.append(f"  cloud {header.cloud}  {header.endpoint}\n", style="")
    text.append(
        f"compute {header.microversion}  concurrency {header.concurrency}  rate {rate}",
        style="dim",
    )
    return text


def render_progress(snapshot: RunSnapshot) -> Text:
    total = max(1, snapshot.total)
    bar = Text()
    used = 0
    for phase, style, _ in _SEGMENTS:
        count = snapshot.count(phase)
        if not count:
            continue
        width = round(count * _BAR_WIDTH / total)
        width = min(max(width, 1), _BAR_WIDTH - used)
        if width > 0:
            bar.append("█" * width, style=style)
            used += width
    if used < _BAR_WIDTH:
        bar.append("░" * (_BAR_WIDTH - used), style="bright_black")
    always = _ALWAYS.get(snapshot.header.command, _ALWAYS["apply"])
    bar.append(f" {snapshot.total} servers\n")
    first = True
    for phase, style, label in _SEGMENTS:
        count = snapshot.count(phase)
        if count or phase in always:
            bar.append("" if first else "  ")
            bar.append(f"{label} {count}", style=style if count else "bright_black")
            first = False
    pace = f"{snapshot.per_minute:.0f}/min" if snapshot.per_minute else "-/min"
    eta = "-" if snapshot.eta is None else _clock(snapshot.eta)
    bar.append(f"\n{pace}  ETA {eta}  elapsed {_clock(snapshot.elapsed)}")
    if snapshot.existed:
        bar.append(f"  ({snapshot.existed} already existed)", style="dim")
    if snapshot.note:
        bar.append(f"\n{snapshot.note}", style="bold yellow")
    return bar


def _row_cells(state: ServerState, now: float) -> tuple[str, ...]:
    if state.phase is Phase.ACTIVE:
        to_active = _secs(state.active_seconds)
    elif state.sent_at is not None and not state.final:
        to_active = f"{now - state.sent_at:.1f}s…"
    else:
        to_active = ""
    message = state.message.splitlines()[0][:60] if state.message else ""
    return (
        state.name[:32],
        state.phase.value,
        state.status or "",
        _ms(state.post_seconds),
        to_active,
        str(state.attempt) if state.attempt else "",
        message,
    )


_COLUMNS = ("server", "state", "nova", "POST", "to ACTIVE", "tries", "message")
_RIGHT = frozenset({3, 4, 5})  # numbers are right-aligned


def render_table(rows: Iterable[ServerState], now: float) -> Text:
    """The server table as plain styled lines.

    Not a rich ``Table``: measuring a Table costs ~10 ms a frame, these lines ~1 ms,
    and the live view must stay a small fraction of the run's CPU.
    """
    cells: list[tuple[str, ...]] = [_COLUMNS]
    styles = ["bold"]
    for state in rows:
        cells.append(_row_cells(state, now))
        styles.append(_STATE_STYLE.get(state.phase, ""))
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    text = Text(no_wrap=True, overflow="ellipsis")
    for row, style in zip(cells, styles, strict=True):
        line = "  ".join(
            cell.rjust(width) if i in _RIGHT else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        text.append(line.rstrip() + "\n", style=style)
    text.rstrip()
    return text


def render_snapshot(snapshot: RunSnapshot) -> RenderableType:
    """The whole live frame for one snapshot (pure: same snapshot, same frame)."""
    parts: list[RenderableType] = [render_header(snapshot.header), render_progress(snapshot)]
    if snapshot.rows:
        parts.append(render_table(snapshot.rows, snapshot.now))
    return Group(*parts)


def _stats_row(label: str, value: Stats | None) -> tuple[str, ...]:
    if value is None:
        return (label, "-", "-", "-", "-", "0")
    return (
        label,
        _ms(value.p50),
        _ms(value.p90),
        _ms(value.p99),
        _ms(value.max),
        str(value.count),
    )


def render_summary(summary: Summary) -> RenderableType:
    """The end-of-run summary: counts, timing percentiles, failures by message."""
    counts = "  ".join(f"{phase} {count}" for phase, count in summary.counts.items() if count)
    title = Text()
    title.append(f"{summary.fleet}: ", style="bold")
    title.append(f"{summary.total} servers in {summary.elapsed:.1f}s  {counts}")
    if summary.command == "apply":
        title.append(f"\n{summary.created} created by this run, {summary.existed} already existed")
    if summary.interrupted:
        title.append("\ninterrupted: no new creates were sent after Ctrl-C", style="yellow")
    timings = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("timing", "p50", "p90", "p99", "max", "n"):
        timings.add_column(column, justify="left" if column == "timing" else "right")
    timings.add_row(*_stats_row("authentication", summary.auth))
    if summary.command == "apply":
        timings.add_row(*_stats_row("POST /servers", summary.post))
        timings.add_row(*_stats_row("time to ACTIVE", summary.active))
    parts: list[RenderableType] = [title, timings]
    if summary.failures:
        failures = Table(box=None, pad_edge=False, header_style="bold red")
        failures.add_column("servers", justify="right")
        failures.add_column("failure")
        for message, count in summary.failures:
            failures.add_row(str(count), message)
        parts.append(failures)
    else:
        verb = "destroyed" if summary.command == "destroy" else "ACTIVE"
        parts.append(
            Text(f"all {summary.total} servers {verb}", style="bold green")
            if summary.ok and summary.total
            else Text("")
        )
    return Group(*parts)


class LiveView:
    """The live sink: ``update`` swaps the current snapshot; rich's thread draws it."""

    __slots__ = ("_console", "_live", "_refresh", "_render_cpu", "_snapshot")

    def __init__(self, console: Console, *, refresh_per_second: float = 2.0) -> None:
        self._console = console
        self._refresh = min(refresh_per_second, 4.0)  # capped: the UI's CPU stays small
        self._snapshot: RunSnapshot | None = None
        self._render_cpu = 0.0
        self._live: Live | None = None

    @property
    def refresh_interval(self) -> float:
        return 1.0 / self._refresh

    @property
    def render_cpu_seconds(self) -> float:
        """CPU spent by rich's refresh thread (drawing), up to its last frame."""
        return self._render_cpu

    def _current(self) -> RenderableType:
        # Called by rich's refresh thread for each frame: its CPU so far is the view's.
        if threading.current_thread() is not threading.main_thread():
            self._render_cpu = time.thread_time()
        snapshot = self._snapshot  # one atomic read of an immutable value
        return Text("") if snapshot is None else render_snapshot(snapshot)

    def start(self, snapshot: RunSnapshot) -> None:
        self._snapshot = snapshot
        self._live = Live(
            console=self._console,
            auto_refresh=True,
            refresh_per_second=self._refresh,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
            get_renderable=self._current,
        )
        self._live.start()

    def update(self, snapshot: RunSnapshot) -> None:
        self._snapshot = snapshot

    def note(self, text: str) -> None:
        self._console.print(text)

    def finish(self, summary: Summary, last: RunSnapshot | None = None) -> None:
        if last is not None:
            self._snapshot = last
        if self._live is not None:
            self._live.stop()  # draws the last snapshot once more
            self._live = None
        self._console.print(render_summary(summary))
