"""Intended start times and worker targets: exact, fixed in advance, never bursting."""

from __future__ import annotations

import itertools

import pytest

from bulkboot.engine.load.schedule import (
    closed_target,
    intended_starts,
    rate_at,
    stages_length,
)
from bulkboot.pipeline.load_spec import parse_stages


def test_a_constant_rate_is_one_start_every_one_over_r() -> None:
    starts = list(intended_starts(4.0, (), duration=2.0, iterations=None))
    assert starts == [k / 4.0 for k in range(8)]
    assert list(intended_starts(0.5, (), duration=None, iterations=3)) == [0.0, 2.0, 4.0]
    assert len(list(intended_starts(10.0, (), duration=60.0, iterations=5))) == 5


def test_a_length_is_needed() -> None:
    with pytest.raises(ValueError):
        list(intended_starts(1.0, (), duration=None, iterations=None))


def test_a_ramp_starts_exactly_the_integral_of_its_rate() -> None:
    stages = parse_stages("10s:5,10s:5,10s:0")
    starts = list(intended_starts(1.0, stages, duration=None, iterations=None))
    # 1 -> 5 over 10 s is 30 iterations' worth, 5 for 10 s is 50, 5 -> 0 is 25
    assert len(starts) == 105
    assert sum(1 for t in starts if t < 10) == 30
    assert sum(1 for t in starts if 10 <= t < 20) == 50
    assert starts == sorted(starts) and starts[-1] < 30
    for k, t in enumerate(starts[:30]):  # N(t) = t + 0.2 t^2 on the first ramp
        assert t + 0.2 * t * t == pytest.approx(k, abs=1e-9)
    # the start rate follows the ramp: spacing shrinks as it rises, grows as it falls
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] > gaps[25] and gaps[-1] > gaps[80]


def test_a_ramp_from_zero_and_a_stop() -> None:
    starts = list(intended_starts(0.0, parse_stages("10s:2"), duration=None, iterations=None))
    assert len(starts) == 10  # 0 -> 2 over 10 s: 10 iterations' worth
    assert starts[0] == 0.0 and starts[1] == pytest.approx(10**0.5, rel=1e-12)
    cut = list(intended_starts(1.0, parse_stages("10s:1"), duration=None, iterations=4))
    assert cut == [0.0, 1.0, 2.0, 3.0]
    assert list(intended_starts(1.0, parse_stages("5s:0,5s:0"), duration=None, iterations=None))


def test_rate_and_workers_along_the_stages() -> None:
    stages = parse_stages("10s:5,10s:5,10s:0")
    assert stages_length(stages) == 30.0
    assert rate_at(1.0, stages, 0.0) == 1.0
    assert rate_at(1.0, stages, 5.0) == 3.0
    assert rate_at(1.0, stages, 15.0) == 5.0
    assert rate_at(1.0, stages, 25.0) == 2.5
    assert rate_at(1.0, stages, 99.0) == 0.0
    assert rate_at(3.0, (), 42.0) == 3.0
    assert [closed_target(2, parse_stages("4s:10"), t) for t in (0, 1, 2, 4, 9)] == [
        2,
        4,
        6,
        10,
        10,
    ]
