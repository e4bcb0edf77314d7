"""The fleet's identity rules, shared by apply, status, destroy and the client's look-up."""

from __future__ import annotations

from bulkboot.identity import (
    FLEET_MARK_KEY,
    claim_partial,
    is_fleet_record,
    is_gone,
    is_leaving,
    member_name,
    member_number,
)


def test_a_record_is_the_fleets_only_by_its_mark() -> None:
    assert is_fleet_record({"metadata": {FLEET_MARK_KEY: "lab"}}, "lab")
    assert not is_fleet_record({"metadata": {FLEET_MARK_KEY: "lab2"}}, "lab")
    assert not is_fleet_record({"name": "lab", "metadata": {}}, "lab")
    assert not is_fleet_record({"metadata": None}, "lab")


def test_members_are_numbered_from_one_in_ascii_without_a_leading_zero() -> None:
    assert member_name("pool", 3) == "pool-3"
    assert [member_number("pool", f"pool-{n}", 12) for n in (1, 9, 12)] == [1, 9, 12]
    for other in ("pool-0", "pool-03", "pool-13", "pool-", "pool", "poolx-1", "pool-1-1", "pool-٣"):
        assert member_number("pool", other, 12) is None, other
    assert member_number("a-b", "a-b-2", 2) == 2


def test_on_its_way_out_by_task_state_or_by_the_journal_where_it_is_hidden() -> None:
    assert is_leaving({"id": "a", "OS-EXT-STS:task_state": "deleting"})
    assert not is_leaving({"id": "a", "OS-EXT-STS:task_state": None}, {"a"})
    assert is_leaving({"id": "a"}, {"a"})
    assert not is_leaving({"id": "a"})
    assert is_gone({"status": "DELETED"}) and is_gone({"status": "SOFT_DELETED"})
    assert not is_gone({"status": "ACTIVE"})


def test_a_partial_record_is_claimed_by_the_journals_id_only() -> None:
    ids = {"id-1": "web-1"}
    assert claim_partial({"id": "id-1", "status": "UNKNOWN"}, ids) == "web-1"
    assert claim_partial({"id": "id-2", "status": "UNKNOWN"}, ids) is None
    # a full record is judged by its mark, never claimed by id
    assert claim_partial({"id": "id-1", "metadata": {}}, ids) is None
