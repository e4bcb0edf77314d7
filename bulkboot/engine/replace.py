"""Deleting to create again: the retries of ``--retry-errors``, the servers waited out,
and ``--rollback-on-failure``.

A server in ERROR with Nova's fault is deleted and, once the poll loop has seen it
gone, requeued under the same name (``Requeued``): never a second server beside the
first. A quota failure is never retried (it would fail again), nor anything once the
run is stopping. A server found on its way out (``leaving``) is not retried: its name
is queued once it is gone. A replacement's new server that failed is deleted and not
queued again (``discard``): the old server it was to replace stays. A rollback deletes
every server this run created and waits for them to go, with all of ``--concurrency``,
but for those that replaced a server (``RunState.replaced``): their old one is gone.
"""

from __future__ import annotations

import anyio

from bulkboot.engine.compute_api import refusal
from bulkboot.engine.deletes import delete_and_wait
from bulkboot.engine.run_state import FATAL, RunState
from bulkboot.engine.state import Deleted, DeleteRefused, DeleteSent, Phase, Requeued, ServerState
from bulkboot.errors import CloudError

__all__ = [
    "after_failure",
    "deleted",
    "discard",
    "left",
    "release",
    "retries",
    "rollback",
    "start_replace",
]


def retries(run: RunState, state: ServerState) -> bool:
    """Will a server that just ended in failure be created again (``--retry-errors``)?"""
    return (
        state.phase is Phase.ERROR
        and run.options.wait
        and state.failure == "fault"
        and 0 < state.attempt <= run.options.retry_errors
        and not run.stopping
        and state.server_id is not None
        and state.name in run.specs
    )


def after_failure(run: RunState, state: ServerState) -> None:
    """A server just ended in failure: replace it when ``--retry-errors`` allows."""
    if retries(run, state):
        start_replace(run, state.name)


def discard(run: RunState, name: str) -> None:
    """DELETE the name's server and leave the name without one (a replacement's new
    server that failed: the old one it was to replace stays)."""
    run.discarding.add(name)
    start_replace(run, name)


def start_replace(run: RunState, name: str) -> None:
    """DELETE the server in ERROR (in the background); the poll loop sees it go."""
    state = run.board.get(name)
    if state is None or state.server_id is None or run.tasks is None:
        return
    if run.emit(DeleteSent(name=name, at=run.clock(), server_id=state.server_id)) is None:
        return
    run.deletes_in_flight += 1
    run.tasks.start_soon(_delete_for_retry, run, name, state.server_id)


async def _delete_for_retry(run: RunState, name: str, server_id: str) -> None:
    try:
        async with run.limiter:
            existed = await run.compute.delete_server(server_id)
    except FATAL:
        raise
    except CloudError as exc:  # locked, forbidden...: this server ends here, not the run
        run.emit(DeleteRefused(name=name, at=run.clock(), message=refusal(exc)))
        return
    finally:
        run.deletes_in_flight -= 1
    if existed:
        run.poller.watch(server_id, name, changing=True)  # the poll loop sees it go
    else:
        deleted(run, name, server_id, run.clock())


def deleted(run: RunState, name: str, server_id: str, now: float) -> None:
    """A server this run deleted (or waited out under its own name) is gone: requeue it."""
    run.leaving.pop(server_id, None)
    run.poller.unwatch(server_id)
    run.emit(Deleted(name=name, at=now, server_id=server_id))
    if run.stopping or run.queue is None or name in run.discarding:
        return
    if run.emit(Requeued(name=name, at=now)) is not None:
        run.queue.send_nowait(name)


def left(run: RunState, server_id: str, member: str, now: float) -> None:
    """A multi-create's old member, found on its way out, is gone."""
    name = run.leaving.pop(server_id)
    run.poller.unwatch(server_id)
    run.journal.record(Deleted(name=member, at=now, server_id=server_id))
    release(run, name)


def release(run: RunState, name: str) -> None:
    """Queue a request that waited for its old servers to go (once the last is gone)."""
    if name not in run.leaving.values() and not run.stopping and run.queue is not None:
        run.queue.send_nowait(name)


async def rollback(run: RunState) -> int:
    """Delete every server this run created and wait; returns how many went."""
    mine = [
        s
        for s in run.board.states.values()
        if not s.existed
        and s.server_id is not None
        and s.phase is not Phase.DELETED
        and s.name not in run.replaced
    ]
    run.notes.append(f"rolling back: deleting the {len(mine)} server(s) this run created")
    run.stopping = True  # deletions below must not requeue anything
    return await delete_and_wait(
        run.compute,
        [(s.name, s.server_id) for s in mine if s.server_id is not None],
        emit=run.emit,
        # all of --concurrency: the create window is about creates, and none is left
        limiter=anyio.CapacityLimiter(run.window.ceiling),
        poller=run.poller,
        pacing=run.options.pacing,
        deadline=run.options.timeout,
        clock=run.clock,
        rng=run.rng,
    )
