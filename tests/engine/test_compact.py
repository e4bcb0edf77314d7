"""Compacting the journal: what replay says is the same before and after (but for the
names settled long ago), the file only shrinks, and a crash at any step leaves the old
journal or the new one, whole."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bulkboot.engine import compact
from bulkboot.engine.compact import compact_if_grown, kept_lines, member_of
from bulkboot.engine.members import members_expected
from bulkboot.engine.replay import (
    JournalEntry,
    JournalFile,
    load_fleet_journal,
    read_journal,
    replay,
)
from bulkboot.engine.statedir import StatePaths, replace_in_state, state_paths
from bulkboot.errors import JournalError

REPO = Path(__file__).resolve().parents[2]
NAMES = ("web-1", "web-2", "db", "pool", "pool-1", "pool-2", "pool-3", "x-01")
IDS = ("a", "b", "c", "d")
STATUSES = ("BUILD", "ACTIVE", "ERROR", "DELETED", "SHUTOFF")


def _random_record(rng: random.Random, t: float) -> dict[str, Any]:
    name = rng.choice(NAMES)
    server_id: Any = rng.choice(IDS) + name  # ids are per name, mostly
    kind = rng.choice(
        (
            "sent",
            "sent",
            "attempt",
            "unanswered",
            "created",
            "created",
            "found",
            "refused",
            "status",
            "status",
            "delete",
            "delete-refused",
            "deleted",
            "gone",
            "timeout",
            "requeued",
        )
    )
    record: dict[str, Any] = {"ev": kind, "name": name, "t": t}
    if kind in ("created", "found", "status", "delete", "deleted", "gone"):
        if rng.random() < 0.1:
            server_id = None if kind == "created" else rng.choice(IDS)  # a group; an odd id
        if not (kind == "gone" and rng.random() < 0.3):  # a Vanished line has no id
            record["id"] = server_id
    if kind in ("found", "status") or (kind == "created" and rng.random() < 0.2):
        record["status"] = rng.choice(STATUSES)
    if kind in ("sent", "attempt") and rng.random() < 0.1:
        del record["t"]  # an older line without its time
    return record


def _positions(entry: JournalEntry, keep: Sequence[int]) -> JournalEntry:
    """``entry`` as it replays from the kept lines: its positions among them."""
    return dataclasses.replace(
        entry,
        last_line=keep.index(entry.last_line),
        last_sent_line=-1 if entry.last_sent_line < 0 else keep.index(entry.last_sent_line),
    )


def _settled(entry: JournalEntry) -> bool:
    return not (entry.unconfirmed or entry.deleting or entry.live_ids)


def _group(name: str, count: int) -> Any:
    """The few fields of a multi-create's spec ``members_expected`` reads."""
    return SimpleNamespace(name=name, instance_count=count, min_count=1)


def _check(records: list[dict[str, Any]]) -> tuple[dict[str, JournalEntry], list[int]]:
    entries = replay(records)
    keep = kept_lines(records, entries)
    after = replay([records[i] for i in keep])
    for name, entry in entries.items():
        if name not in after:
            assert _settled(entry), (name, entry)
            continue
        assert after[name] == _positions(entry, keep), name
    # the cheap bound that spares most runs the full count is a lower bound
    lines = tuple(json.dumps(r).encode() for r in records)
    journal = JournalFile(records=tuple(records), lines=lines)
    assert compact._at_least(journal, entries) <= sum(len(lines[i]) + 1 for i in keep)
    # the members a group should have are the same for every group the journal sent
    for group in ("pool", "web"):
        if group in entries:
            spec = _group(group, 3)
            assert members_expected(spec, [], after) == members_expected(spec, [], entries)
    return entries, keep


def test_replay_is_the_same_after_compaction_for_random_journals() -> None:
    lines = kept = names = settled = 0
    for seed in range(400):
        rng = random.Random(seed)
        records = [_random_record(rng, 1000.0 + i) for i in range(rng.randint(1, 120))]
        entries, keep = _check(records)
        lines += len(records)
        kept += len(keep)
        names += len(entries)
        settled += len(entries) - len(replay([records[i] for i in keep]))
    # not a vacuous check: lines are dropped, and whole names too
    assert kept < 0.6 * lines and settled > 0.05 * names


