"""The record every HTTP request leaves behind, as the seed's ``_time_request`` kept.

One ``RequestTiming`` per logical request (retries included, ``attempts`` counts them),
handed to the ``on_request`` callback and counted by the ``Cloud``; the live view and
the reports are built from these later.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RequestTiming"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTiming:
    """One request: what was asked, what came back, how many tries and how long in all.

    ``path`` is the URL path without the query (``/compute/v2.1/servers``), so that
    timings group by route; ``status`` is None when no HTTP answer came at all;
    ``started`` is ``time.monotonic()`` at the first attempt and ``seconds`` runs to the
    end of the last one, waits between retries included.
    """

    method: str
    path: str
    status: int | None
    attempts: int
    started: float
    seconds: float
