"""A create turned away (429) and sent again is in flight from its LAST send: a run
killed while that send is in Nova's hands leaves a create whose window runs from it, not
from the journal's ``sent`` line (Nova has no idempotency key and acts on a send whose
client has gone, as the simulator does)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bulkboot.engine.replay import read_journal
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import (
    apply,
    journal_of,
    kill,
    start_apply,
    use_simulator,
    wait_for_sends,
    write_fleet,
)

WINDOW = 5.0  # the cloud's request timeout: the window of a create in flight
HELD = 4.0  # how long the simulator holds the last send before acting on it (< WINDOW)
POSTS = "POST /compute/v2.1/servers"


def _posts(sim: RunningSimulator, status: str | None = None) -> int:
    counts = sim.stats()["requests"].get(POSTS, {})
    return sum(counts.values()) if status is None else int(counts.get(status, 0))


def _until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("waited in vain")


def test_a_create_sent_again_after_429s_is_awaited_from_its_last_send(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clouds = use_simulator(sim, tmp_path, monkeypatch, api_timeout=WINDOW)
    sim.configure(latency=0.5)
    path = write_fleet(tmp_path, "resent", 2)
    process = start_apply(
        path,
        clouds,
        "--concurrency",
        "1",
        "--fixed-concurrency",
        "--poll-interval",
        "200ms",
        capture=False,
    )
    journal = journal_of(path)
    wait_for_sends(journal, 1)
    # From now on a proxy turns every request away (429, no Retry-After: the client
    # backs off on its own); one request of ours takes the bucket's one token.
    sim.configure(rate_limit=0.001, rate_limit_retry_after=False)
    try:
        with urllib.request.urlopen(f"{sim.base_url}/compute/v2.1/", timeout=5):  # noqa: S310
            pass
    except urllib.error.HTTPError as exc:  # turned away itself: the token was taken already
        exc.close()
    _until(lambda: _posts(sim, "429") >= 3)
    # The next send gets in; Nova holds it HELD seconds before it acts on it, and the
    # run dies meanwhile.
    sim.configure(rate_limit=None, latency=HELD)
    time.sleep(2.3)  # the send after the third 429 leaves within 2 s (its back-off)
    kill(process)
    killed = time.time()
    sim.configure(latency=0.0)
    records = list(read_journal(journal))
    sent = {r["name"]: r["t"] for r in records if r["ev"] == "sent"}
    answered = {r["name"] for r in records if r["ev"] not in ("sent", "attempt")}
    unanswered = [name for name in sent if name not in answered]
    assert len(unanswered) == 1, records  # the create turned away, in Nova's hands
    # Re-applied once the window counted from its FIRST send has passed, well before
    # the one counted from its last (and before Nova acts on that send).
    first_window_ends = sent[unanswered[0]] + WINDOW + 0.2
    time.sleep(max(0.0, first_window_ends - time.time()))
    code, out, err = apply(capsys, path)
    assert code == 0, err
    assert "create(s) of an earlier run were sent and never answered" in err
    time.sleep(max(0.0, killed + HELD + 0.5 - time.time()))  # the held send has landed
    stats = sim.stats()
    assert stats["duplicate_names"] == 0 and stats["servers_total"] == 2
    # one create accepted per server: the one in Nova's hands was never sent again
    assert _posts(sim, "202") == 2, stats
    document = json.loads(out)
    assert document["summary"]["counts"]["active"] == 2
