"""Does the fleet fit? Instances, cores and RAM needed against what ``GET /limits`` leaves.

Why before the first create: a fleet that cannot fit otherwise fails half-way, leaving
a half-built fleet and servers in ERROR eating the quota (CI systems that leave ERROR
instances behind keep running into it). Nova's own check is per request and racy (its
late recheck turns servers to ERROR), so the up-front check is on the whole fleet.
``-1`` in Nova's limits means unlimited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from bulkboot.errors import QuotaCheckError

__all__ = ["Need", "check_quota", "shortfalls", "total_need"]

# (resource, limit key, used key, unit)
_RESOURCES = (
    ("instances", "maxTotalInstances", "totalInstancesUsed", ""),
    ("cores", "maxTotalCores", "totalCoresUsed", ""),
    ("RAM", "maxTotalRAMSize", "totalRAMUsed", " MiB"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """What the servers still to create ask for, in all."""

    instances: int = 0
    cores: int = 0
    ram: int = 0  # MiB

    def plus(self, count: int, vcpus: int, ram: int) -> Need:
        return Need(
            instances=self.instances + count,
            cores=self.cores + count * vcpus,
            ram=self.ram + count * ram,
        )


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def shortfalls(need: Need, absolute: Mapping[str, int]) -> list[str]:
    """One line per resource the fleet needs more of than is left; empty when it fits."""
    wanted = {"instances": need.instances, "cores": need.cores, "RAM": need.ram}
    lines: list[str] = []
    for resource, limit_key, used_key, unit in _RESOURCES:
        # a value that is not a whole number (a broken or odd cloud) is not checked:
        # Nova's own quota check still applies to each create
        limit = absolute.get(limit_key)
        if not _whole(limit) or limit < 0:
            continue
        used_value = absolute.get(used_key, 0)
        if not _whole(used_value):
            continue
        used = max(0, used_value)
        left = max(0, limit - used)
        if wanted[resource] > left:
            lines.append(
                f"{resource}: the fleet needs {wanted[resource]}{unit}, "
                f"{left}{unit} left (limit {limit}{unit}, used {used}{unit})"
            )
    return lines


def check_quota(need: Need, absolute: Mapping[str, int], *, fleet: str) -> None:
    """Raise ``QuotaCheckError`` listing every resource that runs short."""
    lines = shortfalls(need, absolute)
    if lines:
        raise QuotaCheckError(
            f"fleet {fleet!r} does not fit in the quota left; nothing was created:\n  "
            + "\n  ".join(lines)
            + "\n(use --skip-quota-check to try anyway)"
        )


def total_need(items: Iterable[tuple[int, Mapping[str, object] | None]]) -> Need:
    """Sum ``(count, flavor record)`` pairs; a flavor without numbers counts instances only."""
    need = Need()
    for count, flavor in items:
        vcpus = flavor.get("vcpus", 0) if flavor is not None else 0
        ram = flavor.get("ram", 0) if flavor is not None else 0
        need = need.plus(
            count,
            vcpus if isinstance(vcpus, int) else 0,
            ram if isinstance(ram, int) else 0,
        )
    return need
