"""Everything that talks to a cloud: configuration, Keystone, the aiohttp pool, Nova calls.

This is the only package that imports aiohttp (the simulator is a server and has its own).

    config/       clouds.yaml / secure.yaml / OS_* -> CloudConfig (as openstacksdk)
    auth.py       Keystone v3: the single-flight, refreshed-ahead token
    keystone.py   what is sent to Keystone and read back: the auth body, Token,
                  Catalog, Keystone's times (pure)
    session.py    the one request path (Keystone's too): retries, 401 re-auth, timing,
                  error mapping, the API timeout, no redirect followed
    attempt.py    one attempt on the wire: connection and --rate slots, token,
                  headers, aiohttp, the answer read
    options.py    HttpOptions, CreateRecovery: the run's HTTP knobs (no aiohttp)
    answer.py     Response; an answer's body read decoded (gzip, deflate) and capped
    pool.py       the run's aiohttp session: pool size, TLS, timeouts, proxies
    retry.py      when to retry and how long to wait (pure)
    ratelimit.py  the --rate token bucket
    faults.py     HTTP error answers and missing answers -> bulkboot.errors
    redact.py     the --debug curl log, secrets hidden; URLs with their password masked
    timing.py     RequestTiming, one per request; RequestTotals; Activity (what the
                  client waits for now, for a display); the injected clock and sleep
    compute.py    Nova: negotiate, list, get, delete, limits, flavors
    create.py     Nova's create, never sent twice: a lost answer's server looked for
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
    from bulkboot.cloud.options import HttpOptions
    from bulkboot.cloud.resolve import ResolvedReferences, resolve_references
    from bulkboot.cloud.retry import RetryPolicy
    from bulkboot.cloud.timing import Activity, RequestTiming, Waiting

__all__ = [
    "Activity",
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
    "Waiting",
    "load_cloud_config",
    "open_cloud",
    "resolve_references",
    "wants_embedded_simulator",
]

# Where ``__getattr__`` looks for a name, in this order: the modules that do not import
# aiohttp first, so that asking for ``CloudConfig`` or ``RetryPolicy`` does not pay for it.
_MODULES = (
    "config",
    "retry",
    "options",
    "timing",
    "session",
    "auth",
    "compute",
    "resolve",
    "client",
)


def __getattr__(name: str) -> Any:
    if name in __all__:
        for module in _MODULES:
            found = getattr(importlib.import_module(f"bulkboot.cloud.{module}"), name, None)
            if found is not None:
                return found
    raise AttributeError(f"module 'bulkboot.cloud' has no attribute {name!r}")
