"""Durations as people write them (``90``, ``90s``, ``500ms``, ``5m``, ``1.5h``) and back.

The one home of the syntax: every flag that takes a duration (``--timeout``,
``--poll-interval``, ``--wait-lock``, ``load --duration``...) and the manifest's
``load:`` mapping read it here, so ``5m`` means the same wherever it is written. Pure
and light (the standard library only): ``commands/_options`` wraps it for argparse on
every command line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["UNITS", "format_seconds", "parse_seconds"]

# Seconds per unit; no unit is seconds. ``m`` and ``min`` are both minutes.
UNITS: Final[Mapping[str | None, float]] = {
    "ms": 0.001,
    "s": 1.0,
    None: 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|min|h)?\s*$")


def parse_seconds(text: str) -> float:
    """``90``, ``90s``, ``500ms``, ``5m``, ``1.5h``, ``.5`` -> seconds, more than zero;
    anything else is a ``ValueError`` whose message says how to write one."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a number of seconds or 500ms, 90s, 5m, 1h"
        )
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not seconds > 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    return seconds


def format_seconds(seconds: float) -> str:
    """Seconds the way a user writes them for ``parse_seconds``: 1800 -> ``30m``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
