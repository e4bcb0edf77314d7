"""The journal: one line per event, survives a torn last line, replays per name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bulkboot.engine.journal import Journal, journal_path, read_journal, replay
from bulkboot.engine.state import Created, CreateSent, Deleted, StatusSeen
from bulkboot.errors import JournalError


def test_path_sits_beside_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "lab" / "fleet.yaml"
    assert journal_path(manifest, "lab/one") == tmp_path / "lab" / ".bulkboot" / "lab_one.jsonl"


@pytest.mark.anyio
async def test_lines_are_written_at_once_and_replay(tmp_path: Path) -> None:
    path = tmp_path / ".bulkboot" / "f.jsonl"
    with Journal.open(path) as journal:
        journal.record(CreateSent(name="a", at=1))
        # the line is in the file before any sync or close (a SIGKILL would keep it)
        assert json.loads(path.read_text().splitlines()[0])["ev"] == "sent"
        journal.record(Created(name="a", at=2, server_id="id-a", post_seconds=1, http_attempts=1))
        journal.record(CreateSent(name="b", at=2))
        journal.record(StatusSeen(name="a", at=3, server_id="id-a", status="ERROR", fault="f"))
        journal.record(Deleted(name="a", at=4, server_id="id-a"))
        journal.record(CreateSent(name="a", at=5))
        journal.record(Created(name="a", at=6, server_id="id-a2", post_seconds=1, http_attempts=1))
        await journal.sync()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    view = replay(read_journal(path))
    assert view["a"].ids == ("id-a", "id-a2")
    assert view["a"].live_ids == ("id-a2",)
    assert view["a"].sent == 2 and not view["a"].unconfirmed
    assert view["b"].unconfirmed and view["b"].ids == ()


def test_no_secret_reaches_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.record(Created(name="a", at=2, server_id="id-a", post_seconds=1, http_attempts=1))
    line = json.loads(path.read_text())
    assert set(line) == {"ev", "name", "id", "t"}


def test_a_torn_last_line_is_skipped_but_a_torn_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"ev":"sent","name":"a"}\n{"ev":"created","name":"a","id":"x"}\n{"ev":"se')
    view = replay(read_journal(path))
    assert view["a"].ids == ("x",)
    path.write_text('{"ev":"sent","name":"a"}\n{"ev":"se\n{"ev":"sent","name":"b"}\n')
    with pytest.raises(JournalError, match=r"j\.jsonl:2:"):
        list(read_journal(path))


def test_missing_journal_reads_as_empty(tmp_path: Path) -> None:
    assert replay(read_journal(tmp_path / "none.jsonl")) == {}


@pytest.mark.anyio
async def test_concurrent_syncs_share_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    with Journal.open(tmp_path / "j.jsonl") as journal:

        async def one(i: int) -> None:
            journal.record(CreateSent(name=f"s{i}", at=i))
            await journal.sync()

        async with anyio.create_task_group() as group:
            for i in range(50):
                group.start_soon(one, i)
    assert 1 <= len(calls) <= 10
    assert len(list(read_journal(tmp_path / "j.jsonl"))) == 50


def test_hand_formatted_lines_are_json_with_escaping(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    name = 'we"ird\\name-é-\n'
    with Journal.open(path) as journal:
        journal.record(CreateSent(name=name, at=1))
        journal.record(Created(name=name, at=2, server_id="id-1", post_seconds=1, http_attempts=1))
        journal.record(StatusSeen(name=name, at=3, server_id="id-1", status="ACTIVE"))
    lines = path.read_text(encoding="utf-8").splitlines()
    first, second, third = (json.loads(line) for line in lines)
    assert first["ev"] == "sent" and first["name"] == name and isinstance(first["t"], float)
    assert second == {"ev": "created", "name": name, "id": "id-1", "t": second["t"]}
    assert third == {
        "ev": "status",
        "name": name,
        "id": "id-1",
        "status": "ACTIVE",
        "t": third["t"],
    }


@pytest.mark.anyio
async def test_sync_every_flushes_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd))[1])
    with Journal.open(tmp_path / "j.jsonl") as journal:
        async with anyio.create_task_group() as group:
            group.start_soon(journal.sync_every, 0.01)
            await anyio.sleep(0.05)
            assert calls == []  # nothing written, nothing flushed
            journal.record(CreateSent(name="a", at=1))
            with anyio.fail_after(10):  # the flush runs in a worker thread: however slow
                while not calls:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            await anyio.sleep(0.05)  # a few more intervals: nothing new to flush
            assert len(calls) == 1
            group.cancel_scope.cancel()


def test_replay_keeps_deletes_whose_end_was_not_seen(tmp_path: Path) -> None:
    from bulkboot.engine.state import DeleteRefused, DeleteSent, Found

    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        for name in "abcd":
            journal.record(CreateSent(name=name, at=1))
            journal.record(
                Created(name=name, at=2, server_id=f"id-{name}", post_seconds=1, http_attempts=1)
            )
            journal.record(DeleteSent(name=name, at=3, server_id=f"id-{name}"))
        journal.record(Deleted(name="b", at=4, server_id="id-b"))  # seen gone
        journal.record(DeleteRefused(name="c", at=4, message="locked"))  # refused
        journal.record(Found(name="d", at=5, server_id="id-d", status="ACTIVE"))  # still alive
    view = replay(read_journal(path))
    assert view["a"].deleting == frozenset({"id-a"})  # killed mid-way: may be on its way out
    assert not view["b"].deleting and not view["c"].deleting and not view["d"].deleting


def test_replay_keeps_when_the_last_create_of_a_name_was_sent() -> None:
    records = [
        {"ev": "sent", "name": "a", "t": 10.0},
        {"ev": "created", "name": "a", "id": "1", "t": 11.0},
        {"ev": "sent", "name": "a", "t": 20.5},
        {"ev": "sent", "name": "b"},
    ]
    entries = replay(records)
    assert entries["a"].last_sent_at == 20.5 and entries["a"].unconfirmed
    assert entries["b"].last_sent_at is None
