"""bulkboot's microversion negotiation against real Nova 34 (2.1 to 2.104).

Through bulkboot's own client (``load_cloud_config`` on a clouds.yaml, ``open_cloud``,
``Compute.negotiate``) over a real socket: ``auto`` settles at 2.104, the highest both
speak, and what bulkboot sends at a version is what Nova answers at it (the headers
Nova echoes back).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import CloudConfig, load_cloud_config
from bulkboot.errors import MicroversionError
from bulkboot.pipeline.microversion import MAX_SUPPORTED, Microversion
from tests.realnova.service import NovaService

pytestmark = [pytest.mark.realnova, pytest.mark.anyio, pytest.mark.timeout(60)]

NOVA_34_MAX = Microversion(2, 104)


def cloud(nova: NovaService, tmp_path: Path) -> CloudConfig:
    nova.write_clouds_yaml(tmp_path)
    return load_cloud_config(
        "realnova", environ={"HOME": str(tmp_path)}, cwd=tmp_path, system_dirs=()
    )


async def negotiated(nova: NovaService, tmp_path: Path, requested: str) -> Microversion:
    """Negotiate, then make one request at that version: Nova must answer at it."""
    async with open_cloud(cloud(nova, tmp_path)) as opened:
        chosen = await opened.compute.negotiate(requested)
        assert opened.compute.server_range == (Microversion(2, 1), NOVA_34_MAX)
        answer = await opened.compute.transport.request(
            "GET", opened.compute.endpoint + "/flavors", headers=chosen.headers()
        )
        assert answer.headers["OpenStack-API-Version"] == f"compute {chosen}"
        return chosen


def test_the_service_is_nova_34_announcing_2_104(nova: NovaService) -> None:
    status, body = nova.call("GET", "/")
    assert status == 200
    assert body["version"]["min_version"] == "2.1"
    assert body["version"]["version"] == nova.max_microversion == str(NOVA_34_MAX)


async def test_auto_negotiates_2_104(nova: NovaService, tmp_path: Path) -> None:
    assert MAX_SUPPORTED == NOVA_34_MAX
    assert await negotiated(nova, tmp_path, "auto") == NOVA_34_MAX


async def test_an_explicit_version_inside_both_ranges_is_spoken(
    nova: NovaService, tmp_path: Path
) -> None:
    for text in ("2.1", "2.37", "2.74", "2.96", "2.97", "2.100", "2.102", "2.104"):
        assert str(await negotiated(nova, tmp_path, text)) == text


async def test_a_version_above_nova_34_is_refused_as_outside_what_bulkboot_supports(
    nova: NovaService, tmp_path: Path
) -> None:
    with pytest.raises(MicroversionError, match="outside what bulkboot supports"):
        await negotiated(nova, tmp_path, "2.105")
