"""A hostile Keystone and Nova on 127.0.0.1: redirects, answers without an id, huge
bodies, gzip bombs and stalls, over real sockets (aiohttp.web), for the cases the
simulator does not play.

    async with hostile_cloud() as cloud:
        cloud.keystone = "redirect"         # how Keystone misbehaves (``KEYSTONE_MODES``)
        cloud.nova = "bomb"                 # how Nova misbehaves (``NOVA_MODES``)
        config = cloud.config()             # a password cloud whose auth_url is here
        ...
        cloud.caught                        # every request that reached the other origin
        cloud.seen                          # every request that reached this one

A second server, ``elsewhere``, stands for another origin: the redirects point there,
and it records whatever reaches it (method, path, headers, body), so a test can say
that no password, token or body went there. Stalled handlers wait until the endpoint
closes (or ``release()``), so no test waits for them to time out on the server side.

Routes (below ``base``): Keystone v3 at ``/identity`` (versions at ``/identity/``,
tokens at ``/identity/v3/auth/tokens``); Nova at ``/compute/v2.1`` (version document
at ``/compute/v2.1/``, ``/servers``, ``/servers/detail``, ``/servers/{id}``, ``/limits``).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bulkboot.cloud.config import CloudConfig

__all__ = ["KEYSTONE_MODES", "NOVA_MODES", "Caught", "HostileCloud", "gzip_bomb", "hostile_cloud"]

PASSWORD = "hostile-password"  # noqa: S105 - a test secret, looked for where it must not be
TOKEN = "gAAAAAhostile-token"  # noqa: S105
ADMIN_PASS = "hostile-admin-pass"  # noqa: S105

KEYSTONE_MODES = (
    "ok",  # a token valid for an hour, with a catalog pointing at this Nova
    "redirect",  # every Keystone request: 307 to the same path elsewhere
    "stall",  # never answers
    "short",  # a token that expires as it is issued (lifetime 0)
    "refuse",  # 401: wrong credentials
)
NOVA_MODES = (
    "ok",  # well-behaved (an empty fleet; creates answer an id)
    "redirect",  # every request but the version document: 302/307 to elsewhere
    "redirect-all",  # the version document too
    "redirect-same",  # every request but the version document: 302 to this origin
    "noid",  # POST /servers: 202 {"server": {}}
    "noid-html",  # POST /servers: 200 and a proxy's HTML page
    "huge",  # listings: HUGE_BYTES of JSON, chunked (no Content-Length)
    "huge-length",  # listings: a Content-Length of HUGE_BYTES, then the bytes
    "bomb",  # listings: a small gzip body that inflates to BOMB_BYTES
    "gzip",  # listings: one server, gzip-encoded (a well-behaved compressing proxy)
    "deflate-raw",  # listings: one server, raw deflate (no zlib header), as some send it
    "huge-create",  # POST /servers: 202 and HUGE_BYTES of body (the listing is fine)
    "huge-error",  # listings: 500 and HUGE_BYTES of body, chunked
    "stall",  # every request but the version document: never answers
)
LISTED = {"id": "0f1e2d3c-0000-4000-8000-000000000002", "name": "web-1", "status": "ACTIVE"}
HUGE_BYTES = 64 * 2**20
BOMB_BYTES = 256 * 2**20
_VERSION = {"version": {"id": "v2.1", "version": "2.90", "min_version": "2.1", "status": "CURRENT"}}


@dataclass(frozen=True, slots=True, kw_only=True)
class Caught:
    """One request as a server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@functools.cache
