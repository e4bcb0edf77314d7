"""The transport over real sockets: retries, Retry-After, TLS, timings, the debug log."""

from __future__ import annotations

import dataclasses
import functools
import logging
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
import trustme
from aiohttp import web

from bulkboot.cloud.client import Cloud, open_cloud
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import HttpOptions
from bulkboot.cloud.timing import RequestTiming
from bulkboot.errors import (
    CloudConnectionError,
    RateLimited,
    ServerError,
    Unavailable,
    UsageError,
)
from bulkboot.simulator import RunningSimulator
from bulkboot.simulator.config import PASSWORD
from tests.cloud.bodies import body, request
from tests.cloud.fake_time import JumpTime, VirtualTime
from tests.cloud.stubs import stub_config, stub_nova

pytestmark = pytest.mark.anyio
FAST = HttpOptions(retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05))


async def _together(cloud: Cloud, count: int, time: VirtualTime, done: Callable[[], int]) -> None:
    """``count`` limits requests at once, on virtual time: the clock moves whenever every
    request not yet answered (``done()`` counts the answered) is waiting."""
    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(cloud.compute.limits)
        group.start_soon(
            functools.partial(
                time.run, until=lambda: done() == count, asleep=lambda: count - done()
            )
        )


async def test_429_with_retry_after_is_waited_out(
    sim: RunningSimulator, sim_cloud: CloudConfig, sim_time: VirtualTime
) -> None:
    timings: list[RequestTiming] = []
    time = sim_time
    async with open_cloud(
        sim_cloud, on_request=timings.append, clock=time.clock, sleep=time.sleep
    ) as cloud:
        sim.configure(rate_limit=20)
        await _together(cloud, 30, time, lambda: len(timings) - 1)  # the token's is one
    served = sim.stats()["requests"]["GET /compute/v2.1/limits"]
    assert served["200"] == 30
    assert served["429"] >= 1
    retried = [t for t in timings if t.attempts > 1]
    assert retried and all(t.status == 200 for t in retried)
    assert min(t.seconds for t in retried) >= 0.9  # Retry-After: 1 was honoured
    # where the time went: waiting for the API apart from the answer that came
    assert sum(t.throttled for t in timings) == served["429"]
    for timing in retried:
        assert timing.throttled == timing.attempts - 1
        assert timing.waited >= 0.9 * timing.throttled
        assert timing.answer_seconds is not None
        assert timing.waited + timing.answer_seconds <= timing.seconds + 1e-9


async def test_429_without_retry_after_backs_off(
    sim: RunningSimulator, sim_cloud: CloudConfig, sim_time: VirtualTime
) -> None:
    options = HttpOptions(retry=RetryPolicy(max_attempts=8, base_delay=0.1, max_delay=1.0))
    timings: list[RequestTiming] = []
    time = sim_time
    async with open_cloud(
        sim_cloud, options=options, on_request=timings.append, clock=time.clock, sleep=time.sleep
    ) as cloud:
        sim.configure(rate_limit=20, rate_limit_retry_after=False)
        await _together(cloud, 30, time, lambda: len(timings) - 1)
    served = sim.stats()["requests"]["GET /compute/v2.1/limits"]
    assert served["200"] == 30 and served["429"] >= 1


