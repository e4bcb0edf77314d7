"""The poll loop: what each round of sightings means for the run's servers.

A round (``poll.Poller``) reports sightings of the watched servers, the fleet's
records nobody watches yet, and watched ids a full listing lacked. Here they become
events: a status seen (ACTIVE, ERROR and its retry), a deletion seen done (a retry's,
or a server waited out), a server gone behind our back; a multi-create's members
discovered (Nova names them, the answer does not list them); the server of a create
whose answer was lost adopted by its exact name and the fleet mark. After each round,
the per-server deadlines: a build, a deletion, a request whose members never showed.

Creates of an earlier run that may still land (``RunState.possible``) are looked for
by name and fleet mark (found: adopted, as servers that existed); once a round that
began after a window's end has not shown one, its name is queued to create.

A replacement's old servers (``RunState.side``) are deleted while their name's server
on the board is the new one: their sightings, disappearance and deadline go to the
rollout (``side_gone``, ``side_overdue``), never to the name's state. A server listed
at the start is never adopted as one of this run's or an earlier run's creates of its
name (it is an older server of the name).

Another writer (``writers``): a server of the fleet this run does not know, created
after it began, stops the run's creates.

The loop's interval adapts (``pacing.PollPacing``): short while rounds bring news,
longer while builds run; a worker or ``request_stop`` may wake it early. It ends when
every server is final (or, stopping, when no create is in flight), and then closes
the work queue so the workers end too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from bulkboot.engine.members import member_index, member_spec
from bulkboot.engine.poll import PollRound, fault_message, sleep_interval
from bulkboot.engine.replace import after_failure, deleted, left, release, start_replace
from bulkboot.engine.run_state import RunState
from bulkboot.engine.state import (
    Created,
    DeadlinePassed,
    Found,
    Phase,
    ServerState,
    StatusSeen,
    Vanished,
)
from bulkboot.engine.writers import (
    another_writer,
    another_writer_note,
    earlier_landed_note,
    stop_for_another_writer,
)
from bulkboot.identity import is_gone

__all__ = [
    "another_writer_note",
    "apply_round",
    "earlier_landed_note",
    "check_deadlines",
    "finished",
    "poll_loop",
    "release_possible",
]


def finished(run: RunState) -> bool:
    """Nothing left to watch for: every server final, or what a stop still waits for done."""
    if run.deletes_in_flight:
        return False
    board = run.board
    if run.stopping:
        return board.count(Phase.CREATING) == 0
    if run.side:  # a replacement's old servers, deleted, not seen gone yet
        return False
    if not run.options.wait:  # --no-wait: only servers on their way out are waited for
        return not run.leaving and not run.possible  # ... and creates that may land
    return board.pending() == 0


async def poll_loop(run: RunState) -> None:
    """Round after round until ``finished``; then close the work queue."""
    interval: float | None = None
    news = False
    size = len(run.board.states)
    while not finished(run):
        interval = await sleep_interval(
            run.options.pacing,
            interval,
            news=news,
            fleet_size=size,
            rng=run.rng,
            wake=run.wake,
        )
        if run.wake.is_set():
            run.wake = anyio.Event()
        if finished(run):
            break
        if run.poller.watching() == 0 and not (run.groups or run.unsure or run.possible):
            news = False
            check_deadlines(run)
            continue
        began = run.clock()
        result = await run.poller.round()
        run.rounds += 1
        news = apply_round(run, result, began)
        check_deadlines(run)
        news |= release_possible(run, began)
    assert run.queue is not None
    run.queue.close()


def release_possible(run: RunState, began: float) -> bool:
    """Queue the creates of an earlier run whose window ended before the round that
    ``began`` then, which did not show them: they did not land, and will not."""
    released = False
    for name, until in list(run.possible.items()):
        if until > began:
            continue
        del run.possible[name]
        run.unanswered.pop(name, None)
        run.groups.pop(name, None)
        state = run.board.get(name)
        if state is not None and state.phase is Phase.QUEUED:
            released = True
            if not run.stopping and run.queue is not None:
                run.queue.send_nowait(name)
    return released


def apply_round(run: RunState, result: PollRound, began: float) -> bool:
    """Turn one round's sightings (of a round that ``began`` then) into events; True
    when anything changed."""
    news = False
    now = run.clock()
    board = run.board
    writers: list[str] = []
    for record in result.unknown:
        name = record.get("name")
        if run.possible and name in run.possible and name not in run.groups:
            taken = _found_possible(run, record, now)
        elif run.unsure and name in run.unsure:
            taken = _adopt(run, record, now)
        else:
            taken = _maybe_member(run, record, now)
        news |= taken
        if not taken and another_writer(run, record):
            writers.append(str(name))
    if writers:
        stop_for_another_writer(run, writers)
        news = True
    if run.groups:
        # Members an earlier round listed before their request's answer came (Nova
        # writes them one by one before it answers): the run's own, taken now.
        for record in run.poller.unwatched():
            name = record.get("name")
            if isinstance(name, str) and name not in board.states and "id" in record:
                news |= _maybe_member(run, record, now)
        # Nova makes every member of a multi-create before answering the POST, so a
        # round that began after the answer and showed members (this round's, or an
        # earlier one's taken above) shows all the request will ever have.
        groups_at = run.groups_at
        for group in [
            g for g in run.groups if g not in board.states and groups_at.get(g, 0.0) <= began
        ]:
            del run.groups[group]
            groups_at.pop(group, None)
    side = run.side
    for sighting in result.sightings:
        if side and sighting.server_id in side:
            if sighting.status == "DELETED" and run.side_gone is not None:
                run.side_gone(sighting.server_id, now)
                news = True
            continue
        state = board.get(sighting.key)
        if state is None:
            if sighting.server_id in run.leaving and sighting.status == "DELETED":
                left(run, sighting.server_id, sighting.key, now)
            elif sighting.server_id not in run.leaving:
                run.poller.unwatch(sighting.server_id)
            continue
        if state.phase is Phase.DELETING:
            if sighting.status == "DELETED":
                deleted(run, sighting.key, sighting.server_id, now)
                news = True
            continue
        new = run.emit(
            StatusSeen(
                name=sighting.key,
                at=now,
                server_id=sighting.server_id,
                status=sighting.status,
                fault=sighting.fault,
            )
        )
        if new is None:
            continue
        news = True
        if new.final:
            run.poller.unwatch(sighting.server_id)
            after_failure(run, new)
    for server_id, key in result.missing:
        run.poller.unwatch(server_id)
        if side and server_id in side:
            if run.side_gone is not None:
                run.side_gone(server_id, now)
            news = True
            continue
        state = board.get(key)
        if state is None:
            if server_id in run.leaving:
                left(run, server_id, key, now)
            continue
        news = True
        if state.phase is Phase.DELETING:
            deleted(run, key, server_id, now)
        else:
            run.emit(Vanished(name=key, at=now))
    return news


def _found_possible(run: RunState, record: Mapping[str, Any], now: float) -> bool:
    """A create of an earlier run that might still land has landed: the server existed
    before this run (``Found``), and is watched like any such."""
    name = str(record["name"])
    state = run.board.get(name)
    if state is None or state.phase is not Phase.QUEUED or is_gone(record):
        return False
    if str(record["id"]) in run.known_ids:  # a server of the name listed before (replaced)
        return False
    del run.possible[name]
    run.unanswered.pop(name, None)
    server_id = str(record["id"])
    run.known_ids.add(server_id)
    status = record.get("status")
    new = run.emit(
        Found(
            name=name,
            at=now,
            server_id=server_id,
            status=status if isinstance(status, str) else "UNKNOWN",
            fault=fault_message(record),
        )
    )
    if new is None:
        return False
    if new.phase is Phase.BUILDING:
        run.poller.watch(server_id, name)
    elif (
        new.phase is Phase.ERROR
        and new.failure != "quota"
        and run.options.retry_errors > 0
        and run.options.wait
        and not run.stopping
    ):
        start_replace(run, name)
    return True


def _adopt(run: RunState, record: Mapping[str, Any], now: float) -> bool:
    """The server of a create whose answer was lost has shown up: watch it."""
    if str(record["id"]) in run.known_ids:  # an older server of the name (replaced)
        return False
    name = str(record["name"])
    run.unsure.discard(name)
    run.unanswered.pop(name, None)
    state = run.board.get(name)
    server_id = str(record["id"])
    run.journal.record(
        Created(
            name=name,
            at=now,
            server_id=server_id,
            post_seconds=(state.post_seconds if state else None) or 0.0,
            http_attempts=state.http_attempts if state else 1,
        )
    )
    new = _sighted(run, name, server_id, record, now)
    if new is not None and new.final:
        after_failure(run, new)
    return True


def _sighted(
    run: RunState, name: str, server_id: str, record: Mapping[str, Any], now: float
) -> ServerState | None:
    """A newly found server's first status: watched until it is final."""
    run.known_ids.add(server_id)
    run.poller.watch(server_id, name)
    status = record.get("status")
    new = run.emit(
        StatusSeen(
            name=name,
            at=now,
            server_id=server_id,
            status=status if isinstance(status, str) else "UNKNOWN",
            fault=fault_message(record),
        )
    )
    if new is not None and new.final:
        run.poller.unwatch(server_id)
    return new


