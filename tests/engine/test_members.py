"""A multi-create's members: which names are members, and how many a group should have."""

from __future__ import annotations

from typing import Any

from bulkboot.engine.members import member_index, members_expected
from bulkboot.engine.replay import replay
from bulkboot.pipeline.spec import Location, ServerSpec


def _pool(min_count: int, max_count: int) -> ServerSpec:
    where = Location("lab.yaml", 9, 5)
    return ServerSpec(
        name="pool",
        fleet="lab",
        location=where,
        group="pool",
        min_count=min_count,
        max_count=max_count,
    )


def _lines(*events: tuple[str, str]) -> list[dict[str, Any]]:
    """Journal records; a member's id is its name's digits, for short tests."""
    return [{"ev": ev, "name": name, "id": f"id-{name}", "t": 0.0} for ev, name in events]


def test_members_are_numbered_from_one_without_leading_zeros_up_to_the_count() -> None:
    spec = _pool(1, 4)
    assert [member_index(spec, n) for n in ("pool-1", "pool-4")] == [1, 4]
    for other in ("pool-0", "pool-02", "pool-5", "pool-x", "pool", "pool-1-1", "xpool-1"):
        assert member_index(spec, other) is None, other


def test_at_least_min_count_and_every_member_listed() -> None:
    spec = _pool(2, 6)
    assert members_expected(spec, ["pool-1"], {}) == 2
    assert members_expected(spec, ["pool-1", "pool-4"], {}) == 4
    assert members_expected(spec, ["pool-1", "pool-9"], {}) == 2  # past the count


def test_a_member_the_journal_saw_since_the_group_was_sent_counts() -> None:
    """A destroy killed after deleting pool-4: the journal knows it was there."""
    spec = _pool(1, 4)
    journal = replay(
        _lines(
            ("sent", "pool"),
            *(("status", f"pool-{i}") for i in range(1, 5)),
            ("delete", "pool-4"),
            ("deleted", "pool-4"),
        )
    )
    present = ["pool-1", "pool-2", "pool-3"]
    assert members_expected(spec, present, journal) == 4


def test_members_of_an_older_generation_do_not_count() -> None:
    """pool-1..4 made, all destroyed; sent again, Nova made 2 (quota): the group is whole."""
    spec = _pool(1, 4)
    journal = replay(
        _lines(
            ("sent", "pool"),
            *(("status", f"pool-{i}") for i in range(1, 5)),
            *(("deleted", f"pool-{i}") for i in range(1, 5)),
            ("sent", "pool"),
            ("status", "pool-1"),
            ("status", "pool-2"),
        )
    )
    assert journal["pool-4"].last_line < journal["pool"].last_sent_line
    assert members_expected(spec, ["pool-1", "pool-2"], journal) == 2
