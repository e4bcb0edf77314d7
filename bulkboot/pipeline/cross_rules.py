"""The rules that relate fields to each other: boot source, multi-create, certificates.

They read only whether fields are given, never their templated values, so they run
once per group.
"""

from __future__ import annotations

from typing import Final

from bulkboot.pipeline.checker import Checker
from bulkboot.pipeline.spec import ServerSpec

__all__ = ["check_combinations"]

_BOOT_FIELDS: Final = frozenset(
    {
        "image",
        "image_with",
        "boot_volume",
        "snapshot",
        "block_devices",
        "block_device_mapping",
        "ephemeral",
        "swap",
    }
)
_MULTI_FIELDS: Final = frozenset({"min_count", "max_count", "hostname", "networks"})


def check_combinations(spec: ServerSpec, checker: Checker, broken: frozenset[str]) -> None:
    """The rules that relate fields to each other: presence only, so once per group.

    A rule reading a ``broken`` field (one left out for a structural problem) is
    skipped: the field's absence would only be an artefact.
    """
    if not broken:
        _combinations(spec, checker)
        return
    if "flavor" not in broken and not spec.flavor:
        checker.add("flavor", "flavor is required (nova boot: 'you need to specify a Flavor ID')")
    if not broken & _BOOT_FIELDS:
        _boot_source(spec, checker)
    if not broken & _MULTI_FIELDS:
        _multi_create(spec, checker)
    if not broken & {"trusted_image_certificates", "boot_volume", "snapshot"}:
        _certificates_for_images(spec, checker)


def _combinations(spec: ServerSpec, checker: Checker) -> None:
    if not spec.flavor:
        checker.add("flavor", "flavor is required (nova boot: 'you need to specify a Flavor ID')")
    _boot_source(spec, checker)
    _multi_create(spec, checker)
    _certificates_for_images(spec, checker)


def _boot_source(spec: ServerSpec, checker: Checker) -> None:
    """nova boot: exactly one boot source or a block device mapping; v1 and v2 apart."""
    sources = [
        name
        for name, value in (
            ("image", spec.image),
            ("image_with", spec.image_with),
            ("boot_volume", spec.boot_volume),
            ("snapshot", spec.snapshot),
        )
        if value
    ]
    has_bdm = bool(spec.block_devices or spec.block_device_mapping or spec.ephemeral or spec.swap)
    if len(sources) > 1:
        checker.add(
            sources[1],
            f"more than one boot source ({', '.join(sources)}): give exactly one of image, "
            "image_with, boot_volume or snapshot",
        )
    elif not sources and not has_bdm:
        checker.add(
            "",
            "no boot source: give one of image, image_with, boot_volume or snapshot, "
            "or block devices",
        )
    if spec.block_device_mapping:
        mixed = [
            name
            for name, value in (
                ("block_devices", spec.block_devices),
                ("boot_volume", spec.boot_volume),
                ("snapshot", spec.snapshot),
                ("ephemeral", spec.ephemeral),
                ("swap", spec.swap),
            )
            if value
        ]
        if mixed:
            checker.add(
                "block_device_mapping",
                "block_device_mapping (the old form) cannot be mixed with "
                f"{', '.join(mixed)} (the new form)",
            )


def _multi_create(spec: ServerSpec, checker: Checker) -> None:
    """nova/compute/api.py: AmbiguousHostnameForMultipleInstances,
    InvalidFixedIpAndMaxCountRequest, MultiplePortsNotApplicable."""
    count = spec.instance_count
    if count <= 1:
        return
    if spec.hostname is not None:
        checker.add("hostname", f"hostname cannot be set when one request makes {count} servers")
    if not isinstance(spec.networks, str) and spec.networks:
        for i, nic in enumerate(spec.networks):
            if nic.v4_fixed_ip or nic.v6_fixed_ip:
                checker.add(
                    f"networks.{i}",
                    f"a fixed IP cannot be given when one request makes {count} servers",
                )
            if nic.port_id:
                checker.add(
                    f"networks.{i}.port-id",
                    f"a port cannot be given when one request makes {count} servers",
                )


def _certificates_for_images(spec: ServerSpec, checker: Checker) -> None:
    if spec.trusted_image_certificates and (spec.boot_volume or spec.snapshot):
        checker.add(
            "trusted_image_certificates",
            "trusted image certificates apply to image-backed servers, not boot from volume",
        )
