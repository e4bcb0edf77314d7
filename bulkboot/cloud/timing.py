"""Time in the cloud client: the record every request leaves, what the client is waiting
for right now, and the clock and sleep that the transport, the compute client and the
authenticator are given.

One ``RequestTiming`` per logical request (retries included, ``attempts`` counts them),
handed to the ``on_request`` callback and added to the transport's ``RequestTotals``;
the live view and the reports are built from these later.

``Activity`` (optional, ``open_cloud(activity=...)``) holds the requests under way, so
that a display can say what a run is waiting for ("POST .../auth/tokens, attempt 2,
12 s") while nothing else moves, authentication included; it is read, never pushed,
so a display that draws twice a second costs the requests nothing.

``Clock`` and ``Sleep`` are injected (``open_cloud(clock=..., sleep=...)``) so that a
test can run back-offs, ``Retry-After`` waits and look-up windows without waiting for
them; a run uses ``time.monotonic`` and ``anyio.sleep``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from bulkboot.cloud.redact import redact_url

__all__ = ["Activity", "Clock", "RequestTiming", "RequestTotals", "Sleep", "Waiting"]

Clock: TypeAlias = Callable[[], float]
"""Monotonic seconds."""
Sleep: TypeAlias = Callable[[float], Awaitable[None]]
"""Wait this many seconds (a checkpoint: cancellable, as ``anyio.sleep``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTiming:
    """One request: what was asked, what came back, how many tries and where the time went.

    ``path`` is the URL path without the query (``/compute/v2.1/servers``), so that
    timings group by route; ``status`` is None when no HTTP answer came at all;
    ``started`` is the transport's clock when the request was made and ``seconds``
    runs from there to the end of its last attempt. Of those seconds:

    - ``waited``: spent by this client, not by the server: queueing for a connection
      slot and a ``--rate`` slot before each attempt, and the waits between attempts
      (``Retry-After``, back-off);
    - ``answer_seconds``: the last attempt, from the moment it went out to its whole
      answer read (the server's answer time, network included); None when no answer
      came;
    - the rest: earlier attempts (turned away, failed, or refused the token).

    ``throttled`` counts the answers that turned the request away (429, 503). A create
    that was sent more than once, or looked for after its answer was lost
    (``Compute.create_server``), has one timing over all of it, in which ``waited`` is
    everything but its last answer's time.
    """

    method: str
    path: str
    status: int | None
    attempts: int
    started: float
    seconds: float
    throttled: int = 0
    waited: float = 0.0
    answer_seconds: float | None = None


class RequestTotals:
    """Running totals over every request of a transport: what a summary says about the
    API's answers without keeping each request (a ``Counter`` would cost a dict look-up
    per field; these are four additions)."""

    __slots__ = ("attempts", "requests", "retried", "throttled", "throttled_requests", "waited")

    def __init__(self) -> None:
        self.requests = 0
        self.attempts = 0
        self.retried = 0  # requests sent more than once
        self.throttled = 0  # 429/503 answers
        self.throttled_requests = 0  # requests with at least one
        self.waited = 0.0  # seconds waited by this client, all requests together

    def add(self, timing: RequestTiming) -> None:
        self.requests += 1
        self.attempts += timing.attempts
        self.waited += timing.waited
        if timing.attempts > 1:
            self.retried += 1
        if timing.throttled:
            self.throttled += timing.throttled
            self.throttled_requests += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """The request a run has waited on longest, as a display shows it.

    ``url`` has any userinfo password masked. ``since`` is the transport's clock when
    the request was made; ``retry_at`` is when its next attempt goes while it waits
    between attempts (None while an attempt is under way). ``in_flight`` counts every
    request under way, this one included.
    """

    method: str
    url: str
    attempt: int
    since: float
    throttled: int
    retry_at: float | None
    in_flight: int


class Watch:
    """One request under way (mutable, the transport's own; ``Activity`` reads it)."""

    __slots__ = ("attempt", "method", "retry_at", "since", "throttled", "url")

    def __init__(self, method: str, url: str, since: float) -> None:
        self.method = method
        self.url = url
        self.since = since
        self.attempt = 1
        self.throttled = 0
        self.retry_at: float | None = None


class Activity:
    """What the cloud client is doing now: a ``phase`` a caller names ("authenticating
    at ..."), and the requests under way (see the module docstring).

    Single-threaded: written and read in the run's event loop (a display thread reads
    the frozen ``Waiting`` the loop built for it).
    """

    __slots__ = ("_open", "phase")

    def __init__(self) -> None:
        self.phase: str | None = None
        self._open: dict[int, Watch] = {}

    def begin(self, method: str, url: str, now: float) -> Watch:
        watch = Watch(method, url, now)
        self._open[id(watch)] = watch
        return watch

    def end(self, watch: Watch) -> None:
        self._open.pop(id(watch), None)

    @property
    def in_flight(self) -> int:
        return len(self._open)

    def oldest(self) -> Waiting | None:
        """The request under way the longest (None when none is)."""
        for watch in self._open.values():  # insertion order: the first is the oldest
            return Waiting(
                method=watch.method,
                url=redact_url(watch.url),
                attempt=watch.attempt,
                since=watch.since,
                throttled=watch.throttled,
                retry_at=watch.retry_at,
                in_flight=len(self._open),
            )
        return None
