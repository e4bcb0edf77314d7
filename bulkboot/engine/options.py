"""The knobs of ``apply`` and ``destroy``, with their defaults in one place.

Frozen: a run's options do not change under it; a variant is ``dataclasses.replace``.
The commands' flags may take their defaults from here rather than repeat them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

from bulkboot.engine.pacing import PollPacing

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ApplyOptions",
    "DestroyOptions",
    "MaxUnavailable",
    "ReplaceOrder",
]

# Requests in flight at most (creates for apply, deletes for destroy).
DEFAULT_CONCURRENCY: Final = 100


ReplaceOrder = Literal["create-first", "delete-first"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MaxUnavailable:
    """How many of a group's servers a rolling replacement takes on at once: ``count``,
    or ``percent`` of the group (rounded down, one at least)."""

    count: int = 1
    percent: float | None = None

    def of(self, group_size: int) -> int:
        if self.percent is None:
            return max(1, self.count)
        return max(1, math.floor(group_size * self.percent / 100.0))

    def __str__(self) -> str:
        return str(self.count) if self.percent is None else f"{self.percent:g}%"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    fixed_concurrency: bool = False  # no adaptive window: always ``concurrency`` in flight
    timeout: float = 1800.0  # per server, from its create to ACTIVE
    pacing: PollPacing = field(default_factory=PollPacing)
    wait: bool = True
    retry_errors: int = 0
    rollback_on_failure: bool = False
    skip_quota_check: bool = False
    seed: int | None = None  # for the poll jitter (tests)
    # converging: servers whose spec changed are replaced (rolling), servers the
    # manifest no longer names deleted; a name taken by a server outside the fleet
    replace_changed: bool = False
    max_unavailable: MaxUnavailable = MaxUnavailable()
    replace_order: ReplaceOrder = "create-first"
    prune: bool = False
    allow_duplicate_names: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 600.0  # per server, from its DELETE to gone
    pacing: PollPacing = PollPacing()
    seed: int | None = None
