"""When to try a request again, and how long to wait first: pure, so it is tested alone.

The rules, which the transport (``session.py``) applies:

- 429 means a proxy or the API in front of Nova turned the request away before Nova
  acted on it, so any request, a create included, may be sent again. So does a 503
  with ``Retry-After`` (a deliberate "come back later"). A bare 503 is sent again only
  for idempotent requests: some proxies answer 503 after Nova has acted, so a create
  goes through ``compute.py``'s look-up first.
- Being turned away (429, 503: "throttled") is not a failure: the API answers, and a
  run goes on while it does. A throttled request is not bounded by ``max_attempts``
  but by how long it has waited in all (``max_throttled_seconds``): a thousand DELETEs
  against an API that takes 50 a second must all get through, however often each is
  turned away on the way. Each wait is the answer's ``Retry-After`` (seconds, or an
  HTTP date read against the answer's own ``Date``) or a jittered exponential
  back-off, whichever is longer: the back-off grows with every throttled answer of
  the request, so a crowd that keeps being turned away comes back ever more spread
  out, and asks less of the API, the longer it is throttled.
- 500, 502 and 504, and connections that broke after the request was written or timed
  out, may have reached Nova: only idempotent requests (GET, HEAD, PUT, DELETE) are sent
  again, ``max_attempts`` in all. ``POST /servers`` is handled by ``compute.py``,
  which looks before re-sending.
- A connection that could not be opened never carried the request: always retried
  (``max_attempts`` in all).
- 400, 401 (handled apart: one re-authentication), 403, 404, 409: final.

A caller may declare a request safe to repeat whatever its method (``idempotent=True``):
Keystone's token request is, since a spare token harms no one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "http_date",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
THROTTLED = frozenset({429, 503})  # turned away: sent again (a bare 503: idempotent only)
MAYBE_REACHED = frozenset({500, 502, 504})  # it may have: only idempotent requests
_RNG = random.Random()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounds on retrying; the defaults follow keystoneauth's (0.5 s doubling to 60 s).

    ``max_attempts`` counts every send of one request that failed (no answer, 500,
    502, 504), the first included; throttled answers (429, 503) are not counted
    there but by ``max_throttled_seconds``, the longest one request waits for the API
    to take it, all its waits together. ``max_retry_after`` caps how long one
    ``Retry-After`` may make us wait: a proxy asking for an hour is an error to show,
    not a wait to sit through.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    max_throttled_seconds: float = 300.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        "Equal jitter": half the exponential step for sure, the other half at random,
        so that a thousand requests throttled together do not come back together, and
        none comes back at once.
        """
        step = min(self.max_delay, self.base_delay * 2.0 ** (min(attempt, 64) - 1))
        pick = (rng if rng is not None else _RNG).random()
        return step / 2 + pick * step / 2

    def wait_for(
        self, attempt: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """The wait before the next attempt: the server's word when given, else back-off."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return self.backoff(attempt, rng)

    def throttled_wait(
        self, throttled: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """The wait after a request's ``throttled``-th 429/503: never less than the
        server's ``Retry-After``, and never less than the back-off for that many
        throttled answers (so that a request turned away again and again backs off
        further, whatever the server says)."""
        wait = self.backoff(throttled, rng)
        return wait if retry_after is None else max(retry_after, wait)

    def is_throttle(
        self, status: int, retry_after: float | None = None, *, idempotent: bool
    ) -> bool:
        """Whether this answer means "turned away, come back later": 429 always; 503
        with ``Retry-After``, or for a request that is safe to repeat."""
        return status == 429 or (status == 503 and (idempotent or retry_after is not None))

    def should_retry_throttled(
        self, retry_after: float | None, *, waited: float, wait: float
    ) -> bool:
        """Whether a throttled request may wait ``wait`` more seconds, having waited
        ``waited`` for the API already (``max_throttled_seconds`` in all)."""
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        return waited + wait <= self.max_throttled_seconds

    def should_retry_status(
        self,
        status: int,
        method: str,
        attempt: int,
        retry_after: float | None = None,
        *,
        idempotent: bool | None = None,
    ) -> bool:
        """Whether an HTTP error answer to attempt ``attempt`` deserves another attempt,
        judged by ``max_attempts`` alone (throttled answers are judged by time, by
        ``should_retry_throttled``, when the caller keeps that count).

        ``idempotent`` says the request is safe to repeat (None: judged by ``method``).
        """
        if attempt >= self.max_attempts:
            return False
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        if status == 429:
            return True
        if idempotent if idempotent is not None else method in IDEMPOTENT_METHODS:
            return status in THROTTLED or status in MAYBE_REACHED
        return status == 503 and retry_after is not None

    def should_retry_failure(self, *, reached: bool, idempotent: bool, attempt: int) -> bool:
        """Whether a request that got no answer deserves another attempt: always when it
        never left (``reached`` False), else only when it is safe to repeat."""
        return (idempotent or not reached) and attempt < self.max_attempts


def parse_retry_after(
    value: str | None, *, date: str | None = None, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    A date is read against ``date``, the answer's own ``Date`` header, when it has a
    readable one: both come from the server's clock, so this machine's clock being off
    does not turn "in 5 s" into "in an hour" or "now". Else against ``now`` (this
    machine's clock). Returns None when the value is absent or unreadable (then
    back-off applies); a date in the past means "now" (0).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
            return None
        return max(0.0, seconds)
    when = http_date(text)
    if when is None:
        return None
    current = http_date(date) or (now if now is not None else datetime.now(timezone.utc))
    return max(0.0, (when - current).total_seconds())


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
