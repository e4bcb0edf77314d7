"""What the commands that talk to a cloud share: which cloud (or the embedded simulator),
running the command's work on it, the fleet's journal, asking before acting, Ctrl-C, and
feeding snapshots to the live view.

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

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio

from bulkboot.engine.board import Board, RunHeader, RunSnapshot
from bulkboot.engine.journal import Journal, JournalEntry, journal_path, read_journal, replay
from bulkboot.errors import first_error
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
    "Target",
    "cloud_target",
    "confirmed",
    "feed_snapshots",
    "finish_run",
    "fleet_journal",
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


def run_on_cloud(
    name: str | None, work: Callable[[Target], Awaitable[T]], *, output: RunOutput | None = None
) -> T:
    """Run ``work`` on the cloud ``name`` picks (see ``cloud_target``); what it returns.

    A task group's failure reaches the user as the one clear error inside it (a 401
    that survived re-authentication, say), not as a group. ``output``'s preparing
    steps end however the work ends, so an error is never printed under a spinner.
    """
    try:
        with cloud_target(name) as target:
            try:
                return anyio.run(work, target, backend="asyncio")
            except BaseExceptionGroup as group:
                raise first_error(group) from None
    finally:
        if output is not None:
            output.prepared()


def fleet_journal(manifest_file: str, fleet: str) -> tuple[Path, dict[str, JournalEntry]]:
    """The fleet's journal beside its manifest, and what it says about each server."""
    path = journal_path(manifest_file, fleet)
    return path, replay(read_journal(path))


@contextmanager
def run_journal(path: Path, *, command: str, cloud: str) -> Iterator[Journal]:
    """The journal, open for this run, which it starts by naming."""
    with Journal.open(path) as journal:
        journal.write({"ev": "run", "cmd": command, "cloud": cloud})
        yield journal


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


async def watch_interrupts(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Ctrl-C once calls ``first`` (stop gently), twice ``second`` (stop now).

    Runs until cancelled; while it runs, SIGINT no longer raises KeyboardInterrupt.
    """
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        count = 0
        async for _ in signals:
            count += 1
            (first if count == 1 else second)()


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
    """Show the run's start; while the body runs the engine, Ctrl-C calls ``first``
    then ``second`` (see ``watch_interrupts``), the view gets its snapshots and the
    collector keeps out of the way (``gc_paused``). The watchers stop with the body."""
    output.start(board.header, board.snapshot(clock()), notes)
    async with anyio.create_task_group() as background:
        background.start_soon(watch_interrupts, first, second)
        if output.refresh_interval is not None:
            background.start_soon(
                feed_snapshots, board, output.tick, output.refresh_interval, clock
            )
        with gc_paused(young=10_000):
            yield
        background.cancel_scope.cancel()


def finish_run(
    output: RunOutput,
    board: Board,
    states: Sequence[ServerState],
    *,
    clock: Callable[[], float],
    auth_seconds: Iterable[float],
    interrupted: bool,
    requests: RequestSummary | None = None,
) -> Summary:
    """Summarise the run (timed from the board's start) and show the summary last;
    ``requests``: the cloud client's account of the API requests."""
    header = board.header
    summary = summarize(
        states,
        command=header.command,
        fleet=header.fleet,
        elapsed=clock() - board.started_at,
        auth_seconds=auth_seconds,
        interrupted=interrupted,
        requests=requests,
    )
    document = results_document(summary, states, header=header)
    output.finish(summary, board.snapshot(clock(), done=True), document)
    return summary
