"""The knobs of one run's HTTP: pool size, request rate, timeouts, the cap on an
answer, retry bounds and create recovery.

Frozen, and free of aiohttp: a command reads its defaults here without loading the
client (``session.py`` re-exports both names, where callers have always found them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bulkboot.cloud.retry import RetryPolicy

__all__ = ["MAX_ANSWER_BYTES", "CreateRecovery", "HttpOptions"]

MAX_ANSWER_BYTES = 32 * 2**20  # a Nova page of 1,000 servers is a few MB


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRecovery:
    """How ``Compute.create_server`` looks for a create whose answer was lost.

    ``lookup_settle``: seconds between a first look and a second one (and the least
    pause between looks); ``lookup_window_cap``: the longest it looks for a create that
    may still be on its way through Nova (else the request timeout); ``max_attempts``:
    sends of one create at most, None for the retry policy's ``max_attempts``.
    """

    lookup_settle: float = 1.0
    lookup_window_cap: float = 60.0
    max_attempts: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    """Pool size, request rate, timeouts, retry bounds and create recovery for one run.

    ``concurrency`` sizes the connection pool and caps requests in flight; ``rate``
    caps requests per second, all requests together. ``total_timeout`` is the API
    timeout: the longest one request waits for answers, all its attempts together,
    each from the moment it has its connection slot; the cloud's ``api_timeout``
    replaces it when set. ``connect_timeout`` bounds opening one connection.
    ``max_answer_bytes`` caps one answer, decoded.
    """

    concurrency: int = 100
    rate: float | None = None
    connect_timeout: float = 10.0
    total_timeout: float = 120.0
    keepalive: float = 30.0
    max_answer_bytes: int = MAX_ANSWER_BYTES
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    recovery: CreateRecovery = field(default_factory=CreateRecovery)
