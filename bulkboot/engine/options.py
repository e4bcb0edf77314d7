"""The knobs of ``apply`` and ``destroy``, with their defaults in one place.

Frozen: a run's options do not change under it; a variant is ``dataclasses.replace``.
The commands' flags may take their defaults from here rather than repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bulkboot.engine.pacing import PollPacing

__all__ = ["DEFAULT_CONCURRENCY", "ApplyOptions", "DestroyOptions"]

# Requests in flight at most (creates for apply, deletes for destroy).
DEFAULT_CONCURRENCY: Final = 100


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


@dataclass(frozen=True, slots=True, kw_only=True)
class DestroyOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 600.0  # per server, from its DELETE to gone
    pacing: PollPacing = PollPacing()
    seed: int | None = None
