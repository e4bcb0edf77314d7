"""Picking the run's output: the live view on a terminal, plain lines elsewhere, or JSON.

Every output has the same calls, so the commands drive them alike: ``step`` (what is
being prepared: authenticating, resolving...), ``prepared`` (the steps are over: a
question or the run comes next), ``start`` (header and notes), ``event`` (per event;
the hot path), ``tick`` (a new snapshot, at ``refresh_interval``; ``None`` means "no
ticks wanted"), ``note`` and ``finish`` (the summary, or the JSON document).

Under ``--format json`` stdout holds the JSON document only: steps and notes go to
stderr (steps only when stderr is a terminal, so that a script's stderr stays quiet).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from bulkboot.engine.board import RunHeader, RunSnapshot
from bulkboot.engine.state import Event, ServerState
from bulkboot.ui.plain import JsonOutput, PlainOutput
from bulkboot.ui.report import Summary
from bulkboot.ui.steps import LineSteps, LiveSteps, Steps, lines_on_terminal
from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from rich.console import Console

# rich (~80 ms of CPU to import) is imported only when the live view is used.

__all__ = ["FORMATS", "RunOutput", "make_output"]

FORMATS = ("live", "plain", "json")


class RunOutput(Protocol):
    refresh_interval: float | None

    @property
    def ui_cpu_seconds(self) -> float | None:
        """CPU spent drawing a live view (None: there is none)."""
        ...

    def step(self, text: str | None) -> None:
        """Show that a preparing step has begun (None: a step with nothing to show)."""
        ...

    def prepared(self) -> None:
        """The preparing steps are over; ``start`` implies it."""
        ...

    def start(self, header: RunHeader, snapshot: RunSnapshot, notes: Iterable[str]) -> None: ...

    def event(self, event: Event, state: ServerState) -> None: ...

    def tick(self, snapshot: RunSnapshot) -> None: ...

    def note(self, text: str) -> None: ...

    def finish(self, summary: Summary, snapshot: RunSnapshot, document: dict[str, Any]) -> None: ...

    def close(self) -> None:
        """Leave the terminal as it was (a live view stopped, its cursor shown) when the
        run ends without a summary (an error, a second interrupt); safe to call twice."""
        ...


class _Live:
    def __init__(self, console: Console, refresh_per_second: float) -> None:
        from bulkboot.ui.live import LiveView

        self._view = LiveView(console, refresh_per_second=refresh_per_second)
        self._console = console
        self._steps = LiveSteps(console)
        self.refresh_interval: float | None = self._view.refresh_interval

    @property
    def ui_cpu_seconds(self) -> float | None:
        return self._view.render_cpu_seconds

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        self._steps.done()

    def start(self, header: RunHeader, snapshot: RunSnapshot, notes: Iterable[str]) -> None:
        self.prepared()  # one live display at a time
        for text in notes:
            self.note(text)
        self._view.start(snapshot)

    def event(self, event: Event, state: ServerState) -> None:
        """Nothing per event: the view draws snapshots, at its own pace."""

    def tick(self, snapshot: RunSnapshot) -> None:
        self._view.update(snapshot)

    def note(self, text: str) -> None:
        self.prepared()  # a note printed under a spinner would be drawn over
        # markup=False: a note may hold a server's name or a fault, not rich markup.
        self._console.print(printable(text, multiline=True), markup=False, highlight=False)

    def finish(self, summary: Summary, snapshot: RunSnapshot, document: dict[str, Any]) -> None:
        self._view.finish(summary, snapshot)

    def close(self) -> None:
        self._view.close()


class _Plain:
    refresh_interval: float | None = None
    ui_cpu_seconds: float | None = None

    def __init__(self, out: TextIO) -> None:
        self._sink = PlainOutput(out)
        self._steps = LineSteps(out)
        self.event = self._sink.event  # the hot path: no extra call layer

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        pass

    def start(self, header: RunHeader, snapshot: RunSnapshot, notes: Iterable[str]) -> None:
        self._sink.start(header, since=snapshot.now - snapshot.elapsed, notes=notes)

    def tick(self, snapshot: RunSnapshot) -> None:
        pass

    def note(self, text: str) -> None:
        self._sink.note(text)

    def finish(self, summary: Summary, snapshot: RunSnapshot, document: dict[str, Any]) -> None:
        self._sink.finish(summary, ())

    def close(self) -> None:
        pass


class _Json:
    refresh_interval: float | None = None
    ui_cpu_seconds: float | None = None

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._json = JsonOutput(out)
        self._err = err
        self._steps: Steps = lines_on_terminal(err)

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        pass

    def start(self, header: RunHeader, snapshot: RunSnapshot, notes: Iterable[str]) -> None:
        for text in notes:
            self.note(text)

    def event(self, event: Event, state: ServerState) -> None:
        pass

    def tick(self, snapshot: RunSnapshot) -> None:
        pass

    def note(self, text: str) -> None:
        # stdout holds only the JSON document
        self._err.write(printable(text, multiline=True) + "\n")

    def finish(self, summary: Summary, snapshot: RunSnapshot, document: dict[str, Any]) -> None:
        self._json.write(document)

    def close(self) -> None:
        pass


def make_output(
    fmt: str | None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    console: Console | None = None,
    refresh_per_second: float = 2.0,
) -> RunOutput:
    """``fmt`` None picks live on a terminal, plain otherwise; live without a terminal
    falls back to plain (a redrawn screen in a log file is noise)."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    if fmt == "json":
        return _Json(stdout, stderr)
    if fmt in (None, "live") and (console is not None or stdout.isatty()):
        from rich.console import Console

        live_console = console if console is not None else Console(file=stdout)
        if live_console.is_terminal:
            return _Live(live_console, refresh_per_second)
    return _Plain(stdout)
