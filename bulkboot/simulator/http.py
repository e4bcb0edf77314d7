"""What every handler shares: the app's keys, the error shapes of each service, JSON.

A handler raises ``Fault`` for an error answer; the middleware (``app``) turns it into
the service's own body shape, so Nova errors look like Nova's
(``{"badRequest": {"code": 400, "message": ...}}``) and Keystone's like Keystone's.
It raises ``LostResponse`` when the request took effect but must go unanswered.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

__all__ = [
    "BASE_URL",
    "MINOR",
    "STATE",
    "Fault",
    "LostResponse",
    "base_of",
    "json_response",
    "keystone_error",
    "minor_of",
    "nova_error",
    "read_json",
    "state_of",
    "unexpected_error",
]

if TYPE_CHECKING:
    from bulkboot.simulator.state import CloudState

# Application keys (typed, as aiohttp asks): the shared state and the public base URL.
STATE: web.AppKey[CloudState] = web.AppKey("state")
BASE_URL: web.AppKey[str] = web.AppKey("base_url", str)
# Request key: the negotiated compute microversion's minor number (2.N -> N).
MINOR: web.RequestKey[int] = web.RequestKey("minor", int)


def state_of(request: web.Request) -> CloudState:
    return request.app[STATE]


def base_of(request: web.Request) -> str:
    """The simulator's public base URL, for links and catalogs."""
    return request.app[BASE_URL]


def minor_of(request: web.Request) -> int:
    """The compute microversion's minor number the middleware negotiated."""
    return request[MINOR]


# nova.api.openstack.wsgi.Fault._fault_names
_NOVA_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
_KEYSTONE_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Fault(Exception):
    """An error answer: status, JSON body and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class LostResponse(Exception):
    """The request took effect; the middleware must close the connection unanswered."""


def nova_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Fault:
    """Nova's fault body; ``retryAfter`` rides along for 413/429 as Nova's wsgi adds it."""
    name = _NOVA_FAULT_NAMES.get(status, "computeFault")
    inner: dict[str, Any] = {"code": status, "message": message}
    if status in (413, 429) and headers and "Retry-After" in headers:
        inner["retryAfter"] = headers["Retry-After"]
    return Fault(status, {name: inner}, headers)


def unexpected_error(exception: str) -> Fault:
    """Nova's 500 for an exception its API did not expect, as Nova 34 words it (the
    support line is its default ``[Nova] support``)."""
    return nova_error(
        500, f"Unexpected API Error. Please contact the administrator\n<class '{exception}'>"
    )


def keystone_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Fault:
    title = _KEYSTONE_TITLES.get(status, "Error")
    return Fault(status, {"error": {"code": status, "title": title, "message": message}}, headers)


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # Content-Type given as a header: aiohttp's content_type= path parses it again.
    sent = {"Content-Type": "application/json"}
    if headers:
        sent.update(headers)
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, headers=sent
    )


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; malformed JSON is Nova's 400 wording."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise nova_error(400, "Malformed request body") from None
