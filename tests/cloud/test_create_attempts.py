"""A create's sends after its first are told to ``CreateRequest.on_attempt`` before they
go on the wire: a 429 (or a 503 with ``Retry-After``) sent again by the transport, a 500
sent again by the ``Creator``. The engine journals each one, so that the window of a
create in flight runs from its last send (Nova may act on it as late as on the first)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from aiohttp import web

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import CreateRecovery, HttpOptions
from bulkboot.errors import JournalError
from tests.cloud.bodies import body, request
from tests.cloud.stubs import stub_config, stub_nova

pytestmark = pytest.mark.anyio
FAST = HttpOptions(
    retry=RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.002),
    recovery=CreateRecovery(lookup_settle=0.0),
)


class _Nova:
    """POSTs answered from a script of statuses (then 202); each arrival notes how many
    re-sends the client had announced by then."""

    def __init__(self, script: list[int]) -> None:
        self.script = script
        self.announced: list[str] = []
        self.seen_at_arrival: list[int] = []
        self.made = 0

    def on_attempt(self, name: str) -> None:
        self.announced.append(name)

    async def create(self, request: web.Request) -> web.Response:
        self.seen_at_arrival.append(len(self.announced))
        await request.read()
        if self.script:
            status = self.script.pop(0)
            headers = {"Retry-After": "0"} if status in (429, 503) else None
            return web.json_response({"message": "later"}, status=status, headers=headers)
        self.made += 1
        return web.json_response({"server": {"id": f"id-{self.made}"}}, status=202)

    async def detail(self, request: web.Request) -> web.Response:
        return web.json_response({"servers": []})  # a 500's create was not made


async def _create(nova: _Nova, **changes: Any) -> Any:
    routes = [("POST", "/servers", nova.create), ("GET", "/servers/detail", nova.detail)]
    async with stub_nova(routes) as url, open_cloud(stub_config(url), options=FAST) as cloud:
        await cloud.compute.negotiate("auto")
        wanted = dataclasses.replace(
            request(body("web-1"), fleet="f"), **{"on_attempt": nova.on_attempt, **changes}
        )
        return await cloud.compute.create_server(wanted)


async def test_each_send_after_a_429_is_announced_before_it_arrives() -> None:
    nova = _Nova([429, 429, 503])
    created = await _create(nova)
    assert created.id == "id-1"
    # four sends: the first announced by nobody (its ``sent`` line is the engine's),
    # each later one announced before it reached Nova
    assert nova.seen_at_arrival == [0, 1, 2, 3]
    assert nova.announced == ["web-1"] * 3


async def test_a_send_after_a_500_looked_up_is_announced_too() -> None:
    nova = _Nova([500])
    created = await _create(nova)
    assert created.id == "id-1" and not created.recovered
    assert nova.seen_at_arrival == [0, 1]


async def test_a_create_sent_once_announces_nothing() -> None:
    nova = _Nova([])
    await _create(nova)
    assert nova.seen_at_arrival == [0] and nova.announced == []


async def test_a_hook_that_fails_sends_nothing_more() -> None:
    """The journal cannot take the line: the send it announces never leaves."""
    nova = _Nova([429, 429])

    def broken(name: str) -> None:
        raise JournalError("cannot write the journal: No space left on device")

    with pytest.raises(JournalError):
        await _create(nova, on_attempt=broken)
    assert nova.seen_at_arrival == [0]


async def test_the_sends_turned_away_count_as_waited_in_the_posts_time() -> None:
    """Each 429's own round trip (here 0.1 s: the API took that long to turn it away) is
    part of the create's time: answer and waited add up to it."""

    class SlowRefusals(_Nova):
        async def create(self, request: web.Request) -> web.Response:
            if self.script:
                await asyncio.sleep(0.1)
            return await super().create(request)

    nova = SlowRefusals([429, 429])
    created = await _create(nova)
    timing = created.timing
    assert (timing.attempts, timing.throttled) == (3, 2)
    assert timing.answer_seconds is not None
    assert timing.waited >= 0.2  # the two refused sends' own time, at least
    assert timing.waited + timing.answer_seconds == pytest.approx(timing.seconds)