def test_a_settled_name_is_dropped_and_a_live_one_keeps_its_facts() -> None:
    records = [
        {"ev": "sent", "name": "old", "t": 1.0},
        {"ev": "created", "name": "old", "id": "o1", "t": 2.0},
        {"ev": "status", "name": "old", "id": "o1", "status": "ACTIVE", "t": 3.0},
        {"ev": "delete", "name": "old", "id": "o1", "t": 4.0},
        {"ev": "deleted", "name": "old", "id": "o1", "t": 5.0},
        {"ev": "sent", "name": "web", "t": 6.0},
        {"ev": "created", "name": "web", "id": "w1", "t": 7.0},
        {"ev": "status", "name": "web", "id": "w1", "status": "ACTIVE", "t": 8.0},
        {"ev": "found", "name": "web", "id": "w1", "status": "ACTIVE", "t": 9.0},
        {"ev": "found", "name": "web", "id": "w1", "status": "ACTIVE", "t": 10.0},
        {"ev": "sent", "name": "flying", "t": 11.0},  # never answered: may still land
        {"ev": "unanswered", "name": "flying", "t": 12.0},
        {"ev": "sent", "name": "going", "t": 13.0},
        {"ev": "created", "name": "going", "id": "g1", "t": 14.0},
        {"ev": "delete", "name": "going", "id": "g1", "t": 15.0},  # never seen done
        {"ev": "found", "name": "lost", "id": "l1", "status": "ACTIVE", "t": 16.0},
        {"ev": "gone", "name": "lost", "id": "l1", "t": 17.0},  # found gone (404)
    ]
    entries, keep = _check(records)
    assert [records[i]["t"] for i in keep] == [6.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    after = replay([records[i] for i in keep])
    assert set(after) == {"web", "flying", "going"}
    assert after["flying"].unconfirmed and after["flying"].last_sent_at == 11.0
    assert after["going"].deleting == frozenset({"g1"})
    assert after["web"].live_ids == ("w1",) and after["web"].status == "ACTIVE"


def test_members_since_their_group_was_sent_are_kept_older_ones_are_not() -> None:
    records = [
        {"ev": "sent", "name": "pool", "t": 1.0},
        {"ev": "created", "name": "pool", "id": None, "t": 2.0},
        {"ev": "found", "name": "pool-3", "id": "p3", "status": "ACTIVE", "t": 3.0},
        {"ev": "deleted", "name": "pool-3", "id": "p3", "t": 4.0},  # an older generation
        {"ev": "sent", "name": "pool", "t": 5.0},
        {"ev": "created", "name": "pool", "id": None, "t": 6.0},
        {"ev": "found", "name": "pool-2", "id": "p2", "status": "ACTIVE", "t": 7.0},
        {"ev": "deleted", "name": "pool-2", "id": "p2", "t": 8.0},  # this generation's
    ]
    entries, keep = _check(records)
    after = replay([records[i] for i in keep])
    assert "pool-3" not in after and "pool-2" in after and "pool" in after
    assert members_expected(_group("pool", 3), [], after) == 2


def test_member_names_follow_the_naming_rule() -> None:
    assert member_of("pool-3") == "pool" and member_of("a-b-12") == "a-b"
    assert member_of("web-01") is None and member_of("web") is None and member_of("-3") is None
    assert member_of("web-٣") is None  # a digit, but not ASCII


# ------------------------------------------------------------------ the file rewritten


def _paths(tmp_path: Path) -> StatePaths:
    return state_paths(tmp_path / "lab.yaml", cloud="prod", fleet="lab")


def _no_op_journal(paths: StatePaths, servers: int, applies: int) -> bytes:
    """A fleet booted once, then ``applies`` no-op applies (a ``found`` line each), one
    server deleted and one create in flight: what ``apply`` writes."""
    lines = []
    for n in range(servers):
        name = f"web-{n + 1}"
        lines += [
            {"ev": "sent", "name": name, "t": 1.0},
            {"ev": "created", "name": name, "id": f"id-{n}", "t": 2.0},
            {"ev": "status", "name": name, "id": f"id-{n}", "status": "ACTIVE", "t": 3.0},
        ]
    for _ in range(applies):
        lines.append({"ev": "run", "cmd": "apply", "cloud": "prod", "pid": 1})
        lines += [
            {"ev": "found", "name": f"web-{n + 1}", "id": f"id-{n}", "status": "ACTIVE", "t": 4.0}
            for n in range(servers)
        ]
    lines.append({"ev": "deleted", "name": "web-1", "id": "id-0", "t": 5.0})
    lines.append({"ev": "sent", "name": "web-999", "t": 6.0})
    data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
    paths.directory.mkdir(parents=True)
    paths.journal.write_bytes(data)
    return data


def _view(path: Path) -> dict[str, tuple[Any, ...]]:
    """What replay says of each name, its positions aside."""
    return {
        name: (e.ids, e.deleted, e.sent, e.unconfirmed, e.status, e.deleting, e.last_sent_at)
        for name, e in replay(read_journal(path)).items()
    }


def _compact(paths: StatePaths, **kwargs: Any) -> str | None:
    journal = load_fleet_journal(paths)
    return compact_if_grown(paths, journal, replay(journal.records), **kwargs)


def test_a_grown_journal_is_compacted_and_replays_the_same(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    old = _no_op_journal(paths, servers=100, applies=6)
    before = _view(paths.journal)
    note = _compact(paths)
    assert note is not None and f"the journal {paths.journal} was compacted" in note
    new = paths.journal.read_bytes()
    assert len(new) * compact.COMPACT_RATIO < len(old)
    assert oct(paths.journal.stat().st_mode & 0o777) == "0o600"
    header = json.loads(new.splitlines()[0])
    assert header["ev"] == "run" and header["cmd"] == "compact"
    assert header["from_bytes"] == len(old)
    after = _view(paths.journal)
    del before["web-1"]  # deleted, nothing more to say: dropped
    assert after == before
    # two lines per live server (its create sent, its last status), one per create in flight
    assert len(new.splitlines()) == 1 + 99 * 2 + 1
    # compact already: left alone
    assert _compact(paths) is None
    assert paths.journal.read_bytes() == new
    assert [p.name for p in paths.directory.iterdir()] == ["lab.jsonl"]


def test_a_small_journal_is_not_compacted(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    old = _no_op_journal(paths, servers=5, applies=20)
    assert len(old) < compact.COMPACT_FROM_BYTES
    assert _compact(paths) is None
    assert paths.journal.read_bytes() == old


def test_unreadable_lines_are_not_carried_over(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _no_op_journal(paths, servers=100, applies=6)
    with paths.journal.open("ab") as file:
        file.write(b"garbage\n\xff\xfe\n")
        file.write(b'{"ev":"found","name":"web-2","id":"id-1","status":"SHUTOFF","t":9}\n')
        file.write(b'{"ev":"sta')  # torn
    before = _view(paths.journal)
    assert _compact(paths) is not None
    problems: list[str] = []
    assert _view(paths.journal) == {k: v for k, v in before.items() if k != "web-1"}
    list(read_journal(paths.journal, problems))
    assert problems == []
    assert _view(paths.journal)["web-2"][4] == "SHUTOFF"


def test_a_journal_written_meanwhile_is_left_as_it_is(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _no_op_journal(paths, servers=100, applies=6)
    journal = load_fleet_journal(paths)
    with paths.journal.open("ab") as file:
        file.write(b'{"ev":"sent","name":"late","t":7}\n')
    grown = paths.journal.read_bytes()
    with pytest.raises(JournalError, match="changed while it was being rewritten"):
        compact_if_grown(paths, journal, replay(journal.records))
    assert paths.journal.read_bytes() == grown
    assert [p.name for p in paths.directory.iterdir()] == ["lab.jsonl"]


@pytest.mark.parametrize("at", ["write", "fsync", "rename", "fsync-directory"])
def test_a_failure_at_any_step_leaves_a_whole_journal(tmp_path: Path, at: str) -> None:
    paths = _paths(tmp_path)
    old = _no_op_journal(paths, servers=100, applies=6)
    before = _view(paths.journal)
    del before["web-1"]

    def fail(step: str) -> None:
        if step == at:
            raise OSError(28, "No space left on device")

    if at == "fsync-directory":  # renamed already: the new journal is in place
        with pytest.raises(JournalError, match="No space left on device"):
            _compact(paths, step=fail)
        assert _view(paths.journal) == before
    else:
        with pytest.raises(JournalError, match=f"cannot rewrite {paths.journal}"):
            _compact(paths, step=fail)
        assert paths.journal.read_bytes() == old
    assert [p.name for p in paths.directory.iterdir()] == ["lab.jsonl"]


KILLED = """
import os, signal, sys
from pathlib import Path
from bulkboot.engine.compact import compact_if_grown
from bulkboot.engine.replay import load_fleet_journal, replay
from bulkboot.engine.statedir import state_paths

paths = state_paths(Path(sys.argv[1]), cloud="prod", fleet="lab")
journal = load_fleet_journal(paths)

def step(name):
    if name == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)

compact_if_grown(paths, journal, replay(journal.records), step=step)
"""


@pytest.mark.parametrize("at", ["write", "fsync", "rename", "fsync-directory"])
def test_a_kill_at_any_step_leaves_the_old_journal_or_the_new_one(tmp_path: Path, at: str) -> None:
    paths = _paths(tmp_path)
    old = _no_op_journal(paths, servers=100, applies=6)
    before = _view(paths.journal)
    before_all = dict(before)
    del before["web-1"]
    process = subprocess.run(
        [sys.executable, "-c", KILLED, str(tmp_path / "lab.yaml"), at],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    data = paths.journal.read_bytes()
    if at in ("write", "fsync", "rename"):
        assert data == old and _view(paths.journal) == before_all
    else:
        assert len(data) < len(old) and _view(paths.journal) == before
    # the next compaction (or none is needed) leaves a whole journal and no leftover
    _compact(paths)
    assert _view(paths.journal) == before
    assert [p.name for p in paths.directory.iterdir()] == ["lab.jsonl"]


def test_a_link_planted_at_the_temporary_file_is_not_followed(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _no_op_journal(paths, servers=100, applies=6)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (paths.directory / ".lab.jsonl.new").symlink_to(victim)
    assert _compact(paths) is not None
    assert victim.read_text() == "untouched"
    assert [p.name for p in paths.directory.iterdir()] == ["lab.jsonl"]


def test_replace_in_state_needs_its_folder(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    with pytest.raises(JournalError, match="its folder is gone"):
        replace_in_state(paths, "lab.jsonl", b"x\n")


def test_a_load_run_s_servers_once_deleted_leave_nothing_behind(tmp_path: Path) -> None:
    """``bulkboot load`` writes four lines per iteration, each of a name of its own
    (``<server>-<run>-<n>``): once deleted, none of them is kept; one whose DELETE was
    never seen done (the clean-up killed) is."""
    paths = _paths(tmp_path)
    lines = [{"ev": "run", "cmd": "load", "load_run": "r1a2b3"}]
    for n in range(400):
        name = f"web-1-r1a2b3-{n}"
        lines += [
            {"ev": "sent", "name": name, "t": 1.0},
            {"ev": "created", "name": name, "id": f"id-{n}", "t": 2.0},
            {"ev": "delete", "name": name, "id": f"id-{n}", "t": 3.0},
        ]
        if n != 7:
            lines.append({"ev": "deleted", "name": name, "id": f"id-{n}", "t": 4.0})
    paths.directory.mkdir(parents=True)
    paths.journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert _compact(paths) is not None
    assert set(replay(read_journal(paths.journal))) == {"web-1-r1a2b3-7"}
    assert replay(read_journal(paths.journal))["web-1-r1a2b3-7"].deleting == {"id-7"}
    assert len(paths.journal.read_text().splitlines()) == 1 + 3
