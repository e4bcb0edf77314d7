"""One attempt of a request on the wire: its slots, its token, aiohttp, its answer read.

``Transport.request`` (session.py) decides what to do with an attempt's outcome
(retry, re-authenticate, raise); the ``Sender`` makes the attempt:

- a semaphore the size of the connector holds requests back before their timeout
  starts, so that 10,000 queued creates do not time out waiting for a socket; the
  ``--rate`` slot and the token are taken only once a request holds its place there,
  so requests that queued do not go out together over the rate;
- the headers are built once per token and per caller's fixed extras, then reused;
- a 3xx is not followed (``allow_redirects=False``); the answer is read decoded and
  never past ``HttpOptions.max_answer_bytes`` (``answer.py``);
- aiohttp's exceptions become a ``Failure`` (``unreached``: it never left;
  ``maybe_reached``: it may have arrived) or, for what no retry mends (an untrusted
  certificate, an unusable URL), an error; none leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio

from bulkboot import __version__
from bulkboot.cloud.answer import ACCEPT_ENCODING, read_body
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.faults import TIMEOUTS, Failure, FailureKind, untrusted_certificate
from bulkboot.cloud.options import HttpOptions
from bulkboot.cloud.ratelimit import RateLimiter
from bulkboot.cloud.redact import HTTP_LOG, curl_line
from bulkboot.cloud.timing import Clock, Sleep
from bulkboot.errors import TransportError

if TYPE_CHECKING:
    from bulkboot.cloud.auth import Authenticator, Token

__all__ = ["USER_AGENT", "Answer", "Sender"]

USER_AGENT = f"bulkboot/{__version__}"
_ACCEPT = {
    "Accept": "application/json",
    "Accept-Encoding": ACCEPT_ENCODING,
    "User-Agent": USER_AGENT,
}
_JSON_BODY = {"Content-Type": "application/json"}
# after the request may have left: broken, or not answered in time
_NO_ANSWER: tuple[type[Exception], ...] = (aiohttp.ClientError, *TIMEOUTS)


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's HTTP answer, whatever its status, and the token it was sent with."""

    status: int
    reason: str
    headers: Mapping[str, str]
    raw: bytes
    token: Token | None


class Sender:
    """Makes one request's attempts for a ``Transport`` (see the module docstring).

    ``budget`` and ``connect``: the transport's API timeout and connect timeout;
    ``timeout`` the aiohttp timeout of a first attempt (None: the session's).
    ``describe`` words a request that got no answer.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: CloudConfig,
        *,
        authenticator: Authenticator | None,
        options: HttpOptions,
        clock: Clock,
        sleep: Sleep,
        timeout: aiohttp.ClientTimeout | None,
        budget: float,
        connect: float,
        describe: Callable[[Failure], TransportError],
    ) -> None:
        self.session = session
        self.config = config
        self.authenticator = authenticator
        self.clock = clock
        # A semaphore, not a CapacityLimiter: same bound, without the two event-loop
        # round trips per acquire (26 us against 4 us here): this is the hot path.
        self._limiter = anyio.Semaphore(options.concurrency, fast_acquire=True)
        self.rate = RateLimiter(options.rate, clock=clock, sleep=sleep) if options.rate else None
        self._send_options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._budget = budget
        self._connect = connect
        self._limit = options.max_answer_bytes
        self._describe = describe
        self._header_token: Token | None = None
        self._header_cache: dict[int, tuple[Mapping[str, str] | None, dict[str, str]]] = {}
        self._verify: bool | str = config.cacert or config.verify

    def headers(
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

    async def send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        payload: bytes | None,
        extra: Mapping[str, str] | None,
        debug: bool,
        left: float,
        on_wire: Callable[[], None] | None = None,
    ) -> tuple[Answer | Failure, float, float]:
        """One attempt: a connection slot, the rate slot, the token, then aiohttp.

        ``left``: seconds of the request's API timeout this attempt may use. ``on_wire``
        is called once the slots and the token are held, right before the request goes
        on the wire (what it raises stops the attempt: nothing is sent). Returns the
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
            if self.rate is not None:
                await self.rate.acquire()
            if self.authenticator is not None:
                token = self.authenticator.fresh() or await self.authenticator.token()
            sent_headers = self.headers(token, extra, payload is not None)
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
            if on_wire is not None:
                on_wire()
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
                    outcome: Answer | Failure = Answer(
                        answer.status, answer.reason or "", answer.headers, raw, token
                    )
            except aiohttp.ClientConnectorCertificateError as exc:
                raise untrusted_certificate(
                    self.config.name, self.config.cacert, method, url, exc
                ) from None
            except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
                raise self._describe(self.failure(method, url, exc, "unusable")) from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                outcome = self.failure(method, url, exc, "unreached")  # it never left
            except _NO_ANSWER as exc:
                outcome = self.failure(method, url, exc, "maybe_reached")
            return outcome, went - asked, clock() - went

    def failure(self, method: str, url: str, exc: BaseException, kind: FailureKind) -> Failure:
        return Failure(
            cloud=self.config.name, method=method, url=url, error=exc, kind=kind, attempts=1
        )


def _with_query(url: str, params: Mapping[str, str] | None) -> str:
    if not params:
        return url
    from urllib.parse import urlencode

    return f"{url}?{urlencode(params)}"
