"""The aiohttp application: routes of every service, and the one middleware in front.

The middleware does, in order: request id, latency, the proxy's rate limit (429),
for compute the microversion (406 outside the range, headers echoed; not on Nova's
root document, which has none), 503 faults, the token check (401 from every service
for an unknown or expired token), 500 faults; then the handler; then counts the answer
in ``/_sim/stats`` by method, route template and status. One middleware, not six: it
runs on every request. Nova's faults go out as ``application/json; charset=UTF-8``,
and a compute path no route matches gets the 404 of Nova's router (no fault name).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from typing import Any

from aiohttp import web

from bulkboot.simulator import compute, keystone, lookups
from bulkboot.simulator.config import SimConfig, changed
from bulkboot.simulator.http import (
    BASE_URL,
    MINOR,
    STATE,
    Fault,
    LostResponse,
    json_response,
    keystone_error,
    nova_error,
    unexpected_error,
)
from bulkboot.simulator.ratelimit import TokenBucket
from bulkboot.simulator.state import CloudState

__all__ = ["INITIAL_CONFIG", "ROUTE_INFO", "build_app", "microversion_minor", "stats_of"]

# Version documents need no token (Keystone's routes check credentials themselves).
_OPEN = frozenset(
    {
        "/compute",
        "/compute/",
        "/compute/v2.1",
        "/compute/v2.1/",
        "/image",
        "/image/",
        "/network",
        "/network/",
    }
)
_VERSION = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")
_VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
# Nova's root versions document answers before any microversion is read.
_UNVERSIONED = frozenset({"/compute", "/compute/"})
_FAULT_TYPE = "application/json; charset=UTF-8"
# What Nova's router (webob's HTTPNotFound, as JSON) answers for a path it has no route for.
_NO_ROUTE = {
    "message": "The resource could not be found.<br /><br />\n\n\n",
    "code": "404 Not Found",
    "title": "Not Found",
}
INITIAL_CONFIG: web.AppKey[SimConfig] = web.AppKey("initial_config", SimConfig)


def _parse_version(text: str) -> tuple[int, int]:
    match = _VERSION.match(text)
    if match is None:
        raise nova_error(
            400,
            f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum.",
        )
    return int(match.group(1)), int(match.group(2))


def requested_version(headers: Any) -> str | None:
    """The compute version a request names: the new header wins over the legacy one."""
    requested: str | None = None
    new = headers.get("OpenStack-API-Version")
    if new:
        for part in new.split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == "compute":
                requested = words[1]
    if requested is None:
        requested = headers.get("X-OpenStack-Nova-API-Version")
    return requested


def microversion_minor(headers: Any, config: SimConfig) -> int:
    """The minor version a request asks for, as Nova's ``APIVersionRequest`` reads it."""
    requested = requested_version(headers)
    low = _parse_version(config.min_microversion)
    high = _parse_version(config.max_microversion)
    if not requested:
        return low[1]
    if requested.strip().lower() == "latest":
        return high[1]
    version = _parse_version(requested.strip())
    if not low <= version <= high:
        raise nova_error(
            406,
            f"Version {requested.strip()} is not supported by the API. Minimum is "
            f"{config.min_microversion} and maximum is {config.max_microversion}.",
        )
    return version[1]


def _cached_minor(state: CloudState, headers: Any) -> int:
    """``microversion_minor`` memoised per header pair (clients send the same few)."""
    key = (headers.get("OpenStack-API-Version"), headers.get("X-OpenStack-Nova-API-Version"))
    cached = state.version_cache.get(key)
    if cached is None:
        try:
            cached = microversion_minor(headers, state.config)
        except Fault as fault:
            cached = fault
        if len(state.version_cache) < 256:
            state.version_cache[key] = cached
    if isinstance(cached, Fault):
        echoed: dict[str, str] | None = None
        if cached.status == 406:  # Nova echoes the version it refused, as any other
            text = (requested_version(headers) or "").strip()
            echoed = {
                "OpenStack-API-Version": f"compute {text}",
                "X-OpenStack-Nova-API-Version": text,
                "Vary": _VARY,
            }
        message = next(iter(cached.body.values()))["message"]
        raise nova_error(cached.status, message, headers=echoed)
    assert isinstance(cached, int)
    return cached


