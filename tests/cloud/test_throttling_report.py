"""``bulkboot apply`` against a rate-limited simulator: the 429s it got are counted,
per create and in all, and the time waited for them is told apart from the answers'.

(The cloud client's account of its requests, as the summary and the report show it.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bulkboot import cli
from bulkboot.simulator import RunningSimulator

FLEET = """\
name: throttled
cloud: simulator
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - {name: "t-{index}", count: 12}
"""


def test_the_429s_a_run_got_are_in_its_summary_and_report(
    sim: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sim.configure(build_time_mean=0.05, build_time_stddev=0.0, rate_limit=8)
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(sim.clouds_yaml()))
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(FLEET)
    report = tmp_path / "report.json"
    code = cli.main(["apply", str(manifest), "--yes", "--format", "json", "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == 0, err
    served = sim.stats()["requests"]
    refused = sum(answers.get("429", 0) for answers in served.values())
    assert refused > 0  # the rate limit did bite
    document = json.loads(out)
    summary = document["summary"]
    assert summary["requests"]["throttled"] == refused
    assert summary["requests"]["attempts"] == summary["requests"]["requests"] + refused
    turned = [s for s in document["servers"] if s["throttled"]]
    assert turned, "no create was turned away, yet the API answered 429"
    posts = served["POST /compute/v2.1/servers"]
    assert sum(s["throttled"] for s in document["servers"]) == posts.get("429", 0)
    for server in turned:
        assert server["http_attempts"] == server["throttled"] + 1
        assert server["post_wait_seconds"] >= 0.99 * server["throttled"]  # Retry-After: 1
        # the turned-away sends' own time is waited: answer and waited make the whole
        # (each rounded to the microsecond in the document)
        assert server["post_answer_seconds"] + server["post_wait_seconds"] == pytest.approx(
            server["post_seconds"], abs=2e-6
        )
    assert summary["post_wait_seconds"]["max"] >= 0.99
    written = json.loads(report.read_text())
    creates = [r for r in written["requests"] if r["method"] == "POST" and r["status"] == 202]
    assert sum(r["throttled"] for r in creates) == posts.get("429", 0)
    for timing in creates:
        assert timing["attempts"] == timing["throttled"] + 1
        assert timing["waited"] + timing["answer_seconds"] <= timing["seconds"] + 1e-5
