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

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style

from bulkboot.engine.board import RunHeader, RunSnapshot
from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.report import Stats, Summary, format_changes, format_requests, waits_matter
from bulkboot.ui.text import printable

__all__ = ["Lines", "LiveView", "render_snapshot", "render_summary"]

# One line of a frame: (text, style name) pieces.
Line = list[tuple[str, str]]


class Lines:
    """Styled lines handed to rich as ready segments.

    Why not ``rich.text.Text``: a Text is wrapped and divided into lines on every
    frame, which was three quarters of a frame's cost; these lines are already cut,
    so rendering them is one segment per piece (rich crops them to the screen width).
    """

    __slots__ = ("lines",)

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        del console, options
        newline = Segment.line()
        for pieces in self.lines:
            for text, style in pieces:
                yield Segment(text, _style(style))
            yield newline


_STYLES: dict[str, Style | None] = {"": None}


def _style(name: str) -> Style | None:
    try:
        return _STYLES[name]
    except KeyError:
        style = _STYLES[name] = Style.parse(name)
        return style


_BAR_WIDTH = 40
# Order, colour, label and glyph of the bar's segments and of the counts after it.
# The glyph alone must tell the story, for a terminal without colour (NO_COLOR, a
# monochrome console): done is full, in flight half, failed dark, waiting empty. A
# queued server drawn as a full block in grey read as a full bar before anything was
# created once the grey was gone.
_DONE, _FAILED_GLYPH, _MOVING, _WAITING = "█", "▓", "▒", "░"
_SEGMENTS: tuple[tuple[Phase, str, str, str], ...] = (
    (Phase.ACTIVE, "green", "active", _DONE),
    (Phase.DELETED, "green", "deleted", _DONE),
    (Phase.ERROR, "red", "error", _FAILED_GLYPH),
    (Phase.TIMEOUT, "yellow", "timeout", _FAILED_GLYPH),
    (Phase.GONE, "magenta", "gone", _FAILED_GLYPH),
    (Phase.BUILDING, "blue", "building", _MOVING),
    (Phase.CREATING, "cyan", "creating", _MOVING),
    (Phase.DELETING, "cyan", "deleting", _MOVING),
    (Phase.QUEUED, "bright_black", "queued", _WAITING),
)
_STATE_STYLE = {phase: style for phase, style, _, _ in _SEGMENTS}
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


def _hms(seconds: float) -> str:
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


def render_header(header: RunHeader) -> list[Line]:
    rate = "unlimited" if header.rate is None else f"{header.rate:g}/s"
    return [
        [
            (f"bulkboot {header.command} ", "bold"),
            (printable(header.fleet), "bold cyan"),
            (printable(f"  cloud {header.cloud}  {header.endpoint}"), ""),
        ],
        [(f"compute {header.microversion}  concurrency {header.concurrency}  rate {rate}", "dim")],
    ]


def render_progress(snapshot: RunSnapshot) -> list[Line]:
    total = max(1, snapshot.total)
    bar: Line = []
    used = 0
    for phase, style, _, glyph in _SEGMENTS:
        count = snapshot.count(phase)
        if not count:
            continue
        width = round(count * _BAR_WIDTH / total)
        width = min(max(width, 1), _BAR_WIDTH - used)
        if width > 0:
            bar.append((glyph * width, style))
            used += width
    if used < _BAR_WIDTH:
        bar.append((_WAITING * (_BAR_WIDTH - used), "bright_black"))
    bar.append((f" {snapshot.total} servers", ""))
    always = _ALWAYS.get(snapshot.header.command, _ALWAYS["apply"])
    counts: Line = []
    for phase, style, label, _ in _SEGMENTS:
        count = snapshot.count(phase)
        if count or phase in always:
            if counts:
                counts.append(("  ", ""))
            counts.append((f"{label} {count}", style if count else "bright_black"))
    pace = f"{snapshot.per_minute:.0f}/min" if snapshot.per_minute else "-/min"
    eta = "-" if snapshot.eta is None else _hms(snapshot.eta)
    timing: Line = [(f"{pace}  ETA {eta}  elapsed {_hms(snapshot.elapsed)}", "")]
    if snapshot.existed:
        timing.append((f"  ({snapshot.existed} already existed)", "dim"))
    lines = [bar, counts, timing]
    if snapshot.note:
        lines.append([(printable(snapshot.note), "bold yellow")])
    return lines


def _row_cells(state: ServerState, now: float) -> tuple[str, ...]:
    if state.phase is Phase.ACTIVE:
        to_active = _secs(state.active_seconds)
    elif state.sent_at is not None and not state.final:
        to_active = f"{now - state.sent_at:.1f}s…"
    else:
        to_active = ""
    # Names come from the manifest, statuses and messages from the cloud.
    message = printable(state.message.splitlines()[0])[:60] if state.message else ""
    return (
        printable(state.name)[:32],
        state.phase.value,
        printable(state.status or ""),
        _ms(state.post_seconds),
        _ms(state.post_wait_seconds) if state.post_wait_seconds else "",
        to_active,
        _tries(state),
        message,
    )


