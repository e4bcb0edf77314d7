"""The load run's live view: counters, offered against achieved rate, per-phase
percentiles updating in place, the errors seen most, and the thresholds as they stand.

As ``live.LiveView``: rich's ``Live`` draws from its own thread whichever frozen
``LoadSnapshot`` is current (built in the event loop, see ``runner.LoadRun.snapshot``),
so nothing is shared mutably; the frame's size does not grow with the run.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.live import Live

from bulkboot.engine.load.snapshot import LoadHeader, LoadSnapshot
from bulkboot.ui.live import Line, Lines
from bulkboot.ui.load_text import format_seconds, header_lines, live_thresholds
from bulkboot.ui.text import printable

__all__ = ["LoadView", "render_load"]

_SHOWN = ("count", "failed", "p50", "p95", "p99", "max")
_POLLED = frozenset({"active", "gone", "total"})


def render_load(snapshot: LoadSnapshot) -> Lines:
    c = snapshot.counters
    lines: list[Line] = [
        [(text, "bold" if i == 0 else "dim")]
        for i, text in enumerate(header_lines(snapshot.header))
    ]
    minutes, seconds = divmod(int(snapshot.elapsed), 60)
    target = snapshot.step or snapshot.target
    lines.append(
        [
            (f"{minutes}:{seconds:02d}  ", "bold"),
            (f"target {target}  ", ""),
            (f"offered {snapshot.offered:.2f}/s  ", "cyan"),
            (f"achieved {snapshot.achieved:.2f}/s", "green"),
            (f"  (last {snapshot.rate_window}s)", "dim"),
        ]
    )
    lines.append(
        [
            (f"started {c.started}  in flight {c.in_flight}  ", ""),
            (f"completed {c.completed}  ", "green"),
            (f"failed {c.failed}  ", "red" if c.failed else ""),
            (f"late {c.late}  ", "yellow" if c.late else ""),
            (f"dropped {c.dropped}  ", "red" if c.dropped else ""),
            (f"interrupted {c.interrupted}", ""),
        ]
    )
    heads = ("phase", *_SHOWN, "bound")
    rows: list[tuple[str, ...]] = [heads]
    for name, stats in snapshot.phases:
        bound = f"poll +0..{format_seconds(snapshot.bound)}" if name in _POLLED else ""
        if name == "build":
            bound = "Nova +-1s"
        rows.append(
            (
                name,
                str(stats.count),
                str(stats.failed),
                format_seconds(stats.p50),
                format_seconds(stats.p95),
                format_seconds(stats.p99),
                format_seconds(stats.max),
                bound,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
        cells.append(row[-1])
        lines.append([("  " + "  ".join(cells), "bold" if number == 0 else "")])
    for phase, message, count in snapshot.errors:
        lines.append([(f"  {count:>5}x {phase}: ", "red"), (printable(message)[:100], "")])
    for text in live_thresholds(snapshot.thresholds):
        style = "red" if "FAIL" in text else ""
        lines.append([(text, style)])
    if snapshot.note:
        lines.append([(printable(snapshot.note), "yellow")])
    return Lines(lines)


class LoadView:
    """``start``, ``update`` (a new snapshot), ``note``, ``finish`` (the summary lines)."""

    __slots__ = ("_console", "_live", "_refresh", "_snapshot")

    def __init__(self, console: Console, *, refresh_per_second: float = 2.0) -> None:
        self._console = console
        self._refresh = min(refresh_per_second, 4.0)
        self._snapshot: LoadSnapshot | None = None
        self._live: Live | None = None

    @property
    def refresh_interval(self) -> float:
        return 1.0 / self._refresh

    def _current(self) -> RenderableType:
        snapshot = self._snapshot  # one read of an immutable value
        return Lines([]) if snapshot is None else render_load(snapshot)

    def start(self, header: LoadHeader, notes: Iterable[str]) -> None:
        for text in notes:
            self._console.print(text, highlight=False, markup=False)
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

    def update(self, snapshot: LoadSnapshot) -> None:
        self._snapshot = snapshot

    def note(self, text: str) -> None:
        self._console.print(text, highlight=False, markup=False)

    def finish(self, lines: Iterable[str]) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        for text in lines:
            self._console.print(text, highlight=False, markup=False)
