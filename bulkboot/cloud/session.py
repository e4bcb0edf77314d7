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
- each attempt waits for a connection slot before its timeout starts, then for the
  ``--rate`` slot and the token (``attempt.py``'s ``Sender``, which makes it);
- nothing is formatted for the debug log unless "bulkboot.http" logs DEBUG;
- waits go through the injected ``sleep`` and times through the injected ``clock``.

Error answers and missing answers become ``bulkboot.errors`` exceptions (``faults.py``);
aiohttp's own exceptions never leave this module and ``attempt.py``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import anyio

from bulkboot.cloud.answer import Response, parse_json
from bulkboot.cloud.attempt import USER_AGENT, Answer, Sender
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.faults import (
    TIMEOUTS,
    Failure,
    error_from_response,
    no_answer,
    redirected,
    with_note,
)
from bulkboot.cloud.options import CreateRecovery, HttpOptions
from bulkboot.cloud.ratelimit import RateLimiter
from bulkboot.cloud.redact import HTTP_LOG, response_lines, secret_values
from bulkboot.cloud.retry import IDEMPOTENT_METHODS
from bulkboot.cloud.timing import Activity, Clock, RequestTiming, RequestTotals, Sleep, Watch
from bulkboot.errors import ApiError, AuthError, TransportError

if TYPE_CHECKING:
    from bulkboot.cloud.auth import Authenticator

__all__ = [
    "USER_AGENT",
    "CreateRecovery",
    "HttpOptions",
    "Response",
    "Transport",
]

_COMPACT = (",", ":")  # fewer bytes on the wire than json.dumps' default
_DEFAULT_OPTIONS = HttpOptions()


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
        self._on_request = on_request
        self._budget = float(
            (timeout.total if timeout is not None else None)
            or config.api_timeout
            or options.total_timeout
        )
        # an attempt with less than this left of the budget is not worth making
        self._least = min(1.0, self._budget / 10)
        self._describe = describe
        self._activity = activity
        self._sender = Sender(
            session,
            config,
            authenticator=authenticator,
            options=options,
            clock=clock,
            sleep=sleep,
            timeout=timeout,
            budget=self._budget,
            connect=(timeout.connect if timeout is not None else None) or options.connect_timeout,
            describe=describe,
        )
        self.counts: Counter[tuple[str, int | None]] = Counter()
        self.totals = RequestTotals()

    @property
    def attempt_timeout(self) -> float:
        """The API timeout: seconds one request may wait for answers, attempts together."""
        return self._budget

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The ``--rate`` limiter every request of this transport waits on (None: no limit)."""
        return self._sender.rate

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
        on_wire: Callable[[], None] | None = None,
    ) -> Response:
        """One logical request: retried, re-authenticated, timed; raises on error answers.

        ``headers`` should be a long-lived mapping (a microversion's headers): the
        merged headers are cached by its identity. ``expect``: the statuses that are an
        answer (default: any 2xx); any other is raised (an ``ApiError``; a 3xx is
        ``Redirected``). ``idempotent``: safe to send again whatever the method
        (default: by the method). ``expect_json`` False leaves ``body`` None, for
        callers that read ``raw``. ``on_wire`` is called right before each attempt
        goes on the wire (after its slots and token: ``Sender.send``), the first
        included: a create's caller counts the sends Nova may act on.
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
                sent, queued, took = await self._sender.send(
                    method, url, params, payload, headers, debug, budget - spent, on_wire
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
                    timed_out = not left and isinstance(sent.error, TIMEOUTS)
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
                    body = parse_json(sent.raw) if expect_json else None
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

    def _unauthorized(self, method: str, url: str, answer: Answer) -> AuthError:
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


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return url
