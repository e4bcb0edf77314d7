"""Nova calls: version negotiation, create (never duplicated), list (paged), get, delete.

``create_server`` is the one request that is not safe to repeat: a ``POST /servers``
whose answer was lost may have made a server. The fleet is then searched for a server
of that name (``name-1`` ... for a multi-create) carrying the run's ``bulkboot:fleet``
mark. After a 500, 502 or a 503 without ``Retry-After`` (answers: Nova is done with
the request) the create is sent again only when none is there. After a timeout, a
connection broken after the request was written, or a 504 (Nova may still be at work)
it is never sent again: found, or ``CreateUncertain``; so is an answer that cannot be
read (too large, undecodable). 429, and 503 with
``Retry-After``, mean the request was turned away before Nova: the transport waits
and re-sends those itself. 400, 403 and 409 are final. How long and how often it looks
is the transport's ``HttpOptions.recovery``; its clock and sleep time the looks.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio

from bulkboot.cloud.redact import redact_url
from bulkboot.cloud.session import Response, Transport
from bulkboot.cloud.timing import RequestTiming
from bulkboot.errors import (
    ApiError,
    BadAnswer,
    CloudError,
    ConnectionLost,
    CreateUncertain,
    MicroversionError,
    NotFound,
    RequestTimeout,
    ServerError,
    Unavailable,
)
from bulkboot.identity import is_fleet_record, is_gone, is_leaving, member_number
from bulkboot.pipeline.microversion import Microversion, negotiate

__all__ = ["Compute", "CreateRequest", "CreatedServer", "version_range"]

_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")
_MAX_PAGES = 10_000


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


def _regex_literal(text: str) -> str:
    """Escape for Nova's name filter (a database regex: keep it to the portable subset)."""
    return "".join("\\" + c if c in _REGEX_SPECIALS else c for c in text)


def version_range(document: Any) -> tuple[Microversion, Microversion] | None:
    """``(min_version, version)`` from a compute version document, None if it has none."""
    version = document.get("version") if isinstance(document, Mapping) else None
    if not isinstance(version, Mapping):
        return None
    low, high = str(version.get("min_version") or ""), str(version.get("version") or "")
    if not low or not high:
        return None
    try:
        a, b = (int(x) for x in low.split("."))
        c, d = (int(x) for x in high.split("."))
    except ValueError:
        return None
    return Microversion(a, b), Microversion(c, d)


def _v21_of_versions(document: Any) -> tuple[Microversion, Microversion] | None:
    """The v2.1 range from Nova's root versions list (``{"versions": [...]}``), if any."""
    versions = document.get("versions") if isinstance(document, Mapping) else None
    if not isinstance(versions, list):
        return None
    for entry in versions:
        if isinstance(entry, Mapping) and entry.get("id") == "v2.1":
            return version_range({"version": entry})
    return None