async def test_failed_answers_are_retried_max_attempts_times(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    options = HttpOptions(retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    async with open_cloud(sim_cloud, options=options) as cloud:
        sim.configure(error_500_fraction=1.0)
        with pytest.raises(ServerError) as info:
            await cloud.compute.limits()
    assert info.value.request_id  # Nova's request id is kept
    assert sim.stats()["requests"]["GET /compute/v2.1/limits"] == {"500": 3}


async def test_throttled_retries_are_bounded_by_time_not_attempts(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    """An API that keeps answering 503 is waited out for ``max_throttled_seconds``,
    each wait longer than the last, however many attempts that takes; then one error
    that says how long it was tried."""
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, max_throttled_seconds=30)
    time = JumpTime()
    async with open_cloud(
        sim_cloud, options=HttpOptions(retry=policy), clock=time.clock, sleep=time.sleep
    ) as cloud:
        sim.configure(unavailable_fraction=1.0)
        with pytest.raises(Unavailable) as info:
            await cloud.compute.limits()
    served = sim.stats()["requests"]["GET /compute/v2.1/limits"]
    assert served["503"] == len(time.waits) + 1 > policy.max_attempts
    assert 30 - policy.max_delay < sum(time.waits) <= 30
    assert time.waits[-1] > time.waits[0]  # backed off further
    assert info.value.request_id
    assert f"turned away {served['503']} times" in str(info.value)


async def test_a_long_retry_after_is_an_error_not_a_wait(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    options = HttpOptions(retry=RetryPolicy(max_retry_after=0.5))
    async with open_cloud(sim_cloud, options=options) as cloud:
        sim.configure(rate_limit=1)
        await cloud.compute.limits()
        with pytest.raises(RateLimited) as info:
            await cloud.compute.limits()
    assert info.value.retry_after is not None and info.value.retry_after >= 1


async def test_503_and_500_on_gets_are_retried(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    async with open_cloud(sim_cloud, options=FAST) as cloud:
        sim.configure(unavailable_fraction=0.2, error_500_fraction=0.2)
        for _ in range(20):
            await cloud.compute.limits()
    served = sim.stats()["requests"]["GET /compute/v2.1/limits"]
    assert served["200"] == 20
    assert served.get("500", 0) + served.get("503", 0) >= 1


async def test_every_request_is_timed(sim: RunningSimulator, sim_cloud: CloudConfig) -> None:
    timings: list[RequestTiming] = []
    async with open_cloud(sim_cloud, on_request=timings.append) as cloud:
        await cloud.compute.negotiate("auto")
        await cloud.compute.limits()
        created = await cloud.compute.create_server(request(body("t1"), fleet="f"))
    assert [(t.method, t.path, t.status) for t in timings] == [
        ("POST", "/identity/v3/auth/tokens", 201),
        ("GET", "/compute/v2.1/", 200),
        ("GET", "/compute/v2.1/limits", 200),
        ("POST", "/compute/v2.1/servers", 202),
    ]
    assert all(t.attempts == 1 and t.seconds > 0 for t in timings)
    assert created.timing == timings[-1]
    assert cloud.counts[("GET", 200)] == 2
    assert len(cloud.auth_timings) == 1


async def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = CloudConfig(
        name="gone",
        source="test",
        auth_type="none",
        compute_endpoint_override=f"http://127.0.0.1:{port}/v2.1",
    )
    options = HttpOptions(retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    async with open_cloud(config, options=options) as cloud:
        with pytest.raises(CloudConnectionError) as info:
            await cloud.compute.limits()
    assert str(info.value).startswith(
        f"cloud 'gone': GET http://127.0.0.1:{port}/v2.1/limits: cannot connect to "
        f"http://127.0.0.1:{port}"
    )
    assert "after 3 attempts" in str(info.value)


async def test_client_rate_limit_keeps_under_the_proxys(
    sim: RunningSimulator, sim_cloud: CloudConfig, sim_time: VirtualTime
) -> None:
    timings: list[RequestTiming] = []
    time = sim_time
    async with open_cloud(
        sim_cloud,
        options=HttpOptions(rate=15),
        on_request=timings.append,
        clock=time.clock,
        sleep=time.sleep,
    ) as cloud:
        sim.configure(rate_limit=20)
        await _together(cloud, 30, time, lambda: len(timings) - 1)
    assert sim.stats()["requests"]["GET /compute/v2.1/limits"] == {"200": 30}  # no 429


# ---------------------------------------------------------------- secrets


async def test_debug_log_has_no_secrets(
    sim: RunningSimulator, sim_cloud: CloudConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bulkboot.http"):
        async with open_cloud(sim_cloud) as cloud:
            await cloud.compute.negotiate("auto")
            await cloud.compute.create_server(
                request(body("d1", adminPass="admin-pass-xyz"), fleet="f")
            )
            assert cloud.authenticator is not None and cloud.authenticator.current is not None
            token = cloud.authenticator.current.value
    text = caplog.text
    assert "REQ: curl -g -i -X POST" in text and '"name":"d1"' in text
    assert "X-Auth-Token: ***" in text and "X-Subject-Token" in text
    for secret in (PASSWORD, token, "admin-pass-xyz"):
        assert secret not in text


async def test_no_debug_formatting_when_debug_is_off(
    sim: RunningSimulator, sim_cloud: CloudConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bulkboot.http"):
        async with open_cloud(sim_cloud) as cloud:
            await cloud.compute.limits()
    assert "curl" not in caplog.text


# ---------------------------------------------------------------- TLS


@asynccontextmanager
async def tls_nova(
    ca: trustme.CA, *, client_ca: trustme.CA | None = None, seen: list[str | None] | None = None
) -> AsyncIterator[str]:
    """A loopback HTTPS server answering Nova's version document, signed by ``ca``.

    With ``client_ca`` it asks for a client certificate signed by that CA; ``seen``
    collects the ``X-Auth-Token`` header of every request (None when absent).
    """

    async def version(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append(request.headers.get("X-Auth-Token"))
        doc = {"version": {"id": "v2.1", "version": "2.90", "min_version": "2.1"}}
        return web.json_response(doc)

    app = web.Application()
    app.router.add_get("/v2.1/", version)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}/v2.1"
    finally:
        await runner.cleanup()


async def test_tls_self_signed_rejected_by_default_accepted_with_cacert(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = trustme.CA()
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    async with tls_nova(ca) as url:
        config = CloudConfig(
            name="tls", source="test", auth_type="none", compute_endpoint_override=url
        )
        async with open_cloud(config, options=FAST) as cloud:
            with pytest.raises(CloudConnectionError) as info:
                await cloud.compute.negotiate("auto")
        assert "TLS certificate of https://127.0.0.1" in str(info.value)
        assert "set cacert" in str(info.value)

        trusted = dataclasses.replace(config, cacert=str(cafile))
        async with open_cloud(trusted) as cloud:
            assert str(await cloud.compute.negotiate("auto")) == "2.90"

        insecure = dataclasses.replace(config, verify=False)
        with caplog.at_level(logging.WARNING, logger="bulkboot.cloud"):
            async with open_cloud(insecure) as cloud:
                assert str(await cloud.compute.negotiate("2.5")) == "2.5"
        assert "verification is OFF" in caplog.text


async def test_an_unusable_url_fails_at_once() -> None:
    config = CloudConfig(
        name="bad",
        source="test",
        auth_type="none",
        compute_endpoint_override="http://[::1/v2.1",
    )
    async with open_cloud(config) as cloud:
        with pytest.raises(CloudConnectionError, match="not a usable URL"):
            await cloud.compute.limits()
    assert cloud.counts[("GET", None)] == 1


# Python 3.10's asyncio (sslproto before its 3.11 rewrite) leaves the TLS transport of a
# connection the server refused during the handshake for the collector, which warns;
# from 3.11 it is closed, and the warning stays an error there.
F = TypeVar("F", bound=Callable[..., Any])


def _py310_refused_tls(test: F) -> F:
    if sys.version_info >= (3, 11):
        return test
    return pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function _SSLProtocolTransport.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    )(test)


@_py310_refused_tls
async def test_client_certificate_is_sent_and_auth_none_sends_no_token(tmp_path: Path) -> None:
    ca, client_ca = trustme.CA(), trustme.CA()
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    client = client_ca.issue_cert("bulkboot-client")
    certfile, keyfile = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(certfile))
    client.private_key_pem.write_to_path(str(keyfile))
    seen: list[str | None] = []
    async with tls_nova(ca, client_ca=client_ca, seen=seen) as url:
        config = CloudConfig(
            name="mtls",
            source="test",
            auth_type="none",
            compute_endpoint_override=url,
            cacert=str(cafile),
        )
        options = HttpOptions(retry=RetryPolicy(max_attempts=2, base_delay=0.01))
        async with open_cloud(config, options=options) as cloud:
            with pytest.raises(CloudConnectionError):
                await cloud.compute.negotiate("auto")  # no client certificate: refused
        with_cert = dataclasses.replace(config, cert=str(certfile), key=str(keyfile))
        async with open_cloud(with_cert) as cloud:
            assert str(await cloud.compute.negotiate("auto")) == "2.90"
    assert seen == [None]  # auth_type none: no token was sent


@pytest.mark.parametrize(
    ("options", "message"),
    [(HttpOptions(rate=-1.0), "--rate"), (HttpOptions(concurrency=0), "concurrency")],
)
async def test_bad_pool_settings_are_usage_errors(
    sim_cloud: CloudConfig, options: HttpOptions, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        async with open_cloud(sim_cloud, options=options):
            pass


async def test_503_with_retry_after_is_waited_out(
    sim: RunningSimulator, sim_cloud: CloudConfig
) -> None:
    timings: list[RequestTiming] = []
    options = HttpOptions(retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05))
    time = JumpTime()
    async with open_cloud(
        sim_cloud, options=options, on_request=timings.append, clock=time.clock, sleep=time.sleep
    ) as cloud:
        sim.configure(unavailable_fraction=0.3, unavailable_retry_after=1)
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(cloud.compute.limits)
    served = sim.stats()["requests"]["GET /compute/v2.1/limits"]
    assert served["200"] == 10
    assert served["503"] >= 1
    retried = [t for t in timings if t.attempts > 1]
    assert retried and all(t.status == 200 for t in retried)
    assert min(t.seconds for t in retried) >= 0.9  # Retry-After: 1, not the 0.01 s back-off


async def test_a_retry_after_date_is_read_on_the_servers_clock() -> None:
    """The server's clock is an hour ahead: ``Retry-After: <its now + 1 s>`` is 1 s."""
    answers: list[web.Request] = []

    async def limits(request: web.Request) -> web.Response:
        answers.append(request)
        if len(answers) == 1:
            ahead = datetime.now(timezone.utc) + timedelta(hours=1)
            headers = {
                "Date": format_datetime(ahead, usegmt=True),
                "Retry-After": format_datetime(ahead + timedelta(seconds=1), usegmt=True),
            }
            return web.json_response({"message": "slow down"}, status=429, headers=headers)
        return web.json_response({"limits": {"absolute": {"maxTotalInstances": 10}}})

    time = JumpTime()
    async with stub_nova([("GET", "/limits", limits)]) as url:
        async with open_cloud(
            stub_config(url), options=FAST, clock=time.clock, sleep=time.sleep
        ) as cloud:
            assert await cloud.compute.limits() == {"maxTotalInstances": 10}
    assert len(answers) == 2
    assert time.waits == [1.0]  # waited the second, not an hour (or 0)


async def test_rate_holds_when_requests_queue_for_connections() -> None:
    """``--rate 20`` with 30 connections and a slow server: requests that waited for a
    connection must not go out together. Sends are counted where they arrive.

    On virtual time: the server's 2 s and the rate's slots pass on the same clock, which
    moves once every request holding a connection waits (for its rate slot, or for the
    server's answer) and no request is in transit.
    """
    time = VirtualTime()
    arrivals: list[float] = []
    answered: list[RequestTiming] = []

    async def limits(request: web.Request) -> web.Response:
        now = time.clock()
        arrivals.append(now)
        # the first 30 all finish together, freeing 30 connections at once
        await time.sleep(max(0.05, arrivals[0] + 2.0 - now))
        return web.json_response({"limits": {"absolute": {}}})

    async with stub_nova([("GET", "/limits", limits)]) as url:
        async with open_cloud(
            stub_config(url),
            options=HttpOptions(concurrency=30, rate=20),
            on_request=answered.append,
            clock=time.clock,
            sleep=time.sleep,
        ) as cloud:
            async with anyio.create_task_group() as group:
                for _ in range(60):
                    group.start_soon(cloud.compute.limits)
                group.start_soon(
                    functools.partial(
                        time.run,
                        until=lambda: len(answered) == 60,
                        asleep=lambda: min(30, 60 - len(answered)),
                    )
                )
    assert len(arrivals) == 60
    busiest = max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals)
    assert busiest <= 22, f"{busiest} requests in one second at --rate 20"


async def test_deletes_against_a_rate_limited_api_all_get_through(
    sim: RunningSimulator, sim_cloud: CloudConfig, sim_time: VirtualTime
) -> None:
    """``destroy``'s case: 200 DELETEs at once against an API that takes 20 a second.
    Each is turned away again and again on the way; none gives up while the API keeps
    answering (it used to after 6 attempts), and the crowd spreads out as it waits."""
    timings: list[RequestTiming] = []
    gone: list[bool] = []
    time = sim_time

    async def delete(index: int) -> None:
        gone.append(await cloud.compute.delete_server(f"00000000-0000-4000-8000-{index:012d}"))

    async with open_cloud(
        sim_cloud,
        options=HttpOptions(concurrency=200),
        on_request=timings.append,
        clock=time.clock,
        sleep=time.sleep,
    ) as cloud:
        sim.configure(rate_limit=20)
        async with anyio.create_task_group() as group:
            for index in range(200):
                group.start_soon(delete, index)
            group.start_soon(
                functools.partial(
                    time.run, until=lambda: len(gone) == 200, asleep=lambda: 200 - len(gone)
                )
            )
        totals = cloud.totals
    served = sim.stats()["requests"]["DELETE /compute/v2.1/servers/{server_id}"]
    assert served["404"] == 200 and gone == [False] * 200  # every one answered
    deletes = [t for t in timings if t.method == "DELETE"]
    # spread out as they waited, and still done in well under 3 times the ideal 10 s
    took = max(t.started + t.seconds for t in deletes) - min(t.started for t in deletes)
    assert took < 25
    assert sum(t.throttled for t in deletes) == served["429"] == totals.throttled
    assert all(t.waited >= 1.0 for t in deletes if t.throttled)  # Retry-After: 1 kept
