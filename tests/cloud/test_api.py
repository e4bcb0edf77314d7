"""The cloud client's public names, and that reading a config does not import aiohttp."""

from __future__ import annotations

import subprocess
import sys

import bulkboot.cloud as cloud


def test_public_api_is_these_names() -> None:
    assert sorted(cloud.__all__) == sorted(
        [
            "Activity",
            "Authenticator",
            "Catalog",
            "Cloud",
            "CloudConfig",
            "Compute",
            "CreatedServer",
            "HttpOptions",
            "RequestTiming",
            "ResolvedReferences",
            "RetryPolicy",
            "Token",
            "Waiting",
            "load_cloud_config",
            "open_cloud",
            "resolve_references",
            "wants_embedded_simulator",
        ]
    )
    for name in cloud.__all__:
        assert getattr(cloud, name).__name__ == name


def test_config_alone_does_not_import_aiohttp() -> None:
    code = (
        "import sys, bulkboot.cloud.config, bulkboot.cloud.retry; print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
