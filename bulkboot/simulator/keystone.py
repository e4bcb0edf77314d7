"""Keystone v3 as clients meet it: discovery, ``/v3/auth/tokens`` and the catalog.

Password (user id, or name + domain; project scope by id or name + domain),
application credential (id + secret, or name + secret + user; no scope allowed) and
token (rescope; keeps the original ``expires_at``) methods. Bad credentials get
Keystone's 401 JSON. Services check ``X-Auth-Token`` with ``token_for``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from bulkboot.simulator.config import (
    ADMIN_ROLE_ID,
    APP_CRED_ID,
    APP_CRED_NAME,
    APP_CRED_SECRET,
    DOMAIN,
    DOMAIN_ID,
    PASSWORD,
    PROJECT_ID,
    PROJECT_NAME,
    REGION,
    USER_ID,
    USERNAME,
)
from bulkboot.simulator.http import (
    Fault,
    base_of,
    json_response,
    keystone_error,
    read_json,
    state_of,
)
from bulkboot.simulator.records import TokenRecord

__all__ = ["routes", "token_for"]

_NEEDS_AUTH = "The request you have made requires authentication."
_VERSION_UPDATED = "2023-03-04T00:00:00Z"


def _iso_micro(moment: float) -> str:
    """Keystone's ``expires_at``: ISO 8601 with microseconds."""
    whole = int(moment)
    micro = int(round((moment - whole) * 1_000_000)) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro:06d}Z"


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": _VERSION_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


async def versions(request: web.Request) -> web.Response:
    return json_response({"versions": {"values": [_version_doc(base_of(request))]}}, status=300)


async def version_v3(request: web.Request) -> web.Response:
    return json_response({"version": _version_doc(base_of(request))})


def token_for(request: web.Request) -> TokenRecord:
    """The valid, project-scoped token in ``X-Auth-Token``, or Keystone's 401."""
    value = request.headers.get("X-Auth-Token")
    state = state_of(request)
    record = state.tokens.get(value) if value else None
    if record is None or record.expires_at <= state.clock() or record.project_id is None:
        raise keystone_error(
            401,
            _NEEDS_AUTH,
            headers={"WWW-Authenticate": f'Keystone uri="{base_of(request)}/identity"'},
        )
    return record


def _domain_matches(domain: Any) -> bool:
    if not isinstance(domain, dict):
        return False
    return domain.get("id") == DOMAIN_ID or domain.get("name") == DOMAIN


def _user_matches(user: Any) -> bool:
    if not isinstance(user, dict):
        return False
    if "id" in user:
        return bool(user["id"] == USER_ID)
    return user.get("name") == USERNAME and _domain_matches(user.get("domain"))


def _check_password(identity: dict[str, Any]) -> None:
    password = identity.get("password")
    user = password.get("user") if isinstance(password, dict) else None
    if not (_user_matches(user) and isinstance(user, dict) and user.get("password") == PASSWORD):
        raise keystone_error(401, _NEEDS_AUTH)


def _check_app_cred(identity: dict[str, Any]) -> None:
    cred = identity.get("application_credential")
    if not isinstance(cred, dict) or cred.get("secret") != APP_CRED_SECRET:
        raise keystone_error(401, _NEEDS_AUTH)
    if "id" in cred:
        ok = cred["id"] == APP_CRED_ID
    else:
        ok = cred.get("name") == APP_CRED_NAME and _user_matches(cred.get("user"))
    if not ok:
        raise keystone_error(401, _NEEDS_AUTH)


def _project_from_scope(scope: Any) -> str | None:
    if scope is None:
        return None
    project = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(project, dict):
        raise keystone_error(401, _NEEDS_AUTH)
    if project.get("id") == PROJECT_ID or (
        project.get("name") == PROJECT_NAME and _domain_matches(project.get("domain"))
    ):
        return PROJECT_ID
    raise keystone_error(401, _NEEDS_AUTH)


def _catalog(base: str) -> list[dict[str, Any]]:
    services = (
        ("compute", "nova", f"{base}/compute/v2.1", "c0a1"),
        ("image", "glance", f"{base}/image", "c0a2"),
        ("network", "neutron", f"{base}/network", "c0a3"),
        ("identity", "keystone", f"{base}/identity", "c0a4"),
    )
    catalog = []
    for kind, name, url, prefix in services:
        endpoints = [
            {
                "id": f"{prefix}{index:028x}",
                "interface": interface,
                "region": REGION,
                "region_id": REGION,
                "url": url,
            }
            for index, interface in enumerate(("public", "internal", "admin"))
        ]
        catalog.append(
            {"id": f"{prefix}{9:028x}", "type": kind, "name": name, "endpoints": endpoints}
        )
    return catalog


