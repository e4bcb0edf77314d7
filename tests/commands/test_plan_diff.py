"""``bulkboot plan`` online after a change to the manifest: what ``apply`` would do.

Each test boots a fleet on the simulator with ``apply``, edits the manifest as a user
would, and reads the plan (its JSON, its table, its exit code). Nothing is created by
a plan: the tests count the creates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkboot.simulator.server import RunningSimulator
from tests.commands.cli_helpers import apply, run_cli, use_simulator

BEFORE = """name: lab
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - {name: "web-{index}", count: 4, metadata: {role: web}}
  - {name: db, flavor: m1.small}
  - {name: cache, user_data_text: "#cloud-config one"}
  - {name: gw, networks: [{net-name: private}]}
  - {name: img}
  - {name: same}
"""

AFTER = """name: lab
defaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}
servers:
  - {name: "web-{index}", count: 2, metadata: {role: front}}
  - {name: db, flavor: m1.large}
  - {name: cache, user_data_text: "#cloud-config two"}
  - {name: gw, networks: [{net-name: public}]}
  - {name: img, image: ubuntu-24.04}
  - {name: same}
  - {name: new}
"""


def _posts(sim: RunningSimulator) -> int:
    return sum(sim.stats()["requests"].get("POST /compute/v2.1/servers", {}).values())


def _plan(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> tuple[int, str, str]:
    return run_cli(capsys, "plan", str(path), "--cloud", "simulator", *flags)


def _plan_json(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> dict[str, Any]:
    code, out, err = _plan(capsys, path, "--format", "json", *flags)
    assert (code, err) == (0, ""), err
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.fixture
def changed(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The fleet booted from ``BEFORE``; its manifest now says ``AFTER``."""
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    code, _, err = apply(capsys, path)
    assert code == 0, err
    path.write_text(AFTER)
    return path


