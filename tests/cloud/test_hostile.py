"""The client against a hostile endpoint (``hostile.py``, real sockets): redirects are
never followed, answers are capped (gzip bombs included), a stall costs one API timeout
and says which endpoint, and a token that dies at once does not cost one
authentication per request."""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio
import pytest

from bulkboot.cloud.client import Cloud, open_cloud
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import HttpOptions
from bulkboot.cloud.timing import Activity
from bulkboot.errors import (
    EXIT_INVALID,
    AnswerTooLarge,
    AuthError,
    CreateUncertain,
    Redirected,
    RequestTimeout,
    ServerError,
)
from tests.cloud.bodies import body, request
from tests.cloud.fake_time import JumpTime
from tests.cloud.hostile import (
    ADMIN_PASS,
    BOMB_BYTES,
    HUGE_BYTES,
    LISTED,
    PASSWORD,
    TOKEN,
    HostileCloud,
    hostile_cloud,
)

pytestmark = pytest.mark.anyio
CAP = 4 * 2**20
SMALL = HttpOptions(max_answer_bytes=CAP)


def _leaks(cloud: HostileCloud, *secrets: str) -> list[str]:
    """What reached the other origin, or a secret anywhere in it."""
    found = [f"{c.method} {c.path}" for c in cloud.caught]
    for caught in cloud.caught:
        text = repr(caught.headers) + caught.body.decode("utf-8", "replace")
        found += [s for s in secrets if s in text]
    return found


# ---------------------------------------------------------------- redirects


async def test_a_redirected_token_request_sends_the_password_nowhere() -> None:
    async with hostile_cloud() as cloud:
        cloud.keystone = "redirect"
        with pytest.raises(AuthError) as info:
            async with open_cloud(cloud.config()):
                pass
        assert _leaks(cloud, PASSWORD) == []
    message = str(info.value)
    assert f"{cloud.elsewhere}/identity/v3/auth/tokens" in message  # where it pointed
    assert "HTTP 307" in message and PASSWORD not in message
    assert info.value.exit_code == EXIT_INVALID
    assert cloud.requests_to("POST", "/identity/v3/auth/tokens") == 1


async def test_a_redirected_version_discovery_is_an_error() -> None:
    """An auth_url without /v3 is discovered first: that GET follows no redirect either."""
    async with hostile_cloud() as cloud:
        cloud.keystone = "redirect"
        with pytest.raises(AuthError, match="redirected") as info:
            async with open_cloud(cloud.config(auth_url=cloud.base + "/identity")):
                pass
        assert _leaks(cloud) == []
    assert cloud.elsewhere + "/identity/" in str(info.value)


async def _negotiated(cloud: Cloud) -> None:
    await cloud.compute.negotiate("auto")


async def _listed(cloud: Cloud) -> None:
    await cloud.compute.list_servers()


async def _created(cloud: Cloud) -> None:
    await cloud.compute.create_server(request(body("web-1", adminPass=ADMIN_PASS), fleet="f"))


async def _deleted(cloud: Cloud) -> None:
    await cloud.compute.delete_server("0f1e2d3c-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("mode", "call", "path"),
    [
        ("redirect-all", _negotiated, "/compute/v2.1/"),
        ("redirect", _listed, "/compute/v2.1/servers/detail"),
        ("redirect", _created, "/compute/v2.1/servers"),
        ("redirect", _deleted, "/compute/v2.1/servers/0f1e2d3c-0000-4000-8000-000000000001"),
    ],
)
async def test_nova_redirects_carry_no_token_and_no_body_elsewhere(
    mode: str, call: Callable[[Cloud], Awaitable[None]], path: str
) -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config()) as opened:
            if mode != "redirect-all":
                await opened.compute.negotiate("auto")
            cloud.nova = mode
            with pytest.raises(Redirected) as info:
                await call(opened)
        assert _leaks(cloud, TOKEN, ADMIN_PASS) == []
    assert info.value.location == cloud.elsewhere + path
    assert f"to {cloud.elsewhere}{path}" in str(info.value)
    assert ADMIN_PASS not in str(info.value) and TOKEN not in str(info.value)


