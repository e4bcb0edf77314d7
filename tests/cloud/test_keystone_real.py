"""bulkboot's Keystone client against a real Keystone (keystone 30.0.0 from PyPI).

``.ci/keystone start`` runs it on 127.0.0.1 (docs/keystone-ci.md). Without it these tests
skip, except in CI (``BULKBOOT_REQUIRE_KEYSTONE=1``), where they fail. Each test reads
its cloud from a clouds.yaml written to a temporary folder, through
``load_cloud_config`` as a user's cloud would be read, then authenticates with
``bulkboot.cloud.auth.Authenticator`` over a real aiohttp session. What the tests count,
they count with an aiohttp ``TraceConfig``: an observer of the real requests on the
socket, not a mock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import pytest

from bulkboot.cloud.auth import Authenticator, Token
from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import CloudConfig, load_cloud_config
from bulkboot.cloud.session import Transport
from bulkboot.errors import AuthError, EndpointNotFound
from bulkboot.isotime import parse_iso
from tests.keystone_service import PREFIX, REQUIRE, KeystoneService, require_keystone

real = pytest.mark.keystone  # the tests that need the running Keystone

TOKENS_PATH = "/v3/auth/tokens"


@pytest.fixture(scope="module")
def keystone() -> KeystoneService:
    return require_keystone()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keystone is on 127.0.0.1: a developer's HTTP(S)_PROXY must not carry these requests
    (bulkboot and openstacksdk both honour it, as requests does)."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@dataclass(slots=True)
class Wire:
    """What went over the socket: (method, path, status) of every finished request."""

    requests: list[tuple[str, str, int]] = field(default_factory=list)

    def token_posts(self) -> list[int]:
        """Statuses of the ``POST /v3/auth/tokens`` sent, in order."""
        return [s for m, p, s in self.requests if m == "POST" and p.endswith(TOKENS_PATH)]


@asynccontextmanager
async def traced_session() -> AsyncIterator[tuple[aiohttp.ClientSession, Wire]]:
    wire = Wire()
    trace = aiohttp.TraceConfig()

    async def on_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        wire.requests.append((params.method, params.url.path, params.response.status))

    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, wire


def cloud(keystone: KeystoneService, tmp_path: Path, entry: Mapping[str, Any]) -> CloudConfig:
    """The cloud "ci" of a clouds.yaml holding ``entry``, read as bulkboot reads one."""
    keystone.write_clouds_yaml(tmp_path, {"ci": entry})
    return load_cloud_config("ci", environ={"HOME": str(tmp_path)}, cwd=tmp_path, system_dirs=())


def password_entry(keystone: KeystoneService, **project: str) -> dict[str, Any]:
    return {
        "auth_type": "password",
        "auth": {
            "username": keystone.username,
            "password": keystone.password,
            "user_domain_name": keystone.user_domain,
            **project,
        },
    }


async def check_token(keystone: KeystoneService, token: Token, *, by: Token) -> int:
    """The status of Keystone's ``GET /v3/auth/tokens`` of ``token``, asked with ``by``."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            keystone.auth_url + "/auth/tokens?nocatalog",
            headers={"X-Auth-Token": by.value, "X-Subject-Token": token.value},
        ) as response,
    ):
        return response.status


