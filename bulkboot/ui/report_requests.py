"""What the API answered in all, counted from a run's request timings: the report's
``request_counts``.

Why counted from the timings: each ``RequestTiming`` holds the last answer and the HTTP
tries it took, so a 429 or a 503 waited out shows as a try beyond the first, one
still there at the end as that final status; Keystone's token requests are among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = ["Answered", "request_counts"]


class Answered(Protocol):
    """What ``request_counts`` reads of a request (a ``RequestTiming``, or one read back
    from a saved report)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def attempts(self) -> int: ...


def request_counts(requests: Iterable[Answered]) -> dict[str, int]:
    """What the API answered in all: requests, HTTP tries beyond the first (429s and
    503s waited out, errors retried), final answers 429 and 503, requests with no answer
    at all, and token requests to Keystone (the first is the run's authentication, each
    further one a re-authentication)."""
    total = retries = final_429 = final_503 = unanswered = tokens = 0
    for r in requests:
        total += 1
        retries += max(0, r.attempts - 1)
        if r.status == 429:
            final_429 += 1
        elif r.status == 503:
            final_503 += 1
        elif r.status is None:
            unanswered += 1
        if r.method == "POST" and r.path.endswith("/auth/tokens"):
            tokens += 1
    return {
        "requests": total,
        "retries": retries,
        "final_429": final_429,
        "final_503": final_503,
        "unanswered": unanswered,
        "authentications": tokens,
        "reauthentications": max(0, tokens - 1),
    }
