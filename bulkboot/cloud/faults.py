"""HTTP error answers and missing answers -> ``bulkboot.errors``.

Error answers are mapped like novaclient's ``exceptions.from_response``: one class per
meaning, each keeping the service's own message (Nova's ``{"badRequest": {"message":
...}}``, Keystone's ``{"error": {"message": ...}}``, Neutron's ``{"NeutronError":
{...}}``, a proxy's plain text) and the request id, so an operator can grep the
service's logs for it.

A request that got no answer at all is a ``Failure``; ``no_answer`` words it for a
service and ``keystone_no_answer`` for Keystone (whose messages name Keystone, and
which never says "after N attempts"). A 3xx answer is ``redirected``: an error that
says where it pointed, never a request sent there.

Every URL in a message has its userinfo password masked (``redact.redact_url``), and
so has the text of the exceptions quoted.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from urllib.parse import urljoin, urlsplit

from bulkboot.cloud.redact import mask_secrets, mask_url_secrets, redact_url
from bulkboot.cloud.retry import parse_retry_after
from bulkboot.errors import (
    ApiError,
    BadRequest,
    CloudConnectionError,
    Conflict,
    ConnectionLost,
    Forbidden,
    NotFound,
    OverQuota,
    RateLimited,
    Redirected,
    RequestTimeout,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "TIMEOUTS",
    "Failure",
    "FailureKind",
    "error_class",
    "error_from_response",
    "keystone_no_answer",
    "no_answer",
    "origin_of",
    "reason_of",
    "redirected",
    "request_id_of",
    "service_message",
    "untrusted_certificate",
    "with_note",
]

# A timeout, whoever raised it: aiohttp raises ``asyncio.TimeoutError``, which is the
# built-in ``TimeoutError`` from Python 3.11 on and another class on 3.10.
TIMEOUTS: tuple[type[Exception], ...] = (TimeoutError, asyncio.TimeoutError)

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: OverQuota,  # quota faults were 413 until 2014; clients still map it
    429: RateLimited,
    500: ServerError,
    502: ServerError,
    503: Unavailable,
    504: ServerError,
}
_QUOTA = re.compile(r"quota", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_MAX_TEXT = 300
FailureKind: TypeAlias = Literal["unusable", "unreached", "maybe_reached"]


def error_class(status: int, message: str) -> type[ApiError]:
    """The exception class for a status (and, for 403, whether the message is a quota)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        if status >= 500:
            return ServerError
        return BadRequest if 400 <= status < 500 else ApiError
    if cls is Forbidden and _QUOTA.search(message):
        return OverQuota
    return cls


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """Nova answers ``x-openstack-request-id`` (and the older ``x-compute-request-id``)."""
    return headers.get("x-openstack-request-id") or headers.get("x-compute-request-id")


def service_message(body: Any, text: str, reason: str) -> tuple[str, float | None]:
    """The service's own words from an error body, and Nova's ``retryAfter`` if any."""
    if isinstance(body, Mapping):
        inner: Any = body
        if len(body) == 1:
            (only,) = body.values()
            if isinstance(only, Mapping):
                inner = only
        message = inner.get("message") or inner.get("title") or inner.get("detail")
        if not message and isinstance(inner.get("error"), Mapping):
            message = inner["error"].get("message") or inner["error"].get("status")
        if not message and isinstance(inner.get("status"), str):
            message = inner["status"]  # proxies: {"error": {"status": "429 Too Many ..."}}
        retry = inner.get("retryAfter")
        retry_after = parse_retry_after(str(retry)) if retry is not None else None
        if message:
            return str(message), retry_after
        return reason or "no message", retry_after
    cleaned = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    if len(cleaned) > _MAX_TEXT:
        cleaned = cleaned[: _MAX_TEXT - 3] + "..."
    return cleaned or reason or "no message", None