def _http_exception_fault(service: str, exc: web.HTTPException) -> Fault:
    message = exc.reason
    if service == "identity":
        return keystone_error(exc.status, message)
    return nova_error(exc.status, message)


# Per route: the stats key, the service, and whether it needs no token. Routes are
# few and fixed, so this is computed once per route (per app), not per request.
ROUTE_INFO: web.AppKey[dict[Any, tuple[str, str, bool]]] = web.AppKey("route_info", dict)


def _route_info(route: Any, method: str) -> tuple[str, str, bool]:
    resource = route.resource
    canonical = resource.canonical if resource is not None else "<unmatched>"
    service = canonical[1:].split("/", 1)[0] if resource is not None else "<unmatched>"
    # the route's own method; a system route (404/405) takes the request's
    route_method = route.method if route.method != "*" and resource is not None else method
    return f"{route_method} {canonical}", service, canonical in _OPEN


_CREATE_KEY = "POST /compute/v2.1/servers"


@web.middleware
async def _middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    app = request.app
    state = app[STATE]
    route = request.match_info.route
    cache = app[ROUTE_INFO]
    info = cache.get(route)
    if info is None:
        info = _route_info(route, request.method)
        if route.resource is not None:  # 404/405 routes are made per request: not kept
            cache[route] = info
    key, service, is_open = info
    if service == "_sim":
        response: web.StreamResponse = await handler(request)
        return response
    cfg = state.config
    request_id = state.new_request_id()
    # Nova's root document comes from outside its request-id middleware: no id
    root = service == "compute" and key.split(" ", 1)[1] in _UNVERSIONED
    headers = {} if root else {"X-OpenStack-Request-ID": request_id}
    # A rate limit sits in front of the API (a proxy, a middleware): it counts the
    # request as it arrives, and a create it refuses never reaches the API's queue.
    refused: Fault | None = None
    if cfg.rate_limit is not None and service != "identity":
        try:
            _rate_limit(state)
        except Fault as fault:
            refused = fault
    create = key == _CREATE_KEY and refused is None
    if create:  # counted while handled, latency included: what a client keeps in flight
        state.creates_in_flight += 1
        if state.creates_in_flight > state.creates_in_flight_peak:
            state.creates_in_flight_peak = state.creates_in_flight
    try:
        delay = cfg.latency
        if create and cfg.create_queueing:
            delay += cfg.create_queueing * (state.creates_in_flight - 1)
        if delay or cfg.jitter:
            # A slow nova-api has the whole request before it is slow (the WSGI server
            # read it), so it still acts on it if the client gives up meanwhile.
            if request.body_exists:
                await request.read()
            await state.sleep(delay + state.rng.uniform(0.0, cfg.jitter))
        if refused is not None:
            raise refused
        if root:
            pass  # Nova's root: no microversion, no token
        elif service == "compute":
            headers["X-Compute-Request-Id"] = request_id
            minor = _cached_minor(state, request.headers)
            request[MINOR] = minor
            version = f"2.{minor}"
            headers["OpenStack-API-Version"] = f"compute {version}"
            headers["X-OpenStack-Nova-API-Version"] = version
            headers["Vary"] = _VARY
            if cfg.unavailable_fraction and state.rng.random() < cfg.unavailable_fraction:
                state.count_fault("unavailable")
                after = cfg.unavailable_retry_after
                raise nova_error(
                    503,
                    "Service Unavailable",
                    headers={"Retry-After": str(after)} if after is not None else None,
                )
            if not is_open:
                keystone.token_for(request)
            if cfg.error_500_fraction and state.rng.random() < cfg.error_500_fraction:
                state.count_fault("error_500")
                raise unexpected_error("nova.exception.SimulatedFault")
        elif service in ("image", "network") and not is_open:
            keystone.token_for(request)
        response = await handler(request)
    except Fault as fault:
        response = json_response(fault.body, status=fault.status, headers=fault.headers)
        if service == "compute":
            response.headers["Content-Type"] = _FAULT_TYPE
    except LostResponse:
        state.count_request(key, "lost")
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError from None
    except web.HTTPException as exc:
        if service == "<unmatched>" and request.path.startswith("/compute/"):
            # Nova's router matches method and path together: a wrong method is a 404 too
            response = json_response(_NO_ROUTE, status=404)
            headers["X-Compute-Request-Id"] = request_id
        else:
            converted = _http_exception_fault(service, exc)
            kept = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
            response = json_response(converted.body, status=converted.status, headers=kept)
    finally:
        if create:
            state.creates_in_flight -= 1
    response.headers.update(headers)
    state.count_request(key, str(response.status))
    return response


