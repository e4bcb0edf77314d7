"""Command plumbing: the error a user sees out of a task group (also out of a watched
run); the collector kept quiet."""

from __future__ import annotations

import io

import anyio
import pytest

from bulkboot.commands._runtime import watched
from bulkboot.engine.board import Board, RunHeader
from bulkboot.errors import AuthError, BaseExceptionGroup, ExceptionGroup, first_error
from bulkboot.ui.output import make_output


def test_first_error_digs_the_bulkboot_error_out_of_nested_groups() -> None:
    error = AuthError("cloud 'x': the token was refused twice")
    group = BaseExceptionGroup("outer", [ValueError("x"), ExceptionGroup("inner", [error])])
    assert first_error(group) is error
    plain = ExceptionGroup("only", [ValueError("bug")])
    assert first_error(plain) is plain


@pytest.mark.anyio
async def test_a_task_groups_error_comes_out_whole() -> None:
    async def fail() -> None:
        raise AuthError("refused")

    with pytest.raises(BaseExceptionGroup) as info:
        async with anyio.create_task_group() as group:
            group.start_soon(fail)
            group.start_soon(anyio.sleep, 1)
    assert str(first_error(info.value)) == "refused"


def _board() -> Board:
    header = RunHeader(
        command="apply",
        fleet="lab",
        cloud="c",
        endpoint="http://nova",
        microversion="2.96",
        concurrency=1,
        rate=None,
    )
    return Board(header=header, started_at=0.0)


@pytest.mark.anyio
async def test_an_error_of_the_watched_run_comes_out_whole() -> None:
    out = io.StringIO()
    output = make_output("plain", out=out)

    def never() -> None:
        raise AssertionError("no Ctrl-C was pressed")

    with pytest.raises(BaseExceptionGroup) as info:
        async with watched(
            output, _board(), ["a note"], clock=lambda: 1.0, first=never, second=never
        ):
            raise AuthError("refused")
    assert str(first_error(info.value)) == "refused"
    assert out.getvalue().startswith("apply lab: cloud c (http://nova)")
    assert "a note" in out.getvalue()
