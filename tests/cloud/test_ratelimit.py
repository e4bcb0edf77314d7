"""The --rate token bucket (pure, with a fake clock)."""

from __future__ import annotations

import pytest

from bulkboot.cloud.ratelimit import RateLimiter


def test_rate_limiter_spaces_requests() -> None:
    now = [100.0]
    limiter = RateLimiter(10, clock=lambda: now[0])
    waits = [limiter.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])
    now[0] += 1.0  # idle time does not pile up into a burst
    assert [limiter.reserve() for _ in range(2)] == pytest.approx([0.0, 0.1])
    burst = RateLimiter(10, burst=3, clock=lambda: now[0] + 5)
    assert [burst.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(1, burst=0)
