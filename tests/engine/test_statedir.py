"""Where a fleet's state lives: per cloud and fleet, names made safe without collisions,
the journal of an older bulkboot moved to its new place only when it is this cloud's."""

from __future__ import annotations

import json
from pathlib import Path

from bulkboot.engine.journal import Journal
from bulkboot.engine.replay import read_fleet_journal
from bulkboot.engine.state import CreateSent
from bulkboot.engine.statedir import adopt_legacy, legacy_journal, safe_name, state_paths


def test_state_sits_beside_the_manifest_per_cloud_and_fleet(tmp_path: Path) -> None:
    manifest = tmp_path / "team" / "lab.yaml"
    prod = state_paths(manifest, cloud="prod", fleet="lab")
    dev = state_paths(manifest, cloud="dev", fleet="lab")
    assert prod.journal == tmp_path / "team" / ".bulkboot" / "prod" / "lab.jsonl"
    assert prod.lock == tmp_path / "team" / ".bulkboot" / "prod" / "lab.lock"
    assert dev.journal != prod.journal and dev.lock != prod.lock
    moved = state_paths(manifest, cloud="prod", fleet="lab", state_dir=tmp_path / "state")
    assert moved.journal == tmp_path / "state" / "prod" / "lab.jsonl"


def test_names_are_kept_when_safe_and_never_collide_when_not() -> None:
    assert safe_name("lab") == "lab" and safe_name("web-01.v2_x") == "web-01.v2_x"
    names = ["café", "cafe", "cafè", "Lab", "lab", "a/b", "a_b", "..", ".", "lab.", "x" * 300]
    safe = [safe_name(n) for n in names]
    assert len(set(safe)) == len(names)  # fleet names that differ never share a file
    # on a file system that ignores case, still no two alike
    assert len({s.lower() for s in safe}) == len(names)
    for made in safe:
        assert made.isascii() and "/" not in made and not made.startswith(".")
        assert len(made) <= 100
    assert safe_name("café").startswith("caf-") and safe_name("Lab").startswith("Lab-")


def _legacy(manifest: Path, fleet: str, cloud: str | None) -> Path:
    old = legacy_journal(manifest, fleet)
    old.parent.mkdir(parents=True, exist_ok=True)
    lines = [] if cloud is None else [{"ev": "run", "cmd": "apply", "cloud": cloud}]
    lines.append({"ev": "sent", "name": "a", "t": 1.0})
    old.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return old


def test_an_older_journal_of_this_cloud_moves_to_its_new_place(tmp_path: Path) -> None:
    manifest = tmp_path / "lab.yaml"
    old = _legacy(manifest, "lab", "prod")
    assert old == tmp_path / ".bulkboot" / "lab.jsonl"
    paths = state_paths(manifest, cloud="prod", fleet="lab")
    note = adopt_legacy(paths, manifest)
    assert note is not None and "moved from" in note and str(paths.journal) in note
    assert not old.exists()
    assert [r["name"] for r in read_fleet_journal(paths)] == ["a"]
    assert adopt_legacy(paths, manifest) is None  # nothing left to move


def test_an_older_journal_of_another_cloud_stays(tmp_path: Path) -> None:
    manifest = tmp_path / "lab.yaml"
    old = _legacy(manifest, "lab", "dev")
    paths = state_paths(manifest, cloud="prod", fleet="lab")
    note = adopt_legacy(paths, manifest)
    assert note is not None and "written for cloud dev; left where it is" in note
    assert old.exists() and not paths.journal.exists()


def test_an_older_journal_beside_one_in_use_is_left_alone(tmp_path: Path) -> None:
    manifest = tmp_path / "lab.yaml"
    old = _legacy(manifest, "lab", None)
    paths = state_paths(manifest, cloud="prod", fleet="lab")
    with Journal.open_fleet(paths) as journal:
        journal.record(CreateSent(name="b", at=1))
    note = adopt_legacy(paths, manifest)
    assert note is not None and "left alone" in note
    assert old.exists() and [r["name"] for r in read_fleet_journal(paths)] == ["b"]
