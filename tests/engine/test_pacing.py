"""The adaptive poll interval."""

from __future__ import annotations

import random

import pytest

from bulkboot.engine.pacing import PollPacing


def test_starts_fast_grows_while_quiet_and_stays_under_the_ceiling() -> None:
    pacing = PollPacing(base=2.0, first=0.5, growth=2.0)
    interval = pacing.next_interval(None, news=False, fleet_size=100)
    assert interval == 0.5
    seen = []
    for _ in range(6):
        interval = pacing.next_interval(interval, news=False, fleet_size=100)
        seen.append(interval)
    assert seen == [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_news_brings_a_grown_interval_back_to_base() -> None:
    pacing = PollPacing(base=1.0, first=0.5, max_factor=3.0)
    assert pacing.next_interval(2.5, news=True, fleet_size=20_000) == 1.0
    assert pacing.next_interval(0.5, news=True, fleet_size=20_000) == 0.5


def test_ceiling_grows_with_the_fleet() -> None:
    pacing = PollPacing(base=1.0, max_factor=3.0)
    assert pacing.ceiling(10) == 1.0
    assert pacing.ceiling(1000) == 1.0
    assert pacing.ceiling(5500) == pytest.approx(2.0)
    assert pacing.ceiling(10_000) == pytest.approx(3.0)
    assert pacing.ceiling(100_000) == pytest.approx(3.0)


def test_jitter_stays_within_bounds_and_varies() -> None:
    pacing = PollPacing(jitter=0.1)
    rng = random.Random(4)
    values = {pacing.jittered(2.0, rng) for _ in range(200)}
    assert all(1.8 <= v <= 2.2 for v in values)
    assert len(values) > 100
