"""bulkboot's microversion negotiation against real Nova 34 (2.1 to 2.104).

Through bulkboot's own client (``load_cloud_config`` on a clouds.yaml, ``open_cloud``,
``Compute.negotiate``) over a real socket. bulkboot supports up to 2.96 today, so
``auto`` settles there; the two strict xfails below are what Nova 34 support means, and
turn into failures (XPASS) the day bulkboot speaks 2.104.
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

BULKBOOT_STOPS_AT_2_96 = (
    "bulkboot.pipeline.microversion.MAX_SUPPORTED is 2.96 (python-novaclient 18's newest): "
    "negotiate('auto') takes min(2.96, server max), so against Nova 34 (2.1-2.104) it "
    "speaks 2.96, and an explicit '2.104' is refused as outside what bulkboot supports "
    "before anything is sent"
)


def cloud(nova: NovaService, tmp_path: Path) -> CloudConfig:
    nova.write_clouds_yaml(tmp_path)
    return load_cloud_config(
        "realnova", environ={"HOME": str(tmp_path)}, cwd=tmp_path, system_dirs=()
    )


async def negotiated(nova: NovaService, tmp_path: Path, requested: str) -> Microversion:
    async with open_cloud(cloud(nova, tmp_path)) as opened:
        chosen = await opened.compute.negotiate(requested)
        assert opened.compute.server_range == (Microversion(2, 1), NOVA_34_MAX)
        return chosen


def test_the_service_is_nova_34_announcing_2_104(nova: NovaService) -> None:
    status, body = nova.call("GET", "/")
    assert status == 200
    assert body["version"]["min_version"] == "2.1"
    assert body["version"]["version"] == nova.max_microversion == str(NOVA_34_MAX)


async def test_auto_settles_at_the_highest_bulkboot_supports_today(
    nova: NovaService, tmp_path: Path
) -> None:
    assert MAX_SUPPORTED == Microversion(2, 96)
    assert await negotiated(nova, tmp_path, "auto") == Microversion(2, 96)


async def test_an_explicit_version_inside_both_ranges_is_spoken(
    nova: NovaService, tmp_path: Path
) -> None:
    for text in ("2.1", "2.37", "2.74", "2.96"):
        assert str(await negotiated(nova, tmp_path, text)) == text


async def test_an_explicit_version_above_2_96_is_refused_today(
    nova: NovaService, tmp_path: Path
) -> None:
    with pytest.raises(MicroversionError, match="outside what bulkboot supports"):
        await negotiated(nova, tmp_path, "2.100")


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=BULKBOOT_STOPS_AT_2_96)
async def test_auto_negotiates_2_104(nova: NovaService, tmp_path: Path) -> None:
    assert await negotiated(nova, tmp_path, "auto") == NOVA_34_MAX


@pytest.mark.xfail(strict=True, raises=MicroversionError, reason=BULKBOOT_STOPS_AT_2_96)
async def test_an_explicit_2_104_is_spoken(nova: NovaService, tmp_path: Path) -> None:
    assert await negotiated(nova, tmp_path, "2.104") == NOVA_34_MAX
