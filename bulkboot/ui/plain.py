"""Output without a terminal: one plain line per event, and the JSON results.

Why: in CI and pipes a redrawn screen is noise; one line per event can be grepped,
timestamped by the runner, and tailed. Lines are built with f-strings only (this runs
once per event, a hot path at 10,000 servers) and written without flushing each one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from bulkboot.engine import state as ev
from bulkboot.ui.report import Summary, format_summary
from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from bulkboot.engine.board import RunHeader

__all__ = ["JsonOutput", "PlainOutput", "format_event", "format_found", "format_header"]


def format_header(header: RunHeader) -> str:
    rate = "unlimited" if header.rate is None else f"{header.rate:g}/s"
    return printable(
        f"{header.command} {header.fleet}: cloud {header.cloud} ({header.endpoint}), "
        f"compute {header.microversion}, concurrency {header.concurrency}, rate {rate}"
    )


def format_event(event: ev.Event, state: ev.ServerState, since: float) -> str | None:
    """The line for one event: ``+SECONDS NAME what``; ``None`` for silent events."""
    stamp = f"+{event.at - since:.3f}s {event.name}"
    if isinstance(event, ev.CreateSent):
        return f"{stamp} create sent (attempt {state.attempt})"
    if isinstance(event, ev.Created):
        if event.uncertain and event.post_answer_seconds is None:
            return f"{stamp} create sent, no answer (may still appear; looked for by name)"
        if event.uncertain:
            return (
                f"{stamp} create accepted, but the answer names no server (looked for by "
                f"name) in {event.post_seconds * 1000:.0f}ms"
            )
        target = f"id {event.server_id}" if event.server_id else "accepted (reservation)"
        tries = event.http_attempts
        turned = (
            f", {event.throttled} turned away (429/503), "
            f"{(event.post_wait_seconds or 0.0) * 1000:.0f}ms waited"
            if event.throttled
            else ""
        )
        return (
            f"{stamp} created {target} in {event.post_seconds * 1000:.0f}ms"
            f" ({tries} HTTP attempt{'s' if tries != 1 else ''}{turned})"
        )
    if isinstance(event, ev.StatusSeen):
        if state.phase.value == "active":
            took = "" if state.active_seconds is None else f" after {state.active_seconds:.2f}s"
            return f"{stamp} ACTIVE{took}"
        if state.message and state.phase.value != "building":
            return f"{stamp} {event.status}: {state.message}"
        return f"{stamp} status {event.status}"
    if isinstance(event, ev.Found):
        return f"{stamp} already exists ({event.status}, id {event.server_id})"
    if isinstance(event, ev.CreateRefused):
        return f"{stamp} create refused: {event.message}"
    if isinstance(event, ev.DeadlinePassed):
        return f"{stamp} TIMEOUT: {state.message}"
    if isinstance(event, ev.Vanished):
        return f"{stamp} GONE: {state.message}"
    if isinstance(event, ev.DeleteSent):
        return f"{stamp} delete sent (id {event.server_id})"
    if isinstance(event, ev.DeleteRefused):
        return f"{stamp} {state.message}"
    if isinstance(event, ev.Deleted):
        return f"{stamp} deleted (id {event.server_id})"
    if isinstance(event, ev.Requeued):
        return f"{stamp} will be created again"
    return None


_NAMES_SHOWN = 8  # names listed in a line that summarises servers found


def format_found(found: Iterable[ev.Found]) -> list[str]:
    """One line per status for the servers that already existed: a re-apply of a
    complete fleet of 1,000 says ``already existed: 1000 ACTIVE``, not 1,000 lines.
    Servers not ACTIVE are named (the first few): they are the ones to look at."""
    by_status: dict[str, list[str]] = {}
    for event in found:
        by_status.setdefault(event.status, []).append(event.name)
    lines = []
    for status, names in sorted(by_status.items(), key=lambda item: (-len(item[1]), item[0])):
        line = f"already existed: {len(names)} {status}"
        if status != "ACTIVE":
            shown = ", ".join(names[:_NAMES_SHOWN])
            more = f", ... ({len(names) - _NAMES_SHOWN} more)" if len(names) > _NAMES_SHOWN else ""
            line += f" ({shown}{more})"
        lines.append(printable(line))
    return lines


class _Gone(io.StringIO):
    """Where lines go once stdout has gone away: nowhere."""

    def write(self, text: str) -> int:
        return len(text)


class PlainOutput:
    """The plain sink: the header, one line per event, then the summary.

    Events that come before ``start`` (the servers found by the inventory, listed
    before the header can be printed) are held and written after the header and
    notes: the servers found are summarised (``format_found``), any other event is
    stamped from the run's start like every later line.
    """

    __slots__ = ("_out", "_pending", "_since")

    def __init__(self, out: TextIO | None = None) -> None:
        self._out: TextIO = out if out is not None else sys.stdout
        self._since = 0.0
        self._pending: list[tuple[ev.Event, ev.ServerState]] | None = []

    def _gone(self) -> None:
        """stdout went away (``bulkboot apply ... | head``): the run goes on, unseen.

        Why not stop: creates are in flight, and a fleet half-built because a reader
        stopped reading is worse than lines nobody reads. The run's end (journal,
        summary, exit code) is as it would have been.
        """
        if self._out is sys.stdout:
            # The interpreter's last flush of stdout must not fail either.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        self._out = _Gone()

    def start(self, header: RunHeader, *, since: float, notes: Iterable[str] = ()) -> None:
        try:
            self._start(header, since=since, notes=notes)
        except BrokenPipeError:
            self._gone()

    def _start(self, header: RunHeader, *, since: float, notes: Iterable[str]) -> None:
        self._since = since
        pending, self._pending = self._pending, None
        self._out.write(format_header(header) + "\n")
        for note in notes:
            self._out.write(printable(note, multiline=True) + "\n")
        pending = pending or []
        for line in format_found(e for e, _ in pending if isinstance(e, ev.Found)):
            self._out.write(line + "\n")
        for event, state in pending:
            if not isinstance(event, ev.Found):
                self.event(event, state)

    def note(self, text: str) -> None:
        try:
            self._out.write(printable(text, multiline=True) + "\n")
            self._out.flush()
        except BrokenPipeError:
            self._gone()

    def event(self, event: ev.Event, state: ev.ServerState) -> None:
        if self._pending is not None:  # not started: the header comes first
            self._pending.append((event, state))
            return
        line = format_event(event, state, self._since)
        if line is not None:
            try:
                # Names, statuses and faults come from the manifest and the cloud.
                self._out.write(printable(line) + "\n")
            except BrokenPipeError:  # the write that filled the buffer found it gone
                self._gone()

    def finish(self, summary: Summary, states: Iterable[ev.ServerState]) -> None:
        del states
        try:
            self._out.write("\n".join(format_summary(summary)) + "\n")
            self._out.flush()
        except BrokenPipeError:
            self._gone()


class JsonOutput:
    """``--format json``: nothing while running, the results document at the end."""

    __slots__ = ("_out",)

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout

    def write(self, document: dict[str, Any]) -> None:
        json.dump(document, self._out, indent=2)
        self._out.write("\n")
        self._out.flush()
