"""Fixtures for the tests against the real nova-api that ``.ci/nova start`` runs.

Without it every test here that needs it is skipped with the reason and the command that
starts it; under CI (``BULKBOOT_REQUIRE_NOVA=1``, set by ``.ci/run``) they fail instead.
What the tests check about the cloud itself they ask nova-api directly
(``NovaService.call``), so that a check never rests on the code it checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkboot.cloud.config import CloudConfig, load_cloud_config
from tests.realnova.realcloud import Servers, TestCloud, set_up, tear_down
from tests.realnova.service import NovaService, require_nova


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realnova: needs the real nova-api started by .ci/nova (skipped without it)"
    )


@pytest.fixture(scope="session")
def nova() -> NovaService:
    return require_nova()


@pytest.fixture(scope="session")
def test_cloud(nova: NovaService) -> Iterator[TestCloud]:
    """What the corpus needs beyond the fixture cloud (realcloud.py), for the session."""
    cloud = set_up(nova)
    try:
        yield cloud
    finally:
        tear_down(nova, cloud)


@pytest.fixture(scope="module")
def servers(nova: NovaService) -> Iterator[Servers]:
    """The module's servers: deleted by the tests, all gone before the next module."""
    made = Servers(nova)
    try:
        yield made
    finally:
        made.wait()


@pytest.fixture(scope="session")
def clouds(nova: NovaService, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CloudConfig]:
    """bulkboot's cloud configs, read from a clouds.yaml as a user's: ``member``, ``admin``."""
    folder: Path = tmp_path_factory.mktemp("clouds")
    nova.write_clouds_yaml(folder)

    def load(name: str) -> CloudConfig:
        return load_cloud_config(name, environ={"HOME": str(folder)}, cwd=folder, system_dirs=())

    return {"member": load("realnova"), "admin": load("realnova-admin")}


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """nova-api is on 127.0.0.1: a developer's HTTP(S)_PROXY must not carry these requests."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
