"""An answer: the ``Response`` a request gives back, and reading its body, decoded as
the server encoded it and never past a cap.

Why: a body read whole, then decoded whole, is as large as the server (or anything
between it and us) makes it: an 800 MB body held 2.4 GB, and 800 KB of gzip grew to
1.7 GB. A Nova page of 1,000 servers is a few MB, so one answer may hold at most
``limit`` bytes once decoded (``HttpOptions.max_answer_bytes``); past it the reading
stops at once, the connection is dropped, and the caller gets ``AnswerTooLarge``.

The pool does not let aiohttp decode (``auto_decompress=False``): its decoder inflates
each chunk whole, so a few KB of a gzip bomb would still become gigabytes before
anyone could count them. Here each chunk is inflated with ``max_length``: never more
than the room left under the cap. The client asks for gzip and deflate only
(``Accept-Encoding``); an answer in another encoding is a ``BadAnswer``.

Error answers (4xx, 5xx) are read up to ``ERROR_BODY_BYTES`` and cut there: their
message is all that is kept of them, and an error must stay an error, not become
"too large".
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bulkboot.cloud.faults import request_id_of
from bulkboot.cloud.options import MAX_ANSWER_BYTES
from bulkboot.cloud.redact import redact_url
from bulkboot.cloud.timing import RequestTiming
from bulkboot.errors import AnswerTooLarge, BadAnswer

__all__ = [
    "ACCEPT_ENCODING",
    "ERROR_BODY_BYTES",
    "MAX_ANSWER_BYTES",
    "Response",
    "parse_json",
    "read_body",
]

# An error's message can echo a whole offending value (user data of 64 KB, base64): read
# it all, within a bound that keeps memory safe; the message shown is shortened after.
ERROR_BODY_BYTES = 2**20
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 2**16


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: status, headers, parsed JSON body (None when empty), the bytes as sent."""

    status: int
    headers: Mapping[str, str]
    body: Any
    timing: RequestTiming
    raw: bytes = field(default=b"", repr=False)

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.headers)


def parse_json(raw: bytes) -> Any:
    """An answer's body as JSON; None when it is empty or not JSON (the caller checks
    the shape it needs and says what it got instead)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class _TooLarge(Exception):
    """Raised inside the reading, turned into ``AnswerTooLarge`` with the request."""


class _Inflater:
    """zlib's decompressor, fed chunk by chunk, never giving more than it is allowed.

    ``deflate`` is zlib-wrapped by the standard and raw in some servers: a stream that
    does not start with a zlib header is read again as raw deflate, as browsers do.
    Concatenated gzip members are read one after the other.
    """

    __slots__ = ("_decoder", "_started", "_wbits")

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._decoder = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Up to ``room`` + 1 bytes of output for ``data`` (more than ``room``: too large)."""
        out = b""
        while data:
            try:
                piece = self._decoder.decompress(data, room - len(out) + 1)
            except zlib.error:
                if self._started or self._wbits != zlib.MAX_WBITS:
                    raise
                self._wbits = -zlib.MAX_WBITS  # raw deflate, no zlib header
                self._decoder = zlib.decompressobj(self._wbits)
                continue
            self._started = True
            out += piece
            if len(out) > room:
                return out
            if self._decoder.unconsumed_tail:
                data = self._decoder.unconsumed_tail
            elif self._decoder.eof and self._decoder.unused_data and self._wbits > 16:
                data = self._decoder.unused_data  # the next gzip member
                self._decoder = zlib.decompressobj(self._wbits)
            else:
                data = b""
        return out

    def finish(self, room: int) -> bytes:
        return self._decoder.flush(room + 1) if not self._decoder.eof else b""


def _inflater(encoding: str) -> _Inflater | None:
    if encoding in ("gzip", "x-gzip"):
        return _Inflater(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Inflater(zlib.MAX_WBITS)
    return None


async def read_body(
    response: aiohttp.ClientResponse, *, limit: int, method: str, url: str
) -> bytes:
    """The answer's body, decoded; ``AnswerTooLarge`` past ``limit`` bytes (decoded).

    ``url`` is the request's URL (messages show it with any password masked). An
    error answer's body is cut at ``ERROR_BODY_BYTES`` instead (see the module
    docstring).
    """
    cut = response.status >= 300
    cap = min(limit, ERROR_BODY_BYTES) if cut else limit
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    length = response.content_length
    try:
        if encoding in ("", "identity"):
            if length is not None and length <= cap:
                return await response.read()  # the common case: one read, bounded by length
            if length is not None and not cut:
                raise _TooLarge
            return await _plain(response, cap, cut)
        inflater = _inflater(encoding)
        url = redact_url(url)
        if inflater is None:
            raise BadAnswer(
                f"{method} {url} (HTTP {response.status}): the answer is encoded as "
                f"{encoding!r}, which bulkboot did not ask for (it accepts {ACCEPT_ENCODING})",
                method=method,
                url=url,
            )
        try:
            return await _inflated(response, inflater, cap, cut)
        except zlib.error as exc:
            raise BadAnswer(
                f"{method} {url} (HTTP {response.status}): the answer's {encoding} body "
                f"cannot be decoded ({exc})",
                method=method,
                url=url,
            ) from None
    except _TooLarge:
        response.close()  # the rest is never read: drop the connection
        url = redact_url(url)
        raise AnswerTooLarge(
            f"{method} {url} (HTTP {response.status}): the answer is larger than "
            f"{_size(limit)} once decoded, the most bulkboot reads of one answer; "
            f"it was not read further",
            method=method,
            url=url,
            limit=limit,
        ) from None


async def _plain(response: aiohttp.ClientResponse, cap: int, cut: bool) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            if cut:
                parts.append(chunk[: len(chunk) - (size - cap)])
                response.close()
                break
            raise _TooLarge
        parts.append(chunk)
    return b"".join(parts)


async def _inflated(
    response: aiohttp.ClientResponse, inflater: _Inflater, cap: int, cut: bool
) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        out = inflater.feed(chunk, cap - size)
        size += len(out)
        if size > cap:
            if cut:
                parts.append(out[: len(out) - (size - cap)])
                response.close()
                return b"".join(parts)
            raise _TooLarge
        parts.append(out)
    out = inflater.finish(cap - size)
    if size + len(out) > cap:
        if cut:
            return b"".join(parts) + out[: cap - size]
        raise _TooLarge
    parts.append(out)
    return b"".join(parts)


def _size(count: int) -> str:
    if count >= 2**20 and count % 2**20 == 0:
        return f"{count // 2**20} MiB"
    if count >= 2**10 and count % 2**10 == 0:
        return f"{count // 2**10} KiB"
    return f"{count} bytes"
