"""Everything that talks to a cloud: configuration, Keystone, the aiohttp pool, Nova calls.

This is the only package that imports aiohttp (the simulator is a server and has its own).

    config.py     clouds.yaml / secure.yaml / OS_* -> CloudConfig (as openstacksdk)
    auth.py       Keystone v3: the single-flight, refreshed-ahead token; the catalog
    session.py    the aiohttp pool: retries, 401 re-auth, timing, error mapping
    retry.py      when to retry and how long to wait (pure)
    ratelimit.py  the --rate token bucket
    faults.py     HTTP error answers -> bulkboot.errors (novaclient's from_response)
    redact.py     the --debug curl log, secrets hidden
    timing.py     RequestTiming, one per request
    compute.py    Nova: negotiate, create (never duplicated), list, get, delete, limits
    resolve.py    image / flavor / network names -> IDs, each looked up once
    client.py     open_cloud -> Cloud

Names are imported lazily, so ``from bulkboot.cloud.config import ...`` (or
``bulkboot validate``) does not pay for importing aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bulkboot.cloud.auth import Authenticator, Catalog, Token
    from bulkboot.cloud.client import Cloud, open_cloud
    from bulkboot.cloud.compute import Compute, CreatedServer
    from bulkboot.cloud.config import CloudConfig, load_cloud_config, wants_embedded_simulator
    from bulkboot.cloud.resolve import ResolvedReferences, resolve_references
    from bulkboot.cloud.retry import RetryPolicy
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.cloud.timing import RequestTiming

__all__ = [
    "Authenticator",
    "Catalog",
    "Cloud",
    "CloudConfig",
    "Compute",
    "CreatedServer",
    "HttpOptions",
    "RequestTiming",
    "ResolvedReferences",
    "RetryPolicy",
    "Token",
    "load_cloud_config",
    "open_cloud",
    "resolve_references",
    "wants_embedded_simulator",
]

_HOME = {
    "Authenticator": "auth",
    "Catalog": "auth",
    "Token": "auth",
    "Cloud": "client",
    "open_cloud": "client",
    "Compute": "compute",
    "CreatedServer": "compute",
    "CloudConfig": "config",
    "load_cloud_config": "config",
    "wants_embedded_simulator": "config",
    "ResolvedReferences": "resolve",
    "resolve_references": "resolve",
    "RetryPolicy": "retry",
    "HttpOptions": "session",
    "RequestTiming": "timing",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'bulkboot.cloud' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bulkboot.cloud.{module}"), name)
