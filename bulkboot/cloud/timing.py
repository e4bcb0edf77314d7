"""Time in the cloud client: the record every request leaves, and the clock and sleep
that the transport, the compute client and the authenticator are given.

One ``RequestTiming`` per logical request (retries included, ``attempts`` counts them),
handed to the ``on_request`` callback and counted by the ``Cloud``; the live view and
the reports are built from these later.

``Clock`` and ``Sleep`` are injected (``open_cloud(clock=..., sleep=...)``) so that a
test can run back-offs, ``Retry-After`` waits and look-up windows without waiting for
them; a run uses ``time.monotonic`` and ``anyio.sleep``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["Clock", "RequestTiming", "Sleep"]

Clock: TypeAlias = Callable[[], float]
"""Monotonic seconds."""
Sleep: TypeAlias = Callable[[float], Awaitable[None]]
"""Wait this many seconds (a checkpoint: cancellable, as ``anyio.sleep``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTiming:
    """One request: what was asked, what came back, how many tries and how long in all.

    ``path`` is the URL path without the query (``/compute/v2.1/servers``), so that
    timings group by route; ``status`` is None when no HTTP answer came at all;
    ``started`` is the transport's clock at the first attempt and ``seconds`` runs to
    the end of the last one, waits between retries included.
    """

    method: str
    path: str
    status: int | None
    attempts: int
    started: float
    seconds: float
