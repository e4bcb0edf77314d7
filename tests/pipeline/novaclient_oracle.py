"""python-novaclient 18.x as an oracle: the body ``nova boot ...`` POSTs, without a network.

A real ``nova boot`` command line is parsed by novaclient's own shell parser for the
microversion (so a flag that does not exist at that version is refused as ``nova``
refuses it), then novaclient's own ``shell._boot`` turns the arguments into
``ServerManager.create`` arguments, and ``ServerManager.create`` builds the body. Only
novaclient's HTTP layer is replaced: a fake ``client.post`` records the body and stops
there. Name look-ups (image, flavor, network) answer from ``CATALOG``, the same fixed
catalogue ``CatalogReferences`` gives bulkboot, so both sides see the same IDs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any
from unittest import mock

from novaclient import api_versions, exceptions
from novaclient import shell as nova_shell
from novaclient.v2 import servers
from novaclient.v2 import shell as v2_shell

__all__ = [
    "CATALOG",
    "CatalogReferences",
    "OracleRejected",
    "nova_boot_body",
]

# name -> ID. Images also carry properties for --image-with / image_with.
CATALOG: dict[str, Any] = {
    "images": [
        {
            "id": "0b5e3c4e-1111-4000-8000-000000000001",
            "name": "cirros-0.6.2",
            "os_distro": "cirros",
            "os_version": "0.6.2",
        },
        {
            "id": "0b5e3c4e-1111-4000-8000-000000000002",
            "name": "ubuntu-24.04",
            "os_distro": "ubuntu",
            "os_version": "24.04",
        },
    ],
    "flavors": {
        "m1.small": "2",
        "m1.medium": "3",
        "42": "42",
    },
    "networks": {
        "private": "0b5e3c4e-2222-4000-8000-000000000001",
        "public": "0b5e3c4e-2222-4000-8000-000000000002",
    },
}


class OracleRejected(Exception):
    """novaclient refused the arguments (argparse error, CommandError, ValueError ...)."""


class CatalogReferences:
    """bulkboot's side of the same catalogue: a ``bulkboot.pipeline.spec.References``."""

    def image(self, ref: str) -> str:
        for image in CATALOG["images"]:
            if ref in (image["id"], image["name"]):
                return str(image["id"])
        raise KeyError(ref)

    def image_with(self, properties: Mapping[str, str]) -> str:
        for image in CATALOG["images"]:
            if all(image.get(k) == v for k, v in properties.items()):
                return str(image["id"])
        raise KeyError(properties)

    def flavor(self, ref: str) -> str:
        return str(CATALOG["flavors"][ref])

    def network(self, name: str) -> str:
        return str(CATALOG["networks"][name])


# ------------------------------------------------------------------ the fake client


class _Posted(Exception):
    """Raised by the fake HTTP layer once the body is recorded: nothing goes further."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        super().__init__(url)
        self.url = url
        self.body = body


class _FakeHttp:
    def post(self, url: str, body: dict[str, Any]) -> None:
        raise _Posted(url, body)


class _Image(SimpleNamespace):
    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class _FakeGlance:
    def find_image(self, name_or_id: str) -> _Image:
        for image in CATALOG["images"]:
            if name_or_id in (image["id"], image["name"]):
                return _Image(**image)
        raise exceptions.NotFound(404, f"No Image matching {name_or_id}.")

    def list(self) -> list[_Image]:
        return [_Image(**image) for image in CATALOG["images"]]


class _FakeNeutron:
    def find_network(self, name: str) -> SimpleNamespace:
        if name not in CATALOG["networks"]:
            raise exceptions.NotFound(404, f"No Network matching {name}.")
        return SimpleNamespace(id=CATALOG["networks"][name], name=name)


class _FakeComputeClient:
    """What ``shell._boot`` and ``ServerManager`` touch of ``novaclient.v2.client.Client``."""

    def __init__(self, version: api_versions.APIVersion) -> None:
        self.api_version = version
        self.client = _FakeHttp()
        self.glance = _FakeGlance()
        self.neutron = _FakeNeutron()
        self.servers = servers.ServerManager(self)


def _find_flavor(cs: Any, flavor: str) -> SimpleNamespace:
    if flavor not in CATALOG["flavors"]:
        raise exceptions.CommandError(f"No flavor with a name or ID of '{flavor}' exists.")
    return SimpleNamespace(id=CATALOG["flavors"][flavor], name=flavor)


# ------------------------------------------------------------------------- the oracle


@functools.cache
def _boot_parser(version: str) -> argparse.ArgumentParser:
    """``nova``'s own parser for the microversion, as ``nova --os-compute-api-version``."""
    shell = nova_shell.OpenStackComputeShell()
    shell.extensions = []
    shell.get_subcommand_parser(api_versions.APIVersion(version), do_help=False, argv=[])
    # The sub-parser alone: the top-level one would also want credentials.
    boot: argparse.ArgumentParser = shell.subcommands["boot"]
    return boot


def nova_boot_body(
    argv: Sequence[str], microversion: str, *, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The body ``nova --os-compute-api-version MV boot ARGV`` would POST to /servers.

    ``extra`` adds keyword arguments to ``ServerManager.create`` that ``nova boot`` has
    no flag for (``disk_config``). Raises ``OracleRejected`` when novaclient refuses.
    """
    parser = _boot_parser(microversion)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = parser.parse_args(list(argv))
    except SystemExit as exc:
        errors = [line for line in stderr.getvalue().splitlines() if line.startswith("error:")]
        raise OracleRejected(f"nova boot: {' '.join(errors)}") from exc
    cs = _FakeComputeClient(api_versions.APIVersion(microversion))
    try:
        with (
            mock.patch.object(v2_shell, "_find_flavor", _find_flavor),
            mock.patch.dict("os.environ", {"OS_TRUSTED_IMAGE_CERTIFICATE_IDS": ""}),
            contextlib.redirect_stderr(stderr),
        ):
            boot_args, boot_kwargs = v2_shell._boot(cs, args)
            boot_kwargs.update(extra or {})
            cs.servers.create(*boot_args, **boot_kwargs)
    except _Posted as posted:
        assert posted.url == "/servers"
        return posted.body
    except (
        exceptions.CommandError,
        exceptions.UnsupportedAttribute,
        ValueError,
        KeyError,
        argparse.ArgumentTypeError,
    ) as exc:
        raise OracleRejected(f"{type(exc).__name__}: {exc}") from exc
    raise AssertionError("novaclient returned without POSTing a body")
