"""Fixtures for the tests against the real nova-api that ``.ci/nova start`` runs.

Without it every test here that needs it is skipped with the reason and the command that
starts it; under CI (``BULKBOOT_REQUIRE_NOVA=1``, set by ``.ci/run``) they fail instead.
What the tests check about the cloud itself they ask nova-api directly
(``NovaService.call``), so that a check never rests on the code it checks.
"""

from __future__ import annotations

import pytest

from tests.realnova.service import NovaService, require_nova


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realnova: needs the real nova-api started by .ci/nova (skipped without it)"
    )


@pytest.fixture(scope="session")
def nova() -> NovaService:
    return require_nova()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """nova-api is on 127.0.0.1: a developer's HTTP(S)_PROXY must not carry these requests."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
