"""The create workers: take names from the queue, POST each create, record what came back.

Each create is journaled (and in the kernel, so it survives SIGKILL) before the POST
leaves and again after the answer, and holds the ``CapacityLimiter`` while in flight.
The limiter's size is the create window (``window.CreateWindow``): ``concurrency`` is
the ceiling, and the window stays below it while the API is queueing. Workers start
as the window grows: a worker blocked on the limiter would cost a wake-up per create
for nothing.

Requests per second are the cloud client's business (``HttpOptions(rate=...)``), so
creates, polls and deletes share one budget; with ``--rate`` a create first waits for
its slot (one create at a time), and only then is journaled as sent and timed: a
Ctrl-C abandons the wait, and neither the journal nor the timings count our own
queueing as Nova's.

A create whose answer was lost (``CreateUncertain``), or that was accepted with an
answer that names no server (``return_reservation_id`` on a single server, an empty
``server``, a proxy's page behind a 202), is never sent again: it may have reached
Nova, so its server is looked for by name and fleet mark in the poll rounds instead,
until ``--timeout``.

A create the API turned away (429, a 503 with ``Retry-After``) or answered 500 is sent
again by the cloud client; each such send is journaled (``attempt``) right before it
goes on the wire, and the create's window (``RunState.unanswered``, and the next run's
"possibly created") runs from the last one: Nova may act on that send as late as on
the first. A create sent once writes no more than before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from bulkboot.cloud.compute import CreatedServer, CreateRequest
from bulkboot.engine.compute_api import refusal
from bulkboot.engine.run_state import FATAL, RunState
from bulkboot.engine.state import Created, CreateRefused, CreateSent
from bulkboot.errors import CloudError, CreateUncertain, OverQuota, RateLimited, Unavailable
from bulkboot.pipeline.body import BodyBuilder
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import References, ServerSpec

__all__ = ["CreateWorkers"]


class CreateWorkers:
    """The run's create workers and the window that sizes them.

    ``cpu_clock`` is the process's CPU time (``time.process_time``): the window grows
    past its start only while this client has room on the CPU.
    """

    def __init__(
        self,
        run: RunState,
        refs: References,
        microversion: Microversion,
        *,
        cpu_clock: Callable[[], float],
    ) -> None:
        self._run = run
        self._build: Callable[[ServerSpec], Mapping[str, Any]] = BodyBuilder(
            refs, microversion
        ).build
        self._cpu_clock = cpu_clock
        self._rated = run.compute.rate_limited
        self._rate_lock = anyio.Lock()
        self._count = 0  # workers started
        self._room = 0  # never more workers than there could be creates
        self._receive: MemoryObjectReceiveStream[str] | None = None
        self._sent_again = self._resent  # bound once: handed to every create

    def start(self, receive: MemoryObjectReceiveStream[str], *, room: int) -> None:
        """Workers for the window as it is (in the run's task group); more as it grows."""
        self._room = room
        self._receive = receive
        self._add(self._run.window.size)

    def close(self) -> None:
        """No worker starts after this (the queue is closed)."""
        self._receive = None

    def _add(self, size: int) -> None:
        """Workers up to ``size``, never more than the creates there could be."""
        tasks = self._run.tasks
        if self._receive is None or tasks is None:
            return
        while self._count < min(size, self._room):
            self._count += 1
            tasks.start_soon(self._worker, self._receive.clone())

    def _resize(self, size: int) -> None:
        limiter = self._run.limiter
        if size != limiter.total_tokens:
            limiter.total_tokens = size
            if size > self._count:
                self._add(size)

    async def _worker(self, receive: MemoryObjectReceiveStream[str]) -> None:
        # ``receive_nowait`` first: anyio's ``receive`` yields to the loop even when a
        # name is waiting, and this runs once per server. The create's own I/O is the
        # checkpoint that keeps the worker cancellable.
        async with receive:
            while True:
                try:
                    name = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        name = await receive.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if not self._run.stopping:
                    await self._create(name)

    async def _rate_turn(self) -> bool:
        """Wait for this create's --rate slot; False when the run was stopped meanwhile.

        One create waits at a time, so the slots reserved ahead never run more than one
        interval past now: a poll round or a DELETE asking for a slot gets one next,
        not after every queued create.
        """
        async with self._rate_lock:
            if self._run.stopping:
                return False
            return await self._run.compute.rate_turn(self._run.stopped)

    async def _create(self, name: str) -> None:
        run = self._run
        spec = run.specs.get(name)
        if spec is None:  # only manifest requests are ever queued
            return
        body = self._build(spec)
        limiter = run.limiter
        # Take the limiter without a checkpoint when it is free (the common case: workers
        # start as the window grows); it is short when the window shrank below the
        # workers or a retry's DELETE holds a token.
        try:
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            await limiter.acquire()
        try:
            if run.stopping:
                return
            if self._rated and not await self._rate_turn():
                return  # stopped while waiting for --rate: not sent, not journaled
            # Journaled (in the kernel: survives SIGKILL) before the request leaves; with
            # --rate, once its slot has come, so "sent" and the timings start when it goes.
            sent = run.clock()
            if run.emit(CreateSent(name=name, at=sent)) is None:
                return
            run.unanswered[name] = sent + run.in_flight_window
            created = await self._post(name, spec, body)
        finally:
            limiter.release()
            if self._rated:
                run.compute.drop_rate_turn()
        if created is not None:
            self._accepted(name, spec, created)

    def _resent(self, name: str) -> None:
        """``name``'s create goes on the wire again (after a 429, a 503, a 500):
        journaled first (a journal that cannot take the line stops the send), and its
        window restarts now."""
        run = self._run
        run.journal.record_attempt(name)
        run.unanswered[name] = run.clock() + run.in_flight_window

    async def _post(
        self, name: str, spec: ServerSpec, body: Mapping[str, Any]
    ) -> CreatedServer | None:
        """The POST; None when it ended otherwise (refused, or its answer lost)."""
        run = self._run
        clock = run.clock
        sent = clock()
        try:
            return await run.compute.create_server(
                CreateRequest(
                    body=body,
                    name=name,
                    instance_count=spec.instance_count,
                    fleet=run.fleet,
                    secrets=(spec.admin_pass,) if spec.admin_pass else (),
                    exclude=run.exclude.get(name, frozenset()),
                    on_attempt=self._sent_again,
                )
            )
        except FATAL:
            raise
        except CreateUncertain:
            # The POST may have reached Nova: re-sending could make a duplicate, so
            # the server is looked for by name in the poll rounds instead.
            self._resize(run.window.overloaded(clock()))
            self._uncertain(name, spec, post_seconds=clock() - sent, http_attempts=1)
        except OverQuota as exc:
            run.unanswered.pop(name, None)
            run.emit(CreateRefused(name=name, at=clock(), message=exc.message, quota=True))
        except CloudError as exc:
            run.unanswered.pop(name, None)
            if isinstance(exc, RateLimited | Unavailable):  # still, after the retries
                self._resize(run.window.overloaded(clock()))
            run.emit(CreateRefused(name=name, at=clock(), message=refusal(exc)))
        return None

    def _uncertain(
        self,
        name: str,
        spec: ServerSpec,
        *,
        post_seconds: float,
        http_attempts: int,
        answer_seconds: float | None = None,
    ) -> None:
        """No answer says what became of the create: look for its server by name and
        fleet mark (its members, for a multi-create) in the poll rounds, never re-send.
        ``answer_seconds``: the time of the answer that named no server (None: there was
        no answer at all; the output says "sent, no answer")."""
        run = self._run
        request = run.emit(
            Created(
                name=name,
                at=run.clock(),
                server_id=None,
                post_seconds=post_seconds,
                http_attempts=http_attempts,
                post_answer_seconds=answer_seconds,
                uncertain=True,
            )
        )
        if request is not None and spec.instance_count > 1:
            run.groups[name] = request
            run.groups_at[name] = run.clock()
        elif request is not None:
            run.unsure.add(name)

    def _accepted(self, name: str, spec: ServerSpec, created: CreatedServer) -> None:
        """Nova took the create: size the window by its answer, and watch the server."""
        run = self._run
        clock = run.clock
        timing = created.timing
        if created.recovered or timing.attempts > 1:
            # retried (429, 503, a lost answer looked up): its time is mostly back-off and
            # look-ups, not a latency; it says the API is struggling
            self._resize(run.window.overloaded(clock()))
        elif spec.instance_count == 1:  # a multi-create's POST is slower by nature
            self._resize(run.window.answered(timing.seconds, clock(), self._cpu_clock()))
        server_id = created.id
        if spec.instance_count == 1 and not server_id:
            # Accepted, but the answer names no server (a reservation id only, an empty
            # ``server``, a proxy's page): as good as a lost answer.
            run.id_less_answers += 1
            self._uncertain(
                name,
                spec,
                post_seconds=timing.seconds,
                http_attempts=timing.attempts,
                answer_seconds=timing.answer_seconds,
            )
            return
        run.unanswered.pop(name, None)
        if spec.instance_count > 1 or not server_id:
            request = run.emit(
                Created(
                    name=name,
                    at=clock(),
                    server_id=None,
                    post_seconds=timing.seconds,
                    http_attempts=timing.attempts,
                    throttled=timing.throttled,
                    post_wait_seconds=timing.waited,
                    post_answer_seconds=timing.answer_seconds,
                )
            )
            if request is not None:
                run.groups[name] = request
                run.groups_at[name] = clock()
            return
        state = run.emit(
            Created(
                name=name,
                at=clock(),
                server_id=server_id,
                post_seconds=timing.seconds,
                http_attempts=timing.attempts,
                throttled=timing.throttled,
                post_wait_seconds=timing.waited,
                post_answer_seconds=timing.answer_seconds,
            )
        )
        run.known_ids.add(server_id)
        if state is not None:
            run.poller.watch(server_id, name)
