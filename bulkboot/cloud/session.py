"""The HTTP layer: the shared token, retries, timing, errors, debug log; run options.

``Transport.request`` is the one request path of the cloud client: Nova, Glance and
Neutron calls go through the run's transport, and Keystone's own calls through a
transport of the authenticator's, over the same pool (``pool.py``) and without a token
(as keystoneauth's auth plugins use the session). For thousands of concurrent calls:

- the token comes from the single-flight ``Authenticator``; a 401 invalidates it,
  re-authenticates once and retries once; a second 401 is an ``AuthError`` naming the
  cloud and the user (never the password);
- 429/503 are waited out (``Retry-After``, else jittered back-off) for as long as the
  API keeps answering so, up to ``RetryPolicy.max_throttled_seconds``; 500/502/504 and
  broken connections are retried only for idempotent methods (``retry.py``); a request
  that could not even connect is always retried;
- one request, all its attempts together, waits at most the API timeout for answers
  (the cloud's ``api_timeout``, else ``HttpOptions.total_timeout``; Keystone's own,
  see ``auth.py``): each attempt gets what is left of it, so a stalled endpoint costs
  that timeout once, not once per attempt;
- a 3xx is never followed (``faults.redirected``): a redirect could carry the token,
  a password or a create's body to another host;
- an answer is read decoded and never past ``HttpOptions.max_answer_bytes``
  (``answer.py``);
- every logical request leaves one ``RequestTiming`` (attempts, 429/503 answers, the
  client's own waits and the last answer's time apart) and is added to ``totals``;
- with an ``Activity``, the requests under way can be read by a display;
- a semaphore the size of the connector holds requests back before their
  timeout starts, so that 10,000 queued creates do not time out waiting for a socket;
  the ``--rate`` slot and the token are taken only once a request holds its place
  there, so requests that queued do not go out together over the rate;
- nothing is formatted for the debug log unless "bulkboot.http" logs DEBUG;
- waits go through the injected ``sleep`` and times through the injected ``clock``.

Error answers and missing answers become ``bulkboot.errors`` exceptions (``faults.py``);
aiohttp's own exceptions never leave this module.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import anyio

from bulkboot import __version__
from bulkboot.cloud.answer import ACCEPT_ENCODING, Response, read_body
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.faults import (
    Failure,
    FailureKind,
    error_from_response,
    no_answer,
    redirected,
    untrusted_certificate,
    with_note,
)
from bulkboot.cloud.options import CreateRecovery, HttpOptions
from bulkboot.cloud.ratelimit import RateLimiter
from bulkboot.cloud.redact import HTTP_LOG, curl_line, response_lines, secret_values
from bulkboot.cloud.retry import IDEMPOTENT_METHODS
from bulkboot.cloud.timing import Activity, Clock, RequestTiming, RequestTotals, Sleep, Watch
from bulkboot.errors import ApiError, AuthError, TransportError

if TYPE_CHECKING:
    from bulkboot.cloud.auth import Authenticator, Token

__all__ = [
    "USER_AGENT",
    "CreateRecovery",
    "HttpOptions",
    "Response",
    "Transport",
]

USER_AGENT = f"bulkboot/{__version__}"
_ACCEPT = {
    "Accept": "application/json",
    "Accept-Encoding": ACCEPT_ENCODING,
    "User-Agent": USER_AGENT,
}
_JSON_BODY = {"Content-Type": "application/json"}
_COMPACT = (",", ":")  # fewer bytes on the wire than json.dumps' default
_DEFAULT_OPTIONS = HttpOptions()


@dataclass(frozen=True, slots=True)
class _Answer:
    """One attempt's HTTP answer, whatever its status, and the token it was sent with."""

    status: int
    reason: str
    headers: Mapping[str, str]
    raw: bytes
    token: Token | None