def _tries(state: ServerState) -> str:
    """HTTP sends of the last create (429/503 retries included), and how many creates
    when there was more than one (``--retry-errors``): ``3``, ``2×3``."""
    if not state.http_attempts:
        return ""
    if state.attempt > 1:
        return f"{state.attempt}×{state.http_attempts}"
    return str(state.http_attempts)


# "POST": from sending the create to its answer; "waited": the part of it this client
# waited (429/503 back-off, Retry-After); "tries": HTTP sends of the create.
_COLUMNS = ("server", "state", "nova", "POST", "waited", "to ACTIVE", "tries", "message")
_RIGHT = frozenset({3, 4, 5, 6})  # numbers are right-aligned


def render_table(rows: Iterable[ServerState], now: float) -> list[Line]:
    """The server table as plain styled lines.

    Not a rich ``Table``: measuring a Table costs ~10 ms a frame, these lines a
    fraction of a millisecond, and the live view must stay a small part of the run's CPU.
    """
    cells: list[tuple[str, ...]] = [_COLUMNS]
    styles = ["bold"]
    for state in rows:
        cells.append(_row_cells(state, now))
        styles.append(_STATE_STYLE.get(state.phase, ""))
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    lines: list[Line] = []
    for row, style in zip(cells, styles, strict=True):
        line = "  ".join(
            cell.rjust(width) if i in _RIGHT else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        lines.append([(line.rstrip(), style)])
    return lines


def render_snapshot(snapshot: RunSnapshot) -> Lines:
    """The whole live frame for one snapshot (pure: same snapshot, same frame)."""
    lines = render_header(snapshot.header) + render_progress(snapshot)
    if snapshot.rows:
        lines += render_table(snapshot.rows, snapshot.now)
    return Lines(lines)


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


def _aligned(rows: list[tuple[str, ...]], right: frozenset[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def render_summary(summary: Summary) -> Lines:
    """The end-of-run summary: counts, timing percentiles, failures by message."""
    counts = "  ".join(f"{phase} {count}" for phase, count in summary.counts.items() if count)
    lines: list[Line] = [
        [
            (f"{printable(summary.fleet)}: ", "bold"),
            (f"{summary.total} servers in {summary.elapsed:.1f}s  {counts}", ""),
        ]
    ]
    if summary.command == "apply":
        lines.append(
            [
                (
                    f"{summary.created} created by this run, "
                    f"{summary.existed} already existed (left alone)",
                    "",
                )
            ]
        )
        changed = format_changes(summary)
        if changed is not None:
            lines.append([(changed, "")])
    if summary.interrupted:
        lines.append([("interrupted: no new creates were sent after Ctrl-C", "yellow")])
    timings: list[tuple[str, ...]] = [("timing", "p50", "p90", "p99", "max", "n")]
    timings.append(_stats_row("authentication", summary.auth))
    if summary.command == "apply":
        timings.append(_stats_row("POST /servers", summary.post))
        if waits_matter(summary):
            timings.append(_stats_row("  answer", summary.post_answer))
            timings.append(_stats_row("  waited", summary.post_wait))
        timings.append(_stats_row("time to ACTIVE", summary.active))
    for i, text in enumerate(_aligned(timings, frozenset({1, 2, 3, 4, 5}))):
        lines.append([(text, "bold" if i == 0 else "")])
    if summary.requests is not None:
        throttled = summary.requests.throttled
        lines.append([(format_requests(summary.requests), "yellow" if throttled else "dim")])
    if summary.failures:
        failures: list[tuple[str, ...]] = [("servers", "failure")]
        failures += [(str(count), printable(message)) for message, count in summary.failures]
        for i, text in enumerate(_aligned(failures, frozenset({0}))):
            lines.append([(text, "bold red" if i == 0 else "")])
    elif summary.ok and summary.total:
        verb = "destroyed" if summary.command == "destroy" else "ACTIVE"
        lines.append([(f"all {summary.total} servers {verb}", "bold green")])
    return Lines(lines)


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
        return Lines([]) if snapshot is None else render_snapshot(snapshot)

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
        self._console.print(printable(text, multiline=True), markup=False, highlight=False)

    def close(self) -> None:
        """Stop drawing and show the cursor again, without a summary; idempotent."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def finish(self, summary: Summary, last: RunSnapshot | None = None) -> None:
        if last is not None:
            self._snapshot = last
        if self._live is not None:
            self._live.stop()  # draws the last snapshot once more
            self._live = None
        self._console.print(render_summary(summary))
