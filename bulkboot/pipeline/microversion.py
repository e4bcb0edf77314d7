"""Compute microversions: parsing, ordering, negotiation, and which field needs which.

Versions compare numerically (2.9 < 2.10), which is why they are not strings here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_SUPPORTED",
    "MIN_SUPPORTED",
    "Microversion",
    "negotiate",
    "parse",
]

_PATTERN = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True, slots=True, order=True)
class Microversion:
    """A compute API microversion such as 2.37."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        """True from 2.``minor`` on (the usual shape of Nova's gates)."""
        return self.minor >= minor

    def between(self, low: int, high: int) -> bool:
        """True for 2.``low`` through 2.``high``, both included."""
        return low <= self.minor <= high

    def headers(self) -> dict[str, str]:
        """Both headers, as Nova reads them: the new one wins where both are sent."""
        text = str(self)
        return {
            "X-OpenStack-Nova-API-Version": text,
            "OpenStack-API-Version": f"compute {text}",
        }


MIN_SUPPORTED = Microversion(2, 1)
# python-novaclient 18.x's maximum, so every body bulkboot builds has an oracle.
# Nova's create body has not changed since 2.94.
MAX_SUPPORTED = Microversion(2, 96)


def parse(text: str) -> Microversion:
    """Parse ``"2.N"``; raise ``ValueError`` with a message fit for a user otherwise."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a microversion: expected 'auto' or '2.N', like '2.74'")
    version = Microversion(int(match.group(1)), int(match.group(2)))
    if version.major != 2:
        raise ValueError(f"microversion {text} is not a compute 2.x microversion")
    if not MIN_SUPPORTED <= version <= MAX_SUPPORTED:
        raise ValueError(
            f"microversion {text} is outside what bulkboot supports "
            f"({MIN_SUPPORTED} to {MAX_SUPPORTED})"
        )
    return version


def negotiate(
    requested: str, server_min: Microversion, server_max: Microversion
) -> Microversion:
    """Pick the version to speak: ``auto`` is the highest both sides support.

    Raises ``ValueError`` (a user's message) when an explicit version is outside the
    server's range or when the two ranges do not meet.
    """
    if requested.strip().lower() in ("auto", "latest"):
        best = min(MAX_SUPPORTED, server_max)
        if best < max(MIN_SUPPORTED, server_min):
            raise ValueError(
                f"the server supports compute {server_min} to {server_max}, bulkboot "
                f"{MIN_SUPPORTED} to {MAX_SUPPORTED}: no version in common"
            )
        return best
    version = parse(requested)
    if not server_min <= version <= server_max:
        raise ValueError(
            f"microversion {version} is outside the server's range ({server_min} to {server_max})"
        )
    return version
