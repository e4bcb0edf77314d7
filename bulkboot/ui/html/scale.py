"""Axes for the charts: round ticks ("nice numbers": 1, 2, 2.5 or 5 times a power of
ten) and tick labels in a unit people read (ms, s, min; k for thousands)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["AxisKind", "Ticks", "ticks"]

AxisKind = Literal["elapsed", "duration", "count", "rate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticks:
    """An axis: its range (``low`` to ``high``), the tick values, and their labels;
    ``unit`` completes the axis title ("seconds", "ms"...)."""

    low: float
    high: float
    values: tuple[float, ...]
    labels: tuple[str, ...]
    unit: str


def _step(span: float, target: int) -> float:
    raw = span / max(1, target)
    magnitude: float = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        if multiple * magnitude >= raw * 0.999:
            return multiple * magnitude
    return 10 * magnitude


def _nice(low: float, high: float, target: int, *, whole: bool) -> tuple[float, float, float]:
    """(low, high, step) covering [low, high] with round steps."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + (abs(low) or 1.0)
    step = _step(high - low, target)
    if whole:
        step = max(1.0, math.ceil(step))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    if end <= start:
        end = start + step
    return start, end, step


def _plain(value: float) -> str:
    text = f"{value:.6g}"
    return text if "e" not in text else f"{value:.2g}"


def _count_label(value: float) -> str:
    if abs(value) >= 10_000:
        return _plain(value / 1000) + "k"
    return _plain(value)


def ticks(low: float, high: float, kind: AxisKind, *, target: int = 6) -> Ticks:
    """Ticks from ``low`` to ``high`` (data values: seconds for ``elapsed`` and
    ``duration``), labelled in the unit the span calls for."""
    scale, unit = 1.0, ""
    label: Callable[[float], str] = _plain
    if kind == "elapsed":
        if high - low > 600:
            scale, unit = 60.0, "minutes"
        else:
            unit = "seconds"
    elif kind == "duration":
        top = max(abs(low), abs(high))
        if top < 1.0:
            scale, unit = 0.001, "ms"
        elif top < 120.0:
            unit = "s"
        else:
            scale, unit = 60.0, "min"
    elif kind == "count":
        label = _count_label
    elif kind == "rate":
        unit = "per second"
    start, end, step = _nice(low / scale, high / scale, target, whole=kind == "count")
    values: list[float] = []
    k = 0
    while True:
        value = start + k * step
        if value > end + step * 1e-6:
            break
        values.append(round(value, 10))
        k += 1
    return Ticks(
        low=start * scale,
        high=end * scale,
        values=tuple(v * scale for v in values),
        labels=tuple(label(v) for v in values),
        unit=unit,
    )
