"""Reports for the report tests, built through the code that writes real ones.

``apply_document`` goes through ``summarize``, ``results_document`` and a
``SeriesSampler`` fed a simulated run, with failures, retries, a 429 and a
re-authentication in it. ``load_document`` goes through the code ``bulkboot load``
writes its report with (``Recorder``, ``LoadResult``, ``ui.load_report``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from bulkboot.cloud.timing import RequestTiming
from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.report import results_document, summarize
from bulkboot.ui.run_info import run_info
from bulkboot.ui.series import SeriesSampler

START = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=timezone.utc)
COMPUTE = "/compute/v2.1"


def _server(i: int, rng: random.Random, *, fail_every: int, scale: float) -> ServerState:
    name = f"web-{i:05d}"
    sent = 0.05 + i * 0.01
    post = (0.08 + rng.random() * 0.05) * scale
    if fail_every and i % fail_every == 0:
        return ServerState(
            name=name,
            group="web",
            phase=Phase.ERROR,
            server_id=f"00000000-0000-4000-8000-{i:012d}",
            attempt=1,
            http_attempts=1,
            sent_at=sent,
            post_seconds=post,
            status="ERROR",
            message="No valid host was found. There are not enough hosts available."
            if i % (2 * fail_every)
            else "Quota exceeded for instances",
            failure="fault" if i % (2 * fail_every) else "quota",
        )
    active = post + (2.0 + rng.gauss(0, 0.3)) * scale
    return ServerState(
        name=name,
        group="web",
        phase=Phase.ACTIVE,
        server_id=f"00000000-0000-4000-8000-{i:012d}",
        attempt=1,
        http_attempts=2 if i == 3 else 1,
        sent_at=sent,
        post_seconds=post,
        active_seconds=active,
        finished_at=sent + active,
        status="ACTIVE",
    )


def _requests(states: list[ServerState]) -> list[RequestTiming]:
    out = [
        RequestTiming(
            method="POST",
            path="/identity/v3/auth/tokens",
            status=201,
            attempts=1,
            started=0.0,
            seconds=0.004,
        ),
        RequestTiming(
            method="GET", path=COMPUTE + "/", status=200, attempts=1, started=0.01, seconds=0.002
        ),
    ]
    for s in states:
        out.append(
            RequestTiming(
                method="POST",
                path=COMPUTE + "/servers",
                status=202,
                attempts=s.http_attempts,
                started=s.sent_at or 0.0,
                seconds=s.post_seconds or 0.0,
            )
        )
    out.append(
        RequestTiming(
            method="GET",
            path=COMPUTE + "/servers/detail",
            status=429,
            attempts=3,
            started=1.0,
            seconds=2.5,
        )
    )
    out.append(
        RequestTiming(
            method="POST",
            path="/identity/v3/auth/tokens",
            status=201,
            attempts=1,
            started=2.0,
            seconds=0.005,
        )
    )
    for k in range(12):
        out.append(
            RequestTiming(
                method="GET",
                path=COMPUTE + "/servers/detail",
                status=200,
                attempts=1,
                started=1.0 + k * 0.3,
                seconds=0.03 + 0.001 * k,
            )
        )
    out.append(
        RequestTiming(
            method="GET",
            path=COMPUTE + "/servers/00000000-0000-4000-8000-000000000007",
            status=None,
            attempts=2,
            started=3.0,
            seconds=1.0,
        )
    )
    return out


def _series(states: list[ServerState], *, end: float, window: int) -> dict[str, Any]:
    """What the sampler would have seen: each server queued, creating, building, then
    final, at its own times; sampled at the sampler's pace."""
    sampler = SeriesSampler(interval=0.1, max_points=256)
    t = 0.0
    while t < end:
        counts = dict.fromkeys(("queued", "creating", "building", "active", "error"), 0)
        for s in states:
            sent = s.sent_at or 0.0
            answered = sent + (s.post_seconds or 0.0)
            finished = sent + (s.active_seconds or (s.post_seconds or 0.0) + 0.5)
            if t < sent:
                counts["queued"] += 1
            elif t < answered:
                counts["creating"] += 1
            elif t < finished:
                counts["building"] += 1
            else:
                counts[s.phase.value] += 1
        counts["create_window"] = window
        sampler.add(t, counts)
        t += sampler.interval
    final = {
        "active": sum(s.phase is Phase.ACTIVE for s in states),
        "error": sum(s.phase is Phase.ERROR for s in states),
        "create_window": window,
    }
    sampler.finish(end, final)
    return sampler.document()


