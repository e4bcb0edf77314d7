"""Compute microversions: parsing, ordering, negotiation, and which field needs which.

Versions compare numerically (2.9 < 2.10), which is why they are not strings here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bulkboot.errors import MicroversionSyntaxError

__all__ = [
    "FIELD_GATES",
    "MAX_SUPPORTED",
    "MIN_SUPPORTED",
    "Microversion",
    "field_supported",
    "gate_text",
    "negotiate",
    "offline",
    "parse",
    "supports_auto_networks",
    "supports_bdm_tags",
    "supports_flavor_name_filter",
    "supports_fqdn_hostname",
    "supports_nic_tags",
    "supports_volume_type",
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
# Nova 34 (2025.2)'s newest. The create body's schema has not changed since 2.94 and no
# server field is gated after 2.90, so a body at 2.97-2.104 is the body at 2.96, the
# newest python-novaclient 18.x builds (the parity tests' oracle stops there). What
# changed after 2.96 is in answers (server views, flavors) and queries (2.102 refuses
# unknown query parameters everywhere: bulkboot sends only ones Nova lists).
MAX_SUPPORTED = Microversion(2, 104)


def parse(text: str) -> Microversion:
    """Parse ``"2.N"``; raise ``MicroversionSyntaxError`` (a user's message) otherwise."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise MicroversionSyntaxError(
            f"{text!r} is not a microversion: expected 'auto' or '2.N', like '2.74'"
        )
    version = Microversion(int(match.group(1)), int(match.group(2)))
    if version.major != 2:
        raise MicroversionSyntaxError(f"microversion {text} is not a compute 2.x microversion")
    if not MIN_SUPPORTED <= version <= MAX_SUPPORTED:
        raise MicroversionSyntaxError(
            f"microversion {text} is outside what bulkboot supports "
            f"({MIN_SUPPORTED} to {MAX_SUPPORTED})"
        )
    return version


def negotiate(requested: str, server_min: Microversion, server_max: Microversion) -> Microversion:
    """Pick the version to speak: ``auto`` is the highest both sides support.

    Raises ``ValueError`` (a user's message) when an explicit version is outside the
    server's range or when the two ranges do not meet, and ``MicroversionSyntaxError``
    (also a ``ValueError``) when it is not a version bulkboot speaks.
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


def offline(requested: str) -> Microversion:
    """The version to validate against with no server to ask: ``auto`` means the newest.

    Raises ``MicroversionSyntaxError`` for anything but ``auto``/``latest`` or ``2.N``.
    """
    if requested.strip().lower() in ("auto", "latest"):
        return MAX_SUPPORTED
    return parse(requested)


# Server fields of `nova boot` (python-novaclient 18.x) that only a range of compute
# microversions accepts: field -> (first minor, last minor), None for open-ended.
FIELD_GATES: Mapping[str, tuple[int | None, int | None]] = {
    "description": (19, None),
    "tags": (52, None),
    "files": (None, 56),  # personality was removed in 2.57
    "trusted_image_certificates": (63, None),
    "host": (74, None),
    "hypervisor_hostname": (74, None),
    "hostname": (90, None),
}


def field_supported(name: str, version: Microversion) -> bool:
    """Whether ``version`` accepts the server field ``name`` (ungated fields: always)."""
    low, high = FIELD_GATES.get(name, (None, None))
    return (low is None or version.minor >= low) and (high is None or version.minor <= high)


def gate_text(name: str) -> str:
    """The range a gated field needs, in words: "2.52 or later", "up to 2.56"."""
    low, high = FIELD_GATES.get(name, (None, None))
    if low is not None and high is not None:
        return f"2.{low} to 2.{high}"
    if low is not None:
        return f"2.{low} or later"
    if high is not None:
        return f"up to 2.{high}"
    return "any version"


def supports_auto_networks(version: Microversion) -> bool:
    """``networks: auto`` / ``none`` exist from 2.37 (and networks become required)."""
    return version.minor >= 37


def supports_nic_tags(version: Microversion) -> bool:
    """Nic tags: 2.32-2.36, then lost in 2.37-2.41 and back from 2.42."""
    return version.between(32, 36) or version.minor >= 42


def supports_bdm_tags(version: Microversion) -> bool:
    """Block device tags: 2.32 alone (a bug), then from 2.42."""
    return version.minor == 32 or version.minor >= 42


def supports_volume_type(version: Microversion) -> bool:
    """A block device's ``volume_type`` exists from 2.67."""
    return version.minor >= 67


def supports_flavor_name_filter(version: Microversion) -> bool:
    """``GET /flavors?name=`` (a regular expression on the name) exists from 2.102;
    before, 2.75-2.101 refuse the parameter and older versions drop it silently."""
    return version.minor >= 102


def supports_fqdn_hostname(version: Microversion) -> bool:
    """``hostname`` may be a fully qualified domain name from 2.94 (a label before)."""
    return version.minor >= 94
