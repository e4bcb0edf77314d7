"""Retry rules and Retry-After parsing (pure)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from bulkboot.cloud.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 25, 16, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_a_retry_after_date_is_read_against_the_answers_date() -> None:
    # The server's clock is an hour ahead of ours: "Date + 5 s" means 5 s, not 3,605.
    server_now = NOW + timedelta(hours=1)
    value = format_datetime(server_now + timedelta(seconds=5), usegmt=True)
    date = format_datetime(server_now, usegmt=True)
    assert parse_retry_after(value, date=date, now=NOW) == 5.0
    # ... and an hour behind: not "already past" (0)
    behind = NOW - timedelta(hours=1)
    value = format_datetime(behind + timedelta(seconds=5), usegmt=True)
    assert parse_retry_after(value, date=format_datetime(behind, usegmt=True), now=NOW) == 5.0
    # an unreadable Date falls back to this machine's clock
    assert parse_retry_after(value, date="garbage", now=NOW) == 0.0


def test_backoff_grows_is_jittered_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)):
        waits = {policy.backoff(attempt, rng) for _ in range(50)}
        assert all(step / 2 <= w <= step for w in waits)
        assert len(waits) > 40  # jittered: a throttled crowd does not come back together


def test_retry_after_beats_backoff() -> None:
    policy = RetryPolicy()
    assert policy.wait_for(1, 3.0) == 3.0
    assert 0.25 <= policy.wait_for(1, None) <= 0.5


@pytest.mark.parametrize(
    ("status", "method", "retry_after", "retry"),
    [
        (429, "POST", None, True),
        (503, "POST", 2.0, True),  # a deliberate "come back later": turned away
        (503, "POST", None, False),  # a bare 503 may come after Nova acted: look first
        (503, "GET", None, True),
        (500, "GET", None, True),
        (502, "DELETE", None, True),
        (504, "GET", None, True),
        (500, "POST", None, False),
        (504, "POST", None, False),
        (400, "GET", None, False),
        (403, "POST", None, False),
        (409, "POST", None, False),
        (404, "GET", None, False),
    ],
)
def test_which_answers_are_retried(
    status: int, method: str, retry_after: float | None, retry: bool
) -> None:
    assert RetryPolicy().should_retry_status(status, method, 1, retry_after) is retry


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry_status(503, "GET", 2)
    assert not policy.should_retry_status(503, "GET", 3)


def test_a_throttled_wait_keeps_retry_after_and_backs_off_further() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    rng = random.Random(3)
    assert policy.throttled_wait(1, 1.0, rng) == 1.0  # the server's word, early on
    later = [policy.throttled_wait(6, 1.0, rng) for _ in range(50)]
    assert all(4.0 <= w <= 8.0 for w in later)  # turned away 6 times: further apart
    assert len(set(later)) > 40  # and spread, not all at once


@pytest.mark.parametrize(
    ("status", "retry_after", "idempotent", "throttle"),
    [
        (429, None, False, True),
        (503, 2.0, False, True),
        (503, None, True, True),
        (503, None, False, False),  # a create: compute.py looks first
        (500, None, True, False),
    ],
)
def test_which_answers_are_throttles(
    status: int, retry_after: float | None, idempotent: bool, throttle: bool
) -> None:
    assert RetryPolicy().is_throttle(status, retry_after, idempotent=idempotent) is throttle


def test_throttled_retries_are_bounded_by_the_time_waited() -> None:
    policy = RetryPolicy(max_throttled_seconds=60.0, max_retry_after=30.0)
    assert policy.should_retry_throttled(None, waited=50.0, wait=10.0)
    assert not policy.should_retry_throttled(None, waited=50.0, wait=10.5)
    assert not policy.should_retry_throttled(31.0, waited=0.0, wait=31.0)  # too long a wait
