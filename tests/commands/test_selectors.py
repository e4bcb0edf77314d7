"""``--only GROUP[,GROUP]`` on ``status`` and ``destroy`` (``apply`` and ``plan``: their own
tests); the selector itself, pure, on a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkboot.engine.selector import parse_only, select
from bulkboot.errors import UsageError
from bulkboot.pipeline.manifest import load_manifest
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, destroy, run_cli, use_simulator

MANIFEST = """name: lab
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - {name: "web-{index:02d}", count: 4}
  - {name: db}
  - {name: pool, min_count: 2, max_count: 2}
"""


@pytest.fixture
def booted(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The fleet booted; the manifest then lowers web's count to 2 (web-03, web-04 drift)."""
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(MANIFEST)
    assert apply(capsys, path)[0] == 0
    path.write_text(MANIFEST.replace("count: 4", "count: 2"))
    return path


def _names(sim: RunningSimulator) -> list[str]:
    state = sim._state
    return sim._call(lambda: sorted(r.name for r in state.records if r.deleted_at is None))


def test_status_only_shows_the_groups_servers_and_its_drift(
    booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "status", str(booted), "--cloud", "simulator", "--format", "json", "--only", "web"
    )
    assert code == 0, err
    document = json.loads(out)
    assert [r["name"] for r in document["servers"]] == ["web-01", "web-02"]
    assert [r["name"] for r in document["drift"]] == ["web-03", "web-04"]  # the group's only
    code, out, _ = run_cli(
        capsys,
        "status",
        str(booted),
        "--cloud",
        "simulator",
        "--format",
        "json",
        "--only",
        "pool-2,db",
    )
    assert [r["name"] for r in json.loads(out)["servers"]] == ["db", "pool-2"]


def test_destroy_only_deletes_that_groups_servers_and_nothing_else(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = destroy(capsys, booted, "--only", "web")
    assert code == 0, err
    document = json.loads(out)
    assert sorted(s["name"] for s in document["servers"]) == [
        "web-01",
        "web-02",
        "web-03",
        "web-04",
    ]
    assert _names(sim) == ["db", "pool-1", "pool-2"]
    assert destroy(capsys, booted, "--only", "pool")[0] == 0
    assert _names(sim) == ["db"]
    code, out, err = destroy(capsys, booted, "--only", "wbe")
    assert (code, out) == (2, "") and "'wbe' names no group and no server" in err
    assert _names(sim) == ["db"]


@pytest.mark.parametrize("command", ["destroy", "apply", "status", "plan"])
@pytest.mark.parametrize("words", ["", ",", " , "])
def test_an_empty_selector_is_refused_never_the_whole_fleet(
    sim: RunningSimulator,
    booted: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    words: str,
) -> None:
    """``--only "$GROUP"`` with the variable unset must not widen to the whole fleet."""
    before = sim.stats()["requests"]
    argv = [command, str(booted), "--cloud", "simulator", "--only", words]
    with pytest.raises(SystemExit) as info:  # argparse's refusal, as for any bad flag
        run_cli(capsys, *argv, *(["--yes"] if command != "status" else []))
    out, err = capsys.readouterr()
    assert (info.value.code, out) == (2, "")
    assert "--only" in err and "names no group or server" in err and "Traceback" not in err
    assert sim.stats()["requests"] == before  # nothing sent
    assert _names(sim) == ["db", "pool-1", "pool-2", "web-01", "web-02", "web-03", "web-04"]


def test_a_selector_names_groups_as_written_their_start_or_servers(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(MANIFEST)
    manifest = load_manifest(path)
    assert parse_only(" web, db ,web,") == ("web", "db")
    by_template = select(manifest, ["web-{index:02d}"])
    by_start = select(manifest, ["web"])
    assert (
        [s.name for s in by_template.specs]
        == [s.name for s in by_start.specs]
        == [
            "web-01",
            "web-02",
            "web-03",
            "web-04",
        ]
    )
    assert by_start.covers("web-07") and not by_start.covers("db") and not by_start.covers("webx")
    member = select(manifest, ["pool-2"])
    (spec,) = member.specs
    assert (spec.name, spec.instance_count) == ("pool-2", 1)  # a member picked alone
    assert member.covers("pool-2") and not member.covers("pool-1")
    group = select(manifest, ["pool"])
    assert group.covers("pool-1") and group.covers("pool-9") and not group.covers("pool-01")
    with pytest.raises(UsageError, match=r"--only: 'nope', 'web-9' names no group"):
        select(manifest, ["nope", "db", "web-9"])
