"""bulkboot/simulator/keystone.py: Keystone v3 token issue, validation and expiry."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from bulkboot.simulator import ManualClock, RunningSimulator
from bulkboot.simulator.config import (
    APP_CRED_ID,
    APP_CRED_NAME,
    APP_CRED_SECRET,
    DOMAIN,
    PASSWORD,
    PROJECT_ID,
    USER_ID,
    USERNAME,
)
from tests.simulator.conftest import password_body

pytestmark = pytest.mark.anyio

ISO_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def _post(
    session: aiohttp.ClientSession, sim: RunningSimulator, body: Any, query: str = ""
) -> tuple[int, Any, Any]:
    async with session.post(f"{sim.auth_url}/auth/tokens{query}", json=body) as response:
        return response.status, response.headers, await response.json()


async def test_discovery_documents(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.base_url + "/identity") as response:
            assert response.status == 300
            body = await response.json()
        assert body["versions"]["values"][0]["links"][0]["href"] == sim.auth_url + "/"
        async with session.get(sim.auth_url) as response:
            assert (await response.json())["version"]["id"].startswith("v3")


async def test_password_auth_by_name_gives_scoped_token_and_catalog(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        status, headers, body = await _post(session, sim, password_body())
    assert status == 201
    assert headers["X-Subject-Token"]
    token = body["token"]
    assert ISO_MICRO.match(token["expires_at"])
    assert ISO_MICRO.match(token["issued_at"])
    assert token["project"]["id"] == PROJECT_ID
    assert token["user"]["id"] == USER_ID
    assert {r["name"] for r in token["roles"]} >= {"admin", "member"}
    services = {s["type"]: s for s in token["catalog"]}
    assert set(services) >= {"compute", "image", "network"}
    compute = services["compute"]["endpoints"]
    assert {e["interface"] for e in compute} == {"public", "internal", "admin"}
    assert all(e["region"] == "RegionOne" for e in compute)
    assert compute[0]["url"] == sim.base_url + "/compute/v2.1"
    assert sim.stats()["authentications"] == 1


async def test_token_lifetime_is_configurable(sim: RunningSimulator) -> None:
    sim.configure(token_lifetime=120)
    async with aiohttp.ClientSession() as session:
        _, _, body = await _post(session, sim, password_body())
    token = body["token"]
    issued = datetime.fromisoformat(token["issued_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - issued).total_seconds() - 120) < 0.01


async def test_nocatalog(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        _, _, body = await _post(session, sim, password_body(), "?nocatalog")
    assert "catalog" not in body["token"]


async def test_password_auth_by_user_id_and_project_id(sim: RunningSimulator) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": USER_ID, "password": PASSWORD}},
            },
            "scope": {"project": {"id": PROJECT_ID}},
        }
    }
    async with aiohttp.ClientSession() as session:
        status, _, _ = await _post(session, sim, body)
    assert status == 201


@pytest.mark.parametrize(
    "change",
    [
        {"password": "wrong"},
        {"name": "nobody"},
        {"domain": {"name": "Elsewhere"}},
    ],
)
async def test_bad_credentials_get_keystones_401(
    sim: RunningSimulator, change: dict[str, Any]
) -> None:
    body = password_body()
    body["auth"]["identity"]["password"]["user"].update(change)
    async with aiohttp.ClientSession() as session:
        status, headers, reply = await _post(session, sim, body)
    assert status == 401
    assert "X-Subject-Token" not in headers
    assert reply == {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
    assert sim.stats()["authentications"] == 0


async def test_unknown_project_is_401(sim: RunningSimulator) -> None:
    body = password_body()
    body["auth"]["scope"]["project"]["name"] = "other"
    async with aiohttp.ClientSession() as session:
        status, _, _ = await _post(session, sim, body)
    assert status == 401


@pytest.mark.parametrize(
    "cred",
    [
        {"id": APP_CRED_ID, "secret": APP_CRED_SECRET},
        {
            "name": APP_CRED_NAME,
            "secret": APP_CRED_SECRET,
            "user": {"name": USERNAME, "domain": {"name": DOMAIN}},
        },
    ],
)
async def test_application_credential(sim: RunningSimulator, cred: dict[str, Any]) -> None:
    body = {
        "auth": {
            "identity": {"methods": ["application_credential"], "application_credential": cred}
        }
    }
    async with aiohttp.ClientSession() as session:
        status, _, reply = await _post(session, sim, body)
        assert status == 201
        assert reply["token"]["project"]["id"] == PROJECT_ID
        assert reply["token"]["application_credential"]["id"] == APP_CRED_ID
        cred_bad = dict(cred, secret="nope")
        body["auth"]["identity"]["application_credential"] = cred_bad
        status, _, _ = await _post(session, sim, body)
        assert status == 401


async def test_application_credential_refuses_a_scope(sim: RunningSimulator) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": APP_CRED_ID, "secret": APP_CRED_SECRET},
            },
            "scope": {"project": {"id": PROJECT_ID}},
        }
    }
    async with aiohttp.ClientSession() as session:
        status, _, _ = await _post(session, sim, body)
    assert status == 401


async def test_token_method_keeps_the_original_expiry(
    sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    async with aiohttp.ClientSession() as session:
        _, headers, first = await _post(session, sim, password_body())
        sim_clock.advance(0.01)
        body = {
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": headers["X-Subject-Token"]}},
                "scope": {"project": {"id": PROJECT_ID}},
            }
        }
        status, new_headers, second = await _post(session, sim, body)
    assert status == 201
    assert new_headers["X-Subject-Token"] != headers["X-Subject-Token"]
    assert second["token"]["expires_at"] == first["token"]["expires_at"]
    assert second["token"]["methods"] == ["token"]


async def test_expired_token_gets_401_from_every_service(
    sim: RunningSimulator, sim_clock: ManualClock
) -> None:
    sim.configure(token_lifetime=0.3)
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await _post(session, sim, password_body())
        token = {"X-Auth-Token": headers["X-Subject-Token"]}
        paths = [
            "/compute/v2.1/servers",
            "/image/v2/images",
            "/network/v2.0/networks",
        ]
        for path in paths:
            async with session.get(sim.base_url + path, headers=token) as response:
                assert response.status == 200, path
        sim_clock.advance(0.35)
        for path in paths:
            async with session.get(sim.base_url + path, headers=token) as response:
                assert response.status == 401, path
                body = await response.json()
                assert body["error"]["code"] == 401
                assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


async def test_unknown_and_missing_tokens_get_401(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Auth-Token": "gAAAAAnot-a-token"}):
            async with session.get(
                sim.base_url + "/compute/v2.1/flavors", headers=headers
            ) as response:
                assert response.status == 401


async def test_validate_and_revoke(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await _post(session, sim, password_body())
        token = headers["X-Subject-Token"]
        both = {"X-Auth-Token": token, "X-Subject-Token": token}
        async with session.get(sim.auth_url + "/auth/tokens", headers=both) as response:
            assert response.status == 200
            assert (await response.json())["token"]["user"]["name"] == USERNAME
        async with session.delete(sim.auth_url + "/auth/tokens", headers=both) as response:
            assert response.status == 204
        async with session.get(
            sim.base_url + "/compute/v2.1/flavors", headers={"X-Auth-Token": token}
        ) as response:
            assert response.status == 401


async def test_head_checks_a_token(sim: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await _post(session, sim, password_body())
        token = headers["X-Subject-Token"]
        both = {"X-Auth-Token": token, "X-Subject-Token": token}
        async with session.head(sim.auth_url + "/auth/tokens", headers=both) as response:
            assert response.status == 200
        both["X-Subject-Token"] = "gAAAAAgone"
        async with session.head(sim.auth_url + "/auth/tokens", headers=both) as response:
            assert response.status == 404