def _maybe_member(run: RunState, record: Mapping[str, Any], now: float) -> bool:
    """A record with the fleet mark we do not watch: a member of a multi-create?"""
    name = record.get("name")
    board = run.board
    if not isinstance(name, str) or not run.groups or name in board.states:
        return False
    specs = run.specs
    group = next((g for g in run.groups if member_index(specs[g], name)), None)
    if group is None:
        return False
    template = run.groups[group]
    server_id = str(record["id"])
    if group in board.states:
        board.remove(group)  # the request is now its members
        run.possible.pop(group, None)  # an earlier run's request: it landed
        run.unanswered.pop(group, None)
    if name not in specs:
        specs[name] = member_spec(specs[group], name)
    member = ServerState(
        name=name,
        group=template.group,
        phase=Phase.BUILDING,
        status="BUILD",
        server_id=server_id,
        attempt=max(1, template.attempt),
        http_attempts=template.http_attempts,
        throttled=template.throttled,
        sent_at=template.sent_at,
        post_seconds=template.post_seconds,
        post_wait_seconds=template.post_wait_seconds,
        post_answer_seconds=template.post_answer_seconds,
    )
    board.add([member])
    run.journal.record(
        Created(
            name=name,
            at=now,
            server_id=server_id,
            post_seconds=template.post_seconds or 0.0,
            http_attempts=template.http_attempts,
        )
    )
    new = _sighted(run, name, server_id, record, now)
    if new is not None and new.final:  # in ERROR when first seen: retried as any server
        after_failure(run, new)
    return True


def check_deadlines(run: RunState) -> None:
    """Time out what is overdue: builds, deletions, requests whose members never showed,
    and lost creates whose server never appeared."""
    now = run.clock()
    timeout = run.options.timeout
    board = run.board
    for server_id, key in run.poller.watched_before(now - timeout):
        if server_id in run.side:
            if run.side_overdue is not None:
                run.side_overdue(server_id, now)
            continue
        state = board.get(key)
        run.poller.unwatch(server_id)
        if server_id in run.leaving:
            name = run.leaving.pop(server_id)
            if state is None:  # a multi-create's old member still there: create anyway
                release(run, name)
        if state is not None and state.phase in (Phase.BUILDING, Phase.DELETING):
            run.emit(DeadlinePassed(name=key, at=now))
    if run.groups:
        for group, request in list(run.groups.items()):
            if request.sent_at is not None and now - request.sent_at > timeout:
                del run.groups[group]
                run.emit(DeadlinePassed(name=group, at=now))
    for name in list(run.unsure):
        state = board.get(name)
        if state is None or state.sent_at is None or now - state.sent_at > timeout:
            run.unsure.discard(name)
            if state is not None and state.phase is Phase.BUILDING:
                run.emit(DeadlinePassed(name=name, at=now))
