"""``bulkboot apply`` converging: a changed manifest applied, from the command line.

The fleet is booted, the manifest edited (count down and up, flavor, image, metadata,
user data, networks), and ``apply`` run with and without ``--replace-changed`` and
``--prune``; its JSON result is checked, then ``plan`` must find nothing left to do and
every server must carry the spec mark its planned body has now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkboot.identity import FLEET_MARK_KEY, SPEC_MARK_KEY
from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, run_cli, use_simulator
from tests.commands.test_plan_diff import AFTER, BEFORE


def _fleet(sim: RunningSimulator, fleet: str = "lab") -> dict[str, list[dict[str, Any]]]:
    """The fleet's servers not deleted, by name, from the simulator's records."""
    state = sim._state

    def read() -> dict[str, list[dict[str, Any]]]:
        now = state.clock()
        found: dict[str, list[dict[str, Any]]] = {}
        for r in state.records:
            if r.metadata.get(FLEET_MARK_KEY) == fleet and r.deleted_at is None:
                found.setdefault(r.name, []).append(
                    {"id": r.id, "status": r.status(now), "spec": r.metadata.get(SPEC_MARK_KEY)}
                )
        return found

    return sim._call(read)


def _json(out: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(out)
    return document


def _planned_marks(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, str]:
    code, out, err = run_cli(capsys, "plan", str(path), "--cloud", "simulator", "--format", "json")
    assert code == 0, err
    return {
        r["name"]: r["body"]["server"]["metadata"][SPEC_MARK_KEY] for r in _json(out)["requests"]
    }


@pytest.fixture
def booted(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    assert apply(capsys, path)[0] == 0
    return path


def test_a_changed_manifest_is_reported_and_left_alone_without_the_flags(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fleet(sim)
    booted.write_text(AFTER)
    code, out, err = apply(capsys, booted)
    assert code == 0, err
    summary = _json(out)["summary"]
    assert summary["changes"] == {
        "replaced": 0,
        "replace_failed": 0,
        "replace_held": 0,
        "pruned": 0,
        "prune_failed": 0,
        "extra_kept": 2,
        "changed_kept": 6,
    }
    assert summary["created"] == 1  # "new"
    after = _fleet(sim)
    assert {n: r for n, r in after.items() if n != "new"} == before
    code, out, _ = apply(capsys, booted, fmt="plain")
    assert (
        "2 extra, kept (not in the manifest: --prune deletes them), 6 changed, kept "
        "(differ from the manifest: --replace-changed replaces them)"
    ) in out


def test_replace_changed_and_prune_converge_the_fleet_on_the_manifest(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {name: records[0]["id"] for name, records in _fleet(sim).items()}
    booted.write_text(AFTER)
    code, out, err = apply(
        capsys, booted, "--replace-changed", "--prune", "--yes", "--max-unavailable", "50%"
    )
    assert code == 0, err
    document = _json(out)
    assert document["summary"]["changes"]["replaced"] == 6
    assert document["summary"]["changes"]["pruned"] == 2
    assert document["summary"]["ok"] is True
    fleet = _fleet(sim)
    # count down (web-3, web-4 pruned) and up (new), one server per name, each at the
    # spec mark its planned body carries now; the changed ones are new servers
    assert sorted(fleet) == ["cache", "db", "gw", "img", "new", "same", "web-1", "web-2"]
    planned = _planned_marks(capsys, booted)
    for name, records in fleet.items():
        (record,) = records
        assert record["status"] == "ACTIVE" and record["spec"] == planned[name], name
    replaced = {"web-1", "web-2", "db", "cache", "gw", "img"}
    assert all(fleet[n][0]["id"] != old[n] for n in replaced)
    assert fleet["same"][0]["id"] == old["same"]
    code, _, _ = run_cli(
        capsys, "plan", str(booted), "--cloud", "simulator", "--prune", "--detailed-exitcode"
    )
    assert code == 0  # nothing left to change


def test_prune_needs_yes_without_a_terminal(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    booted.write_text(BEFORE.replace("count: 4", "count: 2"))
    deletes = sim.stats()["requests"].get("DELETE /compute/v2.1/servers/{server_id}", {})
    code, out, err = apply(capsys, booted, "--prune")
    assert (code, out) == (2, "")
    assert "apply --prune would delete the fleet's servers the manifest no longer names" in err
    assert "add --yes" in err and "nothing was sent" in err
    assert sim.stats()["requests"].get("DELETE /compute/v2.1/servers/{server_id}", {}) == deletes


def test_only_applies_to_part_of_the_fleet(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {name: records[0]["id"] for name, records in _fleet(sim).items()}
    booted.write_text(AFTER)
    code, out, err = apply(capsys, booted, "--only", "web", "--replace-changed", "--prune", "--yes")
    assert code == 0, err
    document = _json(out)
    assert [s["name"] for s in document["servers"]] == ["web-1", "web-2"]
    assert document["summary"]["changes"]["replaced"] == 2
    assert document["summary"]["changes"]["pruned"] == 2  # web-3, web-4: the group's
    fleet = _fleet(sim)
    assert "new" not in fleet  # not selected: not created
    assert all(fleet[n][0]["id"] == old[n] for n in ("db", "cache", "gw", "img", "same"))
    assert all(fleet[n][0]["id"] != old[n] for n in ("web-1", "web-2"))
    code, _, err = apply(capsys, booted, "--only", "nosuch")
    assert code == 2 and "--only: 'nosuch' names no group and no server" in err


def test_a_name_taken_outside_the_fleet_needs_allow_duplicate_names(
    sim: RunningSimulator, booted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = booted.parent / "other.yaml"
    other.write_text(BEFORE.replace("name: lab", "name: other"))
    posts = sim.stats()["requests"].get("POST /compute/v2.1/servers", {})
    code, out, err = apply(capsys, other)
    assert code == 2 and out == ""
    assert "9 name(s) to create are already carried by servers outside fleet 'other'" in err
    assert "(fleet 'lab''s)" in err and "nothing was sent" in err
    assert sim.stats()["requests"].get("POST /compute/v2.1/servers", {}) == posts
    assert apply(capsys, other, "--allow-duplicate-names")[0] == 0
    assert sorted(_fleet(sim, "other")) == sorted(_fleet(sim, "lab"))  # never adopted


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--max-unavailable", "0"), "must be at least 1"),
        (("--max-unavailable", "150%"), "more than 0 and at most 100"),
        (("--max-unavailable", "half"), "is not a whole number"),
        (("--replace-changed", "--no-wait"), "cannot be used with --no-wait"),
        (("--replace-order", "random"), "invalid choice"),
    ],
)
def test_bad_converge_flags_are_refused_before_anything_is_sent(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: tuple[str, ...],
    message: str,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    try:
        code, out, err = apply(capsys, path, *flags)
    except SystemExit as exit_:  # argparse's own refusal
        code, err = int(exit_.code or 0), capsys.readouterr().err
    assert code == 2 and message in err
    assert sim.stats()["servers_total"] == 0
