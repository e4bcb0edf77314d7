"""A load run: iterations on an open or closed loop, one poller for all, then clean-up.

- Open loop (``--rate``): iterations start at intended times fixed in advance
  (``schedule.intended_starts``), whatever the cloud does. One that cannot start
  because ``--max-in-flight`` iterations are running is dropped and counted, never
  queued; one that starts more than ``--late-after`` (1 ms) after its time is late;
  every start's lag is recorded (``schedule_lag``).
  A scheduler that wakes late starts what is due at once, each counted late: the
  lag shows in ``schedule_lag`` and ``total`` (measured from the intended start).
- Closed loop (``--concurrency``): each worker starts its next iteration when its
  last one ends; with ``--stages`` workers come and go as the target moves (one
  above the target leaves once its iteration ends).
- ``--find-capacity`` (``capacity``): open-loop steps at rising rates, each drained
  and judged on its own iterations, until one does not hold.

Stopping: ``request_stop`` (first Ctrl-C, or a threshold failing with
``--abort-on-fail``) starts nothing more and stops the waits in flight; POSTs in
flight are answered, and every server the run made is then deleted by the clean-up
(``cleanup.sweep``), which always runs, the report after it. ``abort`` (second Ctrl-C)
cancels everything at once: the journal has every server, for ``bulkboot destroy``.
An error no request can get past (``fatal``: the token can no longer be renewed, a
polling round that failed after the client's retries: the cloud gone) stops the run
as a first Ctrl-C does; the clean-up then does what it can (``sweep`` gives up at
the first request the cloud does not answer) and the result names the error.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Final

import anyio
import anyio.abc

from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.journal import Journal
from bulkboot.engine.load.capacity import search_window, step_result
from bulkboot.engine.load.cleanup import Cleanup, sweep
from bulkboot.engine.load.iteration import Iterations
from bulkboot.engine.load.open_loop import InFlight, open_loop
from bulkboot.engine.load.plan import LoadPlan
from bulkboot.engine.load.recorder import Recorder
from bulkboot.engine.load.result import LoadResult, StepResult
from bulkboot.engine.load.sample import Sample
from bulkboot.engine.load.schedule import closed_target, intended_starts, rate_at, stages_length
from bulkboot.engine.load.snapshot import LoadHeader, LoadSnapshot
from bulkboot.engine.load.templates import Templates
from bulkboot.engine.load.thresholds import evaluate, ready
from bulkboot.engine.load.watch import PollHub
from bulkboot.engine.load.window import Window, planned_length, window_of
from bulkboot.errors import CloudError
from bulkboot.pipeline.load_spec import CapacitySearch, Stage

__all__ = ["LoadRun"]

JUDGE_INTERVAL: Final = 1.0  # seconds between threshold checks (--abort-on-fail)
# How often the journal is flushed to disk (``Journal.sync_every``). Every line is in
# the kernel once written, so a SIGKILL loses nothing; a flush only guards against the
# machine itself crashing, and a load run's servers all carry the fleet and run marks,
# by which ``destroy`` and the run's clean-up find them without the journal. An fsync
# costs milliseconds of CPU here: once a second it was a tenth of a 50/s run's CPU.
JOURNAL_SYNC_INTERVAL: Final = 10.0
RAMP_TICK: Final = 0.1  # seconds between worker-count updates of a closed-loop ramp
RATE_WINDOW: Final = 10  # seconds of the recent rates the views show


def _utc() -> datetime:
    return datetime.now(timezone.utc)


class LoadRun:
    """One ``bulkboot load`` run against ``compute``. Construct, then ``await run()``.

    ``clock`` and ``sleep`` time everything (intended starts, phases, polling); a test
    passes its own.
    """

    def __init__(
        self,
        compute: ComputeApi,
        templates: Templates,
        plan: LoadPlan,
        *,
        journal: Journal,
        header: LoadHeader,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.plan = plan
        self.header = header
        self._compute = compute
        self._templates = templates
        self._journal = journal
        self._clock = clock
        self._sleep = sleep
        self.started_at = clock()
        self.hub = PollHub(
            compute,
            fleet=header.fleet,
            clock=clock,
            sleep=sleep,
            interval=plan.poll_interval,
            timeout=plan.timeout,
            on_error=self.fail,
        )
        self.recorder = Recorder(
            plan.phases, started_at=self.started_at, late_after=plan.late_after
        )
        self.iterations = Iterations(
            compute,
            self.hub,
            journal,
            templates,
            scenario=plan.scenario,
            clock=clock,
            started_at=self.started_at,
            recorders=(self.recorder,),
            timeout=plan.timeout,
            on_fatal=self.fail,
        )
        self.fatal: CloudError | None = None
        self.note = ""
        self.interrupted = False
        self.aborted_by: str | None = None
        self.steps: list[StepResult] = []
        self.knee: float | None = None
        self._stopping = False
        self._counts = InFlight()
        self._workers = 0  # closed loop: workers alive
        self._target = 0  # closed loop: workers wanted
        self._step_text = ""
        self._schedule_scope: anyio.CancelScope | None = None
        self._abort_scope: anyio.CancelScope | None = None
        self._load_ended: float | None = None
        self._stopped_at: float | None = None  # when request_stop came (the run's clock)

    # ------------------------------------------------------------ control

    def request_stop(self, note: str = "") -> None:
        """Start no more iterations; stop the waits in flight; clean up; report."""
        if note:
            self.note = note
        if self._stopping:
            return
        self._stopping = True
        self._stopped_at = self._clock()
        self.iterations.stopping = True
        self.hub.stop()
        if self._schedule_scope is not None:
            self._schedule_scope.cancel()

    def fail(self, error: CloudError) -> None:
        """An error no request can get past: stop as a first Ctrl-C does (the first
        such error is the one kept)."""
        if self.fatal is not None:
            return
        self.fatal = error
        self.hub.stop()  # nothing can be seen any more: the clean-up does not wait
        self.request_stop(f"stopped by an error: {error}; deleting what can be deleted")

    def interrupt(self) -> None:
        """First Ctrl-C."""
        self.interrupted = True
        self.request_stop(
            "interrupted: starting nothing more, deleting what is in flight "
            "(Ctrl-C again to stop now)"
        )

    def abort(self) -> None:
        """Second Ctrl-C: stop now, clean-up included."""
        self.interrupted = True
        self.request_stop()
        if self._abort_scope is not None:
            self._abort_scope.cancel()

    # ------------------------------------------------------------ the run

    async def run(self) -> LoadResult:
        plan = self.plan
        clock = self._clock
        started_utc = _utc()
        self.started_at = clock()
        self.recorder.started_at = self.started_at
        self.iterations.started_at = self.started_at
        cleanup: Cleanup | None = None
        with anyio.CancelScope() as abort_scope:
            self._abort_scope = abort_scope
            async with anyio.create_task_group() as background:
                background.start_soon(self._journal.sync_every, JOURNAL_SYNC_INTERVAL)
                background.start_soon(self.hub.run)
                if plan.capacity is not None:
                    await self._find_capacity()
                else:
                    with anyio.CancelScope() as judging:
                        if plan.abort_on_fail:
                            background.start_soon(self._judge, judging)
                        async with anyio.create_task_group() as tasks:
                            with anyio.CancelScope() as scope:
                                self._schedule_scope = scope
                                if self._stopping:
                                    scope.cancel()
                                if plan.open_loop:
                                    assert plan.rate is not None
                                    await self._open(tasks, plan.rate, plan.stages, step=0)
                                else:
                                    await self._closed(tasks)
                        judging.cancel()
                self._load_ended = clock()
                if self.fatal is None:
                    self.hub.resume()
                cleanup = await sweep(
                    self._compute,
                    self.hub,
                    self._journal,
                    self.iterations,
                    fleet=self.header.fleet,
                    run_id=self._templates.run_id,
                    keep=plan.keep,
                    clock=clock,
                    error=self.fatal,
                )
                background.cancel_scope.cancel()
        self._abort_scope = None
        return self._result(cleanup, started_utc)

    def _result(self, cleanup: Cleanup | None, started_utc: datetime) -> LoadResult:
        clock = self._clock
        now = clock()
        ended = self._load_ended if self._load_ended is not None else now
        phases = self.recorder.phase_stats()
        counters = self.recorder.counters()
        load_seconds = ended - self.started_at
        return LoadResult(
            window=self._window(load_seconds),
            plan=self.plan,
            run_id=self._templates.run_id,
            recorder=self.recorder,
            counters=counters,
            phases=phases,
            # --find-capacity judges each step on its own (``steps``)
            thresholds=()
            if self.plan.capacity is not None
            else evaluate(self.plan.thresholds, phases, counters),
            cleanup=cleanup,
            interrupted=self.interrupted,
            aborted_by=self.aborted_by,
            load_seconds=load_seconds,
            elapsed=now - self.started_at,
            started_wall=started_utc,
            ended_wall=_utc(),
            poll_interval=self.hub.interval,
            bound=self.hub.bound,
            poll_rounds=self.hub.rounds,
            steps=tuple(self.steps),
            knee=self.knee,
            unsure=tuple(self.iterations.unsure),
            fatal=self.fatal,
            in_flight=len(self.iterations.posting),
        )

    def _window(self, load_seconds: float) -> Window:
        """The schedule's window (``window``): the steps' added up for a search."""
        plan = self.plan
        if plan.capacity is not None:
            return search_window(self.recorder.counters(), self.steps)
        samples = self.recorder.samples
        stopped = None if self._stopped_at is None else self._stopped_at - self.started_at
        return window_of(
            plan,
            samples,
            length=planned_length(plan, samples),
            stopped=stopped,
            load_seconds=load_seconds,
        )

    # ------------------------------------------------------------ open loop

    async def _open(
        self,
        tasks: anyio.abc.TaskGroup,
        rate: float,
        stages: tuple[Stage, ...],
        *,
        step: int,
        duration: float | None = None,
    ) -> None:
        """Start iterations at their intended times (from now) until the schedule ends."""
        plan = self.plan
        starts = intended_starts(
            rate,
            stages,
            duration=plan.duration if duration is None else duration,
            iterations=plan.iterations if duration is None else None,
        )
        await open_loop(
            tasks,
            starts,
            self._counts,
            self.iterations,
            step=step,
            limit=plan.max_in_flight,
            clock=self._clock,
            sleep=self._sleep,
            stopping=lambda: self._stopping,
        )

    async def _one(self, sample: Sample) -> None:
        try:
            await self.iterations.run(sample)
        finally:
            self._counts.running -= 1

    # ------------------------------------------------------------ closed loop

    async def _closed(self, tasks: anyio.abc.TaskGroup) -> None:
        plan = self.plan
        assert plan.concurrency is not None
        if not plan.stages:
            self._target = plan.concurrency
            for _ in range(plan.concurrency):
                self._workers += 1
                tasks.start_soon(self._worker)
            return
        clock = self._clock
        end = stages_length(plan.stages)
        while not self._stopping and self._may_start():
            elapsed = clock() - self.started_at
            if elapsed >= end:
                break
            self._target = closed_target(plan.concurrency, plan.stages, elapsed)
            while self._workers < self._target:
                self._workers += 1
                tasks.start_soon(self._worker)
            await self._sleep(RAMP_TICK)
        self._target = 0

    def _may_start(self) -> bool:
        plan = self.plan
        if self._stopping:
            return False
        if plan.iterations is not None and self._counts.next >= plan.iterations:
            return False
        end = plan.duration if not plan.stages else stages_length(plan.stages)
        return end is None or self._clock() - self.started_at < end

    async def _worker(self) -> None:
        try:
            while self._may_start():
                sample = Sample(self._counts.next, self._clock() - self.started_at)
                self._counts.next += 1
                self._counts.running += 1
                await self._one(sample)
                if self._workers > self._target and self.plan.stages:
                    return
        finally:
            self._workers -= 1

    # ------------------------------------------------------------ thresholds

    async def _judge(self, scope: anyio.CancelScope) -> None:
        """``--abort-on-fail``: check the thresholds every second; stop on a failure
        once it has ``min_samples`` behind it."""
        plan = self.plan
        recorder = self.recorder
        while True:
            await self._sleep(JUDGE_INTERVAL)
            if scope.cancel_called:
                return
            counters = recorder.counters()
            phases = recorder.phase_stats()
            counts = {phase: recorder.counts(phase) for phase in plan.phases}
            for threshold, result in zip(
                plan.thresholds, evaluate(plan.thresholds, phases, counters), strict=True
            ):
                if result.ok or not ready(threshold, counts, counters, plan.min_samples):
                    continue
                self.aborted_by = threshold.expression
                self.request_stop(
                    f"threshold {threshold.expression} failed (observed "
                    f"{result.observed if result.observed is not None else 'nothing'}): "
                    "stopping, deleting what is in flight (--abort-on-fail)"
                )
                return

    # ------------------------------------------------------------ capacity search

    async def _find_capacity(self) -> None:
        plan = self.plan
        search = plan.capacity
        assert search is not None
        try:
            await self._steps(search)
        finally:
            self.iterations.recorders = (self.recorder,)

    async def _steps(self, search: CapacitySearch) -> None:
        plan = self.plan
        clock = self._clock
        for number in range(search.max_steps):
            rate = search.start * search.factor**number
            step = Recorder(plan.phases, started_at=self.started_at, late_after=plan.late_after)
            self.iterations.recorders = (self.recorder, step)
            self._step_text = f"step {number + 1}/{search.max_steps}: {rate:.3g}/s"
            began = clock()
            async with anyio.create_task_group() as tasks:
                with anyio.CancelScope() as scope:
                    self._schedule_scope = scope
                    if self._stopping:
                        scope.cancel()
                    await self._open(tasks, rate, (), step=number, duration=search.step)
            drained = clock()
            # the step's window: its length, or up to the stop that cut it short
            window = search.step
            if self._stopped_at is not None:
                window = min(window, max(0.0, self._stopped_at - began))
            result = step_result(
                step,
                self.plan.thresholds,
                rate=rate,
                window=window,
                began=began - self.started_at,
                drained=drained - self.started_at,
                margin=search.margin,
                stopped=self._stopping,
            )
            self.steps.append(result)
            if not result.held:
                return
            self.knee = rate

    # ------------------------------------------------------------ the views

    def _target_text(self, elapsed: float) -> str:
        plan = self.plan
        if plan.capacity is not None:
            return self._step_text
        if plan.open_loop:
            assert plan.rate is not None
            return f"{rate_at(plan.rate, plan.stages, elapsed):.3g}/s"
        return f"{self._target} worker(s)"

    def snapshot(self, *, done: bool = False) -> LoadSnapshot:
        """The run now, frozen (call from the event loop)."""
        recorder = self.recorder
        elapsed = self._clock() - self.started_at
        offered, achieved = recorder.recent_rates(elapsed, RATE_WINDOW)
        counters = recorder.counters()
        phases = recorder.phase_stats()
        errors = tuple(
            (phase, message, count) for (phase, message), count in recorder.errors.most_common(5)
        )
        return LoadSnapshot(
            header=self.header,
            elapsed=elapsed,
            counters=counters,
            target=self._target_text(elapsed),
            offered=offered,
            achieved=achieved,
            rate_window=RATE_WINDOW,
            phases=tuple(phases.items()),
            bound=self.hub.bound,
            errors=errors,
            thresholds=evaluate(self.plan.thresholds, phases, counters),
            step=self._step_text,
            note=self.note,
            done=done,
        )