def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """``size`` bytes of a JSON-looking zero run, gzip-compressed (about size / 1000)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"servers": "')]
    block = b"0" * 2**20
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b'"}'))
    parts.append(compressor.flush())
    return b"".join(parts)


@dataclass(eq=False)
class HostileCloud:
    """The endpoint's knobs and records; see the module docstring."""

    base: str = ""
    elsewhere: str = ""
    keystone: str = "ok"
    nova: str = "ok"
    seen: list[Caught] = field(default_factory=list)
    caught: list[Caught] = field(default_factory=list)
    sent_bytes: list[int] = field(default_factory=list)  # per huge/bomb answer written
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a request came
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def auth_url(self) -> str:
        return f"{self.base}/identity/v3"

    @property
    def compute_url(self) -> str:
        return f"{self.base}/compute/v2.1"

    def config(self, **changes: Any) -> CloudConfig:
        """A password cloud whose Keystone is this endpoint (``changes`` on top)."""
        values: dict[str, Any] = {
            "name": "hostile",
            "source": "test",
            "auth_type": "password",
            "auth_url": self.auth_url,
            "username": "admin",
            "password": PASSWORD,
            "project_name": "demo",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }
        values.update(changes)
        return CloudConfig(**values)

    def release(self) -> None:
        """Let every stalled handler go (they answer 503)."""
        self._release.set()

    def requests_to(self, method: str, path: str) -> int:
        return sum(1 for c in self.seen if c.method == method and c.path == path)

    # ------------------------------------------------------------ handlers

    async def _record(self, request: web.Request, into: list[Caught]) -> None:
        into.append(
            Caught(
                method=request.method,
                path=request.path,
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        self.arrived.set()

    async def _stall(self) -> web.Response:
        await self._release.wait()
        return web.json_response({"message": "released"}, status=503)

    def _redirect(self, request: web.Request, *, same: bool = False) -> web.Response:
        status = 307 if request.method in ("POST", "PUT", "DELETE") else 302
        origin = self.base if same else self.elsewhere
        target = origin + request.path_qs + ("x" if same else "")
        return web.Response(status=status, headers={"Location": target})

    async def keystone_versions(self, request: web.Request) -> web.Response:
        await self._record(request, self.seen)
        if self.keystone == "redirect":
            return self._redirect(request)
        if self.keystone == "stall":
            return await self._stall()
        links = [{"rel": "self", "href": self.auth_url + "/"}]
        body = {"versions": {"values": [{"id": "v3.14", "status": "stable", "links": links}]}}
        return web.json_response(body, status=300)

    async def tokens(self, request: web.Request) -> web.Response:
        await self._record(request, self.seen)
        if self.keystone == "redirect":
            return self._redirect(request)
        if self.keystone == "stall":
            return await self._stall()
        if self.keystone == "refuse":
            refusal = {
                "error": {
                    "code": 401,
                    "message": "The request you have made requires authentication.",
                    "title": "Unauthorized",
                }
            }
            return web.json_response(refusal, status=401)
        now = "2030-01-01T00:00:00.000000Z"
        expires = now if self.keystone == "short" else "2030-01-01T01:00:00.000000Z"
        catalog = [
            {
                "type": "compute",
                "name": "nova",
                "endpoints": [
                    {"interface": "public", "region_id": "RegionOne", "url": self.compute_url}
                ],
            }
        ]
        token = {
            "token": {
                "expires_at": expires,
                "issued_at": now,
                "methods": ["password"],
                "user": {"id": "u1", "name": "admin"},
                "project": {"id": "p1", "name": "demo"},
                "catalog": catalog,
            }
        }
        return web.json_response(token, status=201, headers={"X-Subject-Token": TOKEN})

    async def nova_version(self, request: web.Request) -> web.Response:
        await self._record(request, self.seen)
        if self.nova == "redirect-all":
            return self._redirect(request)
        return web.json_response(_VERSION)

    async def nova_api(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, self.seen)
        mode = self.nova
        if mode in ("redirect", "redirect-all"):
            return self._redirect(request)
        if mode == "redirect-same":
            return self._redirect(request, same=True)
        if mode == "stall":
            return await self._stall()
        listing = request.method == "GET" and request.path.endswith("/servers/detail")
        if mode in ("huge", "huge-length", "huge-error") and listing:
            status = 500 if mode == "huge-error" else 200
            return await self._huge(request, declared=mode == "huge-length", status=status)
        if mode == "bomb" and listing:
            return await self._bomb(request)
        if mode in ("gzip", "deflate-raw") and listing:
            raw = json.dumps({"servers": [LISTED]}).encode()
            if mode == "gzip":
                encoded, encoding = gzip.compress(raw), "gzip"
            else:
                packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
                encoded, encoding = packer.compress(raw) + packer.flush(), "deflate"
            return web.Response(
                body=encoded,
                headers={"Content-Type": "application/json", "Content-Encoding": encoding},
            )
        if mode == "huge-create" and request.method == "POST":
            return await self._huge(request, declared=False)
        if request.method == "POST" and request.path.endswith("/servers"):
            if mode == "noid":
                return web.json_response({"server": {}}, status=202)
            if mode == "noid-html":
                page = "<html><body><h1>Request accepted</h1></body></html>"
                return web.Response(text=page, content_type="text/html")
            server = {"id": "0f1e2d3c-0000-4000-8000-000000000001", "links": []}
            return web.json_response({"server": server}, status=202)
        if request.method == "DELETE":
            return web.Response(status=204)
        if listing or request.path.endswith("/servers"):
            return web.json_response({"servers": []})
        if request.path.endswith("/limits"):
            return web.json_response({"limits": {"absolute": {}, "rate": []}})
        return web.json_response({"itemNotFound": {"code": 404, "message": "no"}}, status=404)

    async def _huge(
        self, request: web.Request, *, declared: bool, status: int = 200
    ) -> web.StreamResponse:
        answer = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        if declared:
            answer.content_length = HUGE_BYTES
        await answer.prepare(request)
        block = b" " * 2**16
        written = 0
        try:
            await answer.write(
                b'{"computeFault": {"message": "' if status >= 400 else b'{"servers": ['
            )
            while written < HUGE_BYTES - 64:
                await answer.write(block)
                written += len(block)
        except (ConnectionError, RuntimeError):
            pass  # the client went away: what we wrote is what we count
        finally:
            self.sent_bytes.append(written)
        return answer

    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        body = gzip_bomb()
        answer = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        answer.content_length = len(body)
        await answer.prepare(request)
        try:
            await answer.write(body)
        except (ConnectionError, RuntimeError):
            pass
        self.sent_bytes.append(len(body))
        return answer

    async def catch(self, request: web.Request) -> web.Response:
        await self._record(request, self.caught)
        return web.json_response({"caught": True, "token": {"expires_at": "2030-01-01T01:00:00Z"}})


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@asynccontextmanager
async def hostile_cloud() -> AsyncIterator[HostileCloud]:
    """The hostile endpoint and the other origin, on free loopback ports."""
    cloud = HostileCloud()
    elsewhere = web.Application()
    elsewhere.router.add_route("*", "/{tail:.*}", cloud.catch)
    app = web.Application()
    app.router.add_get("/identity/", cloud.keystone_versions)
    app.router.add_get("/identity", cloud.keystone_versions)
    app.router.add_post("/identity/v3/auth/tokens", cloud.tokens)
    app.router.add_get("/compute/v2.1/", cloud.nova_version)
    app.router.add_route("*", "/compute/v2.1/{tail:.+}", cloud.nova_api)
    other, cloud.elsewhere = await _serve(elsewhere)
    runner, cloud.base = await _serve(app)
    try:
        yield cloud
    finally:
        cloud.release()
        await runner.cleanup()
        await other.cleanup()
