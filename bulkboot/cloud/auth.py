"""Keystone v3: one token for the whole run, fetched once however many ask at once.

``Authenticator.token()`` is single-flight: when a thousand requests need a token
together, one ``POST /v3/auth/tokens`` is made and the others wait for it (and, if it
fails, get its error instead of trying again each in turn). The token is refreshed
before it expires, by a margin of 120 s as keystoneauth1 keeps, but never more than a
quarter of the token's own lifetime, so that a short-lived token is not fetched again
for every request. A token is kept ``MIN_TOKEN_KEEP_SECONDS`` at least, whatever
lifetime Keystone states (zero, or less than the time its answer took): a cloud whose
tokens seem to die at once would otherwise cost one authentication per request. A
warning says so, once; a token the cloud does refuse is renewed at once (401).

Expiry is judged on this machine's monotonic clock, from the token's lifetime as
Keystone states it (``expires_at - issued_at``, or ``expires_at`` against the answer's
``Date``), counted from when the request was sent: a clock that is off by minutes from
Keystone's does not make a fresh token look expired, nor an expired one fresh.

A token given with ``auth_type: token`` cannot be extended (Keystone keeps its
``expires_at`` when rescoping): a warning says when it runs out.

What is sent and read back (the request body, ``Token``, ``Catalog``, Keystone's
times) is ``keystone.py``'s, re-exported here.

Keystone is called through a ``Transport`` of the authenticator's own, over the run's
pool and without a token (keystoneauth's model: the auth plugin over the session), so
its calls are logged, retried, timed and mapped to errors as every other request is.
They are retried by ``KEYSTONE_RETRY``, status answers as for an idempotent request: a
spare token harms no one. Each is bounded by the cloud's ``api_timeout`` (else
``KEYSTONE_TIMEOUT_SECONDS``), all its attempts together, and none follows a
redirect: a 307 would send the password to wherever it points.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio

from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.faults import keystone_no_answer
from bulkboot.cloud.keystone import (
    Catalog,
    Endpoint,
    Token,
    auth_request_body,
    parse_keystone_time,
    stated_lifetime,
)
from bulkboot.cloud.redact import redact_url
from bulkboot.cloud.retry import RetryPolicy
from bulkboot.cloud.session import HttpOptions, Transport
from bulkboot.cloud.timing import Activity, Clock, RequestTiming, Sleep
from bulkboot.errors import ApiError, AuthError, Redirected

__all__ = [
    "KEYSTONE_RETRY",
    "KEYSTONE_TIMEOUT_SECONDS",
    "MARGIN_FRACTION",
    "MIN_TOKEN_KEEP_SECONDS",
    "MIN_TOKEN_LIFE_SECONDS",
    "Authenticator",
    "Catalog",
    "Endpoint",
    "Token",
    "auth_request_body",
    "parse_keystone_time",
]

LOG = logging.getLogger("bulkboot.cloud")
MIN_TOKEN_LIFE_SECONDS = 120.0  # keystoneauth1's margin
MARGIN_FRACTION = 0.25  # ... but never more than this share of the token's lifetime
TOKEN_WARNING_SECONDS = 3600.0  # warn when a given token has less than this left ...
# ... unless the caller said how long the run should last (``expect_run``)
KEYSTONE_RETRY = RetryPolicy(
    max_attempts=3, base_delay=0.5, max_delay=4.0, max_retry_after=30.0, max_throttled_seconds=60.0
)
# One Keystone request's wait for answers, all attempts together, unless the cloud's
# api_timeout says otherwise: a token takes Keystone well under a second to issue.
KEYSTONE_TIMEOUT_SECONDS = 60.0
_KEYSTONE_CONNECT_SECONDS = 10.0
# The least a token is kept, whatever lifetime Keystone states (see the docstring).
MIN_TOKEN_KEEP_SECONDS = 1.0


# ---------------------------------------------------------------- renewal


def refresh_margin(lifetime: float) -> float:
    """How long before expiry to renew: 120 s, or a quarter of a shorter lifetime."""
    return min(MIN_TOKEN_LIFE_SECONDS, MARGIN_FRACTION * max(0.0, lifetime))


# ---------------------------------------------------------------- authenticator


class Authenticator:
    """The run's one token: single-flight, refreshed ahead of expiry, invalidated on 401.

    ``session`` is the run's ``aiohttp.ClientSession`` (its connector carries the TLS
    settings). ``clock`` is monotonic seconds (tests pass a fake one to age tokens);
    ``sleep`` waits between attempts; ``timeout`` bounds each Keystone request (its
    ``total``: all attempts together; default: the cloud's ``api_timeout``, else
    ``KEYSTONE_TIMEOUT_SECONDS``). ``activity`` holds Keystone's requests under way.
    """

    def __init__(
        self,
        config: CloudConfig,
        session: aiohttp.ClientSession,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
        on_request: Callable[[RequestTiming], None] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        activity: Activity | None = None,
    ) -> None:
        if config.auth_type == "none" or not config.auth_url:
            raise ValueError("an Authenticator needs a Keystone auth_url and an auth_type")
        self._config = config
        self._clock = clock
        self._on_request = on_request
        if timeout is None:
            total = config.api_timeout or KEYSTONE_TIMEOUT_SECONDS
            timeout = aiohttp.ClientTimeout(
                total=total, connect=min(_KEYSTONE_CONNECT_SECONDS, total)
            )
        # Keystone's calls come one at a time (single flight): the transport's own
        # connection-slot limit never binds, and they never wait behind Nova's requests.
        self._keystone = Transport(
            session,
            config,
            authenticator=None,
            options=HttpOptions(retry=KEYSTONE_RETRY),
            on_request=self._record,
            clock=clock,
            sleep=sleep,
            timeout=timeout,
            describe=keystone_no_answer,
            activity=activity,
        )
        self._lock = anyio.Lock()
        self._token: Token | None = None
        self._generation = 0  # bumped by every fetch, successful or not
        self._failure: BaseException | None = None
        self._tokens_url: str | None = None
        self._warned = False
        self._warned_short = False
        self.expected_run_seconds: float | None = None
        self.authentications = 0
        self.timings: list[RequestTiming] = []

    @property
    def current(self) -> Token | None:
        """The token held now, fresh or not (None before the first fetch)."""
        return self._token

    def fresh(self) -> Token | None:
        """The token held, if it is good for a while yet (no await: the hot path's check)."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        return None

    async def token(self) -> Token:
        """A token good for a while yet; at most one fetch is in flight at any time.

        While a renewal is on its way, callers keep using the old token if it has at
        least half its margin left, rather than all stopping for Keystone's answer.
        """
        token = self._token
        if token is not None:
            now = self._clock()
            if now < token.refresh_at:
                return token
            if self._lock.locked() and now < (token.refresh_at + token.expires_local) / 2:
                return token
        generation = self._generation
        async with self._lock:
            token = self._token
            if token is not None and self._clock() < token.refresh_at:
                return token
            if self._generation != generation and self._failure is not None:
                # Someone fetched while we waited, and failed: share their answer.
                raise self._failure
            try:
                token = await self._fetch()
            except Exception as exc:
                # Cancellation is not recorded: the waiters then fetch for themselves.
                self._generation += 1
                self._failure = exc
                raise
            self._generation += 1
            self._failure = None
            self._token = token
            return token

    def invalidate(self, token: Token) -> None:
        """Forget ``token`` (after a 401), unless a newer one already replaced it."""
        if self._token is token:
            self._token = None

    # ------------------------------------------------------------ the fetch

    def _auth_error(self, detail: str) -> AuthError:
        config = self._config
        return AuthError(
            f"cannot authenticate to cloud {config.name!r} at "
            f"{redact_url(str(config.auth_url))} as {config.user_label}: {detail}"
        )

    async def _tokens_endpoint(self) -> str:
        """``.../v3/auth/tokens``: the auth URL as given if it is v3, else by discovery."""
        if self._tokens_url is not None:
            return self._tokens_url
        base = str(self._config.auth_url).rstrip("/").removesuffix("/v2.0")  # old rc files
        if urlsplit(base).path.rstrip("/").endswith("/v3"):
            self._tokens_url = base + "/auth/tokens"
            return self._tokens_url
        found = base + "/v3"
        body, _headers = await self._send("GET", base + "/", None, expect=(200, 300))
        versions = body.get("versions") if isinstance(body, Mapping) else None
        values = versions.get("values") if isinstance(versions, Mapping) else versions
        if isinstance(values, Sequence):
            for version in values:
                if isinstance(version, Mapping) and str(version.get("id", "")).startswith("v3"):
                    for link in version.get("links") or ():
                        if isinstance(link, Mapping) and link.get("rel") == "self":
                            found = str(link.get("href", found)).rstrip("/")
        self._tokens_url = found + "/auth/tokens"
        return self._tokens_url

    def _record(self, timing: RequestTiming) -> None:
        self.timings.append(timing)
        if self._on_request is not None:
            self._on_request(timing)

    async def _send(
        self, method: str, url: str, body: Any, *, expect: tuple[int, ...]
    ) -> tuple[Any, Mapping[str, str]]:
        """One Keystone call (retried on 429/5xx and on failed connections; timed): its
        JSON body and its headers."""
        try:
            answer = await self._keystone.request(
                method, url, json_body=body, expect=expect, idempotent=True, expect_json=False
            )
        except Redirected as exc:
            raise self._auth_error(str(exc)) from None
        except ApiError as exc:
            # The request's secrets are already masked in Keystone's words (a proxy or a
            # plugin might echo a password back).
            request_id = f", request id {exc.request_id}" if exc.request_id else ""
            raise self._auth_error(
                f"Keystone says: {exc.message} (HTTP {exc.http_status}{request_id})"
            ) from None
        text = answer.raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            raise self._auth_error(
                f"Keystone's answer to {method} {redact_url(url)} is not JSON "
                f"(HTTP {answer.status})"
            ) from None
        return parsed, answer.headers

    async def _fetch(self) -> Token:
        url = await self._tokens_endpoint()
        sent_at = self._clock()
        self.authentications += 1
        body, headers = await self._send(
            "POST", url, auth_request_body(self._config), expect=(200, 201)
        )
        value = headers.get("X-Subject-Token")
        data = body.get("token") if isinstance(body, Mapping) else None
        if not value or not isinstance(data, Mapping) or not data.get("expires_at"):
            raise self._auth_error("Keystone's answer has no X-Subject-Token or expires_at")
        try:
            expires_at = parse_keystone_time(str(data["expires_at"]))
            issued_at = (
                parse_keystone_time(str(data["issued_at"])) if data.get("issued_at") else None
            )
        except ValueError:
            raise self._auth_error(
                f"Keystone's expires_at {data.get('expires_at')!r} is not an ISO 8601 time"
            ) from None
        remaining = stated_lifetime(expires_at, issued_at, headers.get("Date"))
        user: Mapping[str, Any] = data.get("user") or {}
        project: Mapping[str, Any] = data.get("project") or {}
        expires_local = sent_at + remaining
        refresh_at = expires_local - (
            # A given token cannot be renewed: fetching it again early gains nothing.
            0.0 if self._config.auth_type == "token" else refresh_margin(remaining)
        )
        kept_until = self._clock() + MIN_TOKEN_KEEP_SECONDS
        if refresh_at < kept_until:
            self._warn_short(remaining)
            refresh_at = kept_until
        token = Token(
            value=value,
            expires_at=expires_at,
            issued_at=issued_at,
            user_id=user.get("id"),
            user_name=user.get("name"),
            project_id=project.get("id"),
            project_name=project.get("name"),
            methods=tuple(str(m) for m in data.get("methods") or ()),
            catalog=Catalog.from_keystone(data.get("catalog")),
            lifetime=remaining,
            refresh_at=refresh_at,
            expires_local=expires_local,
        )
        if self._config.auth_type == "token":
            self._warn_unrenewable(token, remaining)
        return token

    def expect_run(self, seconds: float) -> None:
        """Say how long the run should last, so that a token given with ``auth_type:
        token`` (which cannot be renewed) is judged against that rather than a fixed
        hour; warns at once if the token held already runs out sooner."""
        self.expected_run_seconds = seconds
        token = self._token
        if token is not None and self._config.auth_type == "token":
            self._warn_unrenewable(token, token.expires_local - self._clock())

    def _warn_short(self, remaining: float) -> None:
        if self._warned_short:
            return
        self._warned_short = True
        LOG.warning(
            "cloud %r: Keystone's tokens live %s; bulkboot keeps each token %g s at least "
            "rather than authenticating again for every request (a token the cloud refuses "
            "is renewed at once)",
            self._config.name,
            f"only {remaining:.1f} s" if remaining > 0 else "no time at all (already expired)",
            MIN_TOKEN_KEEP_SECONDS,
        )

    def _warn_unrenewable(self, token: Token, remaining: float) -> None:
        expected = self.expected_run_seconds
        if self._warned or remaining >= (
            expected if expected is not None else TOKEN_WARNING_SECONDS
        ):
            return
        self._warned = True
        longer = (
            f"this run is expected to take about {max(1, round(expected / 60))} min"
            if expected is not None
            else "a run that lasts longer will fail with 401"
        )
        LOG.warning(
            "cloud %r: the token given (auth_type token) expires at %s, in %d min, and "
            "cannot be renewed; %s: use a password or an application credential for long "
            "runs",
            self._config.name,
            token.expires_at.isoformat(timespec="seconds"),
            max(0, int(remaining // 60)),
            longer,
        )
