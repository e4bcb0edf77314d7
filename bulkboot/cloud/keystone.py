"""What bulkboot says to Keystone v3 and reads back, as data: no I/O.

The ``POST /v3/auth/tokens`` body for each auth type (password, application
credential, token; the api-ref's samples), the token and its service catalog as
Keystone gives them, and Keystone's times (a token's lifetime is read on Keystone's
clock; this machine's is the last resort). ``auth.py`` holds the one token of a run
(single flight, renewed ahead of expiry) and makes the requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bulkboot.cloud.config import CloudConfig
from bulkboot.cloud.retry import http_date
from bulkboot.errors import EndpointNotFound
from bulkboot.isotime import parse_iso

__all__ = [
    "Catalog",
    "Endpoint",
    "Token",
    "auth_request_body",
    "parse_keystone_time",
    "stated_lifetime",
]


# ---------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One catalog entry: a service's URL for one interface in one region."""

    service_type: str
    interface: str
    region: str | None
    url: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """The token's service catalog, flattened to endpoints."""

    endpoints: tuple[Endpoint, ...] = ()

    @classmethod
    def from_keystone(cls, catalog: Any) -> Catalog:
        """Read Keystone v3's ``token.catalog`` list (v2's ``publicURL`` forms tolerated)."""
        found: list[Endpoint] = []
        if not isinstance(catalog, list):
            return cls(())
        for service in catalog:
            if not isinstance(service, Mapping):
                continue
            kind = str(service.get("type", ""))
            for entry in service.get("endpoints") or ():
                if not isinstance(entry, Mapping) or not entry.get("url"):
                    continue
                interface = str(entry.get("interface", "public")).lower().removesuffix("url")
                region = entry.get("region_id") or entry.get("region")
                found.append(
                    Endpoint(
                        service_type=kind,
                        interface=interface,
                        region=str(region) if region is not None else None,
                        url=str(entry["url"]).rstrip("/"),
                    )
                )
        return cls(tuple(found))

    def endpoint(
        self, service_type: str, *, interface: str = "public", region: str | None = None
    ) -> str:
        """The URL of a service; ``EndpointNotFound`` says what the catalog holds instead."""
        for entry in self.endpoints:
            if (
                entry.service_type == service_type
                and entry.interface == interface
                and (region is None or entry.region == region)
            ):
                return entry.url
        where = f" in region {region!r}" if region else ""
        if not self.endpoints:
            raise EndpointNotFound(
                f"no {interface} {service_type} endpoint{where}: the token's catalog is empty "
                f"(is the cloud's project_name or project_id set?)"
            )
        held = sorted(
            {
                f"{e.service_type} ({e.interface}, {e.region or 'no region'})"
                for e in self.endpoints
                if e.service_type == service_type
            }
        )
        has = f"; it has {', '.join(held)}" if held else f"; it has no {service_type} service"
        raise EndpointNotFound(
            f"the catalog has no {interface} {service_type} endpoint{where}{has}"
        )

    def has(self, service_type: str) -> bool:
        return any(e.service_type == service_type for e in self.endpoints)


# ---------------------------------------------------------------- token


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A Keystone token and what came with it; the token itself stays out of ``repr``.

    ``expires_at`` is Keystone's word (aware UTC). ``refresh_at`` and ``expires_local``
    are this machine's ``clock()`` readings at which to renew it and after which it is
    dead, already corrected for clock skew.
    """

    value: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime | None
    user_id: str | None
    user_name: str | None
    project_id: str | None
    project_name: str | None
    methods: tuple[str, ...]
    catalog: Catalog = field(repr=False)
    lifetime: float  # seconds it had to live when it was asked for
    refresh_at: float
    expires_local: float


def parse_keystone_time(text: str) -> datetime:
    """Keystone's ISO 8601 times, microseconds kept: ``2015-11-07T02:58:43.578887Z``."""
    value = parse_iso(text.strip().replace("z", "Z"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def stated_lifetime(
    expires_at: datetime, issued_at: datetime | None, date_header: str | None
) -> float:
    """Seconds the token has left, by Keystone's own clock (so skew does not matter)."""
    if issued_at is not None:
        return (expires_at - issued_at).total_seconds()
    server_now = http_date(date_header)
    if server_now is not None:
        return (expires_at - server_now).total_seconds()
    return (expires_at - datetime.now(timezone.utc)).total_seconds()


# ---------------------------------------------------------------- request bodies


def _domain(name: str | None, ident: str | None) -> dict[str, str]:
    return {"id": ident} if ident else {"name": name or ""}


def _user(config: CloudConfig) -> dict[str, Any]:
    if config.user_id:
        return {"id": config.user_id}
    return {
        "name": config.username,
        "domain": _domain(config.user_domain_name, config.user_domain_id),
    }


def _scope(config: CloudConfig) -> dict[str, Any] | None:
    if config.project_id:
        return {"project": {"id": config.project_id}}
    if config.project_name:
        return {
            "project": {
                "name": config.project_name,
                "domain": _domain(config.project_domain_name, config.project_domain_id),
            }
        }
    return None


def auth_request_body(config: CloudConfig) -> dict[str, Any]:
    """The ``POST /v3/auth/tokens`` body for the cloud's auth type (api-ref samples)."""
    identity: dict[str, Any]
    scope = _scope(config)
    if config.auth_type == "password":
        user = _user(config)
        user["password"] = config.password
        identity = {"methods": ["password"], "password": {"user": user}}
    elif config.auth_type == "application_credential":
        credential: dict[str, Any] = {"secret": config.application_credential_secret}
        if config.application_credential_id:
            credential["id"] = config.application_credential_id
        else:
            credential["name"] = config.application_credential_name
            credential["user"] = _user(config)
        identity = {"methods": ["application_credential"], "application_credential": credential}
        scope = None  # the credential carries its scope; Keystone refuses another
    elif config.auth_type == "token":
        identity = {"methods": ["token"], "token": {"id": config.token}}
    else:
        raise ValueError(f"auth_type {config.auth_type} does not use Keystone")
    auth: dict[str, Any] = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}
