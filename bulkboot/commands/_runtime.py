"""What the commands that talk to a cloud share: which cloud (or the embedded simulator),
running the command's work on it, the fleet's state (its journal and its lock: kept in
``_fleet_state``, its names re-exported here), asking before acting, Ctrl-C and
SIGTERM, and feeding snapshots to the live view.

The embedded simulator: ``--cloud simulator`` (or ``cloud: simulator`` in the
manifest) when no clouds.yaml defines a cloud of that name starts
``bulkboot.simulator.server.start_simulator`` in a background thread for the
duration of the command. It is a fresh, empty cloud each time, which the commands
say plainly (``status`` and ``destroy`` against it find nothing).

This module loads anyio, the engine's board and journal and the report: a command
imports it from ``run``, once its command line has parsed, so that ``--help`` and a
mistyped flag stay quick. Not a command (``bulkboot.cli`` skips ``_`` modules).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from bulkboot.commands._fleet_state import (
    STATE_DIR_ENV,
    fleet_journal,
    fleet_lock,
    fleet_state,
    record_gone,
    run_journal,
)
from bulkboot.engine.board import Board, RunHeader, RunSnapshot
from bulkboot.engine.inventory import wall_time
from bulkboot.errors import BaseExceptionGroup, first_error
from bulkboot.gcpause import gc_paused
from bulkboot.ui.report import RequestSummary, Summary, results_document, summarize

if TYPE_CHECKING:
    from bulkboot.cloud.client import Cloud
    from bulkboot.cloud.config import CloudConfig
    from bulkboot.engine.state import ServerState
    from bulkboot.ui.output import RunOutput

__all__ = [
    "EMBEDDED_NOTE",
    "POOL_HEADROOM",
    "STATE_DIR_ENV",
    "InFlight",
    "Target",
    "cloud_target",
    "confirmed",
    "feed_snapshots",
    "finish_run",
    "fleet_journal",
    "fleet_lock",
    "fleet_state",
    "in_flight_window",
    "record_gone",
    "run_header",
    "run_journal",
    "run_on_cloud",
    "watch_interrupts",
    "watched",
]

EMBEDDED_NOTE = (
    "cloud 'simulator': no clouds.yaml defines it, so bulkboot started its embedded "
    "simulator, a fresh and empty cloud that lives only as long as this command"
)

T = TypeVar("T")

# Connections beyond the requests of the command's own kind in flight (creates,
# deletes): the listing, polls and look-ups that go beside them. A command with no
# such kind (``status``) has only these.
POOL_HEADROOM = 8


@dataclass(frozen=True, slots=True)
class Target:
    """The cloud a command talks to: its configuration, and whether it is the embedded
    simulator (a fresh, empty cloud: nothing there to ask about or lose)."""

    config: CloudConfig
    embedded: bool

    def notes(self) -> list[str]:
        """What to tell the user before anything else about this cloud."""
        return [EMBEDDED_NOTE] if self.embedded else []


@contextmanager
def cloud_target(name: str | None) -> Iterator[Target]:
    """The cloud to talk to; starts (and stops) the embedded simulator when wanted."""
    from bulkboot.cloud.config import (
        config_from_mapping,
        load_cloud_config,
        wants_embedded_simulator,
    )

    if wants_embedded_simulator(name):
        from bulkboot.simulator.server import start_simulator

        with start_simulator() as simulator:
            yield Target(config_from_mapping(simulator.clouds_yaml(), "simulator"), True)
        return
    yield Target(load_cloud_config(name), False)


def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """SIGTERM, outside a run's watched part, does what Ctrl-C does there: it ends the
    command (KeyboardInterrupt) instead of killing it with the terminal as it was."""
    signal.raise_signal(signal.SIGINT)


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's (a command run from a test's thread)
        return
    previous = signal.signal(signal.SIGTERM, _as_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def in_flight_window(cloud: Cloud, flag: float | None) -> float:
    """Seconds Nova may still act on a create sent and never answered: ``flag``
    (``--in-flight-window``), else clouds.yaml's ``in_flight_window``, else the request
    timeout (a create Nova has not taken up within it is assumed never to be; see
    docs/apply.md, "What is promised")."""
    if flag is not None:
        return flag
    return cloud.config.in_flight_window or cloud.transport.attempt_timeout


def run_on_cloud(
    name: str | None, work: Callable[[Target], Awaitable[T]], *, output: RunOutput | None = None
) -> T:
    """Run ``work`` on the cloud ``name`` picks (see ``cloud_target``); what it returns.

    A task group's failure reaches the user as the one clear error inside it (a 401
    that survived re-authentication, say), not as a group. ``output``'s preparing
    steps end however the work ends, so an error is never printed under a spinner.
    SIGTERM is Ctrl-C for the whole command (see ``watch_interrupts`` for the run
    itself).
    """
    try:
        with _sigterm_as_ctrl_c(), cloud_target(name) as target:
            try:
                return anyio.run(work, target, backend="asyncio")
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            except asyncio.CancelledError:
                if sys.version_info >= (3, 11):
                    raise
                # Python 3.10: anyio's runner cancels the work on Ctrl-C but, with no
                # Task.uncancel there, lets the cancellation out, not KeyboardInterrupt.
                raise KeyboardInterrupt from None
    finally:
        if output is not None:
            output.prepared()


def run_header(
    command: str,
    fleet: str,
    cloud: Cloud,
    target: Target,
    *,
    microversion: str,
    concurrency: int,
    rate: float | None,
) -> RunHeader:
    return RunHeader(
        command=command,
        fleet=fleet,
        cloud=cloud.cloud_name + (" (embedded)" if target.embedded else ""),
        endpoint=cloud.endpoint,
        microversion=microversion,
        concurrency=concurrency,
        rate=rate,
    )


async def confirmed(
    question: str | None,
    *,
    yes: bool,
    target: Target,
    output: RunOutput,
    board: Board | None = None,
    clock: Callable[[], float] | None = None,
) -> bool:
    """Whether to go ahead; ``question`` None: there is nothing to ask about.

    The user is asked on the terminal (``_prompt``: never on stdout; Ctrl-C raises
    ``Interrupted``, the end of input is a no, said so), and not with ``--yes``, on the
    embedded simulator (a cloud of the command's own, with nothing to lose), or with
    nobody at a terminal (a command that deletes has refused that earlier, see
    ``_prompt.refuse_unattended``). What the command showed while it prepared ends
    first, so the question stands alone on its line.

    The run's clock starts at the go-ahead: ``board.started_at`` is set to ``clock()``
    then, so time spent reading the question is not run time (elapsed, servers/min,
    the report's ``elapsed_seconds``).
    """
    output.prepared()
    if question is not None and not (yes or target.embedded):
        from bulkboot.commands._prompt import ask, terminal

        with terminal() as where:
            if where is not None:
                answer = await ask(where, question)
                if not answer.yes:
                    if answer.end_of_input:
                        output.note("no answer (end of input): taken as no")
                    return False
    if board is not None and clock is not None:
        board.started_at = clock()
    return True


async def watch_interrupts(
    first: Callable[[], None],
    second: Callable[[], None],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Ctrl-C or SIGTERM once calls ``first`` (stop gently), a second of either
    ``second`` (stop now).

    Runs until cancelled; while it runs, SIGINT no longer raises KeyboardInterrupt.
    Started with ``TaskGroup.start``, it returns once the signals are its own: a
    Ctrl-C a moment after the run began must not land as a KeyboardInterrupt in the
    middle of the engine's work. SIGTERM's handler is put back as it was after
    (asyncio would leave the default).
    """
    term = signal.getsignal(signal.SIGTERM)
    try:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            count = 0
            async for _ in signals:
                count += 1
                (first if count == 1 else second)()
    finally:
        if threading.current_thread() is threading.main_thread() and term is not None:
            signal.signal(signal.SIGTERM, term)


async def feed_snapshots(
    board: Board,
    tick: Callable[[RunSnapshot], None],
    interval: float,
    clock: Callable[[], float],
) -> None:
    """Hand the view a fresh snapshot every ``interval`` seconds, until cancelled.

    Snapshots are built here, in the event loop that owns the board, so the view's
    thread only ever reads finished, immutable values.
    """
    while True:
        tick(board.snapshot(clock()))
        await anyio.sleep(interval)


@asynccontextmanager
async def watched(
    output: RunOutput,
    board: Board,
    notes: Iterable[str],
    *,
    clock: Callable[[], float],
    first: Callable[[], None],
    second: Callable[[], None],
) -> AsyncIterator[None]:
    """Show the run's start; while the body runs the engine, Ctrl-C (or SIGTERM) calls
    ``first`` then ``second`` (see ``watch_interrupts``), the view gets its snapshots
    and the collector keeps out of the way (``gc_paused``). The watchers stop with the
    body; if the body fails, the view is closed (the terminal as it was) before the
    error goes on."""
    output.start(board.header, board.snapshot(clock()), notes)
    try:
        async with anyio.create_task_group() as background:
            await background.start(watch_interrupts, first, second)
            if output.refresh_interval is not None:
                background.start_soon(
                    feed_snapshots, board, output.tick, output.refresh_interval, clock
                )
            with gc_paused(young=10_000):
                yield
            background.cancel_scope.cancel()
    except BaseException:
        output.close()
        raise


@dataclass(frozen=True, slots=True)
class InFlight:
    """Creates sent and never answered whose servers may still appear, until ``until``
    (wall clock): what an interrupted run's summary says."""

    creates: int
    until: float | None

    def note(self, command: str) -> str:
        then = wall_time(self.until) if self.until is not None else "the request timeout"
        after = (
            "the next apply or destroy looks for them until then, and sends none of them again"
            if command == "apply"
            else "run destroy again after that"
        )
        return (
            f"{self.creates} create(s) were in flight and never answered: their servers may "
            f"still appear until {then} ({after}; the journal has them)"
        )

    def document(self) -> dict[str, Any]:
        until = self.until
        return {
            "creates": self.creates,
            "until": None
            if until is None
            else datetime.fromtimestamp(until, timezone.utc).isoformat(timespec="seconds"),
        }


def finish_run(
    output: RunOutput,
    board: Board,
    states: Sequence[ServerState],
    *,
    clock: Callable[[], float],
    auth_seconds: Iterable[float],
    interrupted: bool,
    requests: RequestSummary | None = None,
    in_flight: InFlight | None = None,
    changes: Mapping[str, int] | None = None,
) -> Summary:
    """Summarise the run (timed from the board's start) and show the summary last,
    after what was still in flight (``in_flight``, when any create was); ``requests``:
    the cloud client's account of the API requests."""
    header = board.header
    summary = summarize(
        states,
        command=header.command,
        fleet=header.fleet,
        elapsed=clock() - board.started_at,
        auth_seconds=auth_seconds,
        interrupted=interrupted,
        requests=requests,
        changes=changes,
    )
    document = results_document(summary, states, header=header)
    if in_flight is not None and in_flight.creates:
        output.note(in_flight.note(header.command))
        document["summary"]["in_flight"] = in_flight.document()
    output.finish(summary, board.snapshot(clock(), done=True), document)
    return summary
