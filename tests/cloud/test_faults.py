"""HTTP error answers -> one exception per meaning, with the service's words and request id."""

from __future__ import annotations

import json

import pytest

from bulkboot.cloud.faults import error_from_response
from bulkboot.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    OverQuota,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
)


def answer(status: int, body: object, **headers: str) -> ApiError:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return error_from_response(
        status=status,
        reason="Reason",
        headers=headers,
        body=raw,
        method="POST",
        url="http://nova/v2.1/servers",
    )


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (
            400,
            {"badRequest": {"code": 400, "message": "Invalid flavorRef"}},
            BadRequest,
            "Invalid flavorRef",
        ),
        (
            401,
            {"error": {"code": 401, "message": "needs auth", "title": "Unauthorized"}},
            Unauthorized,
            "needs auth",
        ),
        (
            403,
            {"forbidden": {"code": 403, "message": "Policy doesn't allow"}},
            Forbidden,
            "Policy doesn't allow",
        ),
        (
            403,
            {"forbidden": {"message": "Quota exceeded for instances: Requested 5"}},
            OverQuota,
            "Quota exceeded for instances: Requested 5",
        ),
        (
            413,
            {"overLimit": {"message": "Quota exceeded", "retryAfter": "0"}},
            OverQuota,
            "Quota exceeded",
        ),
        (
            404,
            {"itemNotFound": {"code": 404, "message": "Instance x could not be found."}},
            NotFound,
            "Instance x could not be found.",
        ),
        (409, {"conflictingRequest": {"message": "Port in use"}}, Conflict, "Port in use"),
        (429, {"error": {"status": "429 Too Many Requests"}}, RateLimited, "429 Too Many Requests"),
        (
            500,
            {"computeFault": {"message": "Unexpected API Error."}},
            ServerError,
            "Unexpected API Error.",
        ),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", ServerError, "502 Bad Gateway"),
        (503, "", Unavailable, "Reason"),
        (
            404,
            {"NeutronError": {"type": "NetworkNotFound", "message": "Network x not found"}},
            NotFound,
            "Network x not found",
        ),
    ],
)
def test_mapping(status: int, body: object, cls: type[ApiError], message: str) -> None:
    error = answer(status, body)
    assert type(error) is cls
    assert error.message == message
    assert error.http_status == status


def test_request_id_and_retry_after_are_kept() -> None:
    error = answer(
        429,
        {"error": {"message": "slow down"}},
        **{"x-openstack-request-id": "req-abc", "Retry-After": "12"},
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0
    assert error.request_id == "req-abc"
    assert str(error) == "slow down (HTTP 429, POST http://nova/v2.1/servers, request id req-abc)"


def test_nova_body_retry_after_when_header_missing() -> None:
    error = answer(413, {"overLimit": {"message": "Over limit", "retryAfter": "5"}})
    assert error.retry_after == 5.0
    legacy = answer(503, "busy", **{"x-compute-request-id": "req-old"})
    assert legacy.request_id == "req-old"


@pytest.mark.parametrize("secret", ['p\u00e4ss"word', "back\\slash-secret", "caf\u00e9-\u00fcber"])
def test_a_secret_that_json_escapes_is_masked_in_the_message(secret: str) -> None:
    for ensure_ascii in (True, False):
        body = json.dumps(
            {"badRequest": {"code": 400, "message": f"Invalid adminPass. Value: {secret}."}},
            ensure_ascii=ensure_ascii,
        ).encode()
        error = error_from_response(
            status=400,
            reason="Bad Request",
            headers={},
            body=body,
            method="POST",
            url="http://nova/v2.1/servers",
            secrets=[secret],
        )
        assert secret not in error.message and secret not in str(error)
        assert "***" in error.message


def test_a_message_echoing_a_huge_value_keeps_what_is_wrong() -> None:
    """Nova echoes an offending value whole; the user needs the start and the end."""
    from bulkboot.cloud.faults import MESSAGE_CHARS, error_from_response

    value = "eHh4" * 25_000
    body = json.dumps(
        {
            "badRequest": {
                "code": 400,
                "message": f"Invalid input for field/attribute user_data. Value: {value} "
                "is too long",
            }
        }
    ).encode()
    error = error_from_response(
        status=400,
        reason="Bad Request",
        headers={},
        body=body,
        method="POST",
        url="http://nova/v2.1/servers",
    )
    assert error.message.startswith("Invalid input for field/attribute user_data. Value: eHh4")
    assert error.message.endswith("is too long")
    assert len(error.message) < MESSAGE_CHARS and "characters left out" in error.message
