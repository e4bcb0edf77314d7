"""The run's own load on the control plane: every request it sent, by route and status.

Fed by the cloud client's ``on_request`` callback (one ``RequestTiming`` per logical
request, retries counted in ``attempts``), Keystone's included. Requests before
``start`` (authentication, version discovery, name look-ups) are counted apart as
``setup``, so ``per_iteration`` is what the iterations themselves (and the polling and
the clean-up they need) cost. Server ids in paths become ``{id}``, so routes group.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final

from bulkboot.cloud.timing import RequestTiming

__all__ = ["RequestLog", "route_of"]

_ID: Final = re.compile(r"/(?:[0-9A-Fa-f]{8}-?[0-9A-Fa-f-]{8,}|\d+)(?=/|$)")


def route_of(method: str, path: str) -> str:
    """``DELETE /compute/v2.1/servers/{id}`` for a server's URL path."""
    return f"{method} {_ID.sub('/{id}', path)}"


class RequestLog:
    """Counts requests by (route, final status); call it with each ``RequestTiming``."""

    __slots__ = ("_counting", "_routes", "attempts", "setup")

    def __init__(self) -> None:
        self._counting = False
        self._routes: Counter[tuple[str, str, int | None]] = Counter()
        self.setup = 0
        self.attempts = 0  # HTTP attempts of the counted requests (retries included)

    def __call__(self, timing: RequestTiming) -> None:
        if not self._counting:
            self.setup += 1
            return
        self._routes[(timing.method, timing.path, timing.status)] += 1
        self.attempts += timing.attempts

    def start(self) -> None:
        """From now on requests count as the run's (not set-up)."""
        self._counting = True

    @property
    def total(self) -> int:
        return sum(self._routes.values())

    def count(self, route: str) -> int:
        return int(self.by_route().get(route, {}).get("count", 0))

    def by_route(self) -> dict[str, dict[str, Any]]:
        """``{route: {"count": n, "statuses": {"202": n, "none": n}}}``, busiest first."""
        grouped: Counter[tuple[str, int | None]] = Counter()
        for (method, path, status), count in self._routes.items():
            grouped[(route_of(method, path), status)] += count
        routes: dict[str, dict[str, Any]] = {}
        for (route, status), count in sorted(grouped.items(), key=lambda item: -item[1]):
            entry = routes.setdefault(route, {"count": 0, "statuses": {}})
            entry["count"] += count
            entry["statuses"]["none" if status is None else str(status)] = count
        return dict(sorted(routes.items(), key=lambda item: -int(item[1]["count"])))