def apply_document(
    count: int = 240, *, fail_every: int = 40, scale: float = 1.0, seed: int = 7
) -> dict[str, Any]:
    """An apply report of ``count`` servers (every ``fail_every``-th failed)."""
    rng = random.Random(seed)
    states = [_server(i, rng, fail_every=fail_every, scale=scale) for i in range(1, count + 1)]
    end = max((s.finished_at or 0.0) for s in states) + 0.2
    summary = summarize(
        states, command="apply", fleet="lab", elapsed=end, auth_seconds=[0.004, 0.005]
    )
    from bulkboot.engine.board import RunHeader

    header = RunHeader(
        command="apply",
        fleet="lab",
        cloud="devstack",
        endpoint="https://nova.example:8774/v2.1",
        microversion="2.96",
        concurrency=100,
        rate=None,
    )
    document = results_document(summary, states, header=header, requests=_requests(states))
    document["run"]["create_window"] = {
        "ceiling": 100,
        "adaptive": True,
        "low": 40,
        "high": 100,
        "final": 80,
        "shrinks": 2,
    }
    document["run"].update(
        run_info(
            started=START,
            ended=START + timedelta(seconds=end),
            command_line=[
                "bulkboot",
                "apply",
                "lab.yaml",
                "--report",
                "r.json",
                "--os-password",
                "***",
            ],
            region="RegionOne",
            manifest_path="lab.yaml",
            manifest_sha256="9f" * 32,
        )
    )
    document["series"] = _series(states, end=end, window=80)
    return document


def destroy_document(count: int = 60) -> dict[str, Any]:
    states = [
        ServerState(name=f"web-{i:03d}", phase=Phase.DELETED, server_id=f"id-{i}", existed=True)
        for i in range(count)
    ]
    summary = summarize(states, command="destroy", fleet="lab", elapsed=4.0, auth_seconds=[0.004])
    document = results_document(
        summary,
        states,
        requests=[
            RequestTiming(
                method="DELETE",
                path=f"{COMPUTE}/servers/id-{i}",
                status=204,
                attempts=1,
                started=0.1 * i,
                seconds=0.02,
            )
            for i in range(count)
        ],
    )
    sampler = SeriesSampler(interval=0.25)
    for k in range(17):
        t = k * 0.25
        gone = min(count, int(count * t / 3.5))
        deleting = min(count - gone, 20)
        sampler.add(t, {"active": count - gone - deleting, "deleting": deleting, "deleted": gone})
    sampler.finish(4.0, {"deleted": count})
    document["series"] = sampler.document()
    return document


