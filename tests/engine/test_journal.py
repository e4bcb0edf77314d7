"""The journal: one line per event, repairs a torn last line, skips what it cannot read
(with its place), follows no link, replays per name."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from bulkboot.engine.journal import Journal
from bulkboot.engine.replay import possibly_created, read_fleet_journal, read_journal, replay
from bulkboot.engine.state import Created, CreateSent, Deleted, DeleteSent, StatusSeen
from bulkboot.engine.statedir import state_paths
from bulkboot.errors import JournalError


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


def test_a_torn_last_line_is_skipped_and_removed_when_the_journal_is_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"ev":"sent","name":"a"}\n{"ev":"created","name":"a","id":"x"}\n{"ev":"se')
    problems: list[str] = []
    view = replay(read_journal(path, problems))
    assert view["a"].ids == ("x",)
    assert problems == [
        f"{path}:3: the last line is torn (a write cut short); skipped (the next apply or "
        "destroy removes it)"
    ]
    with Journal.open(path) as journal:
        assert journal.repaired is not None
        assert "last line was torn" in journal.repaired and "(9 bytes)" in journal.repaired
        journal.record(CreateSent(name="b", at=1))
    lines = path.read_text().splitlines()
    assert len(lines) == 3  # the new line did not land on the torn one
    assert [json.loads(line)["name"] for line in lines] == ["a", "a", "b"]
    with Journal.open(path) as journal:  # whole: nothing to repair
        assert journal.repaired is None


def test_a_journal_of_one_torn_line_is_emptied(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"ev":"sent","na')
    with Journal.open(path) as journal:
        assert journal.repaired is not None
        journal.record(CreateSent(name="a", at=1))
    assert json.loads(path.read_text())["name"] == "a"


def test_unreadable_lines_anywhere_are_skipped_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(
        b'{"ev":"sent","name":"a","t":1}\n'
        b'{"ev":"se\n'  # torn mid-file (a crash, then later runs appended)
        b"\xff\xfe not text\n"
        b"[1, 2]\n"
        b'{"ev":"created","name":"a","id":"x"}\n'
        b"garbage\n"
        b'{"ev":"sent","name":"b","t":2}\n'
    )
    problems: list[str] = []
    view = replay(read_journal(path, problems))
    assert view["a"].ids == ("x",) and view["b"].unconfirmed
    assert problems == [
        f"{path}:2:7: the journal line is not JSON (Unterminated string starting at); skipped",
        f"{path}:3: the journal line is not UTF-8 text; skipped",
        f"{path}:4:1: the journal line is not a server's record; skipped",
        f"{path}:6:1: the journal line is not JSON (Expecting value); skipped",
    ]
    # without a list to say it in, it is skipped all the same
    assert replay(read_journal(path))["a"].ids == ("x",)


def test_many_unreadable_lines_are_counted_past_the_first_few(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text("x\n" * 12 + '{"ev":"sent","name":"a"}\n')
    problems: list[str] = []
    assert list(read_journal(path, problems)) == [{"ev": "sent", "name": "a"}]
    assert len(problems) == 6 and problems[-1] == f"{path}: 7 more unreadable line(s) skipped"


def test_a_write_cut_short_leaves_no_partial_line_and_refuses_more(tmp_path: Path) -> None:
    import resource
    import signal

    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.record(CreateSent(name="a", at=1))
        whole = path.stat().st_size
        # A file size limit a few bytes on: the next write stops half-way (a full disk
        # does the same), then fails.
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (whole + 10, hard))
        try:
            with pytest.raises(JournalError, match="nothing more is sent without its line"):
                journal.record(CreateSent(name="b", at=2))
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, previous)
        assert path.stat().st_size == whole  # the partial line was cut off
        with pytest.raises(JournalError, match="nothing more is sent"):
            journal.record(CreateSent(name="c", at=3))  # no later line either
    assert [r["name"] for r in read_journal(path)] == ["a"]


def test_the_journal_follows_no_symbolic_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("")
    paths = state_paths(tmp_path / "lab.yaml", cloud="c", fleet="lab")
    paths.directory.mkdir(parents=True)
    paths.journal.symlink_to(elsewhere)
    with pytest.raises(JournalError, match="is a symbolic link"):
        Journal.open_fleet(paths)
    with pytest.raises(JournalError, match="is a symbolic link"):
        list(read_fleet_journal(paths))
    with pytest.raises(JournalError, match="cannot open the journal"):
        Journal.open(paths.journal)
    # a link in place of the state directory itself
    other = tmp_path / "other"
    other.mkdir()
    (other / ".bulkboot").symlink_to(tmp_path / ".bulkboot")
    linked = state_paths(other / "lab.yaml", cloud="c", fleet="lab")
    with pytest.raises(JournalError, match=r"\.bulkboot is not a directory \(a symbolic link\?\)"):
        Journal.open_fleet(linked)
    assert elsewhere.read_text() == ""


def test_the_fleet_journal_is_made_with_its_folders_and_read_back(tmp_path: Path) -> None:
    paths = state_paths(tmp_path / "lab.yaml", cloud="prod", fleet="lab")
    assert list(read_fleet_journal(paths)) == []  # nothing there yet: nothing made either
    assert not (tmp_path / ".bulkboot").exists()
    with Journal.open_fleet(paths) as journal:
        journal.record(CreateSent(name="a", at=1))
    assert paths.journal == tmp_path / ".bulkboot" / "prod" / "lab.jsonl"
    assert [r["name"] for r in read_fleet_journal(paths)] == ["a"]
    assert oct(paths.directory.stat().st_mode & 0o777) == "0o700"


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


def test_servers_found_gone_replay_as_deleted(tmp_path: Path) -> None:
    """A ``gone`` line with an id (a look-up answered 404, or DELETED) and a ``status``
    line saying DELETED are what a ``deleted`` line is: the id is dead, never looked up
    again. A ``gone`` line without an id (a server vanished while building) says
    nothing of any id."""
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        for name in ("a", "b", "c"):
            journal.record(
                Created(name=name, at=1, server_id=f"id-{name}", post_seconds=1, http_attempts=1)
            )
        journal.record(DeleteSent(name="a", at=2, server_id="id-a"))
        journal.record_gone([("a", "id-a"), ("b", "id-b")])
        journal.record(StatusSeen(name="c", at=3, server_id="id-c", status="DELETED"))
        journal.write({"ev": "gone", "name": "c"})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {k: v for k, v in lines[4].items() if k != "t"} == {
        "ev": "gone",
        "name": "a",
        "id": "id-a",
    }
    view = replay(read_journal(path))
    assert view["a"].live_ids == () and view["a"].deleted == {"id-a"} and not view["a"].deleting
    assert view["b"].live_ids == () and view["b"].status == "DELETED"
    assert view["c"].live_ids == () and view["c"].ids == ("id-c",)
    only_vanished = replay(
        [{"ev": "created", "name": "d", "id": "id-d"}, {"ev": "gone", "name": "d"}]
    )
    assert only_vanished["d"].live_ids == ("id-d",)


def test_what_a_command_just_found_gone_reads_as_the_next_replay(tmp_path: Path) -> None:
    from bulkboot.engine.replay import with_gone

    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.record(Created(name="a", at=1, server_id="1", post_seconds=1, http_attempts=1))
        journal.record(DeleteSent(name="a", at=2, server_id="1"))
        journal.record(Created(name="b", at=1, server_id="2", post_seconds=1, http_attempts=1))
    entries = replay(read_journal(path))
    learned = with_gone(entries, [("a", "1"), ("zz", "9")])
    with Journal.open(path) as journal:
        journal.record_gone([("a", "1"), ("zz", "9")])
    again = replay(read_journal(path))
    assert learned["a"] == dataclasses.replace(again["a"], last_line=entries["a"].last_line)
    assert learned["b"] == again["b"] and "zz" not in learned


def test_a_create_sent_again_is_possibly_created_from_its_last_send(tmp_path: Path) -> None:
    """A 429'd create sent again: Nova may act on the last send as late as on the first,
    so its window runs from the last ``attempt`` line; once answered, none counts."""
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        journal.record(CreateSent(name="web-1", at=0.0))
        journal.record_attempt("web-1")
        journal.record(CreateSent(name="web-2", at=0.0))
        journal.record(
            Created(name="web-2", at=1.0, server_id="id-2", post_seconds=1.0, http_attempts=1)
        )
    records = list(read_journal(path))
    assert [r["ev"] for r in records] == ["sent", "attempt", "sent", "created"]
    records[0]["t"], records[1]["t"] = 100.0, 160.0
    entries = replay(records)
    assert entries["web-1"].last_sent_at == 160.0 and entries["web-1"].sent == 1
    # 70 s after the first send, 10 s after the last: 50 s of a 60 s window are left
    assert possibly_created(entries["web-1"], wall_now=170.0, window=60.0) == 50.0
    assert possibly_created(entries["web-1"], wall_now=221.0, window=60.0) is None
    # an attempt line after the answer (it cannot come, but a journal may say anything)
    # changes nothing: the create is answered
    late = replay([*records, {"ev": "attempt", "name": "web-2", "t": 500.0}])
    assert late["web-2"].last_sent_at == entries["web-2"].last_sent_at
    assert possibly_created(late["web-2"], wall_now=501.0, window=60.0) is None
