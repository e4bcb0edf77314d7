"""The ``--debug`` log of every request and response, with every secret taken out.

Lines follow novaclient's ``http_log_req``: a curl command that repeats the request,
then ``RESP: [status] headers`` and ``RESP BODY: ...``. Tokens (``X-Auth-Token``,
``X-Subject-Token``) and any JSON value under a key that names a password, a secret,
an ``adminPass``, a token id, ``user_data`` or a personality file's ``contents`` are
replaced by ``***``, in requests and answers alike; so is the password of a URL's
userinfo (``http://user:pw@host``), wherever a URL is shown (``redact_url``).
Nothing here runs unless the "bulkboot.http" logger is enabled for DEBUG: callers
check ``HTTP_LOG.isEnabledFor(logging.DEBUG)`` first, so a normal run pays nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "HTTP_LOG",
    "MASK",
    "curl_line",
    "mask_url_secrets",
    "redact_json",
    "redact_text",
    "redact_url",
    "response_lines",
    "secret_values",
    "url_secrets",
]

HTTP_LOG = logging.getLogger("bulkboot.http")
MASK = "***"
_SECRET_HEADERS = frozenset(
    {"x-auth-token", "x-subject-token", "authorization", "proxy-authorization", "x-service-token"}
)
_URL_HEADERS = frozenset({"location", "content-location"})
# user_data and personality contents count as secrets: cloud-init files routinely hold
# passwords and keys, and nobody debugging HTTP needs their base64.
_SECRET_KEY = re.compile(
    r"password|secret|adminpass|admin_pass|^token$|^auth_token$|^user_data$|^contents$", re.I
)
# Catch-all for bodies that are not JSON: "password": "..." pairs in any text.
_SECRET_PAIR = re.compile(
    r'("(?:[^"]*(?:password|secret|adminPass)[^"]*|token)"\s*:\s*)"[^"]*"', re.I
)
_MAX_BODY = 4096
# scheme://userinfo@ in any text, for what ``urlsplit`` cannot read
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#\s]*)@")


def _masked_userinfo(info: str) -> str:
    user, colon, _password = info.partition(":")
    # no password: the lone userinfo may itself be the secret (a token as user name)
    return f"{user}:{MASK}" if colon else MASK


def redact_url(url: str) -> str:
    """``url`` as a message, a log or a report may show it: the password of its
    userinfo masked (``http://user:***@host``), a userinfo without one masked whole.

    Cheap when there is nothing to hide (no ``@``), so callers need not check first.
    """
    if "@" not in url:
        return url
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{_masked_userinfo(m.group('info'))}@", url)


def url_secrets(url: str | None) -> list[str]:
    """The secrets a URL's userinfo holds (its password, or a lone user part), as
    written and decoded, for masking them in text that quotes the URL some other way
    (an exception's own words)."""
    if not url or "@" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        match = _USERINFO.search(url)
        info = match.group("info") if match else ""
        user, colon, password = info.partition(":")
        secret = password if colon else user
        return [s for s in {secret, unquote(secret)} if s]
    if "@" not in parts.netloc:
        return []
    info = parts.netloc.rpartition("@")[0]
    user, colon, password = info.partition(":")
    secret = password if colon else user
    return [s for s in {secret, unquote(secret)} if s]


def mask_url_secrets(text: str, *urls: str | None) -> str:
    """``text`` with every URL's userinfo masked, and the secrets of ``urls`` masked
    wherever else they appear (an exception's message may quote a URL its own way)."""
    if "@" in text:
        text = _USERINFO.sub(
            lambda m: f"{m.group('scheme')}{_masked_userinfo(m.group('info'))}@", text
        )
    for url in urls:
        for secret in sorted(url_secrets(url), key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
    return text


def redact_json(value: Any, *, under_token: bool = False) -> Any:
    """A copy of a JSON value with every secret replaced by ``***``.

    ``{"token": {"id": "..."}}`` (Keystone's token method) hides the id; a ``token``
    mapping in an answer (Keystone's token body, with its catalog) is kept, its
    ``id`` aside, since it holds no secret and is what one wants to debug.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if under_token and name == "id":
                out[name] = MASK
            elif _SECRET_KEY.search(name) and not isinstance(item, Mapping | list):
                out[name] = MASK if item is not None else None
            else:
                out[name] = redact_json(item, under_token=name.lower() == "token")
        return out
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def secret_values(value: Any, *, under_token: bool = False) -> list[str]:
    """Every secret in a JSON value (as ``redact_json`` would hide them), as text.

    An error answer may echo a request's secret inside a message ("Invalid input for
    field adminPass. Value: ..."), where no key marks it: these are scrubbed by value.
    """
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if (under_token and name == "id") or (
                _SECRET_KEY.search(name) and not isinstance(item, Mapping | list)
            ):
                if item not in (None, "", True, False):
                    found.append(str(item))
            else:
                found.extend(secret_values(item, under_token=name.lower() == "token"))
    elif isinstance(value, list):
        for item in value:
            found.extend(secret_values(item))
    return found


def mask_secrets(text: str, secrets: Iterable[str], *, shortest: int = 1) -> str:
    """``text`` with each secret masked as written and as JSON writes it: a secret with a
    quote, a backslash or a non-ASCII letter appears escaped in a JSON body
    (``p\\u00e4ss``), where a plain search misses it."""
    for secret in secrets:
        if len(secret) < shortest:
            continue
        for form in {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        }:
            if form in text:
                text = text.replace(form, MASK)
    return text


def redact_text(body: bytes | str | None, secrets: Iterable[str] = ()) -> str:
    """A request or response body as text, secrets hidden, cut to a readable length."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        shown = json.dumps(redact_json(json.loads(text)), separators=(",", ":"))
    except ValueError:
        shown = _SECRET_PAIR.sub(lambda m: m.group(1) + f'"{MASK}"', text)
    shown = mask_secrets(shown, secrets)
    if len(shown) > _MAX_BODY:
        shown = shown[:_MAX_BODY] + f"... ({len(shown)} characters)"
    return shown


def _headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(
        (
            name,
            MASK
            if name.lower() in _SECRET_HEADERS
            else redact_url(value)
            if name.lower() in _URL_HEADERS
            else value,
        )
        for name, value in headers
    )


def curl_line(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | str | None,
    *,
    verify: bool | str = True,
) -> str:
    """``REQ: curl -g -i -X POST "url" -H "k: v" -d '{...}'`` with secrets hidden."""
    parts = ["REQ: curl -g -i"]
    if verify is False:
        parts.append("--insecure")
    elif isinstance(verify, str):
        parts.append(f'--cacert "{verify}"')
    parts.extend(["-X", method, f'"{redact_url(url)}"'])
    parts.extend(f'-H "{name}: {value}"' for name, value in _headers(headers.items()))
    shown = redact_text(body)
    if shown:
        parts.append("-d '" + shown.replace("'", "'\\''") + "'")
    return " ".join(parts)


def response_lines(
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes | str | None,
    secrets: Iterable[str] = (),
) -> str:
    """``RESP: [202] {headers}`` and ``RESP BODY: ...`` with secrets hidden.

    ``secrets`` are the request's own secret values, scrubbed wherever they show up.
    """
    shown = dict(_headers(headers))
    text = f"RESP: [{status}] {shown}"
    body_text = redact_text(body, secrets)
    if body_text:
        text += f"\nRESP BODY: {body_text}"
    return text
