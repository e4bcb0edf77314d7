"""bulkboot/simulator/ratelimit.py: the token bucket behind 429."""

from __future__ import annotations

from bulkboot.simulator.ratelimit import TokenBucket


def test_burst_of_rate_then_refill() -> None:
    bucket = TokenBucket(5, now=0.0)
    assert [bucket.take(0.0) for _ in range(5)] == [None] * 5
    wait = bucket.take(0.0)
    assert wait is not None and abs(wait - 0.2) < 1e-9
    assert bucket.take(0.2) is None


def test_fractional_rate_still_lets_one_through() -> None:
    bucket = TokenBucket(0.5, now=0.0)
    assert bucket.take(0.0) is None
    wait = bucket.take(0.0)
    assert wait is not None and abs(wait - 2.0) < 1e-9


def test_retry_after_is_whole_seconds_never_zero() -> None:
    assert TokenBucket.retry_after_header(0.01) == "1"
    assert TokenBucket.retry_after_header(1.2) == "2"
