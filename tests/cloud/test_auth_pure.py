"""Keystone request bodies, catalog lookup, time parsing and the refresh margin (no network)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from bulkboot.cloud.auth import Catalog, auth_request_body, parse_keystone_time, refresh_margin
from bulkboot.cloud.config import CloudConfig
from bulkboot.errors import EndpointNotFound


def config(**changes: Any) -> CloudConfig:
    base: dict[str, Any] = {
        "name": "c",
        "source": "test",
        "auth_type": "password",
        "auth_url": "http://k/v3",
        "username": "admin",
        "password": "pw",
        "user_domain_name": "Default",
        "project_name": "demo",
        "project_domain_id": "default",
    }
    base.update(changes)
    return CloudConfig(**base)


def test_password_body_matches_the_api_reference() -> None:
    assert auth_request_body(config()) == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"name": "Default"}, "password": "pw"}
                },
            },
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}},
        }
    }
    by_id = auth_request_body(config(user_id="u1", project_id="p1"))["auth"]
    assert by_id["identity"]["password"]["user"] == {"id": "u1", "password": "pw"}
    assert by_id["scope"] == {"project": {"id": "p1"}}


def test_application_credential_body_has_no_scope() -> None:
    body = auth_request_body(
        config(
            auth_type="application_credential",
            application_credential_id="ac",
            application_credential_secret="s",
        )
    )
    assert body == {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": "ac", "secret": "s"},
            }
        }
    }
    named = auth_request_body(
        config(
            auth_type="application_credential",
            application_credential_name="mine",
            application_credential_secret="s",
        )
    )["auth"]["identity"]["application_credential"]
    assert named == {
        "name": "mine",
        "secret": "s",
        "user": {"name": "admin", "domain": {"name": "Default"}},
    }


def test_token_body_rescopes() -> None:
    body = auth_request_body(config(auth_type="token", token="t0k", project_id="p1"))
    assert body["auth"]["identity"] == {"methods": ["token"], "token": {"id": "t0k"}}
    assert body["auth"]["scope"] == {"project": {"id": "p1"}}


def test_keystone_times_keep_microseconds() -> None:
    parsed = parse_keystone_time("2015-11-07T02:58:43.578887Z")
    assert parsed == datetime(2015, 11, 7, 2, 58, 43, 578887, tzinfo=timezone.utc)
    assert parse_keystone_time("2015-11-07T02:58:43Z").tzinfo is not None
    assert parse_keystone_time("2015-11-07T02:58:43.000000").tzinfo == timezone.utc


@pytest.mark.parametrize(
    ("lifetime", "margin"), [(3600, 120), (600, 120), (120, 30), (2, 0.5), (0, 0)]
)
def test_refresh_margin(lifetime: float, margin: float) -> None:
    assert refresh_margin(lifetime) == margin


CATALOG = Catalog.from_keystone(
    [
        {
            "type": "compute",
            "name": "nova",
            "endpoints": [
                {"interface": "public", "region": "RegionOne", "url": "http://one/v2.1/"},
                {"interface": "internal", "region_id": "RegionOne", "url": "http://int/v2.1"},
                {"interface": "public", "region": "RegionTwo", "url": "http://two/v2.1"},
            ],
        },
        {"type": "image", "endpoints": [{"interface": "publicURL", "url": "http://glance"}]},
    ]
)


def test_catalog_picks_by_type_interface_and_region() -> None:
    assert CATALOG.endpoint("compute") == "http://one/v2.1"
    assert CATALOG.endpoint("compute", interface="internal") == "http://int/v2.1"
    assert CATALOG.endpoint("compute", region="RegionTwo") == "http://two/v2.1"
    assert CATALOG.endpoint("image") == "http://glance"


def test_catalog_says_what_it_has() -> None:
    with pytest.raises(EndpointNotFound) as info:
        CATALOG.endpoint("compute", interface="admin", region="RegionTwo")
    assert str(info.value) == (
        "the catalog has no admin compute endpoint in region 'RegionTwo'; it has "
        "compute (internal, RegionOne), compute (public, RegionOne), compute (public, RegionTwo)"
    )
    with pytest.raises(EndpointNotFound, match="it has no network service"):
        CATALOG.endpoint("network")
    with pytest.raises(EndpointNotFound, match="catalog is empty"):
        Catalog().endpoint("compute")
