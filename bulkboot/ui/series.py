"""The run's time series for the report: sampled, and bounded in size whatever the run's
length.

Why sampled and not per event: a 100,000-server run makes half a million state
changes; the charts need a few hundred points. A sampler records the counts of a board
snapshot every ``interval`` seconds; when it holds more than ``max_points`` samples, it
keeps every other one and doubles the interval. The series of a run of any length
therefore has at most ``max_points`` evenly spaced samples plus the last one (taken when
the run ends), and a one-minute run is sampled as finely as a long one's first minute.

What a sample is: the instantaneous count at that moment (servers in each phase, the
create window), not an average or a peak over the interval; a burst shorter than the
interval may fall between two samples. The report says so (docs/reports.md).

Pure: the caller passes the time and the values (``commands/_sampling.py`` reads them
from the board).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SeriesSampler"]


@dataclass(slots=True, kw_only=True)
class SeriesSampler:
    """Samples of named integer columns over time (seconds since the run's start)."""

    interval: float = 0.1  # the first interval; doubles as the run grows
    max_points: int = 1024
    times: list[float] = field(default_factory=list)
    columns: dict[str, list[int]] = field(default_factory=dict)
    _final: bool = False

    def __post_init__(self) -> None:
        if self.max_points < 2 or not self.interval > 0:
            raise ValueError("a sampler needs max_points >= 2 and a positive interval")

    def add(self, at: float, values: Mapping[str, int]) -> None:
        """One sample at ``at`` seconds; a column first seen now is 0 before it."""
        if self._final:
            return
        if self.times and at < self.times[-1]:
            at = self.times[-1]  # a clock never runs backwards on a chart
        index = len(self.times)
        self.times.append(at)
        for name, value in values.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = [0] * index
            column.append(int(value))
        for column in self.columns.values():
            if len(column) <= index:
                column.append(0)  # not given this time: nothing there
        if len(self.times) > self.max_points:
            self._halve()

    def finish(self, at: float, values: Mapping[str, int]) -> None:
        """The last sample, at the run's end; later samples are ignored."""
        self.add(at, values)
        self._final = True

    def _halve(self) -> None:
        """Keep every other sample (the first stays), and sample half as often."""
        self.times = self.times[::2]
        for name, column in self.columns.items():
            self.columns[name] = column[::2]
        self.interval *= 2

    def document(self) -> dict[str, Any]:
        """The series for the report: times rounded to the millisecond, and only the
        columns that were ever non-zero (an all-zero column draws nothing)."""
        return {
            "interval_seconds": round(self.interval, 6),
            "max_points": self.max_points,
            "t": [round(t, 3) for t in self.times],
            "columns": {name: list(column) for name, column in self.columns.items() if any(column)},
        }
