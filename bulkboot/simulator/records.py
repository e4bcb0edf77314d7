"""What the simulator holds per server and per token; a server's status is a function of time.

Records are mutable slotted objects, not frozen dataclasses: a delete stamps a record
in place, and 100,000 records must stay cheap. Only the event loop thread touches them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bulkboot.simulator.config import Flavor, Network

__all__ = [
    "ACTIVE",
    "BUILD",
    "DELETED",
    "ERROR",
    "NO_VALID_HOST",
    "OUTCOME_ACTIVE",
    "OUTCOME_ERROR",
    "OUTCOME_NEVER",
    "ServerRecord",
    "TokenRecord",
    "iso",
]

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
ACTIVE, BUILD, ERROR, DELETED = "ACTIVE", "BUILD", "ERROR", "DELETED"
# How a build ends, drawn at creation.
OUTCOME_ACTIVE, OUTCOME_ERROR, OUTCOME_NEVER = 0, 1, 2


def iso(moment: float) -> str:
    """Nova's timestamp format: seconds, UTC, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class ServerRecord:
    """One server. ``status(now)`` derives BUILD/ACTIVE/ERROR/DELETED from timestamps."""

    __slots__ = (
        "access_ipv4",
        "access_ipv6",
        "availability_zone",
        "config_drive",
        "created",
        "deleted_at",
        "description",
        "disk_config",
        "fault_code",
        "fault_message",
        "flavor",
        "gone_at",
        "hostname",
        "id",
        "image_id",
        "key_name",
        "metadata",
        "name",
        "nics",
        "outcome",
        "ready_at",
        "reservation_id",
        "scheduler_hints",
        "security_groups",
        "seq",
        "tags",
        "trusted_certs",
        "user_data",
        "scheduled_at",
        "vanished",
    )

    def __init__(
        self,
        *,
        seq: int,
        id: str,
        name: str,
        created: float,
        ready_at: float,
        outcome: int,
        flavor: Flavor,
        image_id: str,
        nics: tuple[tuple[Network, str | None], ...],
        reservation_id: str,
        metadata: dict[str, str],
        tags: tuple[str, ...] = (),
        description: str | None = None,
        key_name: str | None = None,
        availability_zone: str = "nova",
        config_drive: bool = False,
        access_ipv4: str = "",
        access_ipv6: str = "",
        disk_config: str = "MANUAL",
        hostname: str = "",
        security_groups: tuple[str, ...] = ("default",),
        trusted_certs: tuple[str, ...] | None = None,
        user_data: str | None = None,
        scheduler_hints: dict[str, list[str]] | None = None,
        fault_code: int = 500,
        fault_message: str = NO_VALID_HOST,
    ) -> None:
        self.seq = seq
        self.id = id
        self.name = name
        self.created = created
        self.ready_at = ready_at
        self.outcome = outcome
        self.flavor = flavor
        self.image_id = image_id
        self.nics = nics
        self.reservation_id = reservation_id
        self.metadata = metadata
        self.tags = tags
        self.description = description
        self.key_name = key_name
        self.availability_zone = availability_zone
        self.config_drive = config_drive
        self.access_ipv4 = access_ipv4
        self.access_ipv6 = access_ipv6
        self.disk_config = disk_config
        self.hostname = hostname
        self.security_groups = security_groups
        self.trusted_certs = trusted_certs
        self.user_data = user_data
        # as Nova's RequestSpec keeps them: every value a list; shared by a request's servers
        self.scheduler_hints = scheduler_hints if scheduler_hints is not None else {}
        self.fault_code = fault_code
        self.fault_message = fault_message
        self.deleted_at: float | None = None
        self.gone_at: float | None = None
        # until then the server is Nova's build request (task_state "scheduling")
        self.scheduled_at = created
        # deleted while scheduled: gone at once, never listed (not even as DELETED)
        self.vanished = False

    def scheduling(self, now: float) -> bool:
        return now < self.scheduled_at and self.deleted_at is None

    def built(self, now: float) -> bool:
        return self.outcome != OUTCOME_NEVER and now >= self.ready_at

    def status(self, now: float) -> str:
        if self.gone_at is not None and now >= self.gone_at:
            return DELETED
        if self.built(now):
            return ERROR if self.outcome == OUTCOME_ERROR else ACTIVE
        return BUILD

    def updated(self, now: float) -> float:
        """The last change at or before ``now`` (Nova's ``updated_at``)."""
        latest = self.created
        if self.built(now):
            latest = self.ready_at
        if self.deleted_at is not None and self.deleted_at <= now:
            latest = max(latest, self.deleted_at)
        if self.gone_at is not None and self.gone_at <= now:
            latest = max(latest, self.gone_at)
        return latest

    def progress(self, now: float) -> int:
        if self.built(now):
            return 100
        if self.outcome == OUTCOME_NEVER:
            return 0
        span = self.ready_at - self.created
        if span <= 0:
            return 100
        return min(99, int(100 * (now - self.created) / span))


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """An issued Keystone token; ``project_id`` None for an unscoped one."""

    value: str
    issued_at: float
    expires_at: float
    methods: tuple[str, ...]
    project_id: str | None
    audit_id: str
    app_cred: bool = False

    def __repr__(self) -> str:  # the token string never reaches a log
        return f"TokenRecord(expires_at={self.expires_at}, methods={self.methods})"
