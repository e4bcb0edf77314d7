"""Report size and render time for a 100,000-server apply run.

    python benchmarks/bench_report.py

Generates the report a 100,000-server ``apply --report`` would write, through the code
that writes real ones (``summarize``, ``results_document``, ``SeriesSampler``,
``write_report``): every server with its times, one POST per server and the poll
rounds' listings as requests, 1 % failures under three messages, and the series
sampled over the run's timeline as the sampler would have. Then, each in a fresh
process (as a user runs them), RUNS times, medians:

* baseline: ``json.load`` of the file alone (what any reader of it pays);
* ``bulkboot report R.json --html R.html``: read, check, render, write the page;
* ``bulkboot report R.json``: the summary tables in the terminal;
* ``bulkboot report R.json --format markdown``.

Prints the JSON's and the page's sizes, and wall and CPU time (the process's own: the
machine is shared and wall time swings with the neighbours' load).
"""

from __future__ import annotations

import bisect
import heapq
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bulkboot.cloud.timing import RequestTiming
from bulkboot.engine.board import RunHeader
from bulkboot.engine.state import Phase, ServerState
from bulkboot.ui.report import results_document, summarize, write_report
from bulkboot.ui.run_info import run_info
from bulkboot.ui.series import SeriesSampler

SERVERS = 100_000
CONCURRENCY = 100
FAILURE_SHARE = 0.01
POLL_INTERVAL = 2.0
PAGE = 1_000  # servers per listing page
RUNS = 3
SEED = 20250314
COMPUTE = "/compute/v2.1"
MESSAGES = (
    "No valid host was found. There are not enough hosts available.",
    "Build of instance aborted: Failed to allocate the network(s), not rescheduling.",
    "Exceeded maximum number of retries. Exhausted all hosts available for retrying.",
)


def timeline(rng: random.Random) -> list[ServerState]:
    """Creates under a window of CONCURRENCY, each POST 80-300 ms, builds 20-40 s."""
    free = [0.0] * CONCURRENCY  # when each slot frees up
    heapq.heapify(free)
    states = []
    for i in range(SERVERS):
        sent = heapq.heappop(free)
        post = 0.08 + rng.random() * 0.22
        heapq.heappush(free, sent + post)
        name = f"web-{i:06d}"
        if rng.random() < FAILURE_SHARE:
            states.append(
                ServerState(
                    name=name,
                    group="web",
                    phase=Phase.ERROR,
                    server_id=f"{i:08x}-0000-4000-8000-000000000000",
                    attempt=1,
                    http_attempts=1,
                    sent_at=sent,
                    post_seconds=post,
                    finished_at=sent + post + 15.0,
                    status="ERROR",
                    message=MESSAGES[i % len(MESSAGES)],
                    failure="fault",
                )
            )
            continue
        active = post + 20.0 + rng.random() * 20.0
        states.append(
            ServerState(
                name=name,
                group="web",
                phase=Phase.ACTIVE,
                server_id=f"{i:08x}-0000-4000-8000-000000000000",
                attempt=1,
                http_attempts=2 if i % 500 == 0 else 1,
                sent_at=sent,
                post_seconds=post,
                active_seconds=active,
                finished_at=sent + active,
                status="ACTIVE",
            )
        )
    return states


