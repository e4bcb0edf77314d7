"""A load report's series, derived from its samples: rates, in flight, percentiles."""

from __future__ import annotations

import pytest

from bulkboot.ui.load_series import Buckets, in_flight, load_samples, phase_percentiles, rates


def _samples(rate: float, seconds: float, duration: float = 2.0) -> list[dict[str, object]]:
    count = int(rate * seconds)
    return [
        {
            "index": i,
            "intended": i / rate,
            "started": i / rate,
            "ended": i / rate + duration,
            "outcome": "failed" if i == 7 else "completed",
            "failed_phase": "active" if i == 7 else None,
            "message": "boom" if i == 7 else None,
            "phases": {"post": 0.1 + (i % 10) / 100, "total": None if i == 7 else duration},
        }
        for i in range(count)
    ]


def test_a_steady_rate_reads_steady_in_round_buckets() -> None:
    samples = load_samples({"samples": _samples(10.0, 125.0)})
    buckets = Buckets.over(samples)
    assert buckets.width == 2.0  # 127 s / 120 buckets: the next round width
    per_second = rates(samples, buckets)
    full = [v for _, v in per_second["offered"][:-2]]
    assert set(full) == {10.0}  # no aliasing into a saw
    assert per_second["started"][:-2] == per_second["offered"][:-2]
    # achieved: completed iterations, by their end (2 s after their start here; one of
    # the first 20 failed)
    assert per_second["achieved"][0][1] == 0 and per_second["achieved"][1][1] == 9.5
    assert sum(v for _, v in per_second["achieved"]) * buckets.width == len(samples) - 1
    assert sum(v for _, v in per_second["failed"]) * buckets.width == 1


def test_in_flight_is_exact_at_every_start_and_end() -> None:
    samples = load_samples({"samples": _samples(1.0, 5.0, duration=2.5)})
    points = in_flight(samples)
    level_at = {}
    for t, level in points:
        level_at[t] = level  # the level after each change
    assert level_at[0.0] == 1 and level_at[1.0] == 2 and level_at[2.0] == 3
    assert level_at[2.5] == 2 and level_at[4.0] == 3 and max(v for _, v in points) == 3
    assert points[-1][1] == 0


def test_phase_percentiles_per_bucket_and_failures_marked() -> None:
    samples = load_samples({"samples": _samples(10.0, 20.0)})
    buckets = Buckets.over(samples)
    series, failures = phase_percentiles(samples, "post", buckets)
    assert failures == [pytest.approx(0.7)]
    first = series["p50"][0]
    assert first[0] == pytest.approx(buckets.width / 2)
    assert first[1] == pytest.approx(0.145)  # ten values 0.10..0.19: the median


def test_dropped_iterations_have_no_start_and_are_counted_where_meant() -> None:
    raw = _samples(10.0, 2.0)
    raw[3] = {
        "index": 3,
        "intended": 0.3,
        "started": None,
        "ended": None,
        "outcome": "dropped",
        "phases": {"post": None, "total": None},
    }
    samples = load_samples({"samples": raw})
    per_second = rates(samples, Buckets.over(samples))
    assert per_second["dropped"][0][1] == 1.0
    assert per_second["started"][0][1] == 9.0


def test_the_samples_bulkboot_load_writes_are_read_as_written() -> None:
    """The page reads ``Sample.as_dict``'s own field names, not a schema of its own."""
    from bulkboot.engine.load.recorder import Recorder
    from bulkboot.engine.load.sample import Sample
    from bulkboot.pipeline.load_spec import scenario_phases

    phases = scenario_phases("boot-delete")
    recorder = Recorder(phases, started_at=0.0)
    done, failed, dropped = Sample(0, 0.0), Sample(1, 0.5), Sample(2, 1.0)
    recorder.start(done, 0.015)  # late: 15 ms after its intended start (past 1 ms)
    done.post, done.active, done.delete, done.gone, done.total = 0.1, 2.0, 0.01, 0.4, 2.6
    recorder.finish(done, 2.6)
    recorder.start(failed, 0.5)
    failed.post = 0.2
    failed.fail("active", "No valid host was found.")
    recorder.finish(failed, 3.0)
    recorder.drop(dropped)
    raw = [s.as_dict(phases) for s in recorder.samples]
    read = load_samples({"samples": raw, "settings": {"late_after": recorder.late_after}})
    assert [s.iteration for s in read] == [0, 1, 2]
    first, second, third = read
    assert first.outcome == "completed" and first.late and not first.failed
    assert (first.started, first.ended) == (0.015, 2.6)
    assert first.phases["post"] == 0.1 and first.phases["total"] == 2.6
    assert second.failed and second.failed_phase == "active"
    assert second.message == "No valid host was found." and "total" not in second.phases
    assert third.dropped and third.started is None and third.ended is None
    per_second = rates(read, Buckets.over(read))
    assert per_second["late"][0][1] == 1.0 and per_second["dropped"][1][1] == 1.0
    assert [level for _, level in in_flight(read)][-1] == 0
