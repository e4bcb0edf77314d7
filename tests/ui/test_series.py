"""The report's time series: bounded in points whatever the run's length."""

from __future__ import annotations

import pytest

from bulkboot.ui.series import SeriesSampler


def test_a_short_run_keeps_every_sample() -> None:
    sampler = SeriesSampler(interval=0.1, max_points=16)
    for k in range(5):
        sampler.add(k * 0.1, {"queued": 5 - k, "active": k})
    sampler.finish(0.45, {"active": 5})
    document = sampler.document()
    assert document["t"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.45]
    assert document["columns"]["queued"] == [5, 4, 3, 2, 1, 0]  # not given at the end: 0
    assert document["columns"]["active"] == [0, 1, 2, 3, 4, 5]
    assert document["interval_seconds"] == 0.1


def test_a_long_run_is_thinned_evenly_and_sampled_less_often() -> None:
    sampler = SeriesSampler(interval=0.1, max_points=100)
    t = 0.0
    samples = 0
    while t < 3600.0:  # an hour, fed at the pace the sampler asks for
        sampler.add(t, {"building": samples})
        samples += 1
        t += sampler.interval
    sampler.finish(3600.0, {"active": 1})
    document = sampler.document()
    assert len(document["t"]) <= 101  # max_points, plus the last one
    assert samples < 200 * 12  # it slowed down: not 36,000 samples
    gaps = {round(b - a, 6) for a, b in zip(document["t"][:-2], document["t"][1:-1], strict=True)}
    assert len(gaps) == 1  # evenly spaced
    assert gaps == {document["interval_seconds"]}
    assert document["t"][0] == 0.0 and document["t"][-1] == 3600.0


def test_a_column_first_seen_late_is_zero_before_and_all_zero_columns_are_left_out() -> None:
    sampler = SeriesSampler()
    sampler.add(0.0, {"queued": 3, "error": 0})
    sampler.add(0.1, {"queued": 2, "creating": 1, "error": 0})
    document = sampler.document()
    assert document["columns"] == {"queued": [3, 2], "creating": [0, 1]}


def test_time_never_runs_backwards_and_nothing_is_added_after_the_end() -> None:
    sampler = SeriesSampler()
    sampler.add(1.0, {"queued": 1})
    sampler.add(0.5, {"queued": 1})
    sampler.finish(2.0, {"active": 1})
    sampler.add(3.0, {"active": 1})
    assert sampler.document()["t"] == [1.0, 1.0, 2.0]


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        SeriesSampler(max_points=1)
    with pytest.raises(ValueError):
        SeriesSampler(interval=0.0)