def test_plans_json_names_every_change_and_its_fields(
    sim: RunningSimulator, changed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = _posts(sim)
    document = _plan_json(capsys, changed)
    changes = document["changes"]
    assert list(document) == [
        "fleet",
        "microversion",
        "summary",
        "changes",
        "errors",
        "names_taken",
        "requests",
    ]
    assert list(changes) == ["create", "replace", "delete", "unchanged", "extra_kept"]
    assert changes["create"] == ["new"]
    fields = {entry["name"]: entry["fields"] for entry in changes["replace"]}
    assert fields == {
        "web-1": ["metadata"],
        "web-2": ["metadata"],
        "db": ["flavor"],
        "cache": ["user_data"],
        "gw": ["networks"],
        "img": ["image"],
    }
    assert all(len(entry["id"]) == 36 for entry in changes["replace"])
    assert changes["unchanged"] == ["same"]
    assert changes["delete"] == []
    assert [e["name"] for e in changes["extra_kept"]] == ["web-3", "web-4"]
    assert document["summary"] == (
        "1 to create, 6 to replace, 0 to delete, 1 unchanged, 2 extra, kept (--prune deletes them)"
    )
    assert document["errors"] == [] and document["names_taken"] == {}
    assert [r["name"] for r in document["requests"]] == [
        "web-1",
        "web-2",
        "db",
        "cache",
        "gw",
        "img",
        "same",
        "new",
    ]
    assert _posts(sim) == posts  # a plan creates nothing


def test_with_prune_the_extra_servers_are_to_delete(
    changed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes = _plan_json(capsys, changed, "--prune")["changes"]
    assert [e["name"] for e in changes["delete"]] == ["web-3", "web-4"]
    assert changes["extra_kept"] == []


def test_the_table_marks_each_server_and_ends_with_the_summary(
    changed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = _plan(capsys, changed)
    assert (code, err) == (0, "")
    lines = [line.rstrip() for line in out.splitlines()]
    # table rows: the mark, two spaces, the name (the lines after it: one space)
    rows = {line.split()[1]: line[0] for line in lines if line[:1] in "+~=!" and line[1:3] == "  "}
    assert rows == {
        "web-1": "~",
        "db": "~",
        "cache": "~",
        "gw": "~",
        "img": "~",
        "same": "=",
        "new": "+",
    }
    assert any(line.startswith("~  web-1 … web-2") for line in lines)
    assert any(line.startswith("+  new") for line in lines)  # a row of its own
    assert any(line.startswith("~ db (") and "flavor differs" in line for line in lines)
    assert any(
        line.startswith("- web-3 (") and "extra, kept (--prune deletes it)" in line
        for line in lines
    )
    assert lines[-1] == (
        "plan: 1 to create, 6 to replace, 0 to delete, 1 unchanged, 2 extra, kept "
        "(--prune deletes them)"
    )


def test_detailed_exitcode_says_whether_there_are_changes(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    assert _plan(capsys, path, "--detailed-exitcode")[0] == 2  # all to create
    assert apply(capsys, path)[0] == 0
    assert _plan(capsys, path, "--detailed-exitcode")[0] == 0  # nothing to do
    assert _plan(capsys, path)[0] == 0  # without the flag: 0 on success, as ever
    path.write_text(BEFORE.replace("count: 4", "count: 3"))
    # a server the manifest no longer names is a change only when it would be deleted
    assert _plan(capsys, path, "--detailed-exitcode")[0] == 0
    assert _plan(capsys, path, "--detailed-exitcode", "--prune")[0] == 2
    # any error is 1, where it would be 2 without the flag
    code, out, err = _plan(capsys, path, "--detailed-exitcode", "--cloud", "nowhere")
    assert (code, out) == (1, "") and "nowhere" in err
    assert _plan(capsys, path, "--cloud", "nowhere")[0] == 2
    code, _, err = run_cli(capsys, "plan", str(path), "--offline", "--detailed-exitcode")
    assert code == 1 and "--detailed-exitcode needs the cloud" in err


def test_a_count_raised_creates_the_new_members_and_keeps_the_rest(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    assert apply(capsys, path)[0] == 0
    path.write_text(BEFORE.replace("count: 4", "count: 6"))
    changes = _plan_json(capsys, path)["changes"]
    assert changes["create"] == ["web-5", "web-6"]
    assert changes["replace"] == [] and changes["extra_kept"] == []
    assert changes["unchanged"] == [
        "web-1",
        "web-2",
        "web-3",
        "web-4",
        "db",
        "cache",
        "gw",
        "img",
        "same",
    ]


def test_servers_in_error_are_shown_apart(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    sim.configure(error_fraction=1.0)
    assert apply(capsys, path)[0] == 1  # every build ends in ERROR
    sim.configure(error_fraction=0.0)
    document = _plan_json(capsys, path)
    assert [e["name"] for e in document["errors"]] == [
        "web-1",
        "web-2",
        "web-3",
        "web-4",
        "db",
        "cache",
        "gw",
        "img",
        "same",
    ]
    assert all(e["retryable"] and e["fault"] for e in document["errors"])
    changes = document["changes"]
    assert changes["create"] == changes["replace"] == changes["unchanged"] == []
    assert document["summary"].endswith("9 in ERROR (9 --retry-errors would replace)")
    code, out, _ = _plan(capsys, path)
    assert "! web-1 (" in out and "No valid host was found" in out


def test_a_name_taken_outside_the_fleet_is_shown(
    sim: RunningSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_simulator(sim, tmp_path, monkeypatch)
    other = tmp_path / "other.yaml"
    other.write_text(
        "name: other\ndefaults: {image: cirros-0.6.2, flavor: m1.tiny, networks: none}\n"
        "servers:\n  - {name: db}\n"
    )
    assert apply(capsys, other)[0] == 0
    path = tmp_path / "lab.yaml"
    path.write_text(BEFORE)
    document = _plan_json(capsys, path)
    (taken,) = document["names_taken"].items()
    assert taken[0] == "db" and taken[1].endswith(" (fleet 'other''s)")
    assert "db" in document["changes"]["create"]  # never adopted
    code, out, _ = _plan(capsys, path)
    assert "+ db: a server outside the fleet has this name" in " ".join(out.split())


def test_only_plans_part_of_the_fleet(changed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = _plan_json(capsys, changed, "--only", "web")
    changes = document["changes"]
    assert [r["name"] for r in document["requests"]] == ["web-1", "web-2"]
    assert [c["name"] for c in changes["replace"]] == ["web-1", "web-2"]
    assert [e["name"] for e in changes["extra_kept"]] == ["web-3", "web-4"]  # the group's
    assert changes["create"] == [] and changes["unchanged"] == []
    only_db = _plan_json(capsys, changed, "--only", "db,same")["changes"]
    assert only_db["extra_kept"] == []  # web-3, web-4 are not in the selection
    assert [c["name"] for c in only_db["replace"]] == ["db"] and only_db["unchanged"] == ["same"]
    code, out, err = _plan(capsys, changed, "--only", "wbe")
    assert (code, out) == (2, "")
    assert "--only: 'wbe' names no group and no server of the manifest" in err
    assert "web-{index} (web)" in err
