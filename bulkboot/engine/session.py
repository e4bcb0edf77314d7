"""What ``apply``, ``status`` and ``destroy`` share around the engine: which cloud (or
the embedded simulator), Ctrl-C handling, and feeding snapshots to the live view.

The embedded simulator: ``--cloud simulator`` (or ``cloud: simulator`` in the
manifest) when no clouds.yaml defines a cloud of that name starts
``bulkboot.simulator.server.start_simulator`` in a background thread for the
duration of the command. It is a fresh, empty cloud each time, which the commands
say plainly (``status`` and ``destroy`` against it find nothing).
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from bulkboot.engine.board import Board, RunSnapshot

if TYPE_CHECKING:
    from bulkboot.cloud.config import CloudConfig

__all__ = [
    "EMBEDDED_NOTE",
    "Target",
    "cloud_target",
    "feed_snapshots",
    "quiet_gc",
    "watch_interrupts",
]

EMBEDDED_NOTE = (
    "cloud 'simulator': no clouds.yaml defines it, so bulkboot started its embedded "
    "simulator, a fresh and empty cloud that lives only as long as this command"
)


@dataclass(frozen=True, slots=True)
class Target:
    config: CloudConfig
    embedded: bool


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


@contextmanager
def quiet_gc(young: int = 10_000) -> Iterator[None]:
    """Keep the cyclic garbage collector from eating the run's CPU.

    Why: by the time creates start, the process holds the manifest's specs, the board
    and the imported modules (hundreds of thousands of objects), and every request
    allocates more. With the default thresholds the collector ran ~1,000 times in a
    10,000-server run and took 16 % of its CPU, collecting almost nothing (the engine
    makes no reference cycles of note). Freezing what exists moves it out of every
    collection; a larger young generation makes collections rarer. Both are undone on
    exit.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


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
