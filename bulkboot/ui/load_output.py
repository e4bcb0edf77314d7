"""Picking the load run's output: the live view on a terminal, plain lines elsewhere, or
JSON (the document alone on stdout; notes on stderr, never mixed with it).

Each output has ``step`` (what is being prepared: authenticating, resolving...; shown
as ``apply`` shows it, ``ui.steps``), ``prepared`` (the steps are over), ``start``,
``tick`` (a new snapshot every ``refresh_interval``; None: no ticks wanted), ``note``
and ``finish`` (the document). Notes and steps may carry text from the cloud (a fault,
an error body): they are printed through ``ui.text.printable``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from bulkboot.engine.load.snapshot import LoadHeader, LoadSnapshot
from bulkboot.ui.load_text import header_lines, progress_line, summary_lines
from bulkboot.ui.steps import LineSteps, LiveSteps, Steps, lines_on_terminal
from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PLAIN_EVERY", "LoadOutput", "make_load_output"]

PLAIN_EVERY = 5.0  # seconds between two progress lines without a terminal


class LoadOutput(Protocol):
    refresh_interval: float | None

    def step(self, text: str | None) -> None:
        """Show that a preparing step has begun (None: a step with nothing to show)."""
        ...

    def prepared(self) -> None:
        """The preparing steps are over (a question or the run comes next)."""
        ...

    def start(self, header: LoadHeader, notes: Iterable[str]) -> None: ...

    def tick(self, snapshot: LoadSnapshot) -> None: ...

    def note(self, text: str) -> None: ...

    def finish(self, document: Mapping[str, Any]) -> None: ...

    def close(self) -> None:
        """Leave the terminal as it was when the run ends without a summary (an error, a
        second interrupt); safe to call twice."""
        ...


class _Live:
    def __init__(self, console: Console, refresh_per_second: float) -> None:
        from bulkboot.ui.load_view import LoadView

        self._view = LoadView(console, refresh_per_second=refresh_per_second)
        self._steps = LiveSteps(console)
        self.refresh_interval: float | None = self._view.refresh_interval

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        self._steps.done()

    def start(self, header: LoadHeader, notes: Iterable[str]) -> None:
        self.prepared()  # one live display at a time
        self._view.start(header, [printable(text, multiline=True) for text in notes])

    def tick(self, snapshot: LoadSnapshot) -> None:
        self._view.update(snapshot)

    def note(self, text: str) -> None:
        self.prepared()  # a note printed under a spinner would be drawn over
        self._view.note(printable(text, multiline=True))

    def finish(self, document: Mapping[str, Any]) -> None:
        self._view.finish(summary_lines(document))

    def close(self) -> None:
        self._steps.done()
        self._view.finish(())


class _Plain:
    def __init__(self, out: TextIO, every: float) -> None:
        self._out = out
        self._steps = LineSteps(out)
        self.refresh_interval: float | None = every

    def _line(self, text: str) -> None:
        try:
            self._out.write(text + "\n")
            self._out.flush()
        except BrokenPipeError:  # nobody reads any more (`| head`): the run goes on
            pass

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        pass

    def start(self, header: LoadHeader, notes: Iterable[str]) -> None:
        for text in notes:
            self.note(text)
        for text in header_lines(header):
            self._line(text)

    def tick(self, snapshot: LoadSnapshot) -> None:
        if snapshot.elapsed >= 1.0:  # the first tick comes at the start: nothing to say
            self._line(progress_line(snapshot))

    def note(self, text: str) -> None:
        self._line(printable(text, multiline=True))

    def finish(self, document: Mapping[str, Any]) -> None:
        for text in summary_lines(document):
            self._line(text)

    def close(self) -> None:
        pass


class _Json:
    refresh_interval: float | None = None

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        # steps on a terminal only, so that a script's stderr stays quiet
        self._steps: Steps = lines_on_terminal(err)

    def step(self, text: str | None) -> None:
        if text is not None:
            self._steps.step(text)

    def prepared(self) -> None:
        pass

    def start(self, header: LoadHeader, notes: Iterable[str]) -> None:
        for text in notes:
            self.note(text)

    def tick(self, snapshot: LoadSnapshot) -> None:
        pass

    def note(self, text: str) -> None:
        self._err.write(printable(text, multiline=True) + "\n")  # stdout: the document only

    def finish(self, document: Mapping[str, Any]) -> None:
        self._out.write(json.dumps(document, indent=2) + "\n")
        self._out.flush()

    def close(self) -> None:
        pass


def make_load_output(
    fmt: str | None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    console: Console | None = None,
    refresh_per_second: float = 2.0,
    plain_every: float = PLAIN_EVERY,
) -> LoadOutput:
    """``fmt`` None picks live on a terminal, plain otherwise (as ``make_output``)."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    if fmt == "json":
        return _Json(stdout, stderr)
    if fmt in (None, "live") and (console is not None or stdout.isatty()):
        from rich.console import Console

        live_console = console if console is not None else Console(file=stdout)
        if live_console.is_terminal:
            return _Live(live_console, refresh_per_second)
    return _Plain(stdout, plain_every)
