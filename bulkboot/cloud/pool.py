"""The run's one aiohttp session: a keep-alive pool sized to the concurrency, TLS as the
cloud asks, timeouts, and the proxies the environment names.

Every request of a run, Keystone's included, goes out through this one pool
(``session.py`` sends them, follows no redirect and decodes the answers itself).
"""

from __future__ import annotations

import logging
import ssl
from urllib.request import getproxies

import aiohttp

from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.options import HttpOptions
from bulkboot.errors import ConfigError

__all__ = ["make_session", "ssl_context"]

LOG = logging.getLogger("bulkboot.cloud")
_SPARE_CONNECTIONS = 4


def ssl_context(config: CloudConfig) -> ssl.SSLContext | bool:
    """TLS for the pool: verification on unless the cloud turned it off (with a warning).

    ``True`` is aiohttp's default verifying context; ``False`` no verification.
    """
    if not config.verify:
        LOG.warning(
            "cloud %r: TLS certificate verification is OFF (verify: false / insecure); "
            "anyone between here and the cloud can read the credentials",
            config.name,
        )
        if not (config.cert or config.cacert):
            return False
    elif not (config.cert or config.cacert):
        # aiohttp's own verifying context, built once at its import: a context of our
        # own would load the system's CA store again (~40 ms a run, even for http://).
        return True
    try:
        context = ssl.create_default_context(cafile=config.cacert)
        if not config.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if config.cert:
            context.load_cert_chain(config.cert, config.key)
    except (OSError, ssl.SSLError) as exc:
        files = ", ".join(p for p in (config.cacert, config.cert, config.key) if p)
        raise ConfigError(
            f"{config.source}: cloud {config.name!r}: cannot load TLS files ({files}): {exc}"
        ) from None
    return context


def make_session(config: CloudConfig, options: HttpOptions) -> aiohttp.ClientSession:
    """The run's one session: keep-alive pool sized to the concurrency, TLS, timeouts."""
    # A few connections beyond the requests in flight, so a token renewal never queues
    # behind the very requests that wait for it.
    connector = aiohttp.TCPConnector(
        limit=options.concurrency + _SPARE_CONNECTIONS,
        limit_per_host=options.concurrency + _SPARE_CONNECTIONS,
        ssl=ssl_context(config),
        keepalive_timeout=options.keepalive,
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(
        total=config.api_timeout or options.total_timeout,
        connect=options.connect_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        raise_for_status=False,
        # answers are decoded by ``answer.read_body``, bounded: aiohttp would inflate a
        # gzip bomb whole before anyone could count its bytes
        auto_decompress=False,
        # HTTP(S)_PROXY / NO_PROXY as requests (openstacksdk) honours them; looked up only
        # when some proxy is configured, since aiohttp then checks on every request.
        trust_env=bool(getproxies()),
    )
