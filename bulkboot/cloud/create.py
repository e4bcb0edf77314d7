"""A create never sent twice: ``POST /servers``, and a lost answer's server looked for.

``POST /servers`` is the one request that is not safe to repeat: a create whose answer
was lost may have made a server. The fleet is then searched for a server of that name
(``name-1`` ... for a multi-create) carrying the run's ``bulkboot:fleet`` mark. After a
500, 502 or a 503 without ``Retry-After`` (answers: Nova is done with the request) the
create is sent again only when none is there. After a timeout, a connection broken
after the request was written, or a 504 (Nova may still be at work) it is never sent
again: found, or ``CreateUncertain``; so is an answer that cannot be read (too large,
undecodable). 429, and 503 with ``Retry-After``, mean the request was turned away
before Nova: the transport waits and re-sends those itself. 400, 403 and 409 are final.
How long and how often it looks is the transport's ``HttpOptions.recovery``; its clock
and sleep time the looks.

Every send after a create's first (a 429 or a 503 with ``Retry-After`` sent again by
the transport, a 500 sent again here, a 401's re-send) is told to the request's
``on_attempt`` right before it goes on the wire: Nova may act on that one late, so a
caller that keeps a window for creates in flight counts it from the last send, not
from the first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bulkboot.cloud.session import Response, Transport
from bulkboot.cloud.timing import RequestTiming
from bulkboot.errors import (
    ApiError,
    BadAnswer,
    CloudError,
    ConnectionLost,
    CreateUncertain,
    RequestTimeout,
    ServerError,
    Unavailable,
)
from bulkboot.identity import is_fleet_record, is_gone, is_leaving, member_number

__all__ = ["CreateRequest", "CreatedServer", "Creator", "regex_literal"]

_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")

# ``Compute``'s ``POST /servers`` (its microversion headers as negotiated when sent) and
# its ``list_servers``.
Post = Callable[..., Awaitable[Response]]
ListServers = Callable[..., Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRequest:
    """One ``POST /servers``, with the facts the client needs to look for it after a lost
    answer, told by the caller that built the body (never parsed back out of it).

    ``secrets``: values masked wherever Nova's messages echo them (``adminPass``).
    """

    body: Mapping[str, Any] = field(repr=False)
    name: str
    instance_count: int = 1
    fleet: str
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # servers of the same name and fleet that this create did not make (the old ones a
    # replacement creates beside): never taken for its server after a lost answer
    exclude: frozenset[str] = frozenset()
    # told ``name`` right before each send after the first goes on the wire (see the
    # module docstring); what it raises stops the create there, nothing more sent
    on_attempt: Callable[[str], None] | None = field(default=None, repr=False, compare=False)


class _Sends:
    """Counts one create's sends on the wire (every HTTP send, 429s included) and tells
    ``on_attempt`` of each after the first: the usual one-send create costs one call."""

    __slots__ = ("_name", "_on_attempt", "count")

    def __init__(self, name: str, on_attempt: Callable[[str], None] | None) -> None:
        self._name = name
        self._on_attempt = on_attempt
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        if self.count > 1 and self._on_attempt is not None:
            self._on_attempt(self._name)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedServer:
    """What a create gave back. ``id`` is None when Nova answered a reservation id only.

    ``recovered`` is True when the answer was lost and the server was found by its
    name and fleet mark instead (then ``admin_pass`` is unknown). ``request_id`` is
    Nova's ``x-openstack-request-id`` of the answer (None when recovered).
    """

    id: str | None
    reservation_id: str | None
    name: str
    admin_pass: str | None = field(default=None, repr=False)
    timing: RequestTiming
    recovered: bool = False
    request_id: str | None = None


def regex_literal(text: str) -> str:
    """Escape for Nova's name filter (a database regex: keep it to the portable subset)."""
    return "".join("\\" + c if c in _REGEX_SPECIALS else c for c in text)


