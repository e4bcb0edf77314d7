"""Nova calls: version negotiation, create (never duplicated), list (paged), get, delete.

The create itself, and what is done after its answer was lost, is ``create.py``'s
(``Creator``); its request and answer types are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio

from bulkboot.cloud.create import CreatedServer, CreateRequest, Creator
from bulkboot.cloud.redact import redact_url
from bulkboot.cloud.session import Response, Transport
from bulkboot.errors import BadAnswer, MicroversionError, NotFound
from bulkboot.pipeline.microversion import Microversion, negotiate

__all__ = ["Compute", "CreateRequest", "CreatedServer", "version_range"]

_MAX_PAGES = 10_000


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
        self._creator = Creator(
            transport, post=partial(self._call, "POST", "/servers"), list_servers=self.list_servers
        )
        # the ``Date`` of the last listing's answer: the cloud's own clock, against which
        # a server's ``created`` says how old it is
        self.cloud_date: str | None = None

    # ------------------------------------------------------------ plumbing

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        on_wire: Callable[[], None] | None = None,
    ) -> Coroutine[Any, Any, Response]:
        # Not itself a coroutine: one frame fewer to resume on every I/O wake-up.
        return self.transport.request(
            method,
            self.endpoint + path,
            json_body=body,
            params=params,
            headers=self._headers,
            on_wire=on_wire,
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

    def create_server(self, request: CreateRequest) -> Coroutine[Any, Any, CreatedServer]:
        """``POST /servers``, never sent twice; after a lost answer, the server looked for
        before anything else (``create.py``: ``Creator.send``)."""
        # Not itself a coroutine: one frame fewer to resume on every I/O wake-up.
        return self._creator.send(request)

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


def _explicit(version: str | None) -> str | None:
    """``2.N`` as given; None for absent, ``2``, ``2.latest``, ``latest`` or ``auto``."""
    if not version:
        return None
    text = version.strip()
    major, _, minor = text.partition(".")
    return text if major == "2" and minor.isdigit() else None