def requests_of(states: list[ServerState], end: float) -> list[RequestTiming]:
    """The auth, one POST per server, and a poll round every POLL_INTERVAL: one
    listing page per PAGE servers still building (``changes-since`` aside)."""
    out = [
        RequestTiming(
            method="POST",
            path="/identity/v3/auth/tokens",
            status=201,
            attempts=1,
            started=0.0,
            seconds=0.01,
        )
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
    sent = sorted(s.sent_at or 0.0 for s in states)
    done = sorted(s.finished_at or 0.0 for s in states)
    t = 1.0
    while t < end:
        building = bisect.bisect_right(sent, t) - bisect.bisect_right(done, t)
        for _ in range(max(1, -(-building // PAGE))):
            out.append(
                RequestTiming(
                    method="GET",
                    path=COMPUTE + "/servers/detail",
                    status=200,
                    attempts=1,
                    started=t,
                    seconds=0.05,
                )
            )
        t += POLL_INTERVAL
    return out


def series_of(states: list[ServerState], end: float) -> dict[str, object]:
    """What the sampler would have recorded: a sweep over every server's changes."""
    changes: list[tuple[float, str, str]] = []
    for s in states:
        sent = s.sent_at or 0.0
        answered = sent + (s.post_seconds or 0.0)
        changes += [(sent, "queued", "creating"), (answered, "creating", "building")]
        changes.append((s.finished_at or answered, "building", s.phase.value))
    changes.sort()
    counts = dict.fromkeys(("queued", "creating", "building", "active", "error"), 0)
    counts["queued"] = len(states)
    sampler = SeriesSampler()
    k, t = 0, 0.0
    while t < end:
        while k < len(changes) and changes[k][0] <= t:
            _, old, new = changes[k]
            counts[old] -= 1
            counts[new] += 1
            k += 1
        sampler.add(t, {**counts, "create_window": CONCURRENCY})
        t += sampler.interval
    for _, old, new in changes[k:]:
        counts[old] -= 1
        counts[new] += 1
    sampler.finish(end, {**counts, "create_window": CONCURRENCY})
    return sampler.document()


def generate(path: Path) -> float:
    """Write the report; its generation's seconds."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    states = timeline(rng)
    end = max(s.finished_at or 0.0 for s in states) + 1.0
    summary = summarize(states, command="apply", fleet="bench", elapsed=end, auth_seconds=[0.01])
    header = RunHeader(
        command="apply",
        fleet="bench",
        cloud="bench",
        endpoint="https://nova.example/v2.1",
        microversion="2.96",
        concurrency=CONCURRENCY,
        rate=None,
    )
    requests = requests_of(states, end)
    document = results_document(summary, states, header=header, requests=requests)
    start = datetime(2025, 3, 14, 9, 0, tzinfo=timezone.utc)
    document["run"].update(
        run_info(
            started=start,
            ended=start + timedelta(seconds=end),
            command_line=["bulkboot", "apply", "bench.yaml", "--report", path.name],
            region="RegionOne",
            manifest_path="bench.yaml",
            manifest_sha256="0" * 64,
        )
    )
    document["series"] = series_of(states, end)
    write_report(path, document)
    print(f"{len(requests):,} requests, {end:.0f} s run, {len(document['series']['t'])} samples")
    return time.perf_counter() - started


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python ARGV`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "run.json"
        page = Path(folder) / "run.html"
        seconds = generate(report)
        machine = platform.processor() or platform.machine()
        print(f"{machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"generated {SERVERS:,} servers in {seconds:.1f} s")
        print(f"report.json: {report.stat().st_size / 1e6:.1f} MB")
        bulkboot = ["-m", "bulkboot", "report", str(report)]
        for label, argv in (
            ("baseline: json.load alone", ["-c", f"import json; json.load(open({str(report)!r}))"]),
            ("report --html", [*bulkboot, "--html", str(page)]),
            ("report (tables)", bulkboot),
            ("report --format markdown", [*bulkboot, "--format", "markdown"]),
        ):
            runs = [timed(argv) for _ in range(RUNS)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s (median of {RUNS})")
        print(f"report.html: {page.stat().st_size / 1e6:.2f} MB")
        browser = shutil.which("chromium")
        if browser is not None:
            walls = [browser_load(browser, page, Path(folder)) for _ in range(RUNS)]
            print(
                f"chromium --headless --screenshot: wall {statistics.median(walls):.2f} s "
                f"(median of {RUNS}; browser start included)"
            )


def browser_load(browser: str, page: Path, folder: Path) -> float:
    """Wall seconds for headless chromium to start, load the page and draw it whole."""
    profile = tempfile.mkdtemp(dir=folder)
    started = time.perf_counter()
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={folder / 'shot.png'}",
            "--window-size=1200,6000",
            page.as_uri(),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