class Creator:
    """Sends one ``Compute``'s creates; see the module docstring for the rules it keeps.

    ``post`` sends ``POST /servers`` with the compute's headers of the moment;
    ``list_servers`` is the compute's listing (every page). The transport gives the
    clock, the sleep, the retry policy and ``recovery``.
    """

    def __init__(self, transport: Transport, *, post: Post, list_servers: ListServers) -> None:
        self.transport = transport
        self._post = post
        self._list_servers = list_servers
        self._clock = transport.clock
        self._sleep = transport.sleep
        self._recovery = transport.options.recovery
        self._max_create_attempts = (
            transport.options.retry.max_attempts
            if self._recovery.max_attempts is None
            else self._recovery.max_attempts
        )

    async def send(self, request: CreateRequest) -> CreatedServer:
        """``POST /servers``; after a lost answer, look for the server before anything else.

        Two kinds of lost answer, told apart by whether Nova may still be at work:

        - Nova (or a proxy) answered 500, 502 or a bare 503: it is done with the
          request. Look (twice, ``recovery.lookup_settle`` apart); re-send only if
          absent.
        - A timeout, a connection that broke after the request was written, or a 504
          (a proxy gave up, Nova carries on): Nova may still be making the server,
          however long we wait. Look several times over at least the request timeout
          (capped by ``recovery.lookup_window_cap``); if it has not shown up, raise
          ``CreateUncertain``. Never re-sent: a duplicate is worse than a server
          found late by the caller's inventory.
        """
        name, fleet, count = request.name, request.fleet, request.instance_count
        started = self._clock()
        attempts = 0
        sends = _Sends(name, request.on_attempt)
        while True:
            attempts += 1
            try:
                answer = await self._post(body=request.body, on_wire=sends)
            except ApiError as exc:
                # Nova's validation messages echo the offending value: never a password.
                for secret in request.secrets:
                    if secret and secret in exc.message:
                        raise _scrubbed(exc, request.secrets) from None
                if isinstance(exc, ServerError) and exc.http_status == 504:
                    return await self._after_unknown(
                        exc, name, fleet, count, started, sends, request.exclude
                    )
                answered = isinstance(exc, ServerError) or (
                    isinstance(exc, Unavailable) and exc.retry_after is None
                )
                if not answered:
                    raise  # 400, 403, 409 are final; 429 and timed 503s were retried
                failure: ApiError = exc
            except (ConnectionLost, RequestTimeout, BadAnswer) as exc:
                # BadAnswer: an answer too large, or undecodable: Nova may have acted
                return await self._after_unknown(
                    exc, name, fleet, count, started, sends, request.exclude
                )
            else:
                return self._created(answer, name, started, sends)
            # A 500/502/bare 503: it may have reached Nova, which has finished with it.
            # Looked for after the last attempt too: that one may have made it.
            found = await self._settled_lookup(name, fleet, count, request.exclude)
            if found is not None:
                return self._recovered(found, name, started, sends)
            if attempts >= self._max_create_attempts:
                raise failure
            await self._sleep(self.transport.options.retry.backoff(attempts))

    async def _after_unknown(
        self,
        cause: Exception,
        name: str,
        fleet: str,
        count: int,
        started: float,
        sends: _Sends,
        exclude: frozenset[str] = frozenset(),
    ) -> CreatedServer:
        """Nova may still be working on the create: look patiently, never re-send."""
        settle = self._recovery.lookup_settle
        window = max(settle, min(self.transport.attempt_timeout, self._recovery.lookup_window_cap))
        deadline = self._clock() + window
        pause = max(settle, 0.05)
        problem: Exception | None = None
        while True:
            try:
                found = await self.find_created(name, fleet, count, exclude)
            except CloudError as exc:  # a failed look is no answer: keep looking
                found, problem = None, exc
            if found is not None:
                return self._recovered(found, name, started, sends)
            left = deadline - self._clock()
            if left <= 0:
                break
            await self._sleep(min(pause, left))
            pause *= 2
        looked = f" (the last look failed: {problem})" if problem is not None else ""
        raise CreateUncertain(
            f"server {name!r}: the create may have reached Nova ({cause}), and no server of "
            f"that name and fleet showed up in the {window:g} s we looked{looked}; it was "
            f"not sent again, so as not to make a duplicate: it may still appear",
            name=name,
            fleet=fleet,
        )

    def _created(self, answer: Response, name: str, started: float, sends: _Sends) -> CreatedServer:
        """What a success answer says. Anything not in Nova's shape (a proxy's HTML page,
        ``{"server": {}}``, a reservation id only) leaves ``id`` None: the caller cannot
        watch such a server and must look for it by name (see the engine's workers).
        Sent more than once (turned away, or sent again after a 500), its timing is the
        whole create's (``_overall``): the earlier sends' own time counts as waited."""
        data: Mapping[str, Any] = answer.body if isinstance(answer.body, Mapping) else {}
        server = data.get("server")
        created: Mapping[str, Any] = server if isinstance(server, Mapping) else {}
        server_id = created.get("id")
        reservation_id = data.get("reservation_id")
        admin_pass = created.get("adminPass")
        timing = (
            answer.timing
            if sends.count <= 1
            else _overall(
                answer_timing=answer.timing,
                started=started,
                ended=self._clock(),
                sends=sends.count,
            )
        )
        return CreatedServer(
            id=server_id if isinstance(server_id, str) and server_id else None,
            reservation_id=reservation_id if isinstance(reservation_id, str) else None,
            name=name,
            admin_pass=admin_pass if isinstance(admin_pass, str) else None,
            timing=timing,
            request_id=answer.request_id,
        )

    async def _settled_lookup(
        self, name: str, fleet: str, count: int, exclude: frozenset[str] = frozenset()
    ) -> dict[str, Any] | None:
        """Look for the server; if absent, look once more after ``lookup_settle`` seconds
        (a create that timed out on our side may still be on its way through Nova)."""
        found = await self.find_created(name, fleet, count, exclude)
        settle = self._recovery.lookup_settle
        if found is None and settle > 0:
            await self._sleep(settle)
            found = await self.find_created(name, fleet, count, exclude)
        return found

    def _recovered(
        self, found: Mapping[str, Any], name: str, started: float, sends: _Sends
    ) -> CreatedServer:
        return CreatedServer(
            id=str(found.get("id")),
            reservation_id=found.get("reservation_id")
            or found.get("OS-EXT-SRV-ATTR:reservation_id"),
            name=name,
            timing=_overall(
                answer_timing=None, started=started, ended=self._clock(), sends=sends.count
            ),
            recovered=True,
        )

    async def find_created(
        self, name: str, fleet: str, count: int, exclude: frozenset[str] = frozenset()
    ) -> dict[str, Any] | None:
        """The fleet's server made by a create whose answer was lost, if there is one
        (never one of ``exclude``: servers of the name this create did not make)."""
        if count > 1:
            pattern = f"^{regex_literal(name)}-[0-9]+$"
        else:
            pattern = f"^{regex_literal(name)}$"

        def made_by_this_request(server: Mapping[str, Any]) -> bool:
            listed = server.get("name")
            if not isinstance(listed, str):
                return False
            if count > 1 and member_number(name, listed, count) is None:
                return False
            if count == 1 and listed != name:
                return False
            if exclude and str(server.get("id")) in exclude:
                return False
            # an older namesake on its way out is not the one this create made
            return is_fleet_record(server, fleet) and not (is_gone(server) or is_leaving(server))

        found = [
            s
            for s in await self._list_servers({"name": pattern}, detail=True)
            if made_by_this_request(s)
        ]
        if not found:
            return None
        found.sort(key=lambda s: str(s.get("name")))
        return found[0]


def _scrubbed(error: ApiError, secrets: tuple[str, ...]) -> ApiError:
    """The same error with every one of ``secrets`` masked in Nova's message."""
    message = error.message
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return type(error)(
        message,
        status=error.http_status,
        method=error.method,
        url=error.url,
        request_id=error.request_id,
        retry_after=error.retry_after,
    )


def _overall(
    *, answer_timing: RequestTiming | None, started: float, ended: float, sends: int
) -> RequestTiming:
    """One create's timing over all its sends and look-ups: the last send's answer time,
    and everything else counted as waited (back-off and ``Retry-After`` between sends,
    queueing for a connection, the earlier sends' own time, turned away (429/503) or
    failed (500), and looking for a lost answer): answer and waited add up to the
    whole. ``sends``: every HTTP send of the create."""
    seconds = ended - started
    answer = answer_timing.answer_seconds if answer_timing else None
    return RequestTiming(
        method="POST",
        path=answer_timing.path if answer_timing else "/servers",
        status=answer_timing.status if answer_timing else 202,
        attempts=max(1, sends),
        started=started,
        seconds=seconds,
        throttled=answer_timing.throttled if answer_timing else 0,
        waited=max(0.0, seconds - (answer or 0.0)),
        answer_seconds=answer,
    )