def error_from_response(
    *,
    status: int,
    reason: str,
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
) -> ApiError:
    """Build the one exception that says what an HTTP error answer means.

    ``secrets`` (the request's passwords, user data ...) are replaced by ``***`` where
    the service's message repeats them.
    """
    secrets = tuple(secrets)
    url = redact_url(url)
    # before the message is cut short, which could halve one; shorter ones would garble
    text = mask_secrets(body.decode("utf-8", "replace"), secrets, shortest=4)
    parsed: Any = None
    if text[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    message, body_retry = service_message(parsed, text, reason)
    message = mask_secrets(message, secrets, shortest=4)  # other escapes JSON allows (\/)
    message = shortened(message)
    retry_after = parse_retry_after(headers.get("Retry-After"), date=headers.get("Date"))
    if retry_after is None:
        retry_after = body_retry
    cls = error_class(status, message)
    return cls(
        message,
        status=status,
        method=method,
        url=url,
        request_id=request_id_of(headers),
        retry_after=retry_after,
    )


# A service's message past this many characters keeps its start and its end: Nova echoes
# the offending value whole ("Invalid input for field/attribute user_data. Value: <64 KB
# of base64> is too long"), and what a user needs is what is wrong, at the end.
MESSAGE_CHARS = 2000
_KEPT = 700


def shortened(message: str) -> str:
    """``message`` with its middle left out when it is longer than ``MESSAGE_CHARS``."""
    if len(message) <= MESSAGE_CHARS:
        return message
    left = len(message) - 2 * _KEPT
    return f"{message[:_KEPT]}... ({left:,} characters left out) ...{message[-_KEPT:]}"


def with_note(error: ApiError, note: str) -> ApiError:
    """The same error with ``note`` after the service's message (how long it was
    retried, say), for messages that keep saying what the service said first."""
    return type(error)(
        f"{error.message}{note}",
        status=error.http_status,
        method=error.method,
        url=error.url,
        request_id=error.request_id,
        retry_after=error.retry_after,
    )


def redirected(
    *, cloud: str, status: int, headers: Mapping[str, str], method: str, url: str
) -> Redirected:
    """A 3xx answer: where it pointed, and why bulkboot did not go there."""
    shown = redact_url(url)
    target = headers.get("Location")
    where: str | None = None
    if target:
        try:
            where = redact_url(urljoin(url, target.strip()))
        except ValueError:
            where = redact_url(target.strip())
    points = f"to {where}" if where else "without saying where (no Location header)"
    hint = (
        "if that is where this service really is, set the cloud's auth_url or "
        "*_endpoint_override (or fix the catalog) to it"
        if where
        else "check the cloud's auth_url and endpoints"
    )
    return Redirected(
        f"cloud {cloud!r}: {method} {shown} was redirected (HTTP {status}) {points}; "
        f"bulkboot follows no redirect, so that no token, password or request body goes "
        f"anywhere it was not configured to go: {hint}",
        status=status,
        method=method,
        url=shown,
        request_id=request_id_of(headers),
        location=where,
    )


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL, for messages (the URL itself if it does not
    parse); a userinfo password in it is masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_url(url)
    return redact_url(f"{parts.scheme}://{parts.netloc}")


def reason_of(exc: BaseException, url: str | None = None) -> str:
    """An exception's own words, or its type when it has none; any URL userinfo in
    them masked (``url``'s secrets too, however the exception quotes them)."""
    return mask_url_secrets(str(exc).strip(), url) or type(exc).__name__


def untrusted_certificate(
    cloud: str, cacert: str | None, method: str, url: str, exc: BaseException
) -> CloudConnectionError:
    """The error for a certificate that does not verify, Keystone's or a service's: what
    to set, not a retry (a certificate does not become trusted by asking again)."""
    hint = (
        f"set cacert to the CA bundle that signed it (now {cacert})"
        if cacert
        else "set cacert in the cloud's clouds.yaml entry (or OS_CACERT) to the CA "
        "bundle that signed it"
    )
    return CloudConnectionError(
        f"cloud {cloud!r}: the TLS certificate of {origin_of(url)} is not trusted "
        f"({reason_of(exc, url)}); {hint}",
        method=method,
        url=redact_url(url),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A request that got no HTTP answer, as the transport saw it.

    ``kind``: ``unusable`` the URL cannot be sent to at all; ``unreached`` the request
    never left (no connection); ``maybe_reached`` it was written, then the connection
    broke or the answer did not come in time. ``timeout``: the request's time budget
    (the API timeout), when it is spent and that is why no attempt follows.
    """

    cloud: str
    method: str
    url: str
    error: BaseException
    kind: FailureKind
    attempts: int
    timeout: float | None = None


def _within(failure: Failure) -> str:
    if failure.timeout is None:
        return " in time"
    return f" within {failure.timeout:g} s (the API timeout: api_timeout in clouds.yaml)"


def no_answer(failure: Failure) -> TransportError:
    """A service's request that got no answer: what happened, and whether it may have
    reached the server."""
    cloud, method, exc = failure.cloud, failure.method, failure.error
    url = redact_url(failure.url)
    where = f"cloud {cloud!r}: {method} {url}"
    tries = f" after {failure.attempts} attempts" if failure.attempts > 1 else ""
    reason = reason_of(exc, failure.url)
    cls: type[TransportError]
    if failure.kind == "unusable":
        cls = CloudConnectionError
        text = (
            f"{where}: not a usable URL ({reason}); check the endpoint in the "
            f"catalog or the *_endpoint_override setting"
        )
    elif failure.kind == "unreached":
        cls = CloudConnectionError
        if isinstance(exc, TIMEOUTS):
            origin = origin_of(failure.url)
            text = f"{where}: cannot connect to {origin}: no connection{_within(failure)}{tries}"
        else:
            text = f"{where}: cannot connect to {origin_of(failure.url)} ({reason}){tries}"
    elif isinstance(exc, TIMEOUTS):
        cls = RequestTimeout
        text = (
            f"{where}: {origin_of(failure.url)} did not answer{_within(failure)}{tries}; "
            f"the request may have reached the server"
        )
    else:
        cls = ConnectionLost
        text = (
            f"{where}: the connection broke before the answer ({reason}){tries}; "
            f"the request may have reached the server"
        )
    return cls(text, method=method, url=url)


def keystone_no_answer(failure: Failure) -> TransportError:
    """A Keystone request that got no answer: a timeout (connecting or answering), or
    Keystone out of reach."""
    cloud, method, exc = failure.cloud, failure.method, failure.error
    url = redact_url(failure.url)
    if isinstance(exc, TIMEOUTS):
        text = f"Keystone of cloud {cloud!r} did not answer{_within(failure)} ({method} {url})"
        return RequestTimeout(text, method=method, url=url)
    text = f"cannot reach Keystone of cloud {cloud!r} at {url}: {reason_of(exc, failure.url)}"
    return CloudConnectionError(text, method=method, url=url)