def _rate_limit(state: CloudState) -> None:
    now = state.clock()
    bucket = state.bucket
    rate = state.config.rate_limit
    assert rate is not None
    if bucket is None or bucket.rate != rate:
        bucket = state.bucket = TokenBucket(rate, now)
    wait = bucket.take(now)
    if wait is None:
        return
    state.count_fault("rate_limited")
    headers: dict[str, str] = {}
    if state.config.rate_limit_retry_after:
        headers["Retry-After"] = TokenBucket.retry_after_header(wait)
    raise nova_error(
        429, f"Rate limit exceeded: at most {rate:g} requests per second", headers=headers
    )


# ------------------------------------------------------------------ control
def stats_of(state: CloudState) -> dict[str, Any]:
    """The ``/_sim/stats`` document (its fields are listed in docs/simulator.md)."""
    now = state.clock()
    servers = state.status_counts(now)
    return {
        "requests": {key: dict(by_status) for key, by_status in state.requests.items()},
        "requests_total": state.requests_total,
        "servers": servers,
        "servers_total": sum(servers.values()),
        "servers_created": len(state.records),
        "duplicate_names": state.duplicate_names,
        "authentications": state.authentications,
        "faults": dict(state.faults),
        "creates_in_flight_peak": state.creates_in_flight_peak,
    }


async def _stats(request: web.Request) -> web.Response:
    return json_response(stats_of(request.app[STATE]))


async def _reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.reset(request.app[INITIAL_CONFIG])
    return web.Response(status=204)


_CONFIG_BODY = "the body must be a JSON object of SimConfig fields to change"


async def _configure(request: web.Request) -> web.Response:
    """``POST /_sim/config``: a JSON object of SimConfig fields to change, checked as
    ``RunningSimulator.configure`` checks them (one ``config.changed``); all or nothing.
    Answers the whole config now in force, or 400 ``{"error": ...}``."""
    state = request.app[STATE]
    try:
        changes = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return json_response({"error": f"{_CONFIG_BODY}: it is not JSON"}, status=400)
    if not isinstance(changes, dict):
        return json_response({"error": _CONFIG_BODY}, status=400)
    try:
        state.configure(changed(state.config, changes))
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response(dataclasses.asdict(state.config))


async def _show_config(request: web.Request) -> web.Response:
    return json_response(dataclasses.asdict(request.app[STATE].config))


def build_app(
    config: SimConfig, base_url: str, *, state: CloudState | None = None
) -> web.Application:
    """The whole simulated cloud as one aiohttp application."""
    app = web.Application(middlewares=[_middleware], client_max_size=4 * 1024 * 1024)
    app[STATE] = state if state is not None else CloudState(config)
    app[INITIAL_CONFIG] = config
    app[BASE_URL] = base_url
    app[ROUTE_INFO] = {}
    app.add_routes(keystone.routes())
    app.add_routes(compute.routes())
    app.add_routes(lookups.routes())
    app.add_routes(
        [
            web.get("/_sim/stats", _stats),
            web.post("/_sim/reset", _reset),
            web.post("/_sim/config", _configure),
            web.get("/_sim/config", _show_config),
        ]
    )
    return app
