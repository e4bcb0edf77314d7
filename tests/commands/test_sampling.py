"""Sampling a board beside the engine, on virtual time (no test waits for real)."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from bulkboot.commands._sampling import sampled
from bulkboot.engine.board import Board, RunHeader
from bulkboot.engine.state import Created, CreateSent, ServerState, StatusSeen
from bulkboot.ui.series import SeriesSampler
from tests.engine.virtual_time import VIRTUAL_TIME

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return VIRTUAL_TIME


HEADER = RunHeader(
    command="apply",
    fleet="lab",
    cloud="c",
    endpoint="http://127.0.0.1/",
    microversion="2.96",
    concurrency=10,
    rate=None,
)


def _clock() -> float:
    return asyncio.get_running_loop().time()


async def test_the_series_follows_the_board_and_ends_with_the_last_picture() -> None:
    start = _clock()
    board = Board(header=HEADER, started_at=start)
    board.add(ServerState(name=f"s{i}") for i in range(4))
    sampler = SeriesSampler(interval=0.5)
    window = [10]
    async with sampled(board, sampler, clock=_clock, window=lambda: window[0]):
        await anyio.sleep(1.2)
        for i in range(4):
            board.apply(CreateSent(name=f"s{i}", at=_clock()))
        window[0] = 8
        await anyio.sleep(1.0)
        for i in range(4):
            board.apply(
                Created(
                    name=f"s{i}", at=_clock(), server_id=f"id{i}", post_seconds=1.0, http_attempts=1
                )
            )
        await anyio.sleep(1.0)
        for i in range(2):
            board.apply(StatusSeen(name=f"s{i}", at=_clock(), server_id=f"id{i}", status="ACTIVE"))
    document = sampler.document()
    times = document["t"]
    columns = document["columns"]
    assert times[:7] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert columns["queued"][:3] == [4, 4, 4] and columns["queued"][3] == 0
    assert columns["creating"][3:5] == [4, 4]
    assert columns["building"][5:7] == [4, 4]
    assert columns["create_window"][:3] == [10, 10, 10] and columns["create_window"][3] == 8
    # the last sample is the board as the body left it
    assert times[-1] == pytest.approx(3.2)
    assert columns["active"][-1] == 2 and columns["building"][-1] == 2


async def test_no_sampler_no_task() -> None:
    board = Board(header=HEADER, started_at=_clock())
    async with sampled(board, None, clock=_clock):
        await anyio.sleep(10.0)  # nothing sampled, nothing kept