async def validate(keystone: KeystoneService, token: Token) -> dict[str, Any]:
    """Keystone's own view of ``token`` (``GET /v3/auth/tokens``, the token checking itself)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            keystone.auth_url + "/auth/tokens",
            headers={"X-Auth-Token": token.value, "X-Subject-Token": token.value},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        body: dict[str, Any] = (await response.json())["token"]
        return body


def assert_admin_project_token(keystone: KeystoneService, token: Token) -> None:
    assert token.value
    assert token.user_id == keystone.user_id
    assert token.user_name == keystone.username
    assert token.project_id == keystone.project_id
    assert token.project_name == keystone.project_name
    now = datetime.now(timezone.utc)
    assert token.expires_at.tzinfo is not None
    lifetime = timedelta(seconds=keystone.token_expiration)
    assert now < token.expires_at <= now + lifetime + timedelta(seconds=5)


# ------------------------------------------------------------------ password


@real
@pytest.mark.anyio
@pytest.mark.parametrize("by", ["name", "id"])
async def test_password_auth_scopes_to_the_project(
    keystone: KeystoneService, tmp_path: Path, by: str
) -> None:
    project = (
        {"project_name": keystone.project_name, "project_domain_name": keystone.project_domain}
        if by == "name"
        else {"project_id": keystone.project_id}
    )
    config = cloud(keystone, tmp_path, password_entry(keystone, **project))
    async with traced_session() as (session, wire):
        token = await Authenticator(config, session).token()
    assert_admin_project_token(keystone, token)
    assert wire.token_posts() == [201]
    checked = await validate(keystone, token)
    assert checked["methods"] == ["password"]
    assert checked["project"]["id"] == keystone.project_id
    assert parse_iso(checked["expires_at"]) == token.expires_at


@real
@pytest.mark.anyio
async def test_wrong_password_is_an_auth_error_without_the_password(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    wrong = "not-the-password-" + keystone.password[:4] + "-x9"
    entry = password_entry(
        keystone, project_name=keystone.project_name, project_domain_name=keystone.project_domain
    )
    entry["auth"]["password"] = wrong
    config = cloud(keystone, tmp_path, entry)
    async with traced_session() as (session, wire):
        with pytest.raises(AuthError) as caught:
            await Authenticator(config, session).token()
    assert wire.token_posts() == [401]  # refused once, not retried
    message = str(caught.value)
    assert "HTTP 401" in message
    assert keystone.auth_url in message
    assert keystone.username in message
    for secret in (wrong, keystone.password):
        assert secret not in message
        assert secret not in repr(caught.value)
        assert all(secret not in str(arg) for arg in caught.value.args)


@real
@pytest.mark.anyio
async def test_an_unversioned_auth_url_is_discovered(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    # Many clouds.yaml files give Keystone's root; it answers 300 with its versions.
    entry = password_entry(keystone, project_id=keystone.project_id)
    entry["auth"]["auth_url"] = keystone.base_url
    config = cloud(keystone, tmp_path, entry)
    async with traced_session() as (session, wire):
        token = await Authenticator(config, session).token()
    assert_admin_project_token(keystone, token)
    assert wire.requests[0][:2] == ("GET", "/")
    assert wire.token_posts() == [201]


# ------------------------------------------------------------------ application credential


@real
@pytest.mark.anyio
@pytest.mark.parametrize("by", ["id", "name and user id", "name and user name"])
async def test_application_credential_auth(
    keystone: KeystoneService, tmp_path: Path, by: str
) -> None:
    auth: dict[str, str] = {"application_credential_secret": keystone.app_cred_secret}
    if by == "id":
        auth["application_credential_id"] = keystone.app_cred_id
    else:
        auth["application_credential_name"] = keystone.app_cred_name
        if by == "name and user id":
            auth["user_id"] = keystone.user_id
        else:
            auth["username"] = keystone.username
            auth["user_domain_name"] = keystone.user_domain
    config = cloud(keystone, tmp_path, {"auth_type": "v3applicationcredential", "auth": auth})
    async with traced_session() as (session, wire):
        token = await Authenticator(config, session).token()
    assert_admin_project_token(keystone, token)  # the credential's own scope
    assert wire.token_posts() == [201]
    checked = await validate(keystone, token)
    assert checked["methods"] == ["application_credential"]
    assert checked["application_credential"]["id"] == keystone.app_cred_id


@real
@pytest.mark.anyio
async def test_wrong_application_credential_secret_is_an_auth_error(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    wrong = "wrong-secret-" + keystone.app_cred_secret[:3]
    config = cloud(
        keystone,
        tmp_path,
        {
            "auth_type": "v3applicationcredential",
            "auth": {
                "application_credential_id": keystone.app_cred_id,
                "application_credential_secret": wrong,
            },
        },
    )
    async with traced_session() as (session, wire):
        with pytest.raises(AuthError) as caught:
            await Authenticator(config, session).token()
    assert wire.token_posts() == [401]
    assert wrong not in str(caught.value)
    assert keystone.app_cred_secret not in str(caught.value)


# ------------------------------------------------------------------ token


@real
@pytest.mark.anyio
async def test_token_auth_with_a_token_from_password_auth(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    first_config = cloud(
        keystone, tmp_path, password_entry(keystone, project_id=keystone.project_id)
    )
    async with traced_session() as (session, _):
        first = await Authenticator(first_config, session).token()

    (tmp_path / "token").mkdir()
    config = cloud(
        keystone,
        tmp_path / "token",
        {"auth_type": "v3token", "auth": {"token": first.value, "project_id": keystone.project_id}},
    )
    async with traced_session() as (session, wire):
        token = await Authenticator(config, session).token()
    assert_admin_project_token(keystone, token)
    assert wire.token_posts() == [201]
    # Keystone keeps the first token's expiry for a token made from it.
    assert token.expires_at == first.expires_at
    checked = await validate(keystone, token)
    assert set(checked["methods"]) == {"password", "token"}


# ------------------------------------------------------------------ catalog


@real
@pytest.mark.anyio
async def test_catalog_finds_the_registered_endpoints(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    config = cloud(keystone, tmp_path, password_entry(keystone, project_id=keystone.project_id))
    async with traced_session() as (session, _):
        token = await Authenticator(config, session).token()
    catalog = token.catalog
    assert catalog.endpoint("compute").rstrip("/") == keystone.compute_url
    assert catalog.endpoint("compute", region=keystone.region).rstrip("/") == keystone.compute_url
    internal = catalog.endpoint("compute", interface="internal")
    assert internal.rstrip("/") == keystone.compute_internal_url
    assert catalog.endpoint("image").rstrip("/") == keystone.image_url
    assert catalog.endpoint("identity").rstrip("/") == keystone.auth_url


@real
@pytest.mark.anyio
async def test_catalog_says_clearly_what_it_lacks(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    config = cloud(keystone, tmp_path, password_entry(keystone, project_id=keystone.project_id))
    async with traced_session() as (session, _):
        token = await Authenticator(config, session).token()
    with pytest.raises(EndpointNotFound, match="volumev3"):
        token.catalog.endpoint("volumev3")
    with pytest.raises(EndpointNotFound, match="Atlantis"):
        token.catalog.endpoint("compute", region="Atlantis")
    with pytest.raises(EndpointNotFound, match="admin"):
        token.catalog.endpoint("compute", interface="admin")


@real
@pytest.mark.anyio
@pytest.mark.parametrize("interface", ["public", "internal"])
async def test_open_cloud_picks_the_endpoints_of_the_cloud_s_interface(
    keystone: KeystoneService, tmp_path: Path, interface: str
) -> None:
    entry = {**password_entry(keystone, project_id=keystone.project_id), "interface": interface}
    config = cloud(keystone, tmp_path, entry)
    async with open_cloud(config) as opened:
        assert opened.authentications == 1
        endpoints = dict(opened.endpoints)
    prefix = "/internal" if interface == "internal" else ""
    assert endpoints == {
        "compute": f"{keystone.base_url}{prefix}/compute/v2.1",
        "image": f"{keystone.base_url}{prefix}/image",
    }  # no network service registered: none found, and no error for it


@real
@pytest.mark.anyio
async def test_open_cloud_keeps_a_compute_endpoint_override(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    override = "http://127.0.0.1:9/nova/v2.1"
    entry = {
        **password_entry(keystone, project_id=keystone.project_id),
        "compute_endpoint_override": override,
    }
    config = cloud(keystone, tmp_path, entry)
    async with open_cloud(config) as opened:
        assert opened.endpoint == override
        assert opened.endpoints["image"] == keystone.image_url


@real
@pytest.mark.anyio
async def test_open_cloud_in_a_region_the_catalog_lacks_fails_before_any_request(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    entry = {**password_entry(keystone, project_id=keystone.project_id), "region_name": "Atlantis"}
    config = cloud(keystone, tmp_path, entry)
    with pytest.raises(EndpointNotFound, match="compute.*Atlantis"):
        async with open_cloud(config):
            pytest.fail("opened a cloud with no compute endpoint")


# ------------------------------------------------------------------ a 401 from the service


async def revoke(keystone: KeystoneService, token: Token, *, by: Token) -> None:
    """Revoke ``token`` in Keystone (``DELETE /v3/auth/tokens``), as an operator would."""
    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            keystone.auth_url + "/auth/tokens",
            headers={"X-Auth-Token": by.value, "X-Subject-Token": token.value},
        ) as response,
    ):
        assert response.status == 204, await response.text()


@real
@pytest.mark.anyio
async def test_a_revoked_token_is_replaced_once_and_the_request_sent_again(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    # Keystone itself is the service here: GET /v3/auth/projects needs a valid token.
    config = cloud(keystone, tmp_path, password_entry(keystone, project_id=keystone.project_id))
    projects = keystone.auth_url + "/auth/projects"
    async with traced_session() as (session, wire):
        auth = Authenticator(config, session)
        transport = Transport(session, config, authenticator=auth)
        before = await transport.request("GET", projects)
        first = await auth.token()
        judge = await Authenticator(config, session).token()
        await revoke(keystone, first, by=judge)
        # Right after a revocation a Keystone with several threads may still accept the
        # token (docs/keystone-ci.md); ask until it refuses, for up to 3 s.
        for _ in range(30):
            wire.requests.clear()
            after = await transport.request("GET", projects)
            if wire.requests[0][2] == 401:
                break
            await anyio.sleep(0.1)
        assert [(m, p.removeprefix("/v3"), s) for m, p, s in wire.requests] == [
            ("GET", "/auth/projects", 401),  # the revoked token, refused
            ("POST", "/auth/tokens", 201),  # one new token
            ("GET", "/auth/projects", 200),  # the same request, once more
        ]
    assert before.status == after.status == 200
    assert keystone.project_id in {p["id"] for p in after.body["projects"]}
    assert (await auth.token()).value != first.value


@real
@pytest.mark.anyio
async def test_a_revoked_given_token_ends_in_one_auth_error(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    # auth_type token cannot get a new token once Keystone has revoked the one given.
    (tmp_path / "pw").mkdir()
    by_password = cloud(
        keystone, tmp_path / "pw", password_entry(keystone, project_id=keystone.project_id)
    )
    async with traced_session() as (session, wire):
        given = await Authenticator(by_password, session).token()
        judge = await Authenticator(by_password, session).token()
        config = cloud(
            keystone,
            tmp_path,
            {"auth_type": "token", "auth": {"token": given.value, "project_id": given.project_id}},
        )
        auth = Authenticator(config, session)
        transport = Transport(session, config, authenticator=auth)
        await transport.request("GET", keystone.auth_url + "/auth/projects")
        derived = await auth.token()
        await revoke(keystone, given, by=judge)  # and the token derived from it, same chain
        assert await check_token(keystone, derived, by=judge) == 404
        caught: AuthError | None = None
        for _ in range(30):  # until Keystone refuses it (see the test above)
            wire.requests.clear()
            try:
                await transport.request("GET", keystone.auth_url + "/auth/projects")
            except AuthError as exc:
                caught = exc
                break
            await anyio.sleep(0.1)
    assert caught is not None, "Keystone accepted the revoked token for 3 s"
    statuses = [(m, s) for m, _, s in wire.requests]
    assert statuses[0] == ("GET", 401)
    assert [s for m, s in statuses if m == "POST"] in ([401], [404])  # tried once, no loop
    assert len(statuses) == 2
    assert given.value not in str(caught)
    assert "'ci'" in str(caught)


# ------------------------------------------------------------------ openstacksdk as the oracle


def sdk_view(clouds_yaml: Path) -> dict[str, str]:
    """What openstacksdk (keystoneauth1 underneath) makes of cloud "ci" on the same Keystone."""
    from openstack.config.loader import OpenStackConfig

    loader = OpenStackConfig(
        config_files=[str(clouds_yaml)], secure_files=[], vendor_files=[], load_envvars=False
    )
    session = loader.get_one(cloud="ci").get_session()
    try:
        access = session.auth.get_access(session)
        view = {"project_id": access.project_id, "user_id": access.user_id}
        for service_type, interface in (
            ("compute", "public"),
            ("compute", "internal"),
            ("image", "public"),
        ):
            url = session.get_endpoint(service_type=service_type, interface=interface)
            view[f"{service_type} {interface}"] = str(url).rstrip("/")
        return view
    finally:
        session.session.close()


@real
@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack.*")
@pytest.mark.parametrize(
    "kind", ["password by project name", "password by project id", "application credential"]
)
async def test_bulkboot_reads_cloud_and_catalog_as_openstacksdk_does(
    keystone: KeystoneService, tmp_path: Path, kind: str
) -> None:
    if kind == "application credential":
        entry: dict[str, Any] = {
            "auth_type": "v3applicationcredential",
            "auth": {
                "application_credential_id": keystone.app_cred_id,
                "application_credential_secret": keystone.app_cred_secret,
            },
        }
    elif kind == "password by project name":
        entry = password_entry(
            keystone, project_name=keystone.project_name, project_domain_name="Default"
        )
    else:
        entry = password_entry(keystone, project_id=keystone.project_id)
    config = cloud(keystone, tmp_path, entry)
    async with traced_session() as (session, _):
        token = await Authenticator(config, session).token()
    ours = {
        "project_id": token.project_id,
        "user_id": token.user_id,
        "compute public": token.catalog.endpoint("compute"),
        "compute internal": token.catalog.endpoint("compute", interface="internal"),
        "image public": token.catalog.endpoint("image"),
    }
    theirs = await anyio.to_thread.run_sync(sdk_view, tmp_path / "clouds.yaml")
    assert ours == theirs


# ------------------------------------------------------------------ the shared token


@real
@pytest.mark.anyio
async def test_concurrent_callers_share_one_authentication(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    config = cloud(keystone, tmp_path, password_entry(keystone, project_id=keystone.project_id))
    tokens: list[Token] = []
    async with traced_session() as (session, wire):
        auth = Authenticator(config, session)

        async def one() -> None:
            tokens.append(await auth.token())

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        assert wire.token_posts() == [201]  # single flight: one POST for 50 callers
        assert len(tokens) == 50 and len({t.value for t in tokens}) == 1

        # A refused token is dropped: the next callers authenticate anew, once.
        auth.invalidate(tokens[0])
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
        assert wire.token_posts() == [201, 201]
    fresh = {t.value for t in tokens[50:]}
    assert len(fresh) == 1 and tokens[0].value not in fresh
    await validate(keystone, tokens[50])


@real
@pytest.mark.anyio
async def test_a_short_lived_token_is_renewed_ahead_of_keystones_expiry(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    # The twin issues tokens that live a few seconds: real expiry, real clocks.
    (tmp_path / "long").mkdir()
    judge_config = cloud(
        keystone, tmp_path / "long", password_entry(keystone, project_id=keystone.project_id)
    )
    entry = password_entry(keystone, project_id=keystone.project_id)
    entry["auth"]["auth_url"] = keystone.short_url
    config = cloud(keystone, tmp_path, entry)
    async with traced_session() as (session, wire):
        judge = await Authenticator(judge_config, session).token()  # lives an hour
        auth = Authenticator(config, session)
        first = await auth.token()
        # Keystone states whole seconds (issued_at and expires_at are truncated).
        assert first.lifetime == pytest.approx(keystone.short_expiration, abs=1.0)
        assert first.refresh_at < first.expires_local
        if time.monotonic() < first.refresh_at:  # (a CI stall of 2 s would skip this)
            assert await auth.token() is first  # not yet due: no request
            assert wire.token_posts()[1:] == [201]

        await anyio.sleep(max(0.0, first.refresh_at - time.monotonic()) + 0.05)
        second = await auth.token()  # due: renewed, by one POST
        assert wire.token_posts()[1:] == [201, 201]
        assert second.value != first.value
        assert await check_token(keystone, second, by=judge) == 200

        # Once Keystone's own expires_at has passed, it refuses the first token.
        expired_in = (first.expires_at - datetime.now(timezone.utc)).total_seconds()
        await anyio.sleep(max(0.0, expired_in) + 1.1)
        assert await check_token(keystone, first, by=judge) == 404
        assert await check_token(keystone, first, by=first) == 401


@real
@pytest.mark.anyio
async def test_concurrent_callers_share_one_refusal(
    keystone: KeystoneService, tmp_path: Path
) -> None:
    # Many workers with a wrong password must not each try it: clouds lock accounts out.
    entry = password_entry(keystone, project_id=keystone.project_id)
    entry["auth"]["password"] = "wrong-" + keystone.password
    config = cloud(keystone, tmp_path, entry)
    refused: list[AuthError] = []
    async with traced_session() as (session, wire):
        auth = Authenticator(config, session)

        async def one() -> None:
            try:
                await auth.token()
            except AuthError as exc:
                refused.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
    assert len(refused) == 20
    assert wire.token_posts() == [401]


# ------------------------------------------------------------------ secrets in the debug log


@real
@pytest.mark.anyio
async def test_debug_log_of_real_exchanges_holds_no_secret(
    keystone: KeystoneService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bulkboot.http")
    (tmp_path / "pw").mkdir()
    (tmp_path / "ac").mkdir()
    (tmp_path / "tok").mkdir()
    (tmp_path / "bad").mkdir()
    by_password = cloud(
        keystone, tmp_path / "pw", password_entry(keystone, project_id=keystone.project_id)
    )
    by_credential = cloud(
        keystone,
        tmp_path / "ac",
        {
            "auth_type": "v3applicationcredential",
            "auth": {
                "application_credential_id": keystone.app_cred_id,
                "application_credential_secret": keystone.app_cred_secret,
            },
        },
    )
    wrong = "wrong-" + keystone.password
    bad_entry = password_entry(keystone, project_id=keystone.project_id)
    bad_entry["auth"]["password"] = wrong
    bad = cloud(keystone, tmp_path / "bad", bad_entry)
    async with traced_session() as (session, wire):
        first = await Authenticator(by_password, session).token()
        second = await Authenticator(by_credential, session).token()
        by_token = cloud(
            keystone,
            tmp_path / "tok",
            {"auth_type": "token", "auth": {"token": first.value, "project_id": first.project_id}},
        )
        third = await Authenticator(by_token, session).token()
        with pytest.raises(AuthError):
            await Authenticator(bad, session).token()
    assert wire.token_posts() == [201, 201, 201, 401]
    log = caplog.text
    assert log.count("/v3/auth/tokens") >= 4  # the exchanges were logged...
    assert "X-Subject-Token" in log
    assert "***" in log  # bodies and headers were logged, masked
    secrets = {
        "password": keystone.password,
        "wrong password": wrong,
        "application credential secret": keystone.app_cred_secret,
        "password token": first.value,
        "credential token": second.value,
        "token-method token": third.value,
    }
    leaked = [what for what, secret in secrets.items() if secret in log]
    assert not leaked, f"in the debug log: {leaked}"  # ... and nothing secret in them


# ---------------------------------------------- skip or fail (no Keystone needed)

COMPLETE = {
    PREFIX + "URL": "http://127.0.0.1:9/v3",
    PREFIX + "REGION": "RegionOne",
    PREFIX + "USERNAME": "admin",
    PREFIX + "USER_ID": "u1",
    PREFIX + "USER_DOMAIN": "Default",
    PREFIX + "ADMIN_PASSWORD": "pw-secret-1",
    PREFIX + "PROJECT": "admin",
    PREFIX + "PROJECT_ID": "p1",
    PREFIX + "PROJECT_DOMAIN": "Default",
    PREFIX + "APP_CRED_ID": "ac1",
    PREFIX + "APP_CRED_NAME": "ci",
    PREFIX + "APP_CRED_SECRET": "ac-secret-1",
    PREFIX + "COMPUTE_URL": "http://127.0.0.1:9/compute/v2.1",
    PREFIX + "COMPUTE_INTERNAL_URL": "http://127.0.0.1:9/internal/compute/v2.1",
    PREFIX + "IMAGE_URL": "http://127.0.0.1:9/image",
    PREFIX + "TOKEN_EXPIRATION": "3600",
    PREFIX + "SHORT_URL": "http://127.0.0.1:9/v3",
    PREFIX + "SHORT_TOKEN_EXPIRATION": "3",
}


def test_without_keystone_a_developer_skips() -> None:
    with pytest.raises(pytest.skip.Exception, match="BULKBOOT_KEYSTONE_URL is unset"):
        require_keystone({})


def test_without_keystone_ci_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE}=1 but no real Keystone"):
        require_keystone({REQUIRE: "1"})


def test_an_incomplete_export_fails_naming_what_is_missing() -> None:
    environ = dict(COMPLETE)
    del environ[PREFIX + "APP_CRED_SECRET"], environ[PREFIX + "PROJECT_ID"]
    with pytest.raises(pytest.fail.Exception) as caught:
        require_keystone(environ)
    assert "BULKBOOT_KEYSTONE_PROJECT_ID" in str(caught.value)
    assert "BULKBOOT_KEYSTONE_APP_CRED_SECRET" in str(caught.value)


def test_a_keystone_that_does_not_answer_fails_even_outside_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="does not answer"):
        require_keystone(COMPLETE)  # port 9 (discard): nothing listens on 127.0.0.1


def test_the_service_record_hides_its_secrets() -> None:
    service = KeystoneService.from_environ(COMPLETE)
    assert service is not None
    assert service.base_url == "http://127.0.0.1:9"
    assert service.token_expiration == 3600
    assert "pw-secret-1" not in repr(service) and "ac-secret-1" not in repr(service)