class Compute:
    """Nova at ``endpoint`` (``.../v2.1``), through the run's transport.

    Until ``negotiate`` is called, requests carry no microversion headers (Nova's 2.1).
    Time (create look-ups, back-off between creates) runs on the transport's clock and
    sleep.
    """

    def __init__(
        self, transport: Transport, endpoint: str, *, default_version: str | None = None
    ) -> None:
        self.transport = transport
        self.default_version = _explicit(default_version)
        self.endpoint = endpoint.rstrip("/")
        self.microversion: Microversion | None = None
        self.server_range: tuple[Microversion, Microversion] | None = None
        self._headers: Mapping[str, str] = {}
        self._clock = transport.clock
        self._sleep = transport.sleep
        self._recovery = transport.options.recovery
        self._max_create_attempts = (
            transport.options.retry.max_attempts
            if self._recovery.max_attempts is None
            else self._recovery.max_attempts
        )
        # the ``Date`` of the last listing's answer: the cloud's own clock, against which
        # a server's ``created`` says how old it is
        self.cloud_date: str | None = None

    # ------------------------------------------------------------ plumbing

    def _call(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None
    ) -> Coroutine[Any, Any, Response]:
        # Not itself a coroutine: one frame fewer to resume on every I/O wake-up.
        return self.transport.request(
            method, self.endpoint + path, json_body=body, params=params, headers=self._headers
        )

    async def _paged(
        self, path: str, key: str, params: Mapping[str, str] | None
    ) -> list[dict[str, Any]]:
        """Every page of a collection, following ``<key>_links`` rel=next to the end."""
        query = dict(params or {})
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            answer = await self._call("GET", path, params=query or None)
            self.cloud_date = answer.headers.get("Date")
            body = answer.body
            page = body.get(key) if isinstance(body, Mapping) else None
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                url = redact_url(self.endpoint + path)
                raise BadAnswer(
                    f"GET {url} (HTTP {answer.status}): the answer holds no list of "
                    f"{key!r} objects, as the compute API's does; is "
                    f"{redact_url(self.endpoint)} Nova's endpoint?",
                    method="GET",
                    url=url,
                )
            items.extend(page)
            following = None
            links = body.get(f"{key}_links")
            for link in links if isinstance(links, list) else ():
                if isinstance(link, Mapping) and link.get("rel") == "next":
                    following = str(link.get("href", ""))
            if not following or not page:
                return items
            marker = dict(parse_qsl(urlsplit(following).query)).get("marker") or str(
                page[-1].get("id", "")
            )
            if not marker or marker in seen:
                return items
            seen.add(marker)
            query["marker"] = marker
        return items

    # ------------------------------------------------------------ versions

    async def negotiate(self, requested: str) -> Microversion:
        """Read Nova's version range and pick the version to speak (``auto``: the highest).

        ``auto`` gives way to the cloud's ``compute_api_version`` (``OS_COMPUTE_API_VERSION``)
        when that names a version (``2.N``), as novaclient reads it; the manifest's
        explicit version wins over both. An explicit version outside the server's range
        is a ``MicroversionError`` before anything else is sent.
        """
        if requested.strip().lower() in ("auto", "latest") and self.default_version:
            requested = self.default_version
        document: Any = None
        try:
            document = (await self._call("GET", "/")).body
        except NotFound:
            document = None
        found = version_range(document)
        if found is None:
            # Nova's root (``.../compute``, ``https://nova:8774``): its versions list
            # names v2.1, which sits right below it.
            found = _v21_of_versions(document)
            if found is not None:
                self.endpoint += "/v2.1"
        if found is None and urlsplit(self.endpoint).path.strip("/"):
            # An endpoint with the project id in it: the document is one level up.
            parent = self.endpoint.rsplit("/", 1)[0]
            try:
                answer = await self.transport.request("GET", parent + "/", headers=self._headers)
                found = version_range(answer.body)
            except NotFound:
                found = None
        if found is None:
            raise MicroversionError(
                f"the compute endpoint {redact_url(self.endpoint)} does not announce a "
                f"microversion range (a legacy v2 endpoint, or not Nova?); bulkboot needs "
                f"compute 2.1 or later, "
                f"at Nova's API root: a URL ending in /v2.1 (or Nova's root above it), e.g. "
                f"https://nova.example:8774/v2.1"
            )
        self.server_range = found
        try:
            chosen = negotiate(requested, *found)
        except ValueError as exc:
            raise MicroversionError(f"compute at {redact_url(self.endpoint)}: {exc}") from None
        self.microversion = chosen
        self._headers = chosen.headers()
        return chosen

    # ------------------------------------------------------------ rate

    @property
    def rate_limited(self) -> bool:
        """True when the run has a request rate limit (``--rate``)."""
        return self.transport.rate_limiter is not None

    async def rate_turn(self, abandon: anyio.Event) -> bool:
        """Wait for a ``--rate`` slot for this task's next request; False when ``abandon``
        was set first (the slot is given back). See ``RateLimiter.wait_turn``."""
        rate = self.transport.rate_limiter
        return True if rate is None else await rate.wait_turn(abandon)

    def drop_rate_turn(self) -> None:
        """Forget a slot ``rate_turn`` took that no request of this task used."""
        rate = self.transport.rate_limiter
        if rate is not None:
            rate.drop_turn()

    # ------------------------------------------------------------ servers

    async def create_server(self, request: CreateRequest) -> CreatedServer:
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
        exclude = request.exclude
        started = self._clock()
        attempts = 0
        while True:
            attempts += 1
            try:
                answer = await self._call("POST", "/servers", body=request.body)
            except ApiError as exc:
                # Nova's validation messages echo the offending value: never a password.
                for secret in request.secrets:
                    if secret and secret in exc.message:
                        raise _scrubbed(exc, request.secrets) from None
                if isinstance(exc, ServerError) and exc.http_status == 504:
                    return await self._after_unknown(
                        exc, name, fleet, count, started, attempts, exclude
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
                    exc, name, fleet, count, started, attempts, exclude
                )
            else:
                return self._created(answer, name, started, attempts)
            # A 500/502/bare 503: it may have reached Nova, which has finished with it.
            # Looked for after the last attempt too: that one may have made it.
            found = await self._settled_lookup(name, fleet, count, exclude)
            if found is not None:
                return self._recovered(found, name, started, attempts)
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
        attempts: int,
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
                found = await self._find_created(name, fleet, count, exclude)
            except CloudError as exc:  # a failed look is no answer: keep looking
                found, problem = None, exc
            if found is not None:
                return self._recovered(found, name, started, attempts)
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

    def _created(self, answer: Response, name: str, started: float, attempts: int) -> CreatedServer:
        """What a success answer says. Anything not in Nova's shape (a proxy's HTML page,
        ``{"server": {}}``, a reservation id only) leaves ``id`` None: the caller cannot
        watch such a server and must look for it by name (see the engine's workers)."""
        data: Mapping[str, Any] = answer.body if isinstance(answer.body, Mapping) else {}
        server = data.get("server")
        created: Mapping[str, Any] = server if isinstance(server, Mapping) else {}
        server_id = created.get("id")
        reservation_id = data.get("reservation_id")
        admin_pass = created.get("adminPass")
        timing = (
            answer.timing
            if attempts == 1
            else _overall(
                answer_timing=answer.timing,
                started=started,
                ended=self._clock(),
                attempts=attempts,
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
        found = await self._find_created(name, fleet, count, exclude)
        settle = self._recovery.lookup_settle
        if found is None and settle > 0:
            await self._sleep(settle)
            found = await self._find_created(name, fleet, count, exclude)
        return found

    def _recovered(
        self, found: Mapping[str, Any], name: str, started: float, attempts: int
    ) -> CreatedServer:
        return CreatedServer(
            id=str(found.get("id")),
            reservation_id=found.get("reservation_id")
            or found.get("OS-EXT-SRV-ATTR:reservation_id"),
            name=name,
            timing=_overall(
                answer_timing=None, started=started, ended=self._clock(), attempts=attempts
            ),
            recovered=True,
        )

    async def _find_created(
        self, name: str, fleet: str, count: int, exclude: frozenset[str] = frozenset()
    ) -> dict[str, Any] | None:
        """The fleet's server made by a create whose answer was lost, if there is one
        (never one of ``exclude``: servers of the name this create did not make)."""
        if count > 1:
            pattern = f"^{_regex_literal(name)}-[0-9]+$"
        else:
            pattern = f"^{_regex_literal(name)}$"

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
            for s in await self.list_servers({"name": pattern}, detail=True)
            if made_by_this_request(s)
        ]
        if not found:
            return None
        found.sort(key=lambda s: str(s.get("name")))
        return found[0]

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        """Every server matching ``filters`` (Nova's query keys), all pages."""
        return await self._paged("/servers/detail" if detail else "/servers", "servers", filters)

    async def get_server(self, server_id: str) -> dict[str, Any]:
        """One server's details; ``NotFound`` when it does not exist."""
        answer = await self._call("GET", f"/servers/{server_id}")
        body = answer.body
        server = body.get("server") if isinstance(body, Mapping) else None
        if not isinstance(server, dict):
            url = redact_url(f"{self.endpoint}/servers/{server_id}")
            raise BadAnswer(
                f"GET {url} (HTTP {answer.status}): the answer holds no 'server' object, "
                f"as the compute API's does; is {redact_url(self.endpoint)} Nova's endpoint?",
                method="GET",
                url=url,
            )
        return server

    async def delete_server(self, server_id: str) -> bool:
        """Ask Nova to delete a server; False when it was already gone (404)."""
        try:
            await self._call("DELETE", f"/servers/{server_id}")
        except NotFound:
            return False
        return True

    async def limits(self) -> dict[str, int]:
        """``GET /limits``'s ``absolute`` mapping (quota and usage; -1 is unlimited)."""
        body = (await self._call("GET", "/limits")).body
        limits = body.get("limits") if isinstance(body, Mapping) else None
        absolute = limits.get("absolute") if isinstance(limits, Mapping) else None
        return dict(absolute) if isinstance(absolute, Mapping) else {}

    async def flavors(self) -> list[dict[str, Any]]:
        """Every flavor, with details (all pages)."""
        return await self._paged("/flavors/detail", "flavors", None)


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


def _explicit(version: str | None) -> str | None:
    """``2.N`` as given; None for absent, ``2``, ``2.latest``, ``latest`` or ``auto``."""
    if not version:
        return None
    text = version.strip()
    major, _, minor = text.partition(".")
    return text if major == "2" and minor.isdigit() else None


def _overall(
    *, answer_timing: RequestTiming | None, started: float, ended: float, attempts: int
) -> RequestTiming:
    """One create's timing over all its sends and look-ups: the last POST's answer time,
    and everything else counted as waited (earlier sends, back-off between them,
    looking for a lost answer)."""
    seconds = ended - started
    answer = answer_timing.answer_seconds if answer_timing else None
    return RequestTiming(
        method="POST",
        path=answer_timing.path if answer_timing else "/servers",
        status=answer_timing.status if answer_timing else 202,
        attempts=attempts + (answer_timing.attempts - 1 if answer_timing else 0),
        started=started,
        seconds=seconds,
        throttled=answer_timing.throttled if answer_timing else 0,
        waited=max(0.0, seconds - (answer or 0.0)),
        answer_seconds=answer,
    )