async def test_a_redirect_to_the_same_origin_is_not_followed_either() -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config()) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "redirect-same"
            with pytest.raises(Redirected, match="/servers/detailx"):
                await opened.compute.list_servers()
        assert cloud.requests_to("GET", "/compute/v2.1/servers/detailx") == 0


# ---------------------------------------------------------------- answer size


async def test_a_huge_chunked_answer_is_cut_off_at_the_cap() -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(), options=SMALL) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "huge"
            with pytest.raises(AnswerTooLarge, match="larger than 4 MiB") as info:
                await opened.compute.list_servers()
            await anyio.sleep(0.05)  # the server sees the connection go
    assert info.value.limit == CAP
    # it stopped reading: the rest of the 64 MiB was never sent (socket buffers aside)
    assert cloud.sent_bytes and cloud.sent_bytes[0] < HUGE_BYTES // 2


async def test_a_declared_huge_answer_is_refused_before_reading() -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(), options=SMALL) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "huge-length"
            with pytest.raises(AnswerTooLarge):
                await opened.compute.list_servers()
            await anyio.sleep(0.05)
    assert cloud.sent_bytes and cloud.sent_bytes[0] < HUGE_BYTES // 2


async def test_a_huge_error_answer_is_cut_and_stays_the_error_it_is() -> None:
    one_try = HttpOptions(max_answer_bytes=CAP, retry=RetryPolicy(max_attempts=1))
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(), options=one_try) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "huge-error"
            with pytest.raises(ServerError) as info:
                await opened.compute.list_servers()
            await anyio.sleep(0.05)
    assert len(str(info.value)) < 1000  # Nova's words, cut short
    assert cloud.sent_bytes and cloud.sent_bytes[0] < HUGE_BYTES // 2


async def test_a_gzip_bomb_is_never_inflated_past_the_cap() -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(), options=SMALL) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "bomb"
            tracemalloc.start()
            try:
                with pytest.raises(AnswerTooLarge):
                    await opened.compute.list_servers()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    # a 256 MiB bomb inflated whole would have peaked past it; the cap holds the peak
    assert peak < 4 * CAP < BOMB_BYTES


@pytest.mark.parametrize("mode", ["gzip", "deflate-raw"])
async def test_compressed_answers_are_decoded(mode: str) -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(), options=SMALL) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = mode
            assert await opened.compute.list_servers() == [LISTED]
        asked = cloud.seen[-1].headers.get("Accept-Encoding", "")
    assert "gzip" in asked and "br" not in asked  # only what the client can decode


async def test_a_create_whose_answer_is_too_large_is_uncertain_not_refused() -> None:
    """Nova may have made the server: looked for by name, never sent again."""
    time_ = JumpTime()
    async with hostile_cloud() as cloud:
        async with open_cloud(
            cloud.config(), options=SMALL, clock=time_.clock, sleep=time_.sleep
        ) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "huge-create"
            with pytest.raises(CreateUncertain, match="larger than 4 MiB"):
                await _created(opened)
    assert cloud.requests_to("POST", "/compute/v2.1/servers") == 1
    assert cloud.requests_to("GET", "/compute/v2.1/servers/detail") >= 2  # it looked


# ---------------------------------------------------------------- stalls


async def test_a_silent_keystone_costs_one_api_timeout_and_names_itself() -> None:
    async with hostile_cloud() as cloud:
        cloud.keystone = "stall"
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            async with open_cloud(cloud.config(api_timeout=0.3)):
                pass
        took = time.monotonic() - started
        assert cloud.requests_to("POST", "/identity/v3/auth/tokens") == 1  # no retry
    assert took >= 0.3
    message = str(info.value)
    assert "within 0.3 s" in message and cloud.auth_url + "/auth/tokens" in message


