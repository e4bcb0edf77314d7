"""Helpers for talking to the simulator with a raw aiohttp client (a real socket).

Every test here runs against the manually clocked simulator: ``sim`` is
``clocked_sim`` (tests/conftest.py), and a test that needs time to pass calls
``sim_clock.advance(seconds)`` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import DOMAIN, PASSWORD, PROJECT_NAME, USERNAME


@pytest.fixture
def sim(clocked_sim: RunningSimulator) -> RunningSimulator:
    """In this folder the simulator's time is ``sim_clock``, moved by the tests only."""
    return clocked_sim


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait until the simulator's thread has got somewhere (``condition`` holds).

    An event, not a duration: a busy machine makes it take longer, never fail. The
    ten seconds only stop a test that would otherwise hang.
    """
    deadline = time.monotonic() + 10.0
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        await asyncio.sleep(0.001)


def password_body(password: str = PASSWORD) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": USERNAME, "domain": {"name": DOMAIN}, "password": password}
                },
            },
            "scope": {"project": {"name": PROJECT_NAME, "domain": {"name": DOMAIN}}},
        }
    }


@dataclass
class Api:
    """A raw HTTP client holding one token; ``call`` returns (status, headers, JSON)."""

    sim: RunningSimulator
    session: aiohttp.ClientSession
    token: str = field(repr=False)  # a token never shows, not even in a test report
    microversion: str = "2.96"

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        sent = {"X-Auth-Token": self.token}
        version = self.microversion if microversion is None else microversion
        if version:
            sent["OpenStack-API-Version"] = f"compute {version}"
        sent.update(headers or {})
        async with self.session.request(
            method, self.sim.base_url + path, json=json, headers=sent, params=params
        ) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, response.headers, body

    async def boot(self, name: str, **fields: Any) -> dict[str, Any]:
        server = {
            "name": name,
            "imageRef": "6b0c1e8a-1c2d-4e3f-8a9b-0c1d2e3f4a51",
            "flavorRef": "1",
            "networks": "auto",
        }
        server.update(fields)
        status, _, body = await self.call("POST", "/compute/v2.1/servers", json={"server": server})
        assert status == 202, body
        result: dict[str, Any] = body
        return result


async def get_token(session: aiohttp.ClientSession, sim: RunningSimulator) -> str:
    async with session.post(sim.auth_url + "/auth/tokens", json=password_body()) as response:
        assert response.status == 201, await response.text()
        return response.headers["X-Subject-Token"]


@pytest.fixture
async def api(sim: RunningSimulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sim=sim, session=session, token=await get_token(session, sim))
