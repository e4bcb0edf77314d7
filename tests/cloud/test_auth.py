"""Keystone against the simulator over real sockets: methods, single flight, expiry, 401."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import aiohttp.web
import anyio
import pytest

from bulkboot.cloud.auth import Authenticator
from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.config import CloudConfig, config_from_mapping
from bulkboot.cloud.keystone import stated_lifetime
from bulkboot.cloud.session import HttpOptions
from bulkboot.errors import AuthError, CloudConnectionError
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import APP_CRED_SECRET, PASSWORD, PROJECT_ID, USER_ID
from tests.cloud.conftest import drive_simulator_clock
from tests.cloud.fake_time import JumpTime

pytestmark = pytest.mark.anyio


async def test_password_method(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    async with aiohttp.ClientSession() as session:
        token = await Authenticator(sim_cloud, session).token()
    assert (token.user_id, token.project_id) == (USER_ID, PROJECT_ID)
    assert token.catalog.endpoint("compute").endswith("/compute/v2.1")
    assert token.expires_at.tzinfo is not None
    assert token.value not in repr(token)
    assert sim.stats()["authentications"] == 1


async def test_application_credential_method(sim: RunningSimulator) -> None:
    config = config_from_mapping(sim.clouds_yaml(), "simulator-appcred")
    async with aiohttp.ClientSession() as session:
        token = await Authenticator(config, session).token()
    assert token.project_id == PROJECT_ID
    assert token.methods == ("application_credential",)


async def test_token_method_rescopes_and_warns(
    sim: RunningSimulator, sim_cloud: CloudConfig, caplog: pytest.LogCaptureFixture
) -> None:
    sim.configure(token_lifetime=600)
    async with aiohttp.ClientSession() as session:
        first = await Authenticator(sim_cloud, session).token()
        config = dataclasses.replace(sim_cloud, auth_type="token", token=first.value, password=None)
        with caplog.at_level(logging.WARNING, logger="bulkboot.cloud"):
            second = await Authenticator(config, session).token()
    assert second.value != first.value
    assert second.expires_at == first.expires_at  # Keystone keeps it: it cannot be extended
    assert second.refresh_at == second.expires_local  # so it is not fetched again early
    assert first.refresh_at == pytest.approx(first.expires_local - 120, abs=1)
    assert "cannot be renewed" in caplog.text
    assert first.value not in caplog.text


async def test_wrong_password_names_cloud_url_user_not_the_password(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    config = dataclasses.replace(sim_cloud, password="not-" + PASSWORD)
    with pytest.raises(AuthError) as info:
        async with open_cloud(config):
            pass
    message = str(info.value)
    assert message.startswith(
        f"cannot authenticate to cloud 'simulator' at {sim.auth_url} as 'admin': Keystone says:"
    )
    assert "HTTP 401" in message
    assert PASSWORD not in message and "not-" + PASSWORD not in message


async def test_wrong_secret_is_an_auth_error(sim: RunningSimulator) -> None:
    config = config_from_mapping(sim.clouds_yaml(), "simulator-appcred")
    config = dataclasses.replace(config, application_credential_secret="nope-" + APP_CRED_SECRET)
    with pytest.raises(AuthError) as info:
        async with open_cloud(config):
            pass
    assert "application credential" in str(info.value)
    assert APP_CRED_SECRET not in str(info.value)


async def test_cold_cache_thousand_waiters_one_authentication(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = Authenticator(sim_cloud, session)
        tokens = []

        async def ask() -> None:
            tokens.append(await authenticator.token())

        async with anyio.create_task_group() as group:
            for _ in range(1000):
                group.start_soon(ask)
    assert len({t.value for t in tokens}) == 1
    assert sim.stats()["authentications"] == 1
    assert authenticator.authentications == 1


async def test_500_concurrent_requests_one_authentication(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with open_cloud(sim_cloud, options=HttpOptions(concurrency=50)) as cloud:
        assert cloud.authenticator is not None
        cloud.authenticator.invalidate(cloud.authenticator.current)  # type: ignore[arg-type]
        sim.reset()  # cold: the simulator forgets every token and count
        async with anyio.create_task_group() as group:
            for _ in range(500):
                group.start_soon(cloud.compute.limits)
    stats = sim.stats()
    assert stats["authentications"] == 1
    assert stats["requests"]["GET /compute/v2.1/limits"] == {"200": 500}


async def test_a_failed_fetch_is_shared_not_repeated(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    config = dataclasses.replace(sim_cloud, password="wrong")
    async with aiohttp.ClientSession() as session:
        authenticator = Authenticator(config, session)
        failures = []

        async def ask() -> None:
            try:
                await authenticator.token()
            except AuthError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as group:
            for _ in range(200):
                group.start_soon(ask)
    assert len(failures) == 200
    assert sim.stats()["requests"]["POST /identity/v3/auth/tokens"] == {"401": 1}


async def test_token_refreshed_before_expiry_mid_run(
    sim: RunningSimulator, sim_cloud: CloudConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One clock for the client and the simulator, moved by hand: Keystone's tokens
    # expire on it and the client ages them on it.
    clock = JumpTime(start=time.time())
    drive_simulator_clock(sim, monkeypatch, clock.clock)
    sim.configure(token_lifetime=2.0)  # renewed 0.5 s before it runs out
    async with open_cloud(sim_cloud, clock=clock.clock, sleep=clock.sleep) as cloud:
        for _ in range(5):
            await cloud.compute.limits()
            clock.advance(0.6)
    stats = sim.stats()
    assert stats["authentications"] >= 2
    assert stats["requests"]["GET /compute/v2.1/limits"] == {"200": 5}  # never a 401


async def test_401_reauthenticates_once_and_retries(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with open_cloud(sim_cloud) as cloud:
        await cloud.compute.limits()
        sim.reset()  # every token is forgotten: the next request meets a 401
        limits = await cloud.compute.limits()
        assert "maxTotalInstances" in limits
    stats = sim.stats()
    assert stats["requests"]["GET /compute/v2.1/limits"] == {"401": 1, "200": 1}
    assert stats["authentications"] == 1


async def test_second_401_is_an_auth_error_without_secrets(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with open_cloud(sim_cloud) as cloud:
        sim.configure(token_lifetime=0.000001)  # every new token is dead on arrival
        sim.reset(dataclasses.replace(sim.config, token_lifetime=0.000001))
        with pytest.raises(AuthError) as info:
            await cloud.compute.limits()
    message = str(info.value)
    assert "cloud 'simulator'" in message and "'admin'" in message
    assert "after authenticating again" in message
    assert PASSWORD not in message


def test_lifetime_is_measured_on_keystones_clock() -> None:
    """A local clock years off does not matter: lifetime is expires_at - issued_at."""
    issued = datetime(1999, 1, 1, tzinfo=timezone.utc)
    assert stated_lifetime(issued + timedelta(hours=1), issued, None) == 3600
    date = "Fri, 01 Jan 1999 00:10:00 GMT"
    assert stated_lifetime(issued + timedelta(hours=1), None, date) == 3000


@pytest.mark.parametrize("suffix", ["/identity", "/identity/", "/identity/v2.0"])
async def test_auth_url_without_v3_is_found_by_discovery(
    sim: RunningSimulator, sim_cloud: CloudConfig, suffix: str
) -> None:
    config = dataclasses.replace(sim_cloud, auth_url=sim.base_url + suffix)
    async with open_cloud(config) as cloud:
        await cloud.compute.limits()
    requests = sim.stats()["requests"]
    assert (
        sum(requests["GET /identity/"].values()) + sum(requests.get("GET /identity", {}).values())
        == 1
    )
    assert requests["POST /identity/v3/auth/tokens"] == {"201": 1}


async def test_many_401s_at_once_cost_one_authentication(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with open_cloud(sim_cloud, options=HttpOptions(concurrency=100)) as cloud:
        await cloud.compute.limits()
        sim.reset()  # the token is revoked while 100 requests are about to use it
        async with anyio.create_task_group() as group:
            for _ in range(100):
                group.start_soon(cloud.compute.limits)
    stats = sim.stats()
    assert stats["authentications"] == 1
    assert stats["requests"]["GET /compute/v2.1/limits"]["200"] == 100


async def test_old_token_serves_while_its_renewal_is_on_the_way(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    now = [0.0]
    async with aiohttp.ClientSession() as session:
        authenticator = Authenticator(sim_cloud, session, clock=lambda: now[0])
        old = await authenticator.token()
        now[0] = old.refresh_at + 1  # due for renewal, 119 s still to live
        sim.configure(latency=0.5)  # Keystone is slow to answer
        served: list[str] = []

        async def ask() -> None:
            served.append((await authenticator.token()).value)

        async with anyio.create_task_group() as group:
            group.start_soon(ask)  # this one renews
            await anyio.sleep(0.1)
            group.start_soon(ask)  # this one is served the old token at once
    renewer, bystander = served[1], served[0]
    assert bystander == old.value  # served while the renewal was on its way
    assert renewer != old.value
    assert sim.stats()["authentications"] == 2


async def test_token_warning_follows_the_expected_run_length(
    sim: RunningSimulator, sim_cloud: CloudConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """A given token good for 2 h: no warning for a 30 min run, one for a 3 h run."""
    sim.configure(token_lifetime=7200)
    async with aiohttp.ClientSession() as session:
        first = await Authenticator(sim_cloud, session).token()
        config = dataclasses.replace(sim_cloud, auth_type="token", token=first.value, password=None)
        with caplog.at_level(logging.WARNING, logger="bulkboot.cloud"):
            short = Authenticator(config, session)
            short.expect_run(1800)
            await short.token()
            assert "cannot be renewed" not in caplog.text
            long = Authenticator(config, session)
            await long.token()
            assert "cannot be renewed" not in caplog.text  # 2 h > the default hour
            long.expect_run(3 * 3600)
    assert "cannot be renewed; this run is expected to take about 180 min" in caplog.text
    assert caplog.text.count("cannot be renewed") == 1
    assert first.value not in caplog.text


# ---------------------------------------------------------------- Keystone's own faults


async def _serve(app: aiohttp.web.Application, ssl_context: object = None) -> tuple[Any, int]:
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)  # type: ignore[arg-type]
    await site.start()
    return runner, runner.addresses[0][1]


def _password_config(auth_url: str, password: str) -> CloudConfig:
    return CloudConfig(
        name="ks",
        source="test",
        auth_type="password",
        auth_url=auth_url,
        username="admin",
        password=password,
        project_name="demo",
        user_domain_name="Default",
        project_domain_name="Default",
    )


async def test_a_keystone_certificate_not_trusted_says_what_to_set() -> None:
    """One connection, one clear message: a certificate is not retried (it does not
    become trusted by asking again)."""
    import asyncio
    import ssl

    import trustme

    async def tokens(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({}, status=500)

    app = aiohttp.web.Application()
    app.router.add_post("/v3/auth/tokens", tokens)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    runner, port = await _serve(app, context)
    connections = 0

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # a TCP relay in front of the TLS server: it counts the connections made
        nonlocal connections
        connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    front = await asyncio.start_server(relay, "127.0.0.1", 0)
    front_port = front.sockets[0].getsockname()[1]
    try:
        config = _password_config(f"https://127.0.0.1:{front_port}/v3", "s3cret-pw")
        with pytest.raises(CloudConnectionError) as info:
            async with open_cloud(config):
                pass
    finally:
        front.close()
        await runner.cleanup()
    message = str(info.value)
    assert f"TLS certificate of https://127.0.0.1:{front_port} is not trusted" in message
    assert "set cacert" in message
    assert connections == 1


@pytest.mark.parametrize("password", ["plain-pw-123", 'quo"te\\pässwörd'])
async def test_keystone_echoing_the_password_never_shows_it(
    password: str, caplog: pytest.LogCaptureFixture
) -> None:
    import json

    async def tokens(request: aiohttp.web.Request) -> aiohttp.web.Response:
        sent = await request.json()
        echoed = sent["auth"]["identity"]["password"]["user"]["password"]
        body = {"error": {"code": 401, "message": f"wrong password {echoed}", "title": "x"}}
        return aiohttp.web.Response(
            status=401, text=json.dumps(body), content_type="application/json"
        )

    app = aiohttp.web.Application()
    app.router.add_post("/v3/auth/tokens", tokens)
    runner, port = await _serve(app)
    try:
        config = _password_config(f"http://127.0.0.1:{port}/v3", password)
        with caplog.at_level(logging.DEBUG, logger="bulkboot"):
            with pytest.raises(AuthError) as info:
                async with open_cloud(config):
                    pass
    finally:
        await runner.cleanup()
    assert "wrong password" in str(info.value)
    assert password not in str(info.value)
    assert "wrong password" in caplog.text  # the --debug log shows the answer ...
    assert password not in caplog.text  # ... without the secret
    assert json.dumps(password)[1:-1] not in caplog.text
