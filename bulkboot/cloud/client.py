"""``open_cloud``: one session, one token, one ``Cloud`` for the whole run.

    async with open_cloud(config, options=HttpOptions(concurrency=200, rate=20)) as cloud:
        await cloud.compute.negotiate("auto")
        await cloud.compute.create_server(CreateRequest(body=body, name="web-1", fleet="lab"))

Opening authenticates once (so a wrong password fails before anything else) and
finds the compute endpoint (and the image and network ones, when the catalog has
them). Closing closes every connection. With ``auth_type: none`` there is no Keystone:
Nova is at ``compute_endpoint_override`` and no token is sent.

A display that wants to say what the run waits for passes an ``Activity``: its
``phase`` names the step under way inside ``open_cloud`` ("authenticating ..."), and
``oldest()`` the request it waits on (see ``timing.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import anyio

from bulkboot.cloud.auth import Authenticator, Catalog
from bulkboot.cloud.compute import Compute
from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.pool import make_session
from bulkboot.cloud.redact import redact_url
from bulkboot.cloud.session import HttpOptions, Response, Transport
from bulkboot.cloud.timing import Activity, Clock, RequestTiming, RequestTotals, Sleep
from bulkboot.errors import EndpointNotFound, UsageError

_CLOSE_WAIT = 5.0  # seconds the session's close may take on the way out

__all__ = ["Cloud", "open_cloud"]

_DEFAULT_OPTIONS = HttpOptions()
# Where each service's API sits below its catalog URL, when the URL has no version.
_API_ROOT = {"image": "/v2", "network": "/v2.0"}


class Cloud:
    """One open cloud: the transport, the compute client and the other endpoints."""

    def __init__(
        self,
        *,
        config: CloudConfig,
        transport: Transport,
        authenticator: Authenticator | None,
        endpoints: Mapping[str, str],
    ) -> None:
        self.config = config
        self.transport = transport
        self.authenticator = authenticator
        self.endpoints = dict(endpoints)
        self.compute = Compute(
            transport, endpoints["compute"], default_version=config.compute_api_version
        )

    @property
    def endpoint(self) -> str:
        """Nova's URL as shown to the user (``.../v2.1`` once ``negotiate`` has found it
        below a root URL), any userinfo password masked."""
        return redact_url(self.compute.endpoint)

    @property
    def cloud_name(self) -> str:
        return self.config.name

    @property
    def auth_timings(self) -> list[RequestTiming]:
        """Every Keystone request of the run (discovery and token fetches)."""
        return list(self.authenticator.timings) if self.authenticator else []

    @property
    def authentications(self) -> int:
        return self.authenticator.authentications if self.authenticator else 0

    @property
    def counts(self) -> Counter[tuple[str, int | None]]:
        """Requests made so far, by (method, final status); None: no answer."""
        return self.transport.counts

    @property
    def totals(self) -> RequestTotals:
        """Running totals of the run's API requests (Keystone's aside): attempts,
        429/503 answers, seconds waited."""
        return self.transport.totals

    def expect_run(self, seconds: float) -> None:
        """How long the run should last (an estimate): a token that cannot be renewed
        and runs out sooner is warned about (see ``Authenticator.expect_run``)."""
        if self.authenticator is not None:
            self.authenticator.expect_run(seconds)

    def api_root(self, service_type: str) -> str | None:
        """The versioned API root of a service (``.../image/v2``), None when out of reach."""
        url = self.endpoints.get(service_type)
        if url is None:
            return None
        suffix = _API_ROOT.get(service_type, "")
        return url if not suffix or url.endswith(suffix) else url + suffix

    async def get(
        self, service_type: str, path: str, params: Mapping[str, str] | None = None
    ) -> Response:
        """GET from a service's API root (image, network); ``EndpointNotFound`` if none."""
        root = self.api_root(service_type)
        if root is None:
            raise EndpointNotFound(f"cloud {self.cloud_name!r} has no {service_type} endpoint")
        return await self.transport.request("GET", root + path, params=params)


def _endpoints(config: CloudConfig, catalog: Catalog | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for service in ("compute", "image", "network"):
        override = config.endpoint_override(service)
        if override:
            found[service] = override.rstrip("/")
            continue
        if catalog is None:
            continue
        try:
            found[service] = catalog.endpoint(
                service, interface=config.interface, region=config.region_name
            )
        except EndpointNotFound:
            if service == "compute":
                raise
    return found


@asynccontextmanager
async def open_cloud(
    config: CloudConfig,
    *,
    options: HttpOptions = _DEFAULT_OPTIONS,
    on_request: Callable[[RequestTiming], None] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = anyio.sleep,
    expected_run: float | None = None,
    activity: Activity | None = None,
) -> AsyncIterator[Cloud]:
    """Open the run's session to ``config``'s cloud, authenticate, find the endpoints.

    ``options``: the pool size (``concurrency``, which also caps requests in flight),
    the request ``rate``, timeouts, retries and create recovery. ``clock`` and
    ``sleep`` are what every wait of the run (back-off, ``Retry-After``, ``--rate``,
    create look-ups, token age) is measured and spent with. ``expected_run`` (seconds)
    is how long the caller expects the run to last: a token that cannot be renewed and
    runs out sooner is warned about at authentication. ``activity``: where a display
    reads what the client is waiting for (the phase, the requests under way).
    """
    if options.concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, not {options.concurrency}")
    if options.rate is not None and not options.rate > 0:
        raise UsageError(
            f"--rate must be a positive number of requests per second, not {options.rate}"
        )
    session = make_session(config, options)
    try:
        authenticator = (
            Authenticator(
                config,
                session,
                clock=clock,
                sleep=sleep,
                on_request=on_request,
                activity=activity,
            )
            if config.auth_type != "none"
            else None
        )
        if authenticator is not None and expected_run is not None:
            authenticator.expect_run(expected_run)
        catalog = None
        if authenticator is not None:
            if activity is not None:
                activity.phase = (
                    f"authenticating to cloud {config.name!r} at "
                    f"{redact_url(str(config.auth_url))} as {config.user_label}"
                )
            try:
                catalog = (await authenticator.token()).catalog
            finally:
                if activity is not None:
                    activity.phase = None
        transport = Transport(
            session,
            config,
            authenticator=authenticator,
            options=options,
            on_request=on_request,
            clock=clock,
            sleep=sleep,
            activity=activity,
        )
        yield Cloud(
            config=config,
            transport=transport,
            authenticator=authenticator,
            endpoints=_endpoints(config, catalog),
        )
    finally:
        # Closed even when the run is being cancelled (Ctrl-C, a failed task): a
        # cancelled close leaves the connector to the garbage collector after the loop
        # is gone. Bounded, should a peer never finish TLS's goodbye.
        with anyio.CancelScope(shield=True) as closing:
            closing.deadline = anyio.current_time() + _CLOSE_WAIT
            await session.close()
