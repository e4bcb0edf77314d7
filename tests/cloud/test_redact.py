"""The --debug log lines never carry a password, secret, adminPass or token."""

from __future__ import annotations

import json

from bulkboot.cloud.redact import MASK, curl_line, redact_json, response_lines

SECRETS = ("hunter2", "ac-secret-value", "gAAAAAtoken", "admin-pass-xyz", "old-token-id")


def test_request_bodies_are_redacted() -> None:
    password_body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "password": "hunter2"}},
            }
        }
    }
    appcred_body = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": "ac1", "secret": "ac-secret-value"},
            }
        }
    }
    token_body = {"auth": {"identity": {"methods": ["token"], "token": {"id": "old-token-id"}}}}
    create = {"server": {"name": "web-1", "adminPass": "admin-pass-xyz", "flavorRef": "1"}}
    for body in (password_body, appcred_body, token_body, create):
        line = curl_line(
            "POST",
            "http://k/v3/auth/tokens",
            {"X-Auth-Token": "gAAAAAtoken", "Accept": "application/json"},
            json.dumps(body).encode(),
        )
        assert not any(secret in line for secret in SECRETS), line
        assert MASK in line
    assert '"name":"web-1"' in curl_line("POST", "u", {}, json.dumps(create))
    assert '"name":"admin"' in curl_line("POST", "u", {}, json.dumps(password_body))


def test_response_headers_and_bodies_are_redacted() -> None:
    text = response_lines(
        201,
        [("X-Subject-Token", "gAAAAAtoken"), ("Content-Type", "application/json")],
        json.dumps({"server": {"id": "abc", "adminPass": "admin-pass-xyz"}}),
    )
    assert not any(secret in text for secret in SECRETS)
    assert '"id":"abc"' in text
    assert "RESP: [201]" in text


def test_keystone_token_answer_keeps_its_catalog() -> None:
    body = {"token": {"id": "x", "catalog": [{"type": "compute"}], "methods": ["password"]}}
    shown = redact_json(body)
    assert shown["token"]["catalog"] == [{"type": "compute"}]
    assert shown["token"]["id"] == MASK


def test_non_json_bodies_are_redacted_too() -> None:
    line = curl_line("POST", "u", {}, b'{"password": "hunter2", broken')
    assert "hunter2" not in line


def test_request_secrets_are_scrubbed_from_answers_that_echo_them() -> None:
    from bulkboot.cloud.redact import secret_values

    request = {"server": {"name": "a", "adminPass": "admin-pass-xyz"}}
    answer = '{"badRequest": {"message": "Invalid adminPass. Value: admin-pass-xyz."}}'
    assert secret_values(request) == ["admin-pass-xyz"]
    text = response_lines(400, [], answer, secret_values(request))
    assert "admin-pass-xyz" not in text and "Value: ***" in text
    token_request = {"auth": {"identity": {"token": {"id": "old-token-id"}}}}
    assert secret_values(token_request) == ["old-token-id"]
