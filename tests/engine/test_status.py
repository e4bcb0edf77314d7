"""What ``status`` shows: addresses from Nova's ``addresses`` mapping, the names it expects."""

from __future__ import annotations

from bulkboot.engine.status import expected_names, format_addresses
from bulkboot.pipeline.spec import Limits, Location, Manifest, ServerSpec


def test_addresses_per_network() -> None:
    record = {
        "addresses": {
            "private": [{"addr": "10.0.0.5", "version": 4}, {"addr": "fd00::5", "version": 6}],
            "public": [{"addr": "172.24.4.9"}],
        }
    }
    assert format_addresses(record) == "private=10.0.0.5,fd00::5; public=172.24.4.9"


def test_an_answer_not_in_novas_shape_shows_what_it_can_without_failing() -> None:
    record = {
        "addresses": {
            "odd": "10.0.0.1",
            "none": None,
            "count": 5,
            "private": [{"addr": "10.0.0.5"}, "junk", {"version": 4}],
        }
    }
    assert format_addresses(record) == "private=10.0.0.5"
    assert format_addresses({"addresses": ["10.0.0.1"]}) == ""
    assert format_addresses({}) == ""


def _spec(name: str, **fields: int) -> ServerSpec:
    where = Location("lab.yaml", 3, 5)
    return ServerSpec(name=name, fleet="lab", location=where, group=name, **fields)  # type: ignore[arg-type]


def test_a_group_nova_filled_in_part_expects_only_what_it_made() -> None:
    """min_count 2, max_count 4, two made: nothing is missing (by the rule apply uses
    too, engine/members.py); a group with no member at all expects every one."""
    manifest = Manifest(
        path="lab.yaml",
        name="lab",
        cloud=None,
        microversion="auto",
        limits=Limits(),
        servers=(_spec("solo"), _spec("pool", min_count=2, max_count=4)),
    )
    assert expected_names(manifest, ["solo", "pool-1", "pool-2"]) == ["solo", "pool-1", "pool-2"]
    assert expected_names(manifest, ["pool-1", "pool-3"]) == ["solo", "pool-1", "pool-2", "pool-3"]
    assert expected_names(manifest, []) == ["solo", "pool-1", "pool-2", "pool-3", "pool-4"]