def load_document(
    iterations: int = 600,
    *,
    rate: float = 10.0,
    slow_after: float | None = 30.0,
    seed: int = 3,
    post: float = 0.2,
) -> dict[str, Any]:
    """A ``bulkboot load`` report (open loop at ``rate``/s of boot-delete), with a latency
    spike after ``slow_after`` seconds, late, dropped and failed iterations, built by
    the code that builds real ones (``Recorder``, ``LoadResult``, ``load_document``,
    the header ``RunRecord.complete`` adds): the report's schema, not a copy of it."""
    from bulkboot.engine.load.cleanup import Cleanup
    from bulkboot.engine.load.plan import LoadPlan
    from bulkboot.engine.load.recorder import Recorder
    from bulkboot.engine.load.requests import RequestLog
    from bulkboot.engine.load.result import LoadResult
    from bulkboot.engine.load.sample import Sample
    from bulkboot.engine.load.snapshot import LoadHeader
    from bulkboot.engine.load.thresholds import evaluate
    from bulkboot.pipeline.load_spec import parse_threshold
    from bulkboot.ui.load_report import load_document as document_of
    from bulkboot.ui.report import RequestSummary

    rng = random.Random(seed)
    plan = LoadPlan(
        rate=rate,
        duration=iterations / rate,
        max_in_flight=200,
        thresholds=(parse_threshold("p95(post)<2s"), parse_threshold("count(dropped)==0")),
    )
    recorder = Recorder(plan.phases, started_at=0.0)
    log = RequestLog()
    log.start()

    def sent(method: str, path: str, status: int, at: float, attempts: int = 1) -> None:
        log(
            RequestTiming(
                method=method, path=path, status=status, attempts=attempts, started=at, seconds=0.01
            )
        )

    end = 0.0
    for i in range(iterations):
        intended = i / rate
        sample = Sample(i, intended)
        if i % 97 == 50:
            recorder.drop(sample)
            continue
        slow = slow_after is not None and slow_after <= intended < slow_after + 5
        started = intended + 0.0004 + (0.02 if slow else 0.0) * rng.random()
        recorder.start(sample, started)
        server_id = f"00000000-0000-4000-8000-{i:012d}"
        sample.name, sample.server_id = f"web-1-run1-{i}", server_id
        sample.request_id, sample.attempts = f"req-{i:08d}", 1
        sample.post = (post + rng.random() * 0.05) * (4 if slow else 1)
        sent("POST", COMPUTE + "/servers", 202, started)
        sample.active = 3.0 + rng.gauss(0, 0.4)
        if i % 83 == 20:
            sample.fail("active", "Build of instance aborted: No valid host was found.")
            ended = started + sample.post + sample.active
        else:
            sample.build = float(round(sample.active))
            sample.delete = 0.1 + rng.random() * 0.02
            sent("DELETE", f"{COMPUTE}/servers/{server_id}", 204, started + 3.5)
            sample.gone = 1.0 + rng.random() * 0.3
            ended = started + sample.post + sample.active + sample.delete + sample.gone
            sample.total = ended - intended
        recorder.finish(sample, ended)
        end = max(end, ended)
    for k in range(int(end / 0.5)):
        sent(
            "GET", COMPUTE + "/servers/detail", 429 if k == 7 else 200, k * 0.5, 3 if k == 7 else 1
        )
    phases, counters = recorder.phase_stats(), recorder.counters()
    result = LoadResult(
        plan=plan,
        run_id="run1",
        recorder=recorder,
        counters=counters,
        phases=phases,
        thresholds=evaluate(plan.thresholds, phases, counters),
        cleanup=Cleanup(deleted=counters.failed),
        interrupted=False,
        aborted_by=None,
        load_seconds=end,
        elapsed=end + 1.5,
        started_wall=START,
        ended_wall=START + timedelta(seconds=end + 1.5),
        poll_interval=0.5,
        bound=0.53,
        poll_rounds=int(end / 0.5),
    )
    header = LoadHeader(
        fleet="lab",
        cloud="devstack",
        endpoint="https://nova.example:8774/v2.1",
        microversion="2.96",
        scenario=plan.scenario,
        model=plan.describe(),
        run_id="run1",
        poll_interval=0.5,
    )
    document = document_of(
        result,
        header=header,
        requests=log,
        cloud={"name": "devstack", "auth_url": "https://keystone.example:5000/v3"},
        exit_code=3,
        client=RequestSummary(
            requests=log.total + 4,
            attempts=log.attempts + 4,
            retried=1,
            throttled=2,
            throttled_requests=1,
            waited=1.5,
        ),
    )
    document["run"].update(
        run_info(
            started=START,
            ended=START + timedelta(seconds=end + 1.5),
            command_line=["bulkboot", "load", "lab.yaml", "--rate", f"{rate:g}"]
            + ["--report", "load.json"],
            region="RegionOne",
            manifest_path="lab.yaml",
            manifest_sha256="ab" * 32,
        )
    )
    return document
