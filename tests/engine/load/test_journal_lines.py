"""The journal lines a load iteration writes (four per server, formatted by hand in
``Journal.record``) are exactly the lines the general path writes, and replay alike."""

from __future__ import annotations

import json
from pathlib import Path

from bulkboot.engine.journal import Journal, _record, read_journal, replay
from bulkboot.engine.state import Created, CreateSent, Deleted, DeleteSent, Event


def test_hand_formatted_lines_match_the_general_ones(tmp_path: Path) -> None:
    events: list[Event] = [
        CreateSent(name='we"b-1', at=1),
        Created(name='we"b-1', at=2, server_id="id-1", post_seconds=0.1, http_attempts=1),
        DeleteSent(name='we"b-1', at=3, server_id="id-1"),
        Deleted(name='we"b-1', at=4, server_id="id-1"),
    ]
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    with Journal.open(fast) as journal:
        for event in events:
            journal.record(event)
    with Journal.open(slow) as journal:
        for event in events:
            fields = _record(event)
            assert fields is not None
            journal.write(fields)

    def without_time(path: Path) -> list[dict[str, object]]:
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert all(isinstance(line.pop("t"), float | int) for line in lines)
        return lines

    assert without_time(fast) == without_time(slow)
    assert [list(json.loads(line)) for line in fast.read_text().splitlines()][2] == [
        "ev",
        "name",
        "id",
        "t",
    ]
    entry = replay(read_journal(fast))['we"b-1']
    assert entry.ids == ("id-1",) and entry.live_ids == () and entry.deleting == frozenset()
