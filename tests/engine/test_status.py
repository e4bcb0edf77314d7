"""Addresses as ``status`` shows them, from Nova's ``addresses`` mapping."""

from __future__ import annotations

from bulkboot.engine.status import format_addresses


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
