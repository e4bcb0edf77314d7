"""Skips that share one reason across tests, folded into one line of pytest's summary.

Why: without a real Keystone or Nova, 24 and 11 tests skip with the same long hint on
how to start one, and ``-ra`` printed a line for each place. A reason given at more
than one place is now shown once, with how many tests it skipped and the file or folder
they share; a skip with a reason of its own keeps its line, and failures are untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["fold_shared_skips"]


def fold_shared_skips(reports: Iterable[Any]) -> None:
    """Give the skipped ``reports`` whose reason is given at several places one common
    place (their shared path, no line), so pytest counts them on one line."""
    reports = [r for r in reports if isinstance(r.longrepr, tuple) and len(r.longrepr) == 3]
    places: dict[str, set[tuple[str, int | None]]] = {}
    for report in reports:
        path, line, reason = report.longrepr
        places.setdefault(reason, set()).add((str(path), line))
    shared = {
        reason: os.path.commonpath([path for path, _ in where])
        for reason, where in places.items()
        if len(where) > 1
    }
    for report in reports:
        reason = report.longrepr[2]
        if reason in shared:
            report.longrepr = (shared[reason], None, reason)
