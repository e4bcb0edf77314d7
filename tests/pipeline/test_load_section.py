"""The manifest's ``load:`` mapping: read into a ``LoadSection``, problems at FILE:LINE:COL."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bulkboot.pipeline.load_spec import CapacitySearch, Stage
from bulkboot.pipeline.manifest import load_manifest, read_manifest
from bulkboot.pipeline.spec import Location

HEAD = """\
name: lab
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - name: web
"""


def write(tmp_path: Path, load: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(HEAD + "load:\n" + textwrap.indent(textwrap.dedent(load).strip("\n"), "  "))
    return path


def problems(path: Path) -> list[str]:
    return [str(p) for p in read_manifest(path)[1]]


def test_every_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scenario: boot-list-delete
        rate: 2.5
        max_in_flight: 50
        stages: 10s:5,20s:0
        iterations: 100
        poll_interval: 250ms
        timeout: 5m
        thresholds: ["p95(post)<2s", "rate(failed)<1%"]
        abort_on_fail: true
        min_samples: 7
        keep: false
        late_after: 20ms
        find_capacity: {start: 0.5, factor: 2, step: 30s, max_steps: 4, margin: 10%}
        """,
    )
    section = load_manifest(path).load
    assert section is not None
    assert section.scenario == "boot-list-delete" and section.rate == 2.5
    assert section.max_in_flight == 50 and section.iterations == 100
    assert section.stages == (Stage(duration=10.0, target=5.0), Stage(duration=20.0, target=0.0))
    assert section.poll_interval == 0.25 and section.timeout == 300.0
    assert section.thresholds is not None
    assert [t.expression for t in section.thresholds] == ["p95(post)<2s", "rate(failed)<1%"]
    assert section.abort_on_fail is True and section.min_samples == 7 and section.keep is False
    assert section.late_after == 0.02
    assert section.find_capacity == CapacitySearch(
        start=0.5, factor=2.0, step=30.0, max_steps=4, margin=0.1
    )
    assert section.concurrency is None and section.duration is None
    file = str(path)
    assert section.locations["rate"] == Location(file, 7, 9)
    assert section.locations["thresholds.1"] == Location(file, 13, 32)


def test_other_spellings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        concurrency: 4
        duration: 90
        stages:
          - {duration: 30s, target: 8}
          - {duration: 1m, target: 2}
        thresholds: p99(total)<5m
        find_capacity: true
        """,
    )
    section = load_manifest(path).load
    assert section is not None
    assert section.duration == 90.0 and section.concurrency == 4
    assert section.stages == (Stage(duration=30.0, target=8.0), Stage(duration=60.0, target=2.0))
    assert section.thresholds is not None and section.thresholds[0].value == 300.0
    assert section.find_capacity == CapacitySearch()
    assert load_manifest(write(tmp_path, "find_capacity: false")).load.find_capacity is None  # type: ignore[union-attr]


def test_a_manifest_without_load_has_none(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(HEAD)
    assert load_manifest(path).load is None


def test_problems_point_at_their_place(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scenario: boot-and-delete
        rate: 0
        concurency: 3
        duration: soon
        thresholds: ["p95(post)<2s", "p95(pots)<2s"]
        stages: [{duration: 10s}, 7]
        find_capacity: {factor: 1, speed: 2}
        keep: yes please
        """,
    )
    file = str(path)
    assert problems(path) == [
        f"{file}:6:13: load: load.scenario: unknown scenario 'boot-and-delete': did you "
        "mean 'boot-delete'? (scenarios: boot, boot-delete, boot-list-delete)",
        f"{file}:7:9: load: load.rate: iterations per second must be more than 0, got 0",
        f"{file}:8:3: load: unknown key 'concurency' in load: did you mean 'concurrency'?",
        f"{file}:9:13: load: load.duration: 'soon' is not a duration: use a number of "
        "seconds or 500ms, 90s, 5m, 1h",
        f"{file}:10:32: load: load.thresholds.1: threshold 'p95(pots)<2s': unknown metric "
        "'pots'; phases: schedule_lag, post, active, build, list, delete, gone, total; "
        "iteration counters: failed, dropped, late, interrupted, completed",
        f"{file}:11:12: load: load.stages.0: target missing",
        f"{file}:11:29: load: load.stages.1: expected a mapping {{duration: 30s, target: 5}}, "
        "got an integer",
        f"{file}:12:27: load: load.find_capacity.factor: must be more than 1, got 1",
        f"{file}:12:30: load: unknown key 'speed' in load.find_capacity",
        f"{file}:13:9: load: load.keep: expected true or false, got a string",
    ]


def test_two_models_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "rate: 2\nconcurrency: 3\n")
    assert problems(path) == [
        f"{path}:7:3: load: load: give either rate (an open loop: iterations started per "
        "second) or concurrency (a closed loop: workers), not both"
    ]


@pytest.mark.parametrize("text", ["load: [1, 2]", "load: 5"])
def test_load_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(HEAD + text + "\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:5:7: load: load: expected a mapping of load-test settings")
