"""Fixtures shared by every test folder.

anyio's pytest plugin runs ``@pytest.mark.anyio`` tests; bulkboot runs on asyncio only
(aiohttp needs it), so the backend is pinned here.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