def _token_body(request: web.Request, record: TokenRecord, *, catalog: bool) -> dict[str, Any]:
    domain = {"id": DOMAIN_ID, "name": DOMAIN}
    token: dict[str, Any] = {
        "methods": list(record.methods),
        "user": {"domain": domain, "id": USER_ID, "name": USERNAME, "password_expires_at": None},
        "audit_ids": [record.audit_id],
        "expires_at": _iso_micro(record.expires_at),
        "issued_at": _iso_micro(record.issued_at),
    }
    if record.project_id is not None:
        token["project"] = {"domain": domain, "id": PROJECT_ID, "name": PROJECT_NAME}
        token["is_domain"] = False
        token["roles"] = [
            {"id": ADMIN_ROLE_ID, "name": "admin"},
            {"id": "2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7", "name": "member"},
            {"id": "3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8", "name": "reader"},
        ]
        if catalog:
            token["catalog"] = _catalog(base_of(request))
    if record.app_cred:
        token["application_credential"] = {
            "id": APP_CRED_ID,
            "name": APP_CRED_NAME,
            "restricted": True,
        }
    return {"token": token}


async def issue_token(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _auth_body(request)
    identity = body["identity"]
    methods = identity.get("methods")
    if not isinstance(methods, list) or len(methods) != 1:
        raise keystone_error(401, _NEEDS_AUTH)
    method = methods[0]
    now = state.clock()
    scope = body.get("scope")
    expires_at = now + state.config.token_lifetime
    if method == "password":
        _check_password(identity)
        project_id = _project_from_scope(scope)
    elif method == "application_credential":
        _check_app_cred(identity)
        if scope is not None:
            raise keystone_error(401, "Application credentials cannot request a scope.")
        project_id = PROJECT_ID
    elif method == "token":
        given = identity.get("token")
        old_value = given.get("id") if isinstance(given, dict) else None
        old = state.tokens.get(old_value) if isinstance(old_value, str) else None
        if old is None or old.expires_at <= now:
            raise keystone_error(401, _NEEDS_AUTH)
        project_id = _project_from_scope(scope) if scope is not None else old.project_id
        expires_at = old.expires_at  # keystone/auth/plugins/token.py keeps it
    else:
        raise keystone_error(401, "Attempted to authenticate with an unsupported method.")
    record = TokenRecord(
        value="gAAAAA" + secrets.token_urlsafe(48),
        issued_at=now,
        expires_at=expires_at,
        methods=(method,),
        project_id=project_id,
        audit_id=secrets.token_urlsafe(16)[:22],
        app_cred=method == "application_credential",
    )
    state.tokens[record.value] = record
    state.authentications += 1
    catalog = "nocatalog" not in request.query
    return json_response(
        _token_body(request, record, catalog=catalog),
        status=201,
        headers={"X-Subject-Token": record.value},
    )


async def _auth_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await read_json(request)
    except Fault:
        raise keystone_error(400, "Malformed request body") from None
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
        raise keystone_error(
            400, "Invalid input for field 'identity': 'identity' is a required property"
        )
    return auth


async def validate_token(request: web.Request) -> web.Response:
    state = state_of(request)
    caller = state.tokens.get(request.headers.get("X-Auth-Token", ""))
    now = state.clock()
    if caller is None or caller.expires_at <= now:
        raise keystone_error(401, _NEEDS_AUTH)
    subject = state.tokens.get(request.headers.get("X-Subject-Token", ""))
    if subject is None or subject.expires_at <= now:
        raise keystone_error(404, "Failed to validate token")
    catalog = "nocatalog" not in request.query
    return json_response(
        _token_body(request, subject, catalog=catalog),
        headers={"X-Subject-Token": subject.value},
    )


async def revoke_token(request: web.Request) -> web.Response:
    state = state_of(request)
    caller = state.tokens.get(request.headers.get("X-Auth-Token", ""))
    if caller is None or caller.expires_at <= state.clock():
        raise keystone_error(401, _NEEDS_AUTH)
    subject = state.tokens.pop(request.headers.get("X-Subject-Token", ""), None)
    if subject is None:
        raise keystone_error(404, "Failed to validate token")
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/identity", versions),
        web.get("/identity/", versions),
        web.get("/identity/v3", version_v3),
        web.get("/identity/v3/", version_v3),
        web.post("/identity/v3/auth/tokens", issue_token),
        web.get("/identity/v3/auth/tokens", validate_token, allow_head=True),
        web.delete("/identity/v3/auth/tokens", revoke_token),
    ]