async def test_a_stalled_listing_costs_one_api_timeout_and_names_the_endpoint() -> None:
    async with hostile_cloud() as cloud:
        async with open_cloud(cloud.config(api_timeout=0.3)) as opened:
            await opened.compute.negotiate("auto")
            cloud.nova = "stall"
            with pytest.raises(RequestTimeout) as info:
                await opened.compute.list_servers()
        assert cloud.requests_to("GET", "/compute/v2.1/servers/detail") == 1
    assert f"GET {cloud.compute_url}/servers/detail" in str(info.value)
    assert "did not answer within 0.3 s" in str(info.value)


async def test_what_the_client_waits_for_can_be_read_while_keystone_is_silent() -> None:
    activity = Activity()
    seen: list[tuple[str | None, str, str, int]] = []
    async with hostile_cloud() as cloud:
        cloud.keystone = "stall"
        secret_url = cloud.auth_url.replace("http://", "http://admin:url-secret@")

        async def look() -> None:
            await cloud.arrived.wait()
            oldest = activity.oldest()
            assert oldest is not None
            seen.append((activity.phase, oldest.method, oldest.url, oldest.attempt))

        async def open_it() -> None:
            with pytest.raises(RequestTimeout):
                async with open_cloud(
                    cloud.config(auth_url=secret_url, api_timeout=0.3), activity=activity
                ):
                    pass

        async with anyio.create_task_group() as group:
            group.start_soon(look)
            group.start_soon(open_it)
    [(phase, method, url, attempt)] = seen
    assert phase is not None and phase.startswith("authenticating to cloud 'hostile'")
    assert (method, attempt) == ("POST", 1)
    assert url.endswith("/identity/v3/auth/tokens")
    assert "url-secret" not in url + phase and "admin:***@" in url
    assert activity.oldest() is None and activity.phase is None  # over, one way or another


# ---------------------------------------------------------------- userinfo


async def test_a_password_in_auth_url_is_masked_in_errors_and_the_debug_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bulkboot.http")
    errors: list[str] = []
    async with hostile_cloud() as cloud:
        auth_url = cloud.auth_url.replace("http://", "http://admin:url-secret@")
        for mode in ("refuse", "stall", "redirect"):
            cloud.keystone = mode
            with pytest.raises(AuthError if mode != "stall" else RequestTimeout) as info:
                async with open_cloud(cloud.config(auth_url=auth_url, api_timeout=0.3)):
                    pass
            errors.append(str(info.value))
        cloud.keystone = "ok"
        override = cloud.compute_url.replace("http://", "http://nova:url-secret@")
        config = cloud.config(compute_endpoint_override=override, api_timeout=0.3)
        async with open_cloud(config) as opened:
            await opened.compute.negotiate("auto")
            shown = opened.endpoint
            cloud.nova = "stall"
            with pytest.raises(RequestTimeout) as info:
                await opened.compute.list_servers()
            errors.append(str(info.value))
    assert shown == cloud.compute_url.replace("http://", "http://nova:***@")
    for text in [*errors, caplog.text]:
        assert "url-secret" not in text
    assert "admin:***@" in errors[0] and "nova:***@" in errors[-1]
    assert "admin:***@" in caplog.text  # the curl lines show the URL, masked


# ---------------------------------------------------------------- tokens


async def test_a_token_that_dies_at_once_is_kept_a_moment_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time_ = JumpTime()
    async with hostile_cloud() as cloud:
        cloud.keystone = "short"
        async with open_cloud(cloud.config(), clock=time_.clock, sleep=time_.sleep) as opened:
            for _ in range(20):
                await opened.compute.limits()
            assert opened.authentications == 1  # not one per request
            time_.advance(1.5)
            await opened.compute.limits()
            assert opened.authentications == 2  # and renewed once the moment passed
    warnings = [r for r in caplog.records if "live" in r.getMessage()]
    assert len(warnings) == 1
    assert "no time at all" in warnings[0].getMessage()