class Transport:
    """Sends requests for one cloud; see the module docstring for the rules it keeps.

    ``authenticator``: where tokens come from (None: no token is sent). ``timeout``
    replaces the session's for this transport's requests (its ``total`` is then this
    transport's API timeout). ``describe`` words a request that got no answer.
    ``clock`` and ``sleep`` time requests and wait between attempts (and for ``--rate``
    slots). ``activity``, when given, holds the requests under way for a display.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: CloudConfig,
        *,
        authenticator: Authenticator | None,
        options: HttpOptions = _DEFAULT_OPTIONS,
        on_request: Callable[[RequestTiming], None] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
        timeout: aiohttp.ClientTimeout | None = None,
        describe: Callable[[Failure], TransportError] = no_answer,
        activity: Activity | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.authenticator = authenticator
        self.options = options
        self.clock = clock
        self.sleep = sleep
        self._policy = options.retry
        # A semaphore, not a CapacityLimiter: same bound, without the two event-loop
        # round trips per acquire (26 us against 4 us here): this is the hot path.
        self._limiter = anyio.Semaphore(options.concurrency, fast_acquire=True)
        self._rate = RateLimiter(options.rate, clock=clock, sleep=sleep) if options.rate else None
        self._on_request = on_request
        self._send_options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._budget = float(
            (timeout.total if timeout is not None else None)
            or config.api_timeout
            or options.total_timeout
        )
        self._connect = (
            timeout.connect if timeout is not None else None
        ) or options.connect_timeout
        # an attempt with less than this left of the budget is not worth making
        self._least = min(1.0, self._budget / 10)
        self._limit = options.max_answer_bytes
        self._describe = describe
        self._activity = activity
        self._header_token: Token | None = None
        self._header_cache: dict[int, tuple[Mapping[str, str] | None, dict[str, str]]] = {}
        self._verify: bool | str = config.cacert or config.verify
        self.counts: Counter[tuple[str, int | None]] = Counter()
        self.totals = RequestTotals()

    @property
    def attempt_timeout(self) -> float:
        """The API timeout: seconds one request may wait for answers, attempts together."""
        return self._budget

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The ``--rate`` limiter every request of this transport waits on (None: no limit)."""
        return self._rate

    # ------------------------------------------------------------ headers

    def _headers(
        self, token: Token | None, extra: Mapping[str, str] | None, has_body: bool
    ) -> dict[str, str]:
        """Headers built once per token and per caller's fixed extras, then reused.

        The cache holds each ``extra`` mapping itself, so its ``id`` cannot be reused
        by another object while the entry lives.
        """
        if token is not self._header_token:
            self._header_token = token
            self._header_cache = {}
        key = (id(extra) << 1) | has_body
        entry = self._header_cache.get(key)
        if entry is not None and entry[0] is extra:
            return entry[1]
        merged = dict(_ACCEPT)
        if has_body:
            merged.update(_JSON_BODY)
        if token is not None:
            merged["X-Auth-Token"] = token.value
        if extra:
            merged.update(extra)
        if len(self._header_cache) < 64:
            self._header_cache[key] = (extra, merged)
        return merged

    # ------------------------------------------------------------ request

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
        expect: Collection[int] | None = None,
        idempotent: bool | None = None,
    ) -> Response:
        """One logical request: retried, re-authenticated, timed; raises on error answers.

        ``headers`` should be a long-lived mapping (a microversion's headers): the
        merged headers are cached by its identity. ``expect``: the statuses that are an
        answer (default: any 2xx); any other is raised (an ``ApiError``; a 3xx is
        ``Redirected``). ``idempotent``: safe to send again whatever the method
        (default: by the method). ``expect_json`` False leaves ``body`` None, for
        callers that read ``raw``.
        """
        payload = None if json_body is None else json.dumps(json_body, separators=_COMPACT).encode()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        policy = self._policy
        budget = self._budget
        started = self.clock()
        watch = None if self._activity is None else self._activity.begin(method, url, started)
        spent = 0.0  # in attempts, against the API timeout
        waited = 0.0  # by this client: slots, and the waits between attempts
        throttle_waited = 0.0
        attempt = failed = throttled = 0
        took = 0.0
        reauthenticated = False
        status: int | None = None
        answered = False
        debug = HTTP_LOG.isEnabledFor(logging.DEBUG)
        try:
            while True:
                attempt += 1
                if watch is not None:
                    watch.attempt, watch.retry_at = attempt, None
                sent, queued, took = await self._send_once(
                    method, url, params, payload, headers, debug, budget - spent
                )
                spent += took
                waited += queued
                if isinstance(sent, Failure):
                    status = None
                    failed += 1
                    left = budget - spent > self._least
                    if left and policy.should_retry_failure(
                        reached=sent.kind == "maybe_reached", idempotent=idempotent, attempt=failed
                    ):
                        waited += await self._wait(watch, policy.backoff(failed))
                        continue
                    timed_out = not left and isinstance(sent.error, TimeoutError)
                    raise self._describe(
                        replace(sent, attempts=attempt, timeout=budget if timed_out else None)
                    )
                code = status = sent.status
                if debug:
                    HTTP_LOG.debug(
                        response_lines(
                            code, sent.headers.items(), sent.raw, secret_values(json_body)
                        )
                    )
                if code < 300 if expect is None else code in expect:
                    body = _parse(sent.raw) if expect_json else None
                    timing = self._timing(
                        method, url, code, attempt, started, throttled, waited, took
                    )
                    answered = True
                    return Response(code, sent.headers, body, timing, sent.raw)
                if 300 <= code < 400:
                    raise redirected(
                        cloud=self.config.name,
                        status=code,
                        headers=sent.headers,
                        method=method,
                        url=url,
                    )
                if code == 401 and self.authenticator is not None and sent.token is not None:
                    if not reauthenticated:
                        reauthenticated = True
                        self.authenticator.invalidate(sent.token)
                        continue
                    raise self._unauthorized(method, url, sent)
                error = error_from_response(
                    status=code,
                    reason=sent.reason,
                    headers=sent.headers,
                    body=sent.raw,
                    method=method,
                    url=url,
                    # Nova's 400s echo the offending value ("... adminPass. Value: ..."):
                    # the request's own secrets never reach a message, report or journal.
                    secrets=secret_values(json_body) if json_body is not None else (),
                )
                left = budget - spent > self._least
                if policy.is_throttle(code, error.retry_after, idempotent=idempotent):
                    throttled += 1
                    if watch is not None:
                        watch.throttled = throttled
                    wait = policy.throttled_wait(throttled, error.retry_after)
                    if left and policy.should_retry_throttled(
                        error.retry_after, waited=throttle_waited, wait=wait
                    ):
                        throttle_waited += await self._wait(watch, wait)
                        waited += wait
                        continue
                    if throttled > 1:
                        raise with_note(
                            error,
                            f" (turned away {throttled} times, {throttle_waited:.0f} s "
                            f"waited for the API to take it)",
                        )
                    raise error
                failed += 1
                if left and policy.should_retry_status(
                    code, method, failed, error.retry_after, idempotent=idempotent
                ):
                    waited += await self._wait(watch, policy.wait_for(failed, error.retry_after))
                    continue
                raise error
        finally:
            if watch is not None and self._activity is not None:
                self._activity.end(watch)
            if not answered:
                self._timing(
                    method,
                    url,
                    status,
                    attempt,
                    started,
                    throttled,
                    waited,
                    None if status is None else took,
                )

    async def _wait(self, watch: Watch | None, seconds: float) -> float:
        """Wait between two attempts (shown by the ``Activity``); returns ``seconds``."""
        if watch is not None:
            watch.retry_at = self.clock() + seconds
        await self.sleep(seconds)
        return seconds

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        payload: bytes | None,
        extra: Mapping[str, str] | None,
        debug: bool,
        left: float,
    ) -> tuple[_Answer | Failure, float, float]:
        """One attempt: a connection slot, the rate slot, the token, then aiohttp.

        ``left``: seconds of the request's API timeout this attempt may use. Returns the
        answer, or the ``Failure`` that kept one from coming, with the seconds spent
        waiting for the slots and the token, and those spent in the attempt itself.
        Raises only what no retry mends (an untrusted certificate, an unusable URL, an
        answer too large or undecodable).
        """
        token = None
        clock = self.clock
        asked = clock()
        # Order matters: a connection slot first, then the rate slot, then the token.
        # A rate slot taken before queueing for a connection would be spent by the time
        # the connection frees, and every request that waited would then go out
        # together, over the rate.
        async with self._limiter:
            if self._rate is not None:
                await self._rate.acquire()
            if self.authenticator is not None:
                token = self.authenticator.fresh() or await self.authenticator.token()
            sent_headers = self._headers(token, extra, payload is not None)
            if debug:
                HTTP_LOG.debug(
                    curl_line(
                        method, _with_query(url, params), sent_headers, payload, verify=self._verify
                    )
                )
            options = self._send_options
            if left < self._budget:  # a retry: what is left of the request's timeout
                options = {
                    "timeout": aiohttp.ClientTimeout(total=left, connect=min(self._connect, left))
                }
            went = clock()
            try:
                async with self.session.request(
                    method,
                    url,
                    params=params,
                    data=payload,
                    headers=sent_headers,
                    allow_redirects=False,
                    **options,
                ) as answer:
                    raw = await read_body(answer, limit=self._limit, method=method, url=url)
                    outcome: _Answer | Failure = _Answer(
                        answer.status, answer.reason or "", answer.headers, raw, token
                    )
            except aiohttp.ClientConnectorCertificateError as exc:
                raise untrusted_certificate(
                    self.config.name, self.config.cacert, method, url, exc
                ) from None
            except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
                raise self._describe(self._failure(method, url, exc, "unusable")) from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                outcome = self._failure(method, url, exc, "unreached")  # it never left
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = self._failure(method, url, exc, "maybe_reached")
            return outcome, went - asked, clock() - went

    # ------------------------------------------------------------ bookkeeping

    def _timing(
        self,
        method: str,
        url: str,
        status: int | None,
        attempts: int,
        started: float,
        throttled: int,
        waited: float,
        answer_seconds: float | None,
    ) -> RequestTiming:
        timing = RequestTiming(
            method=method,
            path=_path(url),
            status=status,
            attempts=attempts,
            started=started,
            seconds=self.clock() - started,
            throttled=throttled,
            waited=waited,
            answer_seconds=answer_seconds,
        )
        self.counts[(method, status)] += 1
        self.totals.add(timing)
        if self._on_request is not None:
            self._on_request(timing)
        return timing

    def _failure(self, method: str, url: str, exc: BaseException, kind: FailureKind) -> Failure:
        return Failure(
            cloud=self.config.name, method=method, url=url, error=exc, kind=kind, attempts=1
        )

    def _unauthorized(self, method: str, url: str, answer: _Answer) -> AuthError:
        error: ApiError = error_from_response(
            status=401,
            reason=answer.reason,
            headers=answer.headers,
            body=answer.raw,
            method=method,
            url=url,
        )
        return AuthError(
            f"cloud {self.config.name!r} refused the token of {self.config.user_label} even "
            f"after authenticating again: {error}"
        )


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return url


def _with_query(url: str, params: Mapping[str, str] | None) -> str:
    if not params:
        return url
    from urllib.parse import urlencode

    return f"{url}?{urlencode(params)}"
