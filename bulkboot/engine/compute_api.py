"""What the engine needs of the cloud client, as a protocol, and how it reads a refusal.

The engine is written against ``ComputeApi``, not the concrete client
(``bulkboot.cloud.compute.Compute`` satisfies it), so the engine's tests may hand it a
wrapper that loses answers or refuses deletes, and the client may change inside
without the engine noticing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bulkboot.engine.poll import Lister
from bulkboot.errors import ApiError, CloudError

if TYPE_CHECKING:
    import anyio

    from bulkboot.cloud.compute import CreatedServer, CreateRequest

__all__ = ["ComputeApi", "refusal"]


class ComputeApi(Lister, Protocol):
    """Nova as the engine uses it: servers, quota, flavors, the ``--rate`` turns."""

    @property
    def cloud_date(self) -> str | None:
        """The ``Date`` header of the last listing's answer: the cloud's own clock."""
        ...

    @property
    def rate_limited(self) -> bool:
        """True when the run has a request rate limit (``--rate``)."""
        ...

    def rate_turn(self, abandon: anyio.Event) -> Awaitable[bool]:
        """Wait for a ``--rate`` slot; False when ``abandon`` was set first."""
        ...

    def drop_rate_turn(self) -> None:
        """Forget a slot ``rate_turn`` took that no request used."""
        ...

    def create_server(self, request: CreateRequest) -> Awaitable[CreatedServer]: ...

    def get_server(self, server_id: str) -> Awaitable[dict[str, Any]]: ...

    def delete_server(self, server_id: str) -> Awaitable[bool]:
        """False when the server was already gone."""
        ...

    def limits(self) -> Awaitable[Mapping[str, int]]: ...

    def flavors(self) -> Awaitable[list[dict[str, Any]]]: ...


def refusal(exc: CloudError) -> str:
    """Why the cloud refused, as a server's failure shows it: Nova's own words for an
    HTTP error answer (without the status and request id around them), the whole
    message for anything else (retries exhausted on a timeout, a lost connection)."""
    if isinstance(exc, ApiError) and exc.message:
        return exc.message
    return str(exc)
