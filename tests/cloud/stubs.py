"""A tiny loopback Nova for the cases the simulator does not play (real sockets, aiohttp.web).

``stub_nova(routes)`` serves Nova's version document at ``/v2.1/`` plus the given
``(method, path, handler)`` routes on 127.0.0.1 and yields the ``.../v2.1`` URL, for a
``CloudConfig`` with ``auth_type: none``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

from bulkboot.cloud.config import CloudConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VERSION = {"version": {"id": "v2.1", "version": "2.90", "min_version": "2.1"}}


async def _version(request: web.Request) -> web.Response:
    return web.json_response(VERSION)


@asynccontextmanager
async def stub_nova(routes: Sequence[tuple[str, str, Handler]]) -> AsyncIterator[str]:
    """Serve ``routes`` (paths below ``/v2.1``) on a free loopback port; yield Nova's URL."""
    app = web.Application()
    app.router.add_get("/v2.1/", _version)
    for method, path, handler in routes:
        app.router.add_route(method, "/v2.1" + path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v2.1"
    finally:
        await runner.cleanup()


def stub_config(url: str, *, api_timeout: float | None = None) -> CloudConfig:
    """A keystone-less cloud whose Nova is ``url``."""
    return CloudConfig(
        name="stub",
        source="test",
        auth_type="none",
        compute_endpoint_override=url,
        api_timeout=api_timeout,
    )


@contextmanager
def stub_nova_in_thread(routes: Sequence[tuple[str, str, Handler]]) -> Iterator[str]:
    """``stub_nova`` on its own event loop in a thread, for tests that run a command
    (which starts its own loop)."""
    ready = threading.Event()
    box: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with stub_nova(routes) as url:
            box.append((url, asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the stub did not start")
    url, loop, stop = box[0]
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
