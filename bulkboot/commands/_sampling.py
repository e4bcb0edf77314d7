"""Sampling a run's board for the report's time series, beside the engine.

The engine does not know it is sampled: this task reads the board's snapshots from the
same event loop (as ``_runtime.feed_snapshots`` does for the live view), at the
sampler's interval, which doubles as the run grows (``ui.series.SeriesSampler``). One
snapshot is a few microseconds; the sampler takes at most ten a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from bulkboot.engine.board import Board
from bulkboot.ui.series import SeriesSampler

__all__ = ["sampled", "sample_board"]


def _values(board: Board, now: float, window: Callable[[], int] | None) -> dict[str, int]:
    snapshot = board.snapshot(now)
    values = {phase.value: count for phase, count in snapshot.counts.items()}
    if window is not None:
        values["create_window"] = window()
    return values


async def sample_board(
    board: Board,
    sampler: SeriesSampler,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    window: Callable[[], int] | None = None,
) -> None:
    """Sample ``board`` (and the create window, when given) until cancelled."""
    while True:
        now = clock()
        sampler.add(now - board.started_at, _values(board, now, window))
        await sleep(sampler.interval)


@asynccontextmanager
async def sampled(
    board: Board,
    sampler: SeriesSampler | None,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    window: Callable[[], int] | None = None,
) -> AsyncIterator[None]:
    """Sample ``board`` while the body runs, and once more as it ends (the run's last
    picture); nothing at all when ``sampler`` is None (no report asked for)."""
    if sampler is None:
        yield
        return
    async with anyio.create_task_group() as background:
        background.start_soon(
            lambda: sample_board(board, sampler, clock=clock, sleep=sleep, window=window)
        )
        try:
            yield
        finally:
            background.cancel_scope.cancel()
            now = clock()
            sampler.finish(now - board.started_at, _values(board, now, window))
